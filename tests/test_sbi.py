"""devices/firmware/sbi.py: the VMM's own SBI firmware, call by call (SBI v2.0 names), and the S-mode hand-off."""
import io

import pytest

from emu import state as S
from emu.spec import MENVCFG, MIP, MIDELEG, MEDELEG, MCOUNTEREN, SCOUNTEREN, MIP_SSIP, MIP_STIP, MIP_SEIP, A0, A1, A6, A7
from emu.hart import Hart
from devices.firmware import sbi as B
from tests.rvenc import ECALL, J_SELF


def call(h, fw, eid, fid=0, *args):
    h.x[A7] = eid
    h.x[A6] = fid
    for i, a in enumerate(args):
        h.x[A0 + i] = a - (1 << 64) if a >> 63 else a
    fw.handle(h)
    return int(h.x[A0]), int(h.x[A1])


@pytest.fixture
def hs():
    h = Hart(1 << 20)
    out = io.BytesIO()
    return h, B.Sbi(out, lambda: b"k"), out


def test_base_extension(hs):
    h, fw, _ = hs
    assert call(h, fw, B.EXT_BASE, 0) == (0, 2 << 24)                 # spec version 2.0
    assert call(h, fw, B.EXT_BASE, 1) == (0, B.IMPL_ID)
    for ext in (B.EXT_TIME, B.EXT_IPI, B.EXT_RFENCE, B.EXT_HSM, B.EXT_SRST, B.EXT_DBCN, B.EXT_BASE):
        assert call(h, fw, B.EXT_BASE, 3, ext) == (0, 1)
    assert call(h, fw, B.EXT_BASE, 3, 0x12345678) == (0, 0)          # probe: absent extension
    assert call(h, fw, B.EXT_BASE, 4) == (0, 0)                       # mvendorid


def test_unknown_extension_and_function_are_not_supported(hs):
    h, fw, _ = hs
    assert call(h, fw, 0x0A000000, 0)[0] == B.SBI_ERR_NOT_SUPPORTED
    assert call(h, fw, B.EXT_TIME, 7)[0] == B.SBI_ERR_NOT_SUPPORTED


def test_set_timer_writes_mtimecmp_and_clears_stip(hs):
    h, fw, _ = hs
    h.csr[MIP] |= MIP_STIP
    assert call(h, fw, B.EXT_TIME, 0, 12345) == (0, 0)
    assert int(h.st[S.ST_MTIMECMP]) == 12345
    assert not int(h.csr[MIP]) & MIP_STIP
    call(h, fw, B.LEGACY_SET_TIMER, 0, 777)                         # legacy set_timer
    assert int(h.st[S.ST_MTIMECMP]) == 777


def test_ipi_to_self_raises_ssip(hs):
    h, fw, _ = hs
    assert call(h, fw, B.EXT_IPI, 0, 1, 0) == (0, 0)
    assert int(h.csr[MIP]) & MIP_SSIP
    h.csr[MIP] = 0
    call(h, fw, B.EXT_IPI, 0, 0, 2**64 - 1)                          # mask base -1: all harts
    assert int(h.csr[MIP]) & MIP_SSIP
    h.csr[MIP] = 0
    call(h, fw, B.EXT_IPI, 0, 1, 1)                                  # harts 1..: not us
    assert not int(h.csr[MIP]) & MIP_SSIP


def test_hsm_one_hart(hs):
    h, fw, _ = hs
    assert call(h, fw, B.EXT_HSM, 2, 0) == (0, B.HSM_STARTED)
    assert call(h, fw, B.EXT_HSM, 2, 1)[0] == B.SBI_ERR_INVALID_PARAM
    assert call(h, fw, B.EXT_HSM, 0, 0)[0] == B.SBI_ERR_ALREADY_AVAILABLE
    assert call(h, fw, B.EXT_HSM, 0, 3)[0] == B.SBI_ERR_INVALID_PARAM


def test_system_reset(hs):
    h, fw, _ = hs
    with pytest.raises(B.SbiReset) as e:
        call(h, fw, B.EXT_SRST, 0, B.ResetType.SHUTDOWN, B.SRST_REASON_NONE)
    assert (e.value.reset_type, e.value.code) == (B.ResetType.SHUTDOWN, 0)
    with pytest.raises(B.SbiReset) as e:
        call(h, fw, B.EXT_SRST, 0, B.ResetType.SHUTDOWN, B.SRST_REASON_FAILURE)
    assert e.value.code == 1
    for reset_type in (B.ResetType.COLD_REBOOT, B.ResetType.WARM_REBOOT):
        with pytest.raises(B.SbiReset) as e:
            call(h, fw, B.EXT_SRST, 0, reset_type, 0)
        assert type(e.value.reset_type) is B.ResetType and e.value.reset_type is reset_type
    for reserved in (3, 9, 0xEFFF_FFFF, 0xF000_0000):       # reserved, then vendor-specific: none here
        assert call(h, fw, B.EXT_SRST, 0, reserved, 0)[0] == B.SBI_ERR_INVALID_PARAM
    with pytest.raises(B.SbiReset) as e:
        call(h, fw, B.LEGACY_SHUTDOWN, 0)
    assert e.value.reset_type is B.ResetType.SHUTDOWN


def test_reset_types_are_the_srst_spec_values():
    # SBI v2.0, table "SRST System Reset Types"
    assert [(t.name, t.value) for t in B.ResetType] == [("SHUTDOWN", 0), ("COLD_REBOOT", 1), ("WARM_REBOOT", 2)]


def test_consoles(hs):
    h, fw, out = hs
    call(h, fw, B.LEGACY_PUTCHAR, 0, ord("a"))
    assert call(h, fw, B.LEGACY_GETCHAR, 0)[0] == ord("k")
    h.write_phys(h.ram_base + 0x100, b"hello\n")
    assert call(h, fw, B.EXT_DBCN, 0, 6, h.ram_base + 0x100, 0) == (0, 6)
    assert call(h, fw, B.EXT_DBCN, 2, ord("!")) == (0, 0)
    assert out.getvalue() == b"ahello\n!"
    assert call(h, fw, B.EXT_DBCN, 1, 1, h.ram_base + 0x200, 0) == (0, 1)
    assert h.read_phys(h.ram_base + 0x200, 1) == b"k"
    # a buffer outside RAM is an error status, not a host exception
    assert call(h, fw, B.EXT_DBCN, 0, 16, 0x1000, 0)[0] == B.SBI_ERR_INVALID_PARAM
    assert call(h, fw, B.EXT_DBCN, 0, 16, 0, 1)[0] == B.SBI_ERR_INVALID_PARAM    # base_hi != 0


def test_enter_supervisor_and_ecall_exits_to_the_host():
    h = Hart(1 << 20)
    h.write_phys(h.ram_base, ECALL + J_SELF)
    B.enter_supervisor(h, h.ram_base, 0, h.ram_base + 0x8000)
    assert h.priv == S.PRV_S and int(h.x[A1]) == h.ram_base + 0x8000 and int(h.x[A0]) == 0
    assert int(h.csr[MIDELEG]) == MIP_SSIP | MIP_STIP | MIP_SEIP
    assert int(h.csr[MEDELEG]) & (1 << 8) and not int(h.csr[MEDELEG]) & (1 << 9)
    assert int(h.csr[MCOUNTEREN]) & 2                                  # time readable from S
    assert int(h.csr[SCOUNTEREN]) == 2                                 # and from U (glibc's vDSO), nothing else
    h.x[A7] = B.EXT_BASE
    h.x[A6] = 0
    assert h.run(10) == S.EXIT_SBI
    assert h.pc == h.ram_base + 4 and h.instret == 1                   # the ecall retired
    B.Sbi(io.BytesIO()).handle(h)
    assert int(h.x[A1]) == 2 << 24


def test_timer_drives_stip_under_the_builtin_sbi():
    """The CLINT comparator's wiring to mip.STIP (with Sstc on, stimecmp drives STIP: test_sstc.py)."""
    h = Hart(1 << 20)
    h.write_phys(h.ram_base, J_SELF)
    B.enter_supervisor(h, h.ram_base, 0, 0)
    h.csr[MENVCFG] = 0
    h.st[S.ST_MTIMECMP] = 5
    h.run(100)
    assert int(h.csr[MIP]) & MIP_STIP and not int(h.csr[MIP]) & (1 << 7)
