"""devices/testdev.py: the SiFive test device (QEMU's sifive,test finisher): a 32-bit write
of 0x5555 / 0x7777 / 0x3333|code<<16 at offset 0 asks the machine to power off,
reboot, or fail with code."""
import pytest

from devices.testdev import SifiveTest, TEST_BASE, TEST_SIZE


def test_qemu_virt_window():
    assert (TEST_BASE, TEST_SIZE) == (0x10_0000, 0x1000)


@pytest.mark.parametrize("value,request_", [
    (0x5555, ("poweroff", 0)),
    (0x7777, ("reboot", 0)),
    (0x3333, ("fail", 0)),
    (0x0001_3333, ("fail", 1)),
    (0xFFFF_3333, ("fail", 0xFFFF)),
    (0x1234_5555, ("poweroff", 0)),          # poweroff has no code
])
def test_commands(value, request_):
    d = SifiveTest()
    assert d.halt_request is None
    d.write(0, 4, value)
    assert d.halt_request == request_


@pytest.mark.parametrize("offset,size,value", [
    (0, 4, 0x1234),            # not a command
    (0, 4, 0),
    (4, 4, 0x5555),            # not the register
    (0, 1, 0x55),
    (0, 8, 0x5555),
])
def test_everything_else_is_ignored(offset, size, value):
    d = SifiveTest()
    d.write(offset, size, value)
    assert d.halt_request is None


def test_reads_are_zero():
    d = SifiveTest()
    d.write(0, 4, 0x5555)
    assert d.read(0, 4) == 0 and d.read(8, 4) == 0


class Ctx:
    def phandle(self, what):
        return 5


def test_device_tree():
    d = SifiveTest()
    assert d.dt_name == "test"
    assert d.dt_compatible == ("sifive,test1", "sifive,test0", "syscon")
    assert d.fdt_extra(Ctx()) == {"phandle": 5}
    assert d.fdt_root_nodes(Ctx()) == {
        "poweroff": {"compatible": "syscon-poweroff", "regmap": 5, "offset": 0, "value": 0x5555},
        "reboot": {"compatible": "syscon-reboot", "regmap": 5, "offset": 0, "value": 0x7777},
    }


def test_a_16_bit_poweroff_write_counts_as_opensbi_makes_it():
    from devices.testdev import SifiveTest
    d = SifiveTest()
    d.write(0, 2, 0x5555)
    assert d.halt_request == ("poweroff", 0)
    d = SifiveTest()
    d.write(0, 1, 0x55)
    assert d.halt_request is None
