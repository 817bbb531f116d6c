"""The VMM as the SBI firmware (RISC-V Supervisor Binary Interface v2.0), so a kernel needs no OpenSBI.

With st[ST_SBI] set, an ecall from S-mode leaves the loop (EXIT_SBI, the ecall
already retired) and Sbi.handle() answers it: a7 = extension id (EID), a6 =
function id (FID), a0..a5 the arguments; the answer is a0 = error, a1 = value.
Implemented, as the SBI spec names them:
  Base (0x10)            get_spec_version, get_impl_id/version, probe_extension, mvendorid/marchid/mimpid
  Legacy (0x00-0x08)     set_timer, console_putchar, console_getchar, shutdown
  TIME   "TIME"          sbi_set_timer
  IPI    "sPI"           sbi_send_ipi (one hart: raises its own mip.SSIP)
  RFENCE "RFNC"          remote_fence_i, remote_sfence_vma(_asid) (one hart: local fences)
  HSM    "HSM"           hart_start/stop/get_status/suspend (one hart, always started)
  SRST   "SRST"          system_reset: shutdown, cold and warm reboot
  DBCN   "DBCN"          console_write, console_read, console_write_byte
The timer: what OpenSBI does in software (take the M timer interrupt, raise
STIP) the machine does in wiring: st[ST_TIMER_BIT] = STIP, so the CLINT
comparator drives mip.STIP directly and set_timer only writes mtimecmp.  As
OpenSBI does on a hart with Sstc, menvcfg.STCE is set: a kernel that knows Sstc
(the device tree lists it) writes stimecmp itself, and set_timer writes stimecmp
too.  menvcfg.PBMTE is set as well (Svpbmt), as OpenSBI sets it.  Each of these bits only when the
hart has its extension (numbavm --isa: emu/csr.py envcfg_writable).
"""
from enum import IntEnum

from emu import state as S
from emu.ints import s64, u64
from emu.csr import envcfg_writable
from emu.spec import (MIP, MIDELEG, MEDELEG, MCOUNTEREN, SCOUNTEREN, MENVCFG, MIP_SSIP, MIP_STIP, MIP_SEIP, PRV_S,
                      ENVCFG_CBIE, ENVCFG_CBCFE, ENVCFG_CBZE,
                      COUNTEREN_CY, COUNTEREN_TM, COUNTEREN_IR, CAUSE_SUPERVISOR_ECALL, CAUSE_MACHINE_ECALL,
                      MENVCFG_STCE, MENVCFG_PBMTE, STIMECMP,
                      MVENDORID, MARCHID, MIMPID, A0, A1, A6, A7)

# error codes (SBI v2.0, table 1)
SBI_SUCCESS = 0
SBI_ERR_FAILED = -1
SBI_ERR_NOT_SUPPORTED = -2
SBI_ERR_INVALID_PARAM = -3
SBI_ERR_DENIED = -4
SBI_ERR_INVALID_ADDRESS = -5
SBI_ERR_ALREADY_AVAILABLE = -6

# extension ids
EXT_BASE = 0x10
EXT_TIME = 0x54494D45
EXT_IPI = 0x735049
EXT_RFENCE = 0x52464E43
EXT_HSM = 0x48534D
EXT_SRST = 0x53525354
EXT_DBCN = 0x4442434E
LEGACY_SET_TIMER, LEGACY_PUTCHAR, LEGACY_GETCHAR = 0x00, 0x01, 0x02
LEGACY_CLEAR_IPI, LEGACY_SEND_IPI, LEGACY_FENCE_I = 0x03, 0x04, 0x05
LEGACY_SFENCE_VMA, LEGACY_SFENCE_VMA_ASID, LEGACY_SHUTDOWN = 0x06, 0x07, 0x08

SPEC_VERSION = 2 << 24            # v2.0
IMPL_ID = 0x4E42                  # "NB": not in the SBI registry of implementation ids
IMPL_VERSION = 1

HSM_STARTED = 0
SRST_REASON_NONE, SRST_REASON_FAILURE = 0, 1


class ResetType(IntEnum):
    """SRST system_reset's reset_type (SBI v2.0, chapter 10), as the spec names them.  Also how a run
    that the guest ended with a system reset says which one (RunResult.reset_type, Guest.reset_type):
    the legacy shutdown is SHUTDOWN, and so are the SiFive test device's poweroff and fail; its reset is
    COLD_REBOOT (lifecycle/machine/exits.py)."""
    SHUTDOWN = 0
    COLD_REBOOT = 1
    WARM_REBOOT = 2

# traps the firmware would redirect to S-mode anyway: delegate them in hardware
# (everything but ecalls from S and M; misaligned accesses never trap on this hart)
MEDELEG_LINUX = 0xFFFF & ~((1 << CAUSE_SUPERVISOR_ECALL) | (1 << 10) | (1 << CAUSE_MACHINE_ECALL))   # 10: reserved
MIDELEG_LINUX = MIP_SSIP | MIP_STIP | MIP_SEIP


def enter_supervisor(hart, entry, hartid, dtb_addr):
    """Hand the hart to an S-mode kernel as the Linux boot protocol says (a0 = hartid, a1 = dtb)."""
    st, csr = hart.st, hart.csr
    csr[MEDELEG] = MEDELEG_LINUX
    csr[MIDELEG] = MIDELEG_LINUX
    csr[MCOUNTEREN] = COUNTEREN_CY | COUNTEREN_TM | COUNTEREN_IR   # readable from S (as OpenSBI allows)
    # time readable from U too: Linux sets scounteren.TM only from its SBI PMU driver, which this SBI does
    # not offer, and glibc's vDSO clock_gettime reads time in U-mode (without TM: SIGILL in every program)
    csr[SCOUNTEREN] = COUNTEREN_TM
    # the cache-block instructions for S-mode (cbo.inval invalidating), as OpenSBI enables them: a kernel
    # that finds Zicbom/Zicboz in the device tree uses them from its first page clears on; and, as OpenSBI
    # does on a hart with Sstc and Svpbmt, stimecmp (STCE) and the PBMT bits (PBMTE) for the kernel
    # (only what the hart's extensions have: emu/csr.py envcfg_writable, st[ST_ISA])
    csr[MENVCFG] = ((ENVCFG_CBIE | ENVCFG_CBCFE | ENVCFG_CBZE | MENVCFG_STCE | MENVCFG_PBMTE)
                    & envcfg_writable(MENVCFG, st[S.ST_ISA]))
    st[S.ST_SBI] = 1
    st[S.ST_TIMER_BIT] = MIP_STIP
    hart.x[A0] = hartid
    hart.x[A1] = dtb_addr
    hart.pc = entry
    hart.priv = PRV_S


class SbiReset(Exception):
    """system_reset or legacy shutdown: reset_type a ResetType, code the exit status (1 for
    system_reset's SRST_REASON_FAILURE, else 0)."""

    def __init__(self, reset_type, code):
        super().__init__(reset_type.name)
        self.reset_type, self.code = reset_type, code


class Sbi:
    def __init__(self, console, input_source=None):
        self.console = console
        self.input_source = input_source      # callable -> bytes, never blocks
        self._rx = bytearray()
        self.calls = 0

    def _getc(self):
        if not self._rx and self.input_source is not None:
            self._rx += self.input_source() or b""
        if self._rx:
            c = self._rx[0]
            del self._rx[0]
            return c
        return -1

    def _put(self, data):
        self.console.write(bytes(data))
        if b"\n" in data:
            self.console.flush()

    def handle(self, hart):
        """Answer the ecall in the hart's registers; raises SbiReset for shutdown/reboot."""
        self.calls += 1
        x = hart.x
        eid, fid = u64(x[A7]), u64(x[A6])
        a = [u64(x[A0 + i]) for i in range(6)]                # a0..a5
        if eid <= LEGACY_SHUTDOWN:
            value = self._legacy(hart, eid, a)
            x[A0] = s64(value)            # legacy calls return in a0 only
            return
        err, value = self._call(hart, eid, fid, a)
        x[A0] = s64(err)
        x[A1] = s64(value)

    # --- legacy extensions (SBI v0.1), still used by early consoles
    def _legacy(self, hart, eid, a):
        if eid == LEGACY_SET_TIMER:
            self._set_timer(hart, a[0])
            return 0
        if eid == LEGACY_PUTCHAR:
            self._put([a[0] & 0xFF])
            return 0
        if eid == LEGACY_GETCHAR:
            return self._getc()
        if eid == LEGACY_CLEAR_IPI:
            hart.csr[MIP] &= ~MIP_SSIP
            return 0
        if eid == LEGACY_SEND_IPI:
            hart.csr[MIP] |= MIP_SSIP
            return 0
        if eid == LEGACY_FENCE_I:
            hart.flush_decode_cache()
            return 0
        if eid in (LEGACY_SFENCE_VMA, LEGACY_SFENCE_VMA_ASID):
            hart.flush_tlb()
            return 0
        raise SbiReset(ResetType.SHUTDOWN, 0)      # LEGACY_SHUTDOWN

    def _set_timer(self, hart, when):
        if int(hart.csr[MENVCFG]) & MENVCFG_STCE:
            hart.csr[STIMECMP] = s64(when)   # Sstc: stimecmp drives STIP (emu/timer.py)
        else:
            hart.st[S.ST_MTIMECMP] = s64(when)
        hart.csr[MIP] &= ~MIP_STIP          # the loop raises it again when mtime reaches `when`

    def _call(self, hart, eid, fid, a):
        if eid == EXT_BASE:
            if fid == 0:
                return SBI_SUCCESS, SPEC_VERSION
            if fid == 1:
                return SBI_SUCCESS, IMPL_ID
            if fid == 2:
                return SBI_SUCCESS, IMPL_VERSION
            if fid == 3:
                known = (EXT_BASE, EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM, EXT_SRST, EXT_DBCN)
                return SBI_SUCCESS, 1 if (a[0] in known or a[0] <= LEGACY_SHUTDOWN) else 0
            if fid in (4, 5, 6):           # mvendorid, marchid, mimpid
                from emu.csr import csr_read
                return SBI_SUCCESS, int(csr_read((MVENDORID, MARCHID, MIMPID)[fid - 4], hart.st, hart.csr)[1])
        elif eid == EXT_TIME and fid == 0:
            self._set_timer(hart, a[0])
            return SBI_SUCCESS, 0
        elif eid == EXT_IPI and fid == 0:
            if _hart_in_mask(0, a[0], a[1]):
                hart.csr[MIP] |= MIP_SSIP
            return SBI_SUCCESS, 0
        elif eid == EXT_RFENCE and fid <= 2:
            if fid == 0:
                hart.flush_decode_cache()
            else:
                hart.flush_tlb()
            return SBI_SUCCESS, 0
        elif eid == EXT_HSM:
            return self._hsm(hart, fid, a)
        elif eid == EXT_SRST and fid == 0:
            reset_type, reason = a[0], a[1]
            if reset_type > ResetType.WARM_REBOOT:      # reserved and vendor-specific types
                return SBI_ERR_INVALID_PARAM, 0
            raise SbiReset(ResetType(reset_type), 1 if reason == SRST_REASON_FAILURE else 0)
        elif eid == EXT_DBCN:
            return self._dbcn(hart, fid, a)
        return SBI_ERR_NOT_SUPPORTED, 0

    def _hsm(self, hart, fid, a):
        if fid == 0:                        # hart_start
            return (SBI_ERR_ALREADY_AVAILABLE if a[0] == 0 else SBI_ERR_INVALID_PARAM), 0
        if fid == 1:                        # hart_stop: the only hart cannot stop and leave a system
            return SBI_ERR_FAILED, 0
        if fid == 2:                        # hart_get_status
            return (SBI_SUCCESS, HSM_STARTED) if a[0] == 0 else (SBI_ERR_INVALID_PARAM, 0)
        if fid == 3:                        # hart_suspend: default retentive suspend = wfi
            if a[0] == 0:
                hart.st[S.ST_WFI] = 1
                return SBI_SUCCESS, 0
            return SBI_ERR_NOT_SUPPORTED, 0
        return SBI_ERR_NOT_SUPPORTED, 0

    def _dbcn(self, hart, fid, a):
        if fid == 2:                        # console_write_byte
            self._put([a[0] & 0xFF])
            return SBI_SUCCESS, 0
        if fid in (0, 1):
            n, addr = a[0], a[1] | (a[2] << 64)
            try:
                if fid == 0:
                    data = hart.read_phys(addr, n)
                    self._put(data)
                    return SBI_SUCCESS, n
                got = bytearray()
                while len(got) < n:
                    c = self._getc()
                    if c < 0:
                        break
                    got.append(c)
                hart.write_phys(addr, bytes(got))
                return SBI_SUCCESS, len(got)
            except ValueError:              # outside RAM
                return SBI_ERR_INVALID_PARAM, 0
        return SBI_ERR_NOT_SUPPORTED, 0


def _hart_in_mask(hartid, mask, base):
    if base == 2**64 - 1:                   # hart_mask_base = -1: all harts
        return True
    return base <= hartid < base + 64 and (mask >> (hartid - base)) & 1


