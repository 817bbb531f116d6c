"""devices/firmware/fdt.py: the flattened device tree (Devicetree Specification v0.4, chapter 5),
its writer, reader and overlay applier, checked against Debian's dtc both ways:
our blobs decompiled by dtc, and dtc's blobs (and compiled overlays) read by us."""
import os
import struct
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dtc_tool  # noqa: E402

from devices.firmware.fdt import (FdtError, Node, OverlayError, Tree, apply_overlay, cells,  # noqa: E402
                         decode_cells, decode_strings, encode, parse_dtb, strings, u64, FDT_MAGIC,
                         FDT_MAX_DEPTH, HEADER_SIZE)


def sample():
    t = Tree(reserved=[(0x8000_0000, 0x20_0000)], boot_cpuid_phys=0)
    r = t.root
    r.set("#address-cells", 2).set("#size-cells", 2).set("compatible", ["acme,board", "acme,soc"])
    r.set("model", "Acme")
    cpus = r.add("cpus")
    cpus.set("#address-cells", 1).set("#size-cells", 0)
    cpu = cpus.add("cpu@0")
    cpu.set("reg", 0).set("device_type", "cpu")
    intc = cpu.add("interrupt-controller")
    intc.set("interrupt-controller", True).set("#interrupt-cells", 1)
    dev = r.add("dev@1000")
    dev.set("reg", u64(0x1000, 0x100)).set("blob", b"\x01\x02\x03").set("empty", ())
    dev.set("interrupts-extended", [t.phandle(intc, label="intc"), 11])
    return t


# ------------------------------------------------------------------ values

def test_value_encoding():
    assert encode(7) == b"\0\0\0\x07"
    assert encode([1, 0xFFFF_FFFF]) == cells(1, 0xFFFF_FFFF) == bytes.fromhex("00000001ffffffff")
    assert encode("ab") == b"ab\0"
    assert encode(["a", "bc"]) == strings("a", "bc") == b"a\0bc\0"
    assert encode(True) == encode(()) == b""
    assert encode(b"\x00\x01") == b"\x00\x01"
    assert u64(0x1_2345_6789) == bytes.fromhex("0000000123456789")
    assert decode_cells(cells(3, 4)) == [3, 4]
    assert decode_strings(b"x\0yz\0") == ["x", "yz"]
    for bad in (False, 1.5, [1, "a"], {"a": 1}):
        with pytest.raises(FdtError):
            encode(bad)


# ------------------------------------------------------------------ the blob

def test_header_and_blocks():
    t = sample()
    t.boot_cpuid_phys = 3
    blob = t.to_dtb()
    (magic, total, off_struct, off_strings, off_rsv, version, last, boot, size_strings,
     size_struct) = struct.unpack_from(">10I", blob)
    assert (magic, version, last, boot) == (FDT_MAGIC, 17, 16, 3)
    assert total == len(blob)
    assert off_rsv % 8 == 0 and off_struct % 4 == 0
    assert struct.unpack_from(">4Q", blob, off_rsv) == (0x8000_0000, 0x20_0000, 0, 0)
    assert off_strings + size_strings == total and off_struct + size_struct <= off_strings
    strtab = blob[off_strings:off_strings + size_strings].split(b"\0")[:-1]
    assert len(strtab) == len(set(strtab)), "each property name once in the strings block"
    assert b"#address-cells" in strtab and b"reg" in strtab


def test_dtc_reads_our_blob():
    text, warnings = dtc_tool.decompile(sample().to_dtb())
    nodes, reserve = dtc_tool.parse(text)
    assert reserve == [(0x8000_0000, 0x20_0000)]
    assert list(nodes) == ["/", "/cpus", "/cpus/cpu@0", "/cpus/cpu@0/interrupt-controller", "/dev@1000"]
    assert dtc_tool.strings(nodes["/"]["compatible"]) == ["acme,board", "acme,soc"]
    assert nodes["/"]["model"] == b"Acme\0"
    assert dtc_tool.cells(nodes["/cpus/cpu@0"]["reg"]) == [0]
    intc = nodes["/cpus/cpu@0/interrupt-controller"]
    assert intc["interrupt-controller"] == b"" and dtc_tool.cells(intc["phandle"]) == [1]
    dev = nodes["/dev@1000"]
    assert dtc_tool.cells(dev["reg"]) == [0, 0x1000, 0, 0x100]
    assert dev["blob"] == b"\x01\x02\x03" and dev["empty"] == b""
    assert dtc_tool.cells(dev["interrupts-extended"]) == [1, 11]


def test_round_trip_through_our_reader_and_dtc():
    t = sample()
    blob = t.to_dtb()
    back = parse_dtb(blob)
    assert back.reserved == t.reserved and back.boot_cpuid_phys == t.boot_cpuid_phys
    assert [(p, n.props) for p, n in back.root.walk()] == [(p, n.props) for p, n in t.root.walk()]
    assert back.to_dtb() == blob
    # dtc's own blob of the same tree (its layout, its strings block) reads back the same
    again = parse_dtb(dtc_tool.compile_dts(dtc_tool.decompile(blob)[0]))
    assert [(p, n.props) for p, n in again.root.walk()] == [(p, n.props) for p, n in t.root.walk()]
    assert again.reserved == t.reserved


def test_reader_takes_labels_from_symbols():
    blob = dtc_tool.compile_dts('/dts-v1/; / { uart0: serial@100 { reg = <0x100>; }; };', overlay=True)
    t = parse_dtb(blob)
    assert t.symbols == {"uart0": "/serial@100"}
    assert t.node("/serial@100").u32("phandle") == 1                 # dtc numbers phandles from 1
    assert t.node("/__symbols__").props == {"uart0": b"/serial@100\0"}


def test_lookup():
    t = sample()
    intc = t.root.children["cpus"].children["cpu@0"].children["interrupt-controller"]
    assert t.node("/cpus/cpu@0/interrupt-controller") is intc
    assert intc.props == {"interrupt-controller": b"", "#interrupt-cells": cells(1), "phandle": cells(1)}
    assert t.node("/cpus/cpu") is t.node("/cpus/cpu@0")            # unit address may be left out
    assert t.node("/nope") is None and t.node("/") is t.root
    t.root.add("aliases").set("c", "/cpus/cpu@0")
    assert t.node("c/interrupt-controller") is t.node("/cpus/cpu@0/interrupt-controller")
    assert t.by_phandle(1) is t.node("/cpus/cpu@0/interrupt-controller")
    assert t.max_phandle() == 1
    assert t.phandle(t.node("/dev@1000")) == 2 and t.phandle(t.node("/dev@1000")) == 2


@pytest.mark.parametrize("mangle,what", [
    (lambda b: b[:20], "shorter than the header"),
    (lambda b: b"\0\0\0\0" + b[4:], "magic"),
    (lambda b: b[:-8], "truncated"),
    (lambda b: b[:8] + struct.pack(">I", len(b) + 64) + b[12:], "past the end"),
])
def test_malformed_blobs_are_one_line_errors(mangle, what):
    with pytest.raises(FdtError) as e:
        parse_dtb(mangle(sample().to_dtb()))
    assert what in str(e.value) and "\n" not in str(e.value)


def test_bad_token_is_an_error():
    blob = bytearray(sample().to_dtb())
    off_struct = struct.unpack_from(">I", blob, 8)[0]
    struct.pack_into(">I", blob, off_struct, 0x77)
    with pytest.raises(FdtError, match="unknown token"):
        parse_dtb(bytes(blob))


def test_bad_node_name():
    with pytest.raises(FdtError):
        Node().add("a/b")


# ------------------------------------------------------------------ overlays

BASE_DTS = """/dts-v1/;
/ {
    #address-cells = <1>; #size-cells = <1>;
    intc: intc { interrupt-controller; #interrupt-cells = <1>; };
    soc {
        uart: serial@1000 { compatible = "ns16550a"; reg = <0x1000 0x100>; status = "okay"; };
    };
};
"""


def base_tree():
    return parse_dtb(dtc_tool.compile_dts(BASE_DTS, overlay=True))


def nodes_of(tree):
    return dtc_tool.parse(dtc_tool.decompile(tree.to_dtb())[0])[0]


def test_overlay_by_label_path_with_local_and_external_references():
    ov = dtc_tool.compile_dts("""/dts-v1/; /plugin/;
    &uart { status = "disabled"; current-speed = <115200>; };
    &{/soc} {
        gpio: gpio@2000 { reg = <0x2000 0x100>; gpio-controller; #gpio-cells = <2>;
                          interrupts-extended = <&intc 5>; };
        leds { compatible = "gpio-leds"; led { gpios = <&gpio 3 0>; }; };
    };
    """, overlay=True)
    t = base_tree()
    before = t.max_phandle()
    apply_overlay(t, ov)
    n = nodes_of(t)
    uart = n["/soc/serial@1000"]
    assert uart["status"] == b"disabled\0" and dtc_tool.cells(uart["current-speed"]) == [115200]
    assert uart["compatible"] == b"ns16550a\0"                      # untouched properties stay
    gpio = n["/soc/gpio@2000"]
    intc_ph = dtc_tool.cells(n["/intc"]["phandle"])[0]
    assert dtc_tool.cells(gpio["interrupts-extended"]) == [intc_ph, 5]      # __fixups__
    gpio_ph = dtc_tool.cells(gpio["phandle"])[0]
    assert gpio_ph > before                                        # moved above the base's
    assert dtc_tool.cells(n["/soc/leds/led"]["gpios"]) == [gpio_ph, 3, 0]   # __local_fixups__
    assert t.symbols["gpio"] == "/soc/gpio@2000"
    assert n["/__symbols__"]["gpio"] == b"/soc/gpio@2000\0"           # the base's node gets it too
    assert not any(p.startswith("/fragment") or "fixups" in p for p in n)


def test_overlay_made_by_our_writer_with_target_path():
    ov = Tree()
    frag = ov.root.add("fragment@0")
    frag.set("target-path", "/soc/serial@1000")
    frag.add("__overlay__").set("status", "disabled")
    t = base_tree()
    apply_overlay(t, ov.to_dtb())
    assert t.node("/soc/serial@1000").string("status") == "disabled"


def test_overlay_gives_a_labelled_base_node_a_phandle_when_it_has_none():
    t = Tree()
    t.root.add("a").set("x", 1)
    t.root.add("b").set("phandle", 1)
    t.symbols["a"] = "/a"
    ov = dtc_tool.compile_dts("/dts-v1/; /plugin/; &a { y = <2>; }; "
                              "&{/} { n: n { phandle-user = <&a>; self = <&n>; }; };", overlay=True)
    apply_overlay(t, ov)
    a_ph = t.node("/a").u32("phandle")
    assert a_ph == 2 and t.node("/a").u32("y") == 2
    n = t.node("/n")
    assert n.u32("phandle-user") == a_ph
    assert n.u32("phandle") == n.u32("self") == 3                  # no clash with the new one


@pytest.mark.parametrize("source,what", [
    ("/dts-v1/; /plugin/; &nolabel { x = <1>; };", "label 'nolabel'"),
    ("/dts-v1/; /plugin/; &{/nowhere} { x = <1>; };", "'/nowhere' is not in the base tree"),
    ("/dts-v1/; / { fragment@0 { __overlay__ { x = <1>; }; }; };", "neither target nor target-path"),
    ("/dts-v1/; / { fragment@0 { target = <0x77>; __overlay__ { x = <1>; }; }; };", "phandle 119"),
    ("/dts-v1/; / { fragment@0 { target = <0xffffffff>; __overlay__ { x = <1>; }; }; };",
     "not a resolved phandle"),
    ("/dts-v1/; / { x = <1>; };", "no fragment"),
    ("/dts-v1/; / { fragment@0 { target-path = \"/\"; __overlay__ { x = <1>; }; }; "
     "__fixups__ { intc = \"/fragment@0/__overlay__:x:8\"; }; };", "does not point at a cell"),
    ("/dts-v1/; / { fragment@0 { target-path = \"/\"; __overlay__ { x = <1>; }; }; "
     "__fixups__ { intc = \"nonsense\"; }; };", "path:property:offset"),
])
def test_malformed_overlays_are_one_line_errors_and_leave_the_base_alone(source, what):
    t = base_tree()
    before = t.to_dtb()
    with pytest.raises(FdtError) as e:
        apply_overlay(t, dtc_tool.compile_dts(source, overlay=True))
    assert what in str(e.value), str(e.value)
    assert "\n" not in str(e.value)
    assert t.to_dtb() == before


def test_overlay_that_is_not_a_blob():
    with pytest.raises(FdtError, match="not a device tree blob"):
        apply_overlay(base_tree(), b"hello, world, this is not a dtb at all....")


# ------------------------------------------------------------------ hostile blobs

def nested(depth, overlay=True):
    """A blob whose nodes nest `depth` deep (as an overlay fragment, or a plain tree)."""
    t = Tree()
    if overlay:
        frag = t.root.add("fragment@0")
        frag.set("target-path", "/")
        n = frag.add("__overlay__")
        depth -= 2
    else:
        n = t.root
    for _ in range(depth - 1):
        n = n.add("a")
    n.set("deepest", 1)
    return t.to_dtb()                  # the writer is iterative: any depth can be written


def test_a_deep_tree_is_refused_not_a_recursion_error():
    # the hostile probe: 1000 nested nodes gave a RecursionError through create()
    for depth in (1000, FDT_MAX_DEPTH + 1):
        with pytest.raises(FdtError, match=f"nested more than {FDT_MAX_DEPTH} deep"):
            parse_dtb(nested(depth, overlay=False))
        t = base_tree()
        before = t.to_dtb()
        with pytest.raises(OverlayError, match=f"^deep.dtbo: device tree nodes are nested more than"):
            apply_overlay(t, nested(depth), "deep.dtbo")
        assert t.to_dtb() == before


def test_the_deepest_allowed_tree_reads_writes_and_merges():
    t = parse_dtb(nested(FDT_MAX_DEPTH, overlay=False))
    paths = [p for p, _n in t.root.walk()]
    assert len(paths) == FDT_MAX_DEPTH and paths[-1] == "/a" * (FDT_MAX_DEPTH - 1)
    assert t.to_dtb() == nested(FDT_MAX_DEPTH, overlay=False)
    base = base_tree()
    apply_overlay(base, nested(FDT_MAX_DEPTH))
    assert base.node("/a" * (FDT_MAX_DEPTH - 3)).u32("deepest") == 1


def test_walk_and_writer_take_a_tree_deeper_than_the_recursion_limit():
    t = Tree()
    n = t.root
    for _ in range(sys.getrecursionlimit() + 100):
        n = n.add("a")
    assert sum(1 for _ in t.root.walk()) == sys.getrecursionlimit() + 101
    assert len(t.to_dtb()) > 8 * sys.getrecursionlimit()


def _header(blob, **fields):
    names = ["magic", "totalsize", "off_dt_struct", "off_dt_strings", "off_mem_rsvmap", "version",
             "last_comp_version", "boot_cpuid_phys", "size_dt_strings", "size_dt_struct"]
    values = list(struct.unpack_from(">10I", blob))
    for k, v in fields.items():
        values[names.index(k)] = v
    return struct.pack(">10I", *values) + blob[HEADER_SIZE:]


@pytest.mark.parametrize("fields,what", [
    (dict(size_dt_struct=0xFFFF_FFFF), "past the end"),               # a 4 GiB size
    (dict(size_dt_strings=0xFFFF_FFFF), "past the end"),
    (dict(off_dt_struct=0xFFFF_FFF0), "past the end"),                # offsets outside the blob
    (dict(off_dt_strings=0xFFFF_FFF0), "past the end"),
    (dict(off_mem_rsvmap=0xFFFF_FFF0), "reservation block is not terminated"),
    (dict(totalsize=0xFFFF_FFFF), "truncated"),
    (dict(size_dt_strings=0), "property runs past"),                  # every string offset outside
    (dict(size_dt_struct=8), "middle of a token"),
    (dict(version=16, off_dt_struct=0xFFFF_FFF0), "middle of a token"),
])
def test_hostile_header_fields_are_one_line_errors(fields, what):
    with pytest.raises(FdtError) as e:
        parse_dtb(_header(sample().to_dtb(), **fields))
    assert what in str(e.value) and "\n" not in str(e.value)


def _overlay(fixups=None, local=None, symbols=None, name="fragment@0", phandle=None, target="/"):
    """An overlay adding /n (ref = <1 2>) with the given __fixups__, __local_fixups__, __symbols__."""
    t = Tree()
    frag = t.root.add(name)
    if target is not None:
        frag.set("target-path", target)
    content = frag.add("__overlay__").add("n")
    content.set("ref", [1, 2])
    if phandle is not None:
        content.set("phandle", phandle)
        if fixups == {}:                      # a second node with the same phandle
            frag.children["__overlay__"].add("twin").set("phandle", phandle)
    for node_name, props in (("__fixups__", fixups), ("__local_fixups__", local),
                             ("__symbols__", symbols)):
        if props is not None:
            node = t.root.add(node_name)
            if node_name == "__local_fixups__":
                node = node.add(name).add("__overlay__").add("n")
            for k, v in props.items():
                node.set(k, v)
    return t.to_dtb()


@pytest.mark.parametrize("kwargs,what", [
    (dict(fixups={"intc": "/fragment@0/__overlay__/n:ref:\u00b2"}), "path:property:offset"),
    (dict(fixups={"intc": "/fragment@0/__overlay__/n:ref:" + "9" * 5000}), "path:property:offset"),
    (dict(fixups={"intc": "/fragment@0/__overlay__/n:ref:4294967296"}), "does not point at a cell"),
    (dict(local={"ref": cells(0xFFFF_FFFC)}), "outside"),
    (dict(local={"ref": b"\0\0"}), "whole number of cells"),
    (dict(phandle=0xFFFF_FFFE), "does not fit above the base tree"),     # phandles would wrap
    (dict(phandle=0), "phandle 0x0, which is not a phandle"),
    (dict(phandle=0xFFFF_FFFF), "phandle 0xffffffff, which is not a phandle"),
    (dict(fixups={}, symbols={}, phandle=7, local={"phandle": cells(0)}), "as another node has"),
    (dict(symbols={"x": b"/fragment@0/__overlay__/n"}), "not NUL-terminated"),
    (dict(name="frag\nment", target=None), "fragment frag\\nment has neither"),  # escaped
], ids=["unicode-digit", "5000-digits", "offset-4G", "local-outside", "local-half-cell",
        "phandle-wrap", "phandle-zero", "phandle-minus-one", "duplicate-phandle",
        "symbols-unterminated", "newline-in-name"])
def test_hostile_overlay_contents(kwargs, what):
    t = base_tree()
    before = t.to_dtb()
    with pytest.raises(OverlayError) as e:
        apply_overlay(t, _overlay(**kwargs), "hostile.dtbo")
    msg = str(e.value)
    assert msg.startswith("hostile.dtbo: ") and what in msg and "\n" not in msg, msg
    assert t.to_dtb() == before                          # refused before anything changed


def test_many_local_fixups_of_one_property():
    # each fixup is written in place: 20,000 cells of one property, each moved by the base's phandles
    n = 20_000
    t = Tree()
    frag = t.root.add("fragment@0")
    frag.set("target-path", "/")
    node = frag.add("__overlay__").add("n")
    node.set("phandle", 1).set("refs", [1] * n)
    t.root.add("__local_fixups__").add("fragment@0").add("__overlay__").add("n") \
        .set("refs", list(range(0, 4 * n, 4)))
    base = base_tree()
    delta = base.max_phandle()
    apply_overlay(base, t.to_dtb())
    assert decode_cells(base.node("/n").get("refs")) == [1 + delta] * n
    assert base.node("/n").u32("phandle") == 1 + delta
    assert isinstance(base.node("/n").get("refs"), bytes)


def test_an_overlay_may_merge_anything_into_symbols():
    # found by fuzz/fuzz_fdt.py: an overlay put a non-string property into the base's
    # /__symbols__, and the merged tree's blob could no longer be read back
    ov = Tree()
    frag = ov.root.add("fragment@0")
    frag.set("target-path", "/")
    frag.add("__overlay__").add("__symbols__").set("odd", 7).set("fine", "/soc")
    t = base_tree()
    apply_overlay(t, ov.to_dtb())
    back = parse_dtb(t.to_dtb())
    assert "odd" not in back.symbols and back.symbols["fine"] == "/soc"
    assert back.symbols["uart"] == "/soc/serial@1000"
