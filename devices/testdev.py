"""SiFive test device ("finisher") at 0x0010_0000, as QEMU virt's `sifive,test`.

One 32-bit register at offset 0; a write asks the machine to stop:
  bits 15:0 = 0x5555  poweroff               -> halt_request = ("poweroff", 0)
              0x7777  reboot                 -> ("reboot", 0)
              0x3333  fail, code in 31:16    -> ("fail", code)
Other values, other offsets and other sizes are ignored; reads return 0.
The machine looks at halt_request after each write to this device and acts on
it (this class does not stop anything itself).  Firmware and Linux find it
through the /poweroff and /reboot syscon nodes that fdt_root_nodes() adds.
"""
from emu.spec import TEST_BASE, TEST_SIZE  # noqa: F401 (QEMU virt's map; importable from here)
from devices.bus import Device

FINISHER_FAIL = 0x3333
FINISHER_PASS = 0x5555          # QEMU's name for poweroff
FINISHER_RESET = 0x7777


class SifiveTest(Device):
    name = "test"
    dt_name = "test"
    dt_compatible = ("sifive,test1", "sifive,test0", "syscon")

    def __init__(self):
        self.halt_request = None    # None, or (kind, code): kind "poweroff", "reboot" or "fail"

    def write(self, offset, size, value):
        # 16- and 32-bit writes, as QEMU's sifive_test takes them (OpenSBI's driver uses writew)
        if offset != 0 or size not in (2, 4):
            return
        cmd, code = value & 0xFFFF, (value >> 16) & 0xFFFF
        if cmd == FINISHER_PASS:
            self.halt_request = ("poweroff", 0)
        elif cmd == FINISHER_RESET:
            self.halt_request = ("reboot", 0)
        elif cmd == FINISHER_FAIL:
            self.halt_request = ("fail", code)

    def fdt_extra(self, ctx):
        return {"phandle": ctx.phandle(self)}

    def fdt_root_nodes(self, ctx):
        """Nodes for the root of the device tree, as QEMU virt makes them: {name: {property: value}}."""
        me = ctx.phandle(self)
        return {
            "poweroff": {"compatible": "syscon-poweroff", "regmap": me, "offset": 0,
                         "value": FINISHER_PASS},
            "reboot": {"compatible": "syscon-reboot", "regmap": me, "offset": 0,
                       "value": FINISHER_RESET},
        }
