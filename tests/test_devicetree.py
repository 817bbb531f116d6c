"""devices/firmware/devicetree.py: the device tree generated from the trap table, laid out like QEMU
virt's, round-tripped through Debian's dtc and checked node by node, property by property."""
import io
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dtc_tool  # noqa: E402
from dtc_tool import cells, strings  # noqa: E402
from rvenc import I  # noqa: E402

from devices.bus import Device, IrqLine, TrapTable  # noqa: E402
from devices.clint import Clint  # noqa: E402
from devices.firmware.devicetree import build_dtb, build_tree, isa_extensions  # noqa: E402
from devices.firmware.fdt import FdtError, OverlayError, parse_dtb  # noqa: E402
from devices.plic import Plic  # noqa: E402
from devices.rtc import GoldfishRtc  # noqa: E402
from devices.testdev import SifiveTest  # noqa: E402
from devices.uart import Uart16550  # noqa: E402
from emu.spec import (A0, A1, CLINT_BASE, PLIC_BASE, PLIC_SIZE, RAM_BASE, RTC_BASE, RTC_IRQ, RTC_SIZE,  # noqa: E402
                      TEST_BASE, TEST_SIZE, UART_BASE, UART_IRQ, UART_SIZE, VIRTIO_BASE, VIRTIO_IRQ_BASE, VIRTIO_SIZE, VIRTIO_STRIDE)

RAM_SIZE = 128 << 20


class FakeVirtio(Device):
    """Stands in for a virtio-mmio slot: a node with an interrupt."""
    name = "virtio"
    dt_name = "virtio_mmio"
    dt_compatible = ("virtio,mmio",)

    def __init__(self, irq):
        self.irq_source = irq


class Hidden(Device):
    name = "hidden"                      # dt_name None: no node


def virt(order=None, num_contexts=2, virtio=2):
    plic = Plic(lambda c, l: None, num_contexts=num_contexts)
    entries = [
        (CLINT_BASE, Clint.size, Clint()),
        (PLIC_BASE, PLIC_SIZE, plic),
        (UART_BASE, UART_SIZE, Uart16550(io.BytesIO(), irq=IrqLine(plic.set_level, UART_IRQ))),
        (TEST_BASE, TEST_SIZE, SifiveTest()),
        (0x3000_0000, 0x100, Hidden()),
        (RTC_BASE, RTC_SIZE, GoldfishRtc(lambda: 0, 0, irq=IrqLine(plic.set_level, RTC_IRQ))),
    ] + [(VIRTIO_BASE + n * VIRTIO_STRIDE, VIRTIO_SIZE, FakeVirtio(VIRTIO_IRQ_BASE + n)) for n in range(virtio)]
    t = TrapTable()
    for i in (order or range(len(entries))):
        t.add(*entries[i])
    return t


def dts(blob):
    text, warnings = dtc_tool.decompile(blob)
    assert warnings == "", warnings              # dtc's checks all pass
    return dtc_tool.parse(text)[0]


def reg(base, size):
    return cells(bytes.fromhex(f"{base:016x}{size:016x}"))


def test_every_node_and_property():
    blob = build_dtb(virt(), RAM_BASE, RAM_SIZE, bootargs="console=ttyS0 earlycon=sbi",
                     initrd=(0x8800_0000, 0x8810_0000))
    n = dts(blob)
    assert list(n) == ["/", "/chosen", "/cpus", "/cpus/cpu@0", "/cpus/cpu@0/interrupt-controller",
                       "/memory@80000000", "/soc", "/soc/test@100000", "/soc/rtc@101000",
                       "/soc/clint@2000000", "/soc/plic@c000000", "/soc/serial@10000000", "/soc/virtio_mmio@10001000",
                       "/soc/virtio_mmio@10002000", "/poweroff", "/reboot"]
    intc = cells(n["/cpus/cpu@0/interrupt-controller"]["phandle"])[0]
    test = cells(n["/soc/test@100000"]["phandle"])[0]
    plic = cells(n["/soc/plic@c000000"]["phandle"])[0]
    assert len({intc, test, plic}) == 3
    expect = {
        "/": {"#address-cells": [2], "#size-cells": [2], "compatible": ["riscv-virtio"],
              "model": ["riscv-virtio,qemu"]},
        "/chosen": {"bootargs": ["console=ttyS0 earlycon=sbi"], "stdout-path": ["/soc/serial@10000000"],
                    "linux,initrd-start": [0, 0x8800_0000], "linux,initrd-end": [0, 0x8810_0000]},
        "/cpus": {"#address-cells": [1], "#size-cells": [0], "timebase-frequency": [10_000_000]},
        "/cpus/cpu@0": {"device_type": ["cpu"], "reg": [0], "status": ["okay"], "compatible": ["riscv"],
                        "riscv,isa": ["rv64imafdc_zicbom_zicbop_zicboz_zicntr_zicond_zicsr_zifencei_zihintpause"
                                      "_zihpm_zba_zbb_zbs_sstc_svinval_svpbmt"],
                        "riscv,isa-base": ["rv64i"],
                        "riscv,isa-extensions": ["i", "m", "a", "f", "d", "c", "zicbom", "zicbop", "zicboz", "zicntr",
                                                 "zicond", "zicsr", "zifencei", "zihintpause", "zihpm", "zba", "zbb",
                                                 "zbs", "sstc", "svinval", "svpbmt"],
                        "mmu-type": ["riscv,sv57"],
                        "riscv,cbom-block-size": [64], "riscv,cbop-block-size": [64], "riscv,cboz-block-size": [64]},
        "/cpus/cpu@0/interrupt-controller": {"#address-cells": [0], "#interrupt-cells": [1],
                                             "interrupt-controller": b"",
                                             "compatible": ["riscv,cpu-intc"], "phandle": [intc]},
        "/memory@80000000": {"device_type": ["memory"], "reg": reg(RAM_BASE, RAM_SIZE)},
        "/soc": {"#address-cells": [2], "#size-cells": [2], "compatible": ["simple-bus"], "ranges": b""},
        "/soc/test@100000": {"compatible": ["sifive,test1", "sifive,test0", "syscon"],
                             "reg": reg(0x10_0000, 0x1000), "phandle": [test]},
        "/soc/rtc@101000": {"compatible": ["google,goldfish-rtc"], "reg": reg(0x10_1000, 0x1000),
                            "interrupts": [11], "interrupt-parent": [plic]},        # QEMU virt's RTC
        "/soc/clint@2000000": {"compatible": ["sifive,clint0", "riscv,clint0"],
                               "reg": reg(0x200_0000, 0x1_0000),
                               "interrupts-extended": [intc, 3, intc, 7]},
        # (phandle first: the RTC, which comes before it in address order, asked for it)
        "/soc/plic@c000000": {"phandle": [plic], "compatible": ["sifive,plic-1.0.0", "riscv,plic0"],
                              "reg": reg(0xC00_0000, 0x60_0000),
                              "#address-cells": [0], "#interrupt-cells": [1],
                              "interrupt-controller": b"", "interrupts-extended": [intc, 11, intc, 9],
                              "riscv,ndev": [96]},
        "/soc/serial@10000000": {"compatible": ["ns16550a"], "reg": reg(0x1000_0000, 0x100),
                                 "interrupts": [10], "interrupt-parent": [plic],
                                 "clock-frequency": [3_686_400]},
        "/soc/virtio_mmio@10001000": {"compatible": ["virtio,mmio"], "reg": reg(0x1000_1000, 0x1000),
                                      "interrupts": [1], "interrupt-parent": [plic]},
        "/soc/virtio_mmio@10002000": {"compatible": ["virtio,mmio"], "reg": reg(0x1000_2000, 0x1000),
                                      "interrupts": [2], "interrupt-parent": [plic]},
        "/poweroff": {"compatible": ["syscon-poweroff"], "regmap": [test], "offset": [0],
                      "value": [0x5555]},
        "/reboot": {"compatible": ["syscon-reboot"], "regmap": [test], "offset": [0], "value": [0x7777]},
    }
    for path, props in expect.items():
        got = n[path]
        assert list(got) == list(props), path                     # every property, in order
        for name, want in props.items():
            if isinstance(want, bytes):
                assert got[name] == want, (path, name)
            elif isinstance(want[0], str):
                assert strings(got[name]) == want, (path, name)
            else:
                assert cells(got[name]) == want, (path, name)


def test_blob_round_trips_through_dtc():
    blob = build_dtb(virt(), RAM_BASE, RAM_SIZE, bootargs="x")
    again = dtc_tool.compile_dts(dtc_tool.decompile(blob)[0])
    a, b = parse_dtb(blob), parse_dtb(again)
    assert [(p, x.props) for p, x in a.root.walk()] == [(p, x.props) for p, x in b.root.walk()]


def test_deterministic_and_independent_of_the_table_order():
    one = build_dtb(virt(), RAM_BASE, RAM_SIZE)
    assert build_dtb(virt(), RAM_BASE, RAM_SIZE) == one
    assert build_dtb(virt(order=[6, 3, 7, 1, 5, 0, 4, 2]), RAM_BASE, RAM_SIZE) == one


def test_chosen_options():
    n = dts(build_dtb(virt(), RAM_BASE, RAM_SIZE))
    assert n["/chosen"] == {"stdout-path": b"/soc/serial@10000000\0"}      # nothing else when not given
    n = dts(build_dtb(virt(), RAM_BASE, RAM_SIZE, stdout_path="/soc/serial@10000000:115200n8"))
    assert strings(n["/chosen"]["stdout-path"]) == ["/soc/serial@10000000:115200n8"]
    t = TrapTable()
    t.add(CLINT_BASE, Clint.size, Clint())
    assert "stdout-path" not in dts(build_dtb(t, RAM_BASE, RAM_SIZE))["/chosen"]  # no serial, no path


def test_cpu_options():
    # an ISA string other than the hart's (emu.csr.ISA_STRING, the default) is passed through
    n = dts(build_dtb(virt(), RAM_BASE, RAM_SIZE, isa="rv64imac_zicsr_zifencei", mmu=None,
                      timebase=1_000_000))
    cpu = n["/cpus/cpu@0"]
    assert "mmu-type" not in cpu
    assert strings(cpu["riscv,isa"]) == ["rv64imac_zicsr_zifencei"]
    assert strings(cpu["riscv,isa-extensions"]) == ["i", "m", "a", "c", "zicsr", "zifencei"]
    assert not [p for p in cpu if p.endswith("-block-size")]            # no cache-block extension
    assert cells(n["/cpus"]["timebase-frequency"]) == [1_000_000]
    cpu = dts(build_dtb(virt(), RAM_BASE, RAM_SIZE, isa="rv64imac_zicboz"))["/cpus/cpu@0"]
    assert [p for p in cpu if p.endswith("-block-size")] == ["riscv,cboz-block-size"]


def test_two_harts():
    n = dts(build_dtb(virt(num_contexts=4), RAM_BASE, RAM_SIZE, hart_count=2))
    i0 = cells(n["/cpus/cpu@0/interrupt-controller"]["phandle"])[0]
    i1 = cells(n["/cpus/cpu@1/interrupt-controller"]["phandle"])[0]
    assert i0 != i1 and cells(n["/cpus/cpu@1"]["reg"]) == [1]
    assert cells(n["/soc/plic@c000000"]["interrupts-extended"]) == [i0, 11, i0, 9, i1, 11, i1, 9]
    assert cells(n["/soc/clint@2000000"]["interrupts-extended"]) == [i0, 3, i0, 7, i1, 3, i1, 7]


def test_plic_contexts_for_missing_harts_are_an_error():
    with pytest.raises(FdtError, match="cpu1"):
        build_dtb(virt(num_contexts=4), RAM_BASE, RAM_SIZE, hart_count=1)


def test_an_interrupt_without_a_plic_is_an_error():
    t = TrapTable()
    t.add(VIRTIO_BASE, VIRTIO_SIZE, FakeVirtio(VIRTIO_IRQ_BASE))
    with pytest.raises(FdtError, match="no PLIC"):
        build_dtb(t, RAM_BASE, RAM_SIZE)


def test_labels_for_devices_and_overlays():
    tree = build_tree(virt(), RAM_BASE, RAM_SIZE)
    assert tree.symbols == {
        "cpu0": "/cpus/cpu@0", "cpu0_intc": "/cpus/cpu@0/interrupt-controller",
        "test0": "/soc/test@100000", "rtc0": "/soc/rtc@101000", "clint0": "/soc/clint@2000000", "plic0": "/soc/plic@c000000",
        "serial0": "/soc/serial@10000000", "virtio_mmio0": "/soc/virtio_mmio@10001000",
        "virtio_mmio1": "/soc/virtio_mmio@10002000", "poweroff": "/poweroff", "reboot": "/reboot"}
    assert "__symbols__" not in tree.root.children           # like QEMU's blob


def test_overlay_is_applied_on_top():
    ov = dtc_tool.compile_dts("""/dts-v1/; /plugin/;
    &serial0 { status = "disabled"; };
    &{/chosen} { bootargs = "from the overlay"; };
    &{/soc} {
        doorbell@10200000 { compatible = "numbavm,doorbell"; reg = <0x0 0x10200000 0x0 0x1000>;
                            interrupts = <12>; interrupt-parent = <&plic0>; };
    };
    """, overlay=True)
    n = dts(build_dtb(virt(), RAM_BASE, RAM_SIZE, bootargs="base", overlay=ov))
    assert n["/soc/serial@10000000"]["status"] == b"disabled\0"
    assert strings(n["/chosen"]["bootargs"]) == ["from the overlay"]
    bell = n["/soc/doorbell@10200000"]
    assert cells(bell["interrupt-parent"]) == cells(n["/soc/plic@c000000"]["phandle"])
    assert cells(bell["interrupts"]) == [12]


def test_bad_overlay_is_a_one_line_error():
    ov = dtc_tool.compile_dts("/dts-v1/; /plugin/; &uart9 { status = \"disabled\"; };", overlay=True)
    with pytest.raises(FdtError) as e:
        build_dtb(virt(), RAM_BASE, RAM_SIZE, overlay=ov)
    assert "uart9" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(FdtError):
        build_dtb(virt(), RAM_BASE, RAM_SIZE, overlay=b"not a dtb")


@pytest.mark.parametrize("overlay,what", [
    (b"not a dtb", "not a device tree blob"),
    (b"", "not a device tree blob: 0 bytes"),           # an empty file is not "no overlay"
    (b"\xd0\x0d\xfe\xed" + bytes(60), "version 0"),
])
def test_overlay_errors_name_the_overlay(overlay, what):
    # issue 12 item 14: "Image: not a device tree blob" named the kernel; the error is an
    # OverlayError that starts with the overlay's name, for the caller to report as it is
    with pytest.raises(OverlayError) as e:
        build_dtb(virt(), RAM_BASE, RAM_SIZE, overlay=overlay, overlay_name="extra.dtbo")
    assert str(e.value).startswith("extra.dtbo: ") and what in str(e.value), str(e.value)
    with pytest.raises(OverlayError, match="^the device-tree overlay: "):
        build_tree(virt(), RAM_BASE, RAM_SIZE, overlay=overlay)


def test_the_default_isa_is_the_harts_misa():
    """riscv,isa (what Linux reads to decide whether the hart has F and D) names misa's extensions:
    its single-letter ones are misa's letters but S and U (privilege modes, not in ISA strings)."""
    from emu.csr import MISA_VALUE
    isa = strings(dts(build_dtb(virt(), RAM_BASE, RAM_SIZE))["/cpus/cpu@0"]["riscv,isa"])[0]
    _base, exts = isa_extensions(isa)
    misa = {chr(ord("a") + b) for b in range(26) if (MISA_VALUE >> b) & 1} - {"s", "u"}
    assert {e for e in exts if len(e) == 1} == misa == set("imafdc")


def test_isa_extensions():
    assert isa_extensions("rv64imac_zicsr_zifencei") == ("rv64i", ["i", "m", "a", "c", "zicsr", "zifencei"])
    assert isa_extensions("rv64gc") == ("rv64i", ["i", "m", "a", "f", "d", "c", "zicsr", "zifencei"])
    assert isa_extensions("RV32E") == ("rv32e", ["e"])
    for bad in ("x86", "rv64", "rv64mac", "rv128i"):
        with pytest.raises(FdtError):
            isa_extensions(bad)


FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"     # Debian's opensbi


def test_opensbi_boots_on_the_generated_tree():
    """Real M-mode firmware reads the tree: OpenSBI's generic platform finds the console,
    timer, IPI, PLIC and the test device from it, then enters the S-mode payload at
    0x8020_0000, which prints and powers off through the test device."""
    if not os.path.exists(FW_JUMP):
        msg = "OpenSBI is not installed (apt-get install opensbi)"
        if os.environ.get("CI"):
            pytest.fail(msg + ": CI must have it (tests/setup-debian.sh)")
        print(msg)
        pytest.skip(msg)
    from lifecycle.machine.board import Machine
    con = io.BytesIO()
    m = Machine(console=con)
    m.load(FW_JUMP, raw_addr=RAM_BASE)
    payload = b"".join([
        I("lui", rd=5, imm=UART_BASE >> 12), I("addi", rd=6, rs1=0, imm=ord("K")), I("sb", rs2=6, rs1=5, imm=0),
        I("addi", rd=6, rs1=0, imm=10), I("sb", rs2=6, rs1=5, imm=0),          # "K\n" to the UART
        I("lui", rd=5, imm=TEST_BASE >> 12), I("lui", rd=6, imm=0x5), I("addi", rd=6, rs1=6, imm=0x555),
        I("sw", rs2=6, rs1=5, imm=0), I("jal", rd=0, imm=0)])                   # poweroff
    m.hart.write_phys(RAM_BASE + 0x20_0000, payload)
    dtb = build_dtb(m.bus, m.hart.ram_base, m.hart.ram_size, bootargs="console=ttyS0")
    dtb_addr = m.hart.ram_base + m.hart.ram_size - (1 << 20)
    m.hart.write_phys(dtb_addr, dtb)
    m.hart.x[A0], m.hart.x[A1] = 0, dtb_addr                                   # a0 = hartid, a1 = dtb
    r = m.run(max_instructions=50_000_000)
    out = con.getvalue().decode(errors="replace")
    for line in ("Platform Name             : riscv-virtio,qemu",
                 "Platform Console Device   : uart8250",
                 "Platform Timer Device     : aclint-mtimer @ 10000000Hz",
                 "Platform Shutdown Device  : sifive_test"):
        assert line in out, out
    assert out.endswith("K\n"), out
    assert r.reason != "fatal", r
