"""Coverage-guided fuzzing of the device-tree reader and the overlay applier (devices/firmware/fdt.py).

    .venv/bin/python fuzz/fuzz_fdt.py -max_total_time=60 fuzz/corpus/fdt

one_input(data) is the property, shared with tests/test_fuzz_fdt.py: any bytes,
read as a blob (parse_dtb) and applied as an overlay (apply_overlay) on top of the
machine's own generated tree, either work or raise FdtError (OverlayError for the
overlay) with a one-line message; a refused overlay leaves the base tree as it was;
a blob that was read writes back (to_dtb) to one that reads back the same; an
applied overlay leaves every phandle a valid one, naming one node.
Nothing else: no RecursionError, no struct.error, no IndexError, no hang.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

_BASE = None


def _base_tree():
    """A fresh copy of a small machine's device tree (with labels), as the overlay's base."""
    global _BASE
    from devices.firmware import devicetree
    from devices.firmware import fdt
    if _BASE is None:
        import io
        from devices.bus import IrqLine, TrapTable
        from devices.clint import CLINT_BASE, Clint
        from devices.plic import PLIC_BASE, PLIC_SIZE, Plic
        from devices.uart import UART_BASE, UART_SIZE, Uart16550
        table = TrapTable()
        plic = Plic(lambda context, level: None)
        table.add(PLIC_BASE, PLIC_SIZE, plic)
        table.add(CLINT_BASE, Clint.size, Clint())
        table.add(UART_BASE, UART_SIZE, Uart16550(io.BytesIO(), irq=IrqLine(plic.set_level, 10)))
        tree = devicetree.build_tree(table, 0x8000_0000, 64 << 20, bootargs="console=ttyS0")
        _BASE = (tree.to_dtb(), dict(tree.symbols))
    blob, symbols = _BASE
    tree = fdt.parse_dtb(blob)
    tree.symbols = dict(symbols)
    return tree


def _shape(tree):
    return [(p, dict(n.props)) for p, n in tree.root.walk()], tree.reserved, tree.boot_cpuid_phys


def _check_message(e):
    msg = str(e)
    assert msg and "\n" not in msg and "\r" not in msg, repr(msg)


def one_input(data):
    """bytes -> None; raises AssertionError (or an unexpected exception) on a finding."""
    from devices.firmware.fdt import FdtError, OverlayError, parse_dtb
    data = bytes(data)
    try:
        tree = parse_dtb(data)
    except FdtError as e:
        _check_message(e)
    else:
        again = parse_dtb(tree.to_dtb())
        assert _shape(again) == _shape(tree)
    from devices.firmware.fdt import apply_overlay
    base = _base_tree()
    before = base.to_dtb()
    try:
        apply_overlay(base, data, "fuzz.dtbo")
    except OverlayError as e:
        _check_message(e)
        assert str(e).startswith("fuzz.dtbo: ")
        assert base.to_dtb() == before, "a refused overlay changed the base tree"
    else:
        parse_dtb(base.to_dtb())               # the merged tree still writes a readable blob
        # phandles stay phandles, and each names one node (a wrapped one would alias another)
        seen = {}
        for path, node in base.root.walk():
            ph = node.u32("phandle")
            if ph is not None:
                assert ph not in (0, 0xFFFF_FFFF) and ph not in seen, (path, ph, seen.get(ph))
                seen[ph] = path


# structure-aware mode: most random bytes never get past the header, so half of the
# inputs are read as a recipe for an overlay built from the names and values overlays use
_NAMES = ["fragment@0", "fragment@1", "__overlay__", "n", "n@1", "soc", "chosen", "__fixups__",
          "__local_fixups__", "__symbols__", "a"]
_PROPS = ["target", "target-path", "phandle", "linux,phandle", "ref", "x",
          "serial0", "cpu0_intc", "plic0", "nolabel"]
_PATHS = ["/", "/soc", "/chosen", "/nowhere", "/fragment@0/__overlay__/n", "/fragment@0/__overlay__",
          "/fragment@0/__overlay__/n:ref:0", "/fragment@0/__overlay__/n:ref:4",
          "/fragment@0/__overlay__/n:phandle:0", "/fragment@1/__overlay__:x:0"]


def structured(data):
    """bytes -> an overlay blob built from them (deterministic; any bytes give a blob)."""
    from devices.firmware.fdt import Tree, cells, strings
    data = bytes(data)
    pos = [0]

    def byte():
        b = data[pos[0]] if pos[0] < len(data) else 0
        pos[0] += 1
        return b

    def value():
        kind = byte() % 5
        if kind == 0:
            return cells(*(byte() % 9 for _ in range(1 + byte() % 3)))      # small phandles
        if kind == 1:
            return cells(int.from_bytes(bytes(byte() for _ in range(4)), "big"))
        if kind == 2:
            return strings(_PATHS[byte() % len(_PATHS)])
        if kind == 3:
            return strings(*(_PATHS[byte() % len(_PATHS)] for _ in range(1 + byte() % 3)))
        return bytes(byte() for _ in range(byte() % 9))

    budget = [48]                                  # nodes, so that any recipe is small

    def grow(node, depth):
        for _ in range(byte() % 4):
            node.props[_PROPS[byte() % len(_PROPS)]] = value()
        for _ in range(byte() % 3 if depth < 4 else 0):
            if budget[0] <= 0 or pos[0] >= len(data):
                return
            budget[0] -= 1
            grow(node.add(_NAMES[byte() % len(_NAMES)]), depth + 1)   # depth <= 4: no deep recursion

    # the shape of a compiled overlay: fragments with a target and an __overlay__, then
    # (sometimes) __fixups__, __local_fixups__ and __symbols__, all filled from the recipe
    t = Tree()
    for f in range(1 + byte() % 2):
        frag = t.root.add(f"fragment@{f}")
        how = byte() % 4
        if how == 1:
            frag.props["target"] = cells(byte() % 9)
        elif how >= 2:
            frag.props["target-path"] = strings(_PATHS[byte() % 4])
        grow(frag.add("__overlay__"), 1)
    for special in ("__fixups__", "__local_fixups__", "__symbols__"):
        if byte() % 2:
            grow(t.root.add(special), 1)
    return t.to_dtb()


def TestOneInput(data):    # noqa: N802 - atheris' name
    if data[:1] and data[0] & 1:
        one_input(structured(data[1:]))
    else:
        one_input(data)


def main():
    from fuzz.harness import fuzz
    fuzz(TestOneInput, ["devices.firmware.devicetree", "devices.firmware.fdt"])


if __name__ == "__main__":
    main()
