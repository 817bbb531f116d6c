"""The machine's device tree, generated from its actual trap table when it is created.

build_dtb(trap_table, ram_base, ram_size, ...) -> bytes makes, like QEMU's virt board
(OpenSBI's generic platform and Linux find their way on it the same way):

  /                 #address-cells 2, #size-cells 2, compatible "riscv-virtio",
                    model "riscv-virtio,qemu"
  /chosen           bootargs (when given), stdout-path (default: the serial node),
                    linux,initrd-start / linux,initrd-end (64-bit, when initrd is given)
  /cpus             #address-cells 1, #size-cells 0, timebase-frequency
    cpu@N           device_type "cpu", reg N, status "okay", compatible "riscv",
                    riscv,isa (exactly the hart's), riscv,isa-base, riscv,isa-extensions, mmu-type,
                    riscv,cbom-block-size / cbop / cboz (when the ISA has Zicbom / Zicbop / Zicboz)
      interrupt-controller   compatible "riscv,cpu-intc", #interrupt-cells 1 (the hart's
                    mip bits), #address-cells 0
  /memory@<base>    device_type "memory", reg
  /soc              compatible "simple-bus", ranges, #address-cells 2, #size-cells 2
    <dt_name>@<base hex>  one per trap-table device whose dt_name is not None, in address
                    order: compatible = dt_compatible, reg = <base size> (2+2 cells),
                    interrupts = <irq_source> and interrupt-parent = <&plic> when
                    irq_source is set, then device.fdt_extra(ctx)
  /<name>           the nodes of device.fdt_root_nodes(ctx), for a device that has that
                    method: the test device's syscon /poweroff and /reboot (at the root, as
                    QEMU puts them: a simple-bus child without reg is a dtc warning)
Then the overlay (a compiled .dtbo: the config's dtb_overlay) is applied on top.

ctx (DtContext), what fdt_extra(ctx) and fdt_root_nodes(ctx) may use:
  ctx.phandle(what)  the phandle of a node, given to it on first use; what is a
                     device in the trap table, or a label: "cpu<N>" and "cpu<N>_intc"
                     (also spelt "cpu<N>-intc") for hart N, each device node's label
                     (dt_name with '-' and ',' as '_', numbered in address order:
                     test0, clint0, plic0, serial0, virtio_mmio0 ...), and the names of
                     the fdt_root_nodes nodes made so far (poweroff, reboot)
  ctx.path(device)   the device's node path, e.g. "/soc/serial@10000000"
  ctx.hart_count     the number of harts
  ctx.tree           the devices.firmware.fdt.Tree being built (for anything else)
The labels are also what an overlay's __fixups__ (&serial0 in its source) resolve
against; the blob itself carries no __symbols__, as QEMU's does not.
Errors (an unknown label, an IRQ with no PLIC) raise devices.firmware.fdt.FdtError; a bad overlay
raises its subclass devices.firmware.fdt.OverlayError, whose message starts with overlay_name
(the overlay file's path): report it as it is, not prefixed with the kernel's name.
"""
import re

from devices.firmware import fdt
from devices.firmware.fdt import FdtError, Node, OverlayError, Tree
from emu.spec import TIMEBASE
from emu.csr import ISA_STRING, CACHE_BLOCK_SIZE, MMU_TYPE

ROOT_COMPATIBLE = "riscv-virtio"
ROOT_MODEL = "riscv-virtio,qemu"


class DtContext:
    def __init__(self, tree, hart_count):
        self.tree = tree
        self.hart_count = hart_count
        self._paths = {}            # id(device) -> node path

    def _label(self, name):
        return name.replace("-", "_")

    def phandle(self, what):
        if isinstance(what, str):
            label = self._label(what)
            path = self.tree.symbols.get(label)
            if path is None:
                raise FdtError(f"device tree: no node labelled {what!r} "
                               f"(labels: {', '.join(sorted(self.tree.symbols))})")
        else:
            path = self._paths.get(id(what))
            if path is None:
                raise FdtError(f"device tree: {getattr(what, 'name', what)!r} has no node "
                               "(is it in the trap table with a dt_name?)")
        return self.tree.phandle(self.tree.node(path))

    def path(self, device):
        return self._paths.get(id(device))


def isa_extensions(isa):
    """'rv64imac_zicsr_zifencei' -> ('rv64i', ['i', 'm', 'a', 'c', 'zicsr', 'zifencei'])."""
    m = re.fullmatch(r"rv(32|64)([a-z]+)((?:_[a-z0-9]+)*)", isa.lower())
    if m is None or m.group(2)[0] not in "ieg":
        raise FdtError(f"riscv,isa {isa!r} is not an ISA string like rv64imac_zicsr_zifencei")
    letters = m.group(2).replace("g", "imafd")
    exts = list(dict.fromkeys(letters))
    multi = [e for e in m.group(3).split("_") if e]
    if "g" in m.group(2):
        multi = list(dict.fromkeys(multi + ["zicsr", "zifencei"]))
    return f"rv{m.group(1)}{letters[0]}", exts + multi


def _device_label(dt_name, counts):
    base = dt_name.replace("-", "_").replace(",", "_")
    n = counts.get(base, 0)
    counts[base] = n + 1
    return f"{base}{n}"


def build_tree(trap_table, ram_base, ram_size, isa=ISA_STRING, mmu=MMU_TYPE,
               timebase=TIMEBASE, bootargs="", stdout_path=None, initrd=None, overlay=None,
               hart_count=1, overlay_name=None):
    """The device tree as a devices.firmware.fdt.Tree (build_dtb serialises it).

    overlay_name (the overlay file's path) starts the message of any error in the
    overlay: an OverlayError, which callers pass on as it is.
    """
    tree = Tree()
    root = tree.root
    root.set("#address-cells", 2).set("#size-cells", 2)
    root.set("compatible", ROOT_COMPATIBLE).set("model", ROOT_MODEL)
    chosen = root.add("chosen")               # filled once the serial node's path is known
    ctx = DtContext(tree, hart_count)

    cpus = root.add("cpus")
    cpus.set("#address-cells", 1).set("#size-cells", 0).set("timebase-frequency", timebase)
    isa_base, exts = isa_extensions(isa)
    for h in range(hart_count):
        cpu = cpus.add(f"cpu@{h}")
        cpu.set("device_type", "cpu").set("reg", h).set("status", "okay").set("compatible", "riscv")
        cpu.set("riscv,isa", isa).set("riscv,isa-base", isa_base).set("riscv,isa-extensions", exts)
        if mmu:
            cpu.set("mmu-type", mmu)
        for ext in ("zicbom", "zicbop", "zicboz"):       # as QEMU's virt: the cache block they act on
            if ext in exts:
                cpu.set(f"riscv,{ext[2:]}-block-size", CACHE_BLOCK_SIZE)
        intc = cpu.add("interrupt-controller")
        intc.set("#address-cells", 0).set("#interrupt-cells", 1).set("interrupt-controller", True)
        intc.set("compatible", "riscv,cpu-intc")
        tree.symbols[f"cpu{h}"] = f"/cpus/cpu@{h}"
        tree.symbols[f"cpu{h}_intc"] = f"/cpus/cpu@{h}/interrupt-controller"
        tree.phandle(intc)                    # before the devices': as QEMU numbers them

    mem = root.add(f"memory@{ram_base:x}")
    mem.set("device_type", "memory").set("reg", fdt.u64(ram_base, ram_size))

    soc = root.add("soc")
    soc.set("#address-cells", 2).set("#size-cells", 2).set("compatible", "simple-bus")
    soc.set("ranges", True)

    # pass 1: a node per device, so that any device's phandle can be asked for in pass 2
    devices, counts, plic = [], {}, None
    for base, size, dev in sorted(trap_table.entries, key=lambda e: e[0]):
        dt_name = getattr(dev, "dt_name", None)
        if dt_name is None:
            continue
        name = f"{dt_name}@{base:x}"
        node = soc.add(name)
        path = f"/soc/{name}"
        ctx._paths[id(dev)] = path
        tree.symbols[_device_label(dt_name, counts)] = path
        devices.append((base, size, dev, node))
        if plic is None and getattr(dev, "dt_name", None) == "plic":
            plic = dev

    # pass 2: their properties
    for base, size, dev, node in devices:
        if dev.dt_compatible:
            node.set("compatible", list(dev.dt_compatible))
        node.set("reg", fdt.u64(base, size))
        irq = getattr(dev, "irq_source", None)
        if irq is not None:
            if plic is None:
                raise FdtError(f"device tree: {dev.name} has interrupt {irq} but the trap table "
                               "has no PLIC to deliver it")
            node.set("interrupts", irq).set("interrupt-parent", ctx.phandle(plic))
        for prop, value in dev.fdt_extra(ctx).items():
            node.set(prop, value)
        root_nodes = getattr(dev, "fdt_root_nodes", None)
        if root_nodes is not None:
            for rname, props in root_nodes(ctx).items():
                rnode = root.add(rname)
                tree.symbols.setdefault(rname.replace("-", "_"), f"/{rname}")
                for prop, value in props.items():
                    rnode.set(prop, value)

    if bootargs:
        chosen.set("bootargs", bootargs)
    if stdout_path is None:
        stdout_path = next((ctx.path(d) for _b, _s, d, _n in devices if d.dt_name == "serial"), None)
    if stdout_path:
        chosen.set("stdout-path", stdout_path)
    if initrd is not None:
        start, end = initrd
        chosen.set("linux,initrd-start", fdt.u64(start)).set("linux,initrd-end", fdt.u64(end))

    if overlay is not None:
        fdt.apply_overlay(tree, overlay, overlay_name or "the device-tree overlay")
    return tree


def build_dtb(trap_table, ram_base, ram_size, isa=ISA_STRING, mmu=MMU_TYPE,
              timebase=TIMEBASE, bootargs="", stdout_path=None, initrd=None, overlay=None,
              hart_count=1, overlay_name=None):
    """The flattened device tree blob for this machine (see the module docstring)."""
    return build_tree(trap_table, ram_base, ram_size, isa=isa, mmu=mmu, timebase=timebase,
                      bootargs=bootargs, stdout_path=stdout_path, initrd=initrd, overlay=overlay,
                      hart_count=hart_count, overlay_name=overlay_name).to_dtb()


__all__ = ["build_dtb", "build_tree", "DtContext", "FdtError", "Node", "OverlayError", "isa_extensions"]
