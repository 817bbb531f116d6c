"""The GDB stub (lifecycle/debug/gdbstub.py) and the hart's debugger support (emu/debug.py).

Three kinds of tests:
  * the hart alone: breakpoint ops from the decode cache, write watchpoints through the
    store hooks, read watchpoints through the checked loop, the side-effect-free walk;
  * the protocol, with a raw socket client against an in-process VMM running
    tests/guest/bin/gdb_target.elf (framing, checksums, unsupported and malformed
    packets, registers, memory, breakpoints, steps, watchpoints, Ctrl-C, detach, kill);
  * the real client: Debian's gdb-multiarch in batch mode against `numbavm run` (a C
    program with symbols) and `numbavm boot` (a booting Linux, stopped at start_kernel).
    Without gdb-multiarch they skip, saying why; with CI set they fail
    (tests/setup-debian.sh installs it).
"""
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from elftools.elf.elffile import ELFFile

from emu import debug as D
from emu import state as S
from emu.ints import s64
from emu.spec import (CYCLE, MISA, MSCRATCH, PAGE_SIZE, PTE_A, PTE_PPN_SHIFT, PTE_R, PTE_V, REG_NAMES, SATP,
                      SATP_MODE_SHIFT, SATP_MODE_SV39)
from lifecycle import GuestConfig, GuestError, GuestLifecycle, GuestLifecycleError, KernelType
from lifecycle.debug import gdbstub, gdbtarget, rsp
from tests.linux_guest import ROOT, bundled_kernel, unavailable
from tests.consoles import Console

GUEST = os.path.join(ROOT, "tests", "guest")
TARGET = os.path.join(GUEST, "bin", "gdb_target.elf")
HANG = 120.0
REG_PC, REG_HEX = gdbtarget.REG_PC, rsp.REG_HEX     # pc's remote register number; hex digits of a register
T0 = REG_NAMES.index("t0")


def symbols(path=TARGET):
    with open(path, "rb") as f:
        tab = ELFFile(f).get_section_by_name(".symtab")
        return {s.name: s["st_value"] for s in tab.iter_symbols() if s.name}


SYM = symbols()


# --------------------------------------------------------------------------- the hart alone

def machine_with_target():
    from lifecycle.machine.board import Machine

    class Sink:
        def __init__(self):
            self.data = b""

        def write(self, b):
            self.data += bytes(b)

        def flush(self):
            pass
    m = Machine(memory=1 << 20, console=Sink())
    m.load(TARGET)
    return m


def test_breakpoint_op_stops_before_the_instruction():
    m = machine_with_target()
    h = m.hart
    m.warm_up()
    D.set_breakpoints(h, [SYM["scale"]])
    assert D.debug_exit(h.st, h.run(10_000_000)) == S.EXIT_BREAK
    assert h.pc == SYM["scale"] and h.st[S.ST_FATAL] == S.FATAL_NONE
    n = h.instret
    assert D.debug_exit(h.st, h.run(10_000_000)) == S.EXIT_BREAK and h.instret == n   # nothing retired: again
    D.set_breakpoints(h, [])
    assert h.run(1) == S.EXIT_BUDGET and h.pc != SYM["scale"] and h.instret == n + 1
    assert m.run().reason == "exit"
    assert m.console.data.decode().startswith("result = 4\n")


def test_write_watch_exits_after_the_store_and_read_watch_before_the_load():
    m = machine_with_target()
    h = m.hart
    m.warm_up()
    c = SYM["counter"]
    D.set_watches(h, [(c, c + 8, D.WATCH_WRITE)])
    assert h.pflags[(c - h.ram_base) >> 12] & S.PF_WATCH
    assert D.debug_exit(h.st, h.run(10_000_000)) == S.EXIT_WATCH     # crt0 zeroes .bss
    assert D.take_hit(h.st) == (D.WATCH_WRITE, c) and h.pc < SYM["scale"]
    assert D.debug_exit(h.st, h.run(10_000_000)) == S.EXIT_WATCH     # bump()
    assert D.take_hit(h.st) == (D.WATCH_WRITE, c)
    assert int.from_bytes(h.read_phys(c, 8), "little") == 4          # done: counter += 4
    assert SYM["bump"] < h.pc < SYM["total"]
    D.set_watches(h, [])
    assert not h.pflags[(c - h.ram_base) >> 12] & S.PF_WATCH
    # a read watch: run_checked stops before the load of table[2], which is not executed
    from emu.debugloop import run_checked
    t2 = SYM["table"] + 16
    D.set_watches(h, [(t2, t2 + 8, D.WATCH_READ)])
    assert h.run(10_000_000) == S.EXIT_HTIF               # the plain loop does not check loads
    m2 = machine_with_target()
    h2 = m2.hart
    D.set_watches(h2, [(t2, t2 + 8, D.WATCH_READ)])
    arrays = (h2.regs, h2.st, h2.csr, h2.ram, h2.icache, h2.tlb, h2.pflags, h2.mmio, h2.stop_flag)
    assert run_checked(*arrays, 10_000_000) == S.EXIT_WATCH
    assert D.take_hit(h2.st) == (D.WATCH_READ, t2)
    pc, n = h2.pc, h2.instret
    assert SYM["total"] <= pc < SYM["main"]
    assert run_checked(*arrays, 10_000_000) == S.EXIT_WATCH and (h2.pc, h2.instret) == (pc, n)   # again
    D.set_watches(h2, [])
    assert run_checked(*arrays, 1) == S.EXIT_BUDGET and h2.instret == n + 1


def test_breakpoint_at_a_virtual_address_after_the_code_ran_physically():
    """Code decoded in bare mode, then run through Sv39: a breakpoint at its virtual address still hits."""
    from tests.test_mmu import vm, NOP, CODE_VA, BASE, PRV_M, PRV_S
    h, pt = vm(NOP * 4)
    h.priv = PRV_M                                   # M-mode: bare; the same code at its physical address
    h.pc = BASE
    D.set_breakpoints(h, [CODE_VA + 8])              # (a virtual address: not matched in bare mode)
    assert h.run(3) == S.EXIT_BUDGET and h.pc == BASE + 12
    h.pc = CODE_VA
    h.priv = PRV_S
    assert D.debug_exit(h.st, h.run(100)) == S.EXIT_BREAK and h.pc == CODE_VA + 8
    D.set_breakpoints(h, [])
    assert h.run(1) == S.EXIT_BUDGET and h.pc == CODE_VA + 12


def parked_debugger(code):
    """A hart running `code` at RAM's base in M-mode, and GDB's Debugger on it (as the stub has it
    while the vcpu is parked: its tables and triggers are set through Debugger's methods)."""
    import types
    from emu.hart import Hart
    h = Hart(1 << 20)
    h.write_phys(h.ram_base, code)
    return h, gdbtarget.Debugger(types.SimpleNamespace(hart=h))


def test_the_guest_sees_gdbs_watchpoints_and_hardware_breakpoints_in_its_triggers():
    """Z1-Z4 take one trigger each (dmode = 1, action 1, m/s/u; execute, store, load, load+store):
    M-mode reads them through tselect/tdata1/tdata2 and its writes change nothing; the fifth is
    refused whatever its type; a removed one and a detach give them back."""
    from emu import trigger as T
    from emu.spec import (TSELECT, TDATA1, TDATA2, TDATA1_DMODE, MC6_ACTION_SHIFT, MC6_MATCH_SHIFT, MC6_M, MC6_S,
                          MC6_U, MC6_EXECUTE, MC6_LOAD, MC6_STORE, MATCH_EQUAL, MATCH_NAPOT)
    from tests.rvenc import csrr, csrw
    # x5 = the trigger: read it (x6, x7), try to clear it, read it again (x28, x29)
    code = (csrw(TSELECT, 5) + csrr(6, TDATA1) + csrr(7, TDATA2) + csrw(TDATA1, 0) + csrw(TDATA2, 0)
            + csrr(28, TDATA1) + csrr(29, TDATA2))
    h, dbg = parked_debugger(code)
    base, data = h.ram_base, h.ram_base + 0x4000
    assert dbg.set_breakpoint(base + 0x400, gdbtarget.Z_HW_BREAK)
    for t, va, n in [(gdbtarget.Z_WRITE_WATCH, data, 8), (gdbtarget.Z_READ_WATCH, data + 0x104, 12),
                     (gdbtarget.Z_ACCESS_WATCH, data + 0x201, 1)]:
        assert dbg.set_watch((t, va, n), dbg.watch_ranges(va, n, False)) == gdbtarget.WATCH_SET
    seen = set()
    for i in range(S.N_TRIGGERS):
        h.pc, h.x[5] = base, i
        h.run(7)
        t1, t2 = int(h.x[6]) & 2**64 - 1, int(h.x[7]) & 2**64 - 1
        assert (int(h.x[28]) & 2**64 - 1, int(h.x[29]) & 2**64 - 1) == (t1, t2)       # unchanged
        assert t1 >> 60 == 6 and t1 & TDATA1_DMODE and (t1 >> MC6_ACTION_SHIFT) & 0xF == 1
        assert t1 & (MC6_M | MC6_S | MC6_U) == MC6_M | MC6_S | MC6_U
        seen.add((t1 & (MC6_EXECUTE | MC6_LOAD | MC6_STORE), (t1 >> MC6_MATCH_SHIFT) & 0xF, t2))
    assert seen == {(MC6_EXECUTE, MATCH_EQUAL, base + 0x400), (MC6_STORE, MATCH_NAPOT, data + 3),
                    (MC6_LOAD, MATCH_NAPOT, data + 0x107), (MC6_LOAD | MC6_STORE, MATCH_EQUAL, data + 0x201)}
    assert h.st[S.ST_TRIG_LDST] == 0 and T.free_triggers(h.st) == 0
    key = (gdbtarget.Z_WRITE_WATCH, data + 0x300, 8)
    assert dbg.set_watch(key, dbg.watch_ranges(data + 0x300, 8, False)) == gdbtarget.WATCH_FULL
    assert key not in dbg.watches and h.st[S.ST_DBG_NWATCH] == 3
    assert not dbg.set_breakpoint(base + 0x500, gdbtarget.Z_HW_BREAK) and base + 0x500 not in dbg.bps
    dbg.clear_watch((gdbtarget.Z_READ_WATCH, data + 0x104, 12))
    assert T.free_triggers(h.st) == 1
    assert dbg.set_watch(key, dbg.watch_ranges(data + 0x300, 8, False)) == gdbtarget.WATCH_SET
    D.clear_all(h)                                             # a detach
    assert T.free_triggers(h.st) == S.N_TRIGGERS


@pytest.mark.parametrize("regions", [False, True], ids=["loop", "regions"])
def test_a_watchpoint_with_its_trigger_stops_at_the_store_in_the_fast_loop(regions):
    """A write watchpoint in a hot loop: its trigger (dmode = 1) leaves the matching to the watch
    table, so the hart is not switched to the checked loop (st[ST_TRIG_LDST] = 0, regions not turned
    off), and GDB stops after the store that touches the watched bytes, with the right address."""
    from emu.hart import jit_enabled
    from tests.rvenc import I, J_SELF
    from tests.regionmode import force_regions
    if regions and not jit_enabled():
        pytest.skip("native regions need the JIT")
    # 0: sd x9, 0(x8); 4: addi x8, x8, 8; 8: addi x10, x10, 1; 12: blt x10, x13, -12; 16: j .
    code = (I("sd", rs1=8, rs2=9, imm=0) + I("addi", rd=8, rs1=8, imm=8) + I("addi", rd=10, rs1=10, imm=1)
            + I("blt", rs1=10, rs2=13, imm=-12) + J_SELF)
    h, dbg = parked_debugger(code)
    force_regions(h, regions, poll=16)
    base, data = h.ram_base, h.ram_base + 0x4000
    h.pc, h.x[8], h.x[9], h.x[13] = base, data, 0x55, 1000
    va = data + 8 * 500 + 2                                    # 4 bytes inside the 501st store
    assert dbg.set_watch((gdbtarget.Z_WRITE_WATCH, va, 4), dbg.watch_ranges(va, 4, False)) == gdbtarget.WATCH_SET
    assert dbg.read_watches == 0 and h.st[S.ST_TRIG_LDST] == 0
    assert not int(h.st[S.ST_REGION_BLOCKED]) & D.REGIONS_TRIGGERS
    assert D.debug_exit(h.st, h.run(100_000)) == S.EXIT_WATCH
    assert dbg._watch_stop() == ("watch", "watch", va, True)
    assert h.pc == base + 4 and h.x[10] == 500                 # after the store, before the addi
    assert h.read_phys(data + 8 * 500, 1) == b"\x55" and h.read_phys(data + 8 * 501, 1) == b"\x00"
    assert h.st[S.ST_TRIG_LDST] == 0
    if regions:
        assert h.regions.stats()["regions"] > 0


def test_debug_translate_walks_sv39_without_side_effects():
    from emu.hart import Hart
    h = Hart(1 << 20)
    base = h.ram_base
    root, l1, l0, page = base + 0x1000, base + 0x2000, base + 0x3000, base + 0x8000
    va = 0xFFFF_FFC0_1234_5000 & ((1 << 64) - 1)

    def pte(pa, flags):
        return ((pa // PAGE_SIZE) << PTE_PPN_SHIFT) | flags
    vpn = [(va >> (12 + 9 * i)) & 0x1FF for i in range(3)]
    h.write_phys(root + 8 * vpn[2], pte(l1, PTE_V).to_bytes(8, "little"))       # V alone: the next level
    h.write_phys(l1 + 8 * vpn[1], pte(l0, PTE_V).to_bytes(8, "little"))
    h.write_phys(l0 + 8 * vpn[0], pte(page, PTE_V | PTE_R).to_bytes(8, "little"))   # V R, no A, no U
    h.csr[SATP] = s64((SATP_MODE_SV39 << SATP_MODE_SHIFT) | (root // PAGE_SIZE))
    h.priv = S.PRV_U                            # U cannot read this S page: the debugger still can
    tlb = h.tlb.copy()
    assert D.debug_translate(h, va + 0x123) == page + 0x123
    assert D.debug_translate(h, va + 0x1000) is None                  # unmapped
    assert D.debug_translate(h, 0x0000_0040_0000_0000) is None        # not canonical
    assert np.array_equal(h.tlb, tlb)
    assert int.from_bytes(h.read_phys(l0 + 8 * vpn[0], 8), "little") & PTE_A == 0   # no A bit set
    h.priv = S.PRV_M
    assert D.debug_translate(h, base + 4) == base + 4                   # M-mode: physical


# --------------------------------------------------------------------------- a raw RSP client

class Rsp:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=HANG)
        self.buf = b""

    def raw(self, data):
        self.s.sendall(data)

    def send(self, body):
        body = body.encode("latin-1") if isinstance(body, str) else body
        self.raw(b"$" + body + b"#%02x" % (sum(body) & 0xFF))

    def _more(self):
        data = self.s.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def ack(self):
        while not self.buf:
            self._more()
        c, self.buf = self.buf[:1], self.buf[1:]
        return c

    def reply(self):
        while True:
            self.buf = self.buf.lstrip(b"+")
            i = self.buf.find(b"#")
            if self.buf.startswith(b"$") and i >= 0 and len(self.buf) >= i + 3:
                body, cs = self.buf[1:i], self.buf[i + 1:i + 3]
                self.buf = self.buf[i + 3:]
                assert int(cs, 16) == sum(body) & 0xFF, (body, cs)
                return body.decode("latin-1")
            self._more()

    def cmd(self, body):
        self.send(body)
        return self.reply()

    def closed(self, timeout=HANG):
        """-> True once the stub has closed the connection (what it sent meanwhile is in self.buf);
        fails the test when it is still open after `timeout` s."""
        self.s.settimeout(timeout)
        try:
            while True:
                data = self.s.recv(65536)
                if not data:
                    return True
                self.buf += data
        except socket.timeout:
            pytest.fail(f"the stub did not close the connection within {timeout} s")
        except ConnectionError:
            return True

    # helpers
    def reg(self, n):
        return int.from_bytes(bytes.fromhex(self.cmd(f"p{n:x}")), "little")

    def pc(self):
        return self.reg(REG_PC)

    def mem(self, addr, n):
        return bytes.fromhex(self.cmd(f"m{addr:x},{n:x}"))

    def poke(self, addr, data):
        assert self.cmd(f"M{addr:x},{len(data):x}:{data.hex()}") == "OK"

    def close(self):
        self.s.close()




class Vmm:
    """gdb_target.elf in an in-process GuestLifecycle, held for GDB (serve_gdb(wait=True))."""

    def __init__(self, wait=True):
        self.out = Console()
        self.lc = GuestLifecycle()
        self.lc.create(GuestConfig(kernel_type=KernelType.ELF, kernel=TARGET, guest_memory=1 << 20,
                                   console=self.out, keep_final_state=True))
        self.guest = self.lc.bind()
        self.logs = []
        self.srv = self.guest.serve_gdb(0, wait=wait)
        self.srv._log = self.logs.append
        self.outcome = "running"
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        try:
            self.outcome = self.lc.run()
        except BaseException as e:   # noqa: BLE001
            self.outcome = e

    def connect(self):
        c = Rsp(self.srv.port)
        c.raw(b"+")
        return c

    def join(self):
        self.t.join(HANG)
        assert not self.t.is_alive(), "run() hung"
        return self.outcome

    def running(self):
        return self.t.is_alive()

    def shutdown(self):
        self.lc.stop(HANG)
        self.srv.close(1)
        self.t.join(HANG)


@pytest.fixture
def vmm():
    v = Vmm()
    yield v
    v.shutdown()


def to_main(c):
    """Run to main (crt0 has zeroed .bss by then: `spin` can be set)."""
    assert c.cmd(f"Z0,{SYM['main']:x},2") == "OK"
    assert c.cmd("c") == "T05" and c.pc() == SYM["main"]
    assert c.cmd(f"z0,{SYM['main']:x},2") == "OK"


def wait_until(pred, what):
    deadline = time.monotonic() + HANG
    while not pred():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


# --------------------------------------------------------------------------- the protocol

def test_handshake_target_description_and_unsupported_packets(vmm):
    c = vmm.connect()
    sup = c.cmd("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386")
    assert "PacketSize=" in sup and "qXfer:features:read+" in sup and "swbreak+" in sup
    assert c.cmd("?") == "T05"                      # held before the first instruction
    assert c.pc() == SYM["_start"] and vmm.guest.instructions_retired == 0
    xml = ""
    while True:
        r = c.cmd(f"qXfer:features:read:target.xml:{len(xml):x},400")
        xml += r[1:]
        if r[0] == "l":
            break
        assert r[0] == "m"
    assert "<architecture>riscv:rv64</architecture>" in xml
    for feature in ("org.gnu.gdb.riscv.cpu", "org.gnu.gdb.riscv.csr", "org.gnu.gdb.riscv.virtual"):
        assert feature in xml
    assert '<reg name="mstatus"' in xml and '<reg name="satp"' in xml and '<reg name="priv"' in xml
    for pkt in ("qFooBar", "vFooBar", "!", "bc", "QFoo", "qTStatus", "vMustReplyEmpty", "Z9,0,0", "i", "A"):
        assert c.cmd(pkt) == "", pkt
    assert c.cmd("qAttached") == "1" and c.cmd("qC") == "QC1" and c.cmd("Hg0") == "OK"
    assert c.cmd("vCont?") == "vCont;c;C;s;S"
    assert c.cmd("QStartNoAckMode") == "OK"
    c.send("qfThreadInfo")
    assert c.reply() == "m1" and not c.buf         # no more acks
    c.close()


def test_every_packet_of_the_table_is_answered_and_an_unknown_one_gets_the_empty_reply(vmm):
    """A well-formed packet of each name in gdbstub.Session.PACKETS gets a reply that is neither
    the empty one (not supported) nor an error; packets no handler claims, also those that begin
    like a claimed name, get the empty reply."""
    c = vmm.connect()
    cnt, t2, data = SYM["counter"], SYM["table"] + 16, c.mem(SYM["table"], 8)
    samples = [("qSupported", "qSupported:swbreak+;hwbreak+"), ("?", "?"), ("H", "Hg0"), ("T", "T1"),
               ("qAttached", "qAttached"), ("qAttached:", "qAttached:1"), ("qC", "qC"),
               ("qfThreadInfo", "qfThreadInfo"), ("qsThreadInfo", "qsThreadInfo"),
               ("qXfer:features:read:", "qXfer:features:read:target.xml:0,40"),
               ("g", "g"), ("G", lambda: "G" + c.cmd("g")), ("p", f"p{REG_PC:x}"), ("P", f"P{T0:x}={bytes(8).hex()}"),
               ("m", f"m{SYM['table']:x},8"), ("M", f"M{SYM['table']:x},8:{data.hex()}"),
               ("X", b"X%x,8:" % SYM["table"] + data),                 # (table[0] = 1: nothing to escape)
               ("Z0", f"Z0,{SYM['scale']:x},2"), ("Z1", f"Z1,{SYM['bump']:x},2"),
               ("c", "c"), ("C", "C05"),                                # to scale, then to bump
               ("z0", f"z0,{SYM['scale']:x},2"), ("z1", f"z1,{SYM['bump']:x},2"),
               ("Z2", f"Z2,{cnt:x},8"), ("z2", f"z2,{cnt:x},8"), ("Z3", f"Z3,{t2:x},8"), ("z3", f"z3,{t2:x},8"),
               ("Z4", f"Z4,{cnt:x},8"), ("z4", f"z4,{cnt:x},8"),
               ("vCont?", "vCont?"), ("s", "s"), ("S", "S05"), ("vCont;", "vCont;s:1"),
               ("qRcmd,", "qRcmd," + b"info".hex()), ("QStartNoAckMode", "QStartNoAckMode")]
    enders = [("D", "D"), ("vKill", "vKill;1"), ("k", "k")]          # each ends its session
    names = [n for n, _p in samples + enders]
    assert sorted(names) == sorted(gdbstub.Session.PACKETS), "a packet of the table without a sample here"
    for unknown in ("qC1", "qfThreadInfo1", "vCont?1", "vCont", "vContX", "qAttachedX", "QStartNoAckMode1",
                    "qXfer:features:write:target.xml:0,1", "Z5,0,0", "z9,0,0", "vFile:close:0", "qTStatus", "b"):
        assert c.cmd(unknown) == "", unknown
    for name, pkt in samples:
        reply = c.cmd(pkt() if callable(pkt) else pkt)
        assert reply != "" and not reply.startswith("E"), (name, reply)
        if name == "qRcmd,":
            assert reply.startswith("O") and c.reply() == "OK"        # the output, then OK
    assert c.cmd("D") == "OK" and c.closed()
    for name, pkt in enders[1:]:
        v = Vmm()
        try:
            c = v.connect()
            c.send(pkt)
            assert c.closed()
            assert c.buf.lstrip(b"+") == (b"$OK#9a" if name == "vKill" else b""), (name, c.buf)
            assert isinstance(v.join(), GuestLifecycleError), name     # the VMM was stopped
        finally:
            v.shutdown()


def test_no_two_handlers_claim_the_same_packet():
    claims = [name for fn in vars(gdbstub.Session).values() for name, _prefix in getattr(fn, "rsp_packets", ())]
    assert len(claims) == len(set(claims)) == len(gdbstub.Session.PACKETS), sorted(claims)

    class Twice(gdbstub.Session):
        @gdbstub.packet("g")
        def pkt_g_again(self, args):
            """`g` again."""
            return "OK"
    with pytest.raises(ValueError, match="'g' is claimed by pkt_g"):
        gdbstub.packet_table(Twice)


def test_checksums_are_acked_and_a_bad_one_is_nakked(vmm):
    c = vmm.connect()
    c.raw(b"$g#00")                                 # wrong checksum: NAK, nothing done
    assert c.ack() == b"-"
    c.send("g")
    assert c.ack() == b"+"
    regs = c.reply()
    assert len(regs) == (REG_PC + 1) * REG_HEX
    assert int.from_bytes(bytes.fromhex(regs[REG_PC * REG_HEX:]), "little") == SYM["_start"]
    c.close()


def test_registers_csrs_priv_and_memory(vmm):
    c = vmm.connect()
    assert c.cmd("?") == "T05"
    with open(TARGET, "rb") as f:
        text = ELFFile(f).get_section_by_name(".text").data()
    assert c.mem(SYM["_start"], 16) == text[:16]
    assert c.cmd("m1000,4") == "E14"                       # not RAM: devices are never read
    # x registers, pc
    assert c.cmd(f"P{T0:x}={(0x1122334455667788).to_bytes(8, 'little').hex()}") == "OK"
    assert c.reg(T0) == 0x1122334455667788
    assert c.cmd(f"P0={(7).to_bytes(8, 'little').hex()}") == "OK" and c.reg(0) == 0
    # CSRs and priv by their target-description numbers
    misa = gdbtarget.REG_CSR0 + gdbtarget.CSRS.index(MISA)
    mscratch = gdbtarget.REG_CSR0 + gdbtarget.CSRS.index(MSCRATCH)
    assert c.reg(misa) == 0x800000000014112d
    assert c.cmd(f"P{mscratch:x}={(0xABC).to_bytes(8, 'little').hex()}") == "OK" and c.reg(mscratch) == 0xABC
    cycle = gdbtarget.REG_CSR0 + gdbtarget.CSRS.index(CYCLE)
    assert c.cmd(f"P{cycle:x}={bytes(8).hex()}").startswith("E")       # read-only
    assert c.reg(gdbtarget.REG_PRIV) == 3
    assert c.cmd(f"p{gdbtarget.REG_F0 + 32:x}").startswith("E")          # past f31
    # memory writes: M (hex) and X (binary, with escapes); the decode cache stays coherent
    c.poke(SYM["table"], (10).to_bytes(8, "little"))
    body = b"X%x,8:" % (SYM["table"] + 8) + bytes([0x7D, 0x23 ^ 0x20]) + bytes(7)     # 0x23 '#' escaped
    assert c.cmd(body) == "OK"
    assert c.mem(SYM["table"], 16) == (10).to_bytes(8, "little") + (0x23).to_bytes(8, "little")
    # phys mode (a monitor command): same as virtual here (M-mode)
    r = c.cmd("qRcmd," + b"phys on".hex())
    assert r.startswith("O") and "physical" in bytes.fromhex(r[1:]).decode()
    assert c.reply() == "OK"
    assert c.mem(SYM["_start"], 4) == text[:4]
    c.cmd("qRcmd," + b"info".hex())
    assert c.reply() == "OK"
    assert c.cmd("D") == "OK"
    assert vmm.join() is None and vmm.guest.exit_code == 0
    assert b"sum = 52" in vmm.out.data                 # 10 + 0x23 + 3 + 4


def test_breakpoints_step_and_continue(vmm):
    c = vmm.connect()
    c.cmd("qSupported:swbreak+;hwbreak+")
    assert c.cmd("?") == "T05"
    assert c.cmd(f"Z0,{SYM['scale']:x},2") == "OK"
    assert c.cmd(f"Z1,{SYM['bump']:x},2") == "OK"
    assert c.cmd("c") == "T05swbreak:;" and c.pc() == SYM["scale"]
    assert vmm.guest.instructions_retired > 0
    # continue from a breakpoint: it is stepped over, not hit again
    assert c.cmd("vCont;c") == "T05hwbreak:;" and c.pc() == SYM["bump"]
    n = vmm.guest.instructions_retired
    half = int.from_bytes(c.mem(SYM["bump"], 2), "little")
    assert c.cmd("vCont;s:1;c") == "T05"
    assert c.pc() == SYM["bump"] + (4 if half & 3 == 3 else 2)
    assert c.cmd("s") == "T05"
    assert c.cmd(f"z1,{SYM['bump']:x},2") == "OK" and c.cmd(f"z0,{SYM['scale']:x},2") == "OK"
    assert c.cmd("c") == "W00"
    assert vmm.join() is None and vmm.guest.exit_code == 0
    assert vmm.guest.instructions_retired > n
    assert b"result = 4" in vmm.out.data


def test_watchpoints_write_after_read_before(vmm):
    c = vmm.connect()
    assert c.cmd("?") == "T05"
    cnt, t2 = SYM["counter"], SYM["table"] + 16
    assert c.cmd(f"Z0,{SYM['bump']:x},2") == "OK"             # (crt0 writes counter too: zeroing .bss)
    assert c.cmd("c") == "T05" and c.pc() == SYM["bump"]
    assert c.cmd(f"z0,{SYM['bump']:x},2") == "OK"
    assert c.cmd(f"Z2,{cnt:x},8") == "OK"
    assert c.cmd("c") == f"T05watch:{cnt:x};"
    pc = c.pc()
    assert SYM["bump"] < pc < SYM["total"]
    assert c.mem(cnt, 8) == (4).to_bytes(8, "little")       # the store is done
    assert c.cmd(f"z2,{cnt:x},8") == "OK"
    assert c.cmd("s") == "T05" and c.pc() == pc              # GDB's step over it: already done
    assert c.cmd("s") == "T05" and c.pc() != pc              # the next one is a real step
    assert c.cmd(f"Z3,{t2:x},8") == "OK"
    assert c.cmd("c") == f"T05rwatch:{t2:x};"
    pc = c.pc()
    assert SYM["total"] <= pc < SYM["main"]
    assert c.cmd("s") == f"T05rwatch:{t2:x};" and c.pc() == pc   # held at the load: not executed
    assert c.cmd(f"z3,{t2:x},8") == "OK"
    assert c.cmd("s") == "T05" and c.pc() != pc               # now it executes
    assert c.cmd(f"Z4,{cnt:x},8") == "OK"
    assert c.cmd("Z2,10000000,1").startswith("E")                  # not RAM (the UART)
    assert c.cmd(f"Z2,{SYM['tohost']:x},8").startswith("E")           # HTIF's mailbox cannot be watched
    assert c.cmd("c") == f"T05awatch:{cnt:x};"                # main reads counter to print it
    assert c.cmd(f"z4,{cnt:x},8") == "OK"
    assert c.cmd("c") == "W00"
    assert vmm.join() is None
    assert b"counter = 4" in vmm.out.data


def test_ctrl_c_interrupts_the_running_guest(vmm):
    c = vmm.connect()
    assert c.cmd("?") == "T05"
    to_main(c)
    c.poke(SYM["spin"], (1).to_bytes(8, "little"))
    n = vmm.guest.instructions_retired
    c.send("c")
    assert c.ack() == b"+"
    # the guest runs (spins) before the Ctrl-C: it interrupts a running guest
    wait_until(lambda: vmm.guest.instructions_retired > n + 10_000, "the guest runs after c")
    assert vmm.running() and vmm.guest.stop_reason is None
    c.raw(b"\x03")
    assert c.reply() == "T02"
    assert SYM["main"] <= c.pc() < SYM["main"] + 0x200
    c.poke(SYM["spin"], bytes(8))
    assert c.cmd("c") == "W00"
    assert vmm.join() is None


def test_guest_access_and_stop_work_while_gdb_holds_the_guest(vmm):
    c = vmm.connect()
    assert c.cmd("?") == "T05"
    assert vmm.guest.registers()["pc"] == SYM["_start"]            # a lifecycle pause: served, still held
    assert vmm.guest.read_memory(SYM["_start"], 4) == c.mem(SYM["_start"], 4)
    assert vmm.guest.instructions_retired == 0 and c.pc() == SYM["_start"]
    assert vmm.lc.stop(HANG)
    assert isinstance(vmm.join(), GuestLifecycleError)
    assert c.closed()


def test_malformed_and_hostile_packets_close_the_connection_and_the_vmm_runs_on(vmm):
    c = vmm.connect()
    assert c.cmd("?") == "T05"
    to_main(c)
    c.poke(SYM["spin"], (1).to_bytes(8, "little"))             # keep the guest busy
    c.send("mzz,4")                                              # bad hex
    assert c.closed()
    assert vmm.logs and "malformed" in vmm.logs[-1]
    wait_until(lambda: vmm.guest.instructions_retired > 1000, "the guest runs on after the bad packet")
    for bad in (b"$G0011#%02x" % (sum(b"G0011") & 0xFF),           # wrong length
                b"garbage",                                          # outside a packet
                b"$" + b"m" * (70 << 10),                            # no end in sight
                b"$M%x,8:00#00" % SYM["spin"]):                      # bad checksum three times
        c = vmm.connect()
        try:
            c.raw(bad * 3 if bad.endswith(b"#00") else bad)
        except OSError:
            pass                                                 # it may close before we are done
        assert c.closed(), bad[:20]
        assert vmm.running() and vmm.guest.stop_reason is None
    n, k = len(vmm.logs), vmm.srv.accepted
    c = vmm.connect()
    c.raw(b"$?#3f")
    c.s.close()                                                  # a client that just goes away
    wait_until(lambda: vmm.srv.accepted == k + 1 and vmm.srv.conn is None, "the stub notices the closed connection")
    assert len(vmm.logs) == n                                    # (not an error)
    c = vmm.connect()                                            # and a well-behaved one still works
    assert c.cmd("?") == "T05"
    c.poke(SYM["spin"], bytes(8))
    assert c.cmd("c") == "W00"
    assert vmm.join() is None and vmm.guest.exit_code == 0


def test_kill_stops_the_vmm(vmm):
    c = vmm.connect()
    assert c.cmd("?") == "T05"
    c.send("k")
    assert c.closed()
    out = vmm.join()
    assert isinstance(out, GuestLifecycleError) and out.error is GuestError.CONTROLLER_FORCED_HALT


def test_detach_then_attach_to_the_running_guest(vmm):
    c = vmm.connect()
    assert c.cmd("?") == "T05"
    to_main(c)
    c.poke(SYM["spin"], (1).to_bytes(8, "little"))
    assert c.cmd(f"Z0,{SYM['scale']:x},2") == "OK"
    assert c.cmd("D") == "OK"                                  # removes the breakpoint, the guest runs on
    assert c.closed()
    wait_until(lambda: vmm.guest.instructions_retired > 100_000, "the guest runs after the detach")
    c = vmm.connect()                                          # attaching stops it where it is
    assert c.cmd("?") == "T05"
    assert SYM["main"] <= c.pc() < SYM["main"] + 0x200
    c.poke(SYM["spin"], bytes(8))
    assert c.cmd("c") == "W00"
    assert vmm.join() is None and b"result = 4" in vmm.out.data


def test_gdb_wait_holds_the_guest_until_a_debugger_continues(vmm):
    """--gdb-wait: clients that go away without a continue or step (a port scan, an HTTP GET, a
    debugger that only set a breakpoint) leave the guest held at its first instruction."""
    c = Rsp(vmm.srv.port)                                       # connects and closes
    c.close()
    wait_until(lambda: len(vmm.logs) >= 1, "the stub notices the closed connection")
    c = Rsp(vmm.srv.port)
    c.raw(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert c.closed()
    assert "malformed" in vmm.logs[1] and "held" in vmm.logs[1], vmm.logs
    c = vmm.connect()                                           # a debugger that leaves without continuing
    assert c.cmd(f"Z0,{SYM['scale']:x},2") == "OK"
    c.close()
    wait_until(lambda: len(vmm.logs) >= 3, "the stub notices the closed connection")
    assert all("stays held for the next debugger" in line for line in vmm.logs), vmm.logs
    assert vmm.running() and vmm.guest.instructions_retired == 0
    c = vmm.connect()
    assert c.cmd("?") == "T05" and c.pc() == SYM["_start"]
    assert vmm.guest.instructions_retired == 0
    assert c.cmd("c") == "W00"                                  # the first client's breakpoint is gone
    assert vmm.join() is None and b"result = 4" in vmm.out.data


def test_a_second_debugger_is_refused_with_a_message(vmm):
    c = vmm.connect()
    assert c.cmd("?") == "T05"
    c2 = vmm.connect()
    c2.s.settimeout(HANG)
    r = c2.cmd("qSupported:swbreak+")                           # GDB prints "Remote failure reply: E.<text>"
    assert r.startswith("E.") and "another debugger" in r and "one at a time" in r, r
    assert c2.closed()
    assert len(vmm.logs) == 1 and "refused a second debugger" in vmm.logs[0], vmm.logs
    assert c.pc() == SYM["_start"]                              # the first one is served as before
    assert c.cmd("c") == "W00"
    assert vmm.join() is None


def test_an_idle_client_is_dropped_and_the_next_debugger_gets_in(vmm):
    vmm.srv.handshake_timeout = 0.5
    idle = Rsp(vmm.srv.port)                                    # sends nothing
    assert idle.closed()
    assert "no valid packet within 0.5 s" in vmm.logs[-1], vmm.logs
    plus = Rsp(vmm.srv.port)                                    # acks are not packets
    plus.raw(b"+" * 10)
    assert plus.closed()
    c = vmm.connect()
    assert c.cmd("?") == "T05"
    c.raw(b"$m8000")                                            # a packet begun and never finished
    assert c.closed()
    assert "not finished" in vmm.logs[-1], vmm.logs
    c = vmm.connect()
    assert c.cmd("?") == "T05"
    c.raw(b"$m8000")                                            # ... nor by trickling bytes into it
    dropped = False
    for _ in range(600):                                        # (the client's pace: a byte each 0.1 s)
        if select.select([c.s], [], [], 0.1)[0]:
            dropped = True                                      # (EOF, checked below)
            break
        try:
            c.raw(b"0")
        except OSError:
            dropped = True
            break
    assert dropped, "a client trickling bytes into a packet was not dropped (0.5 s deadline, 60 s of bytes)"
    assert c.closed()
    assert "not finished" in vmm.logs[-1], vmm.logs
    c = vmm.connect()
    assert c.cmd("?") == "T05" and c.pc() == SYM["_start"]
    assert c.cmd("c") == "W00"
    assert vmm.join() is None


def test_naks_get_a_few_resends_then_the_connection_is_dropped(vmm):
    c = vmm.connect()
    assert c.cmd("?") == "T05"
    regs = c.cmd("g")
    pkt = b"$%s#%02x" % (regs.encode(), sum(regs.encode()) & 0xFF)
    c.raw(b"-" * 2000)
    assert c.closed()
    assert c.buf == pkt * rsp.MAX_RESENDS                   # not 2,000 copies
    assert "NAKs" in vmm.logs[-1], vmm.logs
    c = vmm.connect()                                           # the VMM runs on; the next debugger works
    assert c.cmd("?") == "T05"
    assert c.cmd("c") == "W00"
    assert vmm.join() is None


def test_connection_problems_cannot_flood_stderr(vmm):
    vmm.srv.MAX_CONN_LOGS = 3
    for _ in range(6):
        c = Rsp(vmm.srv.port)
        c.raw(b"GET / HTTP/1.1\r\n\r\n")
        assert c.closed()
    wait_until(lambda: vmm.srv.accepted == 6 and vmm.srv.conn is None, "the stub is done with the clients")
    assert len(vmm.logs) == 4 and all("malformed" in line for line in vmm.logs[:3]), vmm.logs
    assert "more than 3 connection problems" in vmm.logs[3], vmm.logs
    c = vmm.connect()
    assert c.cmd("?") == "T05" and c.cmd("c") == "W00"
    assert vmm.join() is None


def test_pc_writes_with_bit_0_set_are_refused(vmm):
    """With C, pc bit 0 is always zero: P, G and c/s ADDR with an odd pc get E16 and write nothing."""
    c = vmm.connect()
    assert c.cmd("?") == "T05"
    odd = (SYM["_start"] + 1).to_bytes(8, "little").hex()
    assert c.cmd(f"P{REG_PC:x}={odd}") == "E16" and c.pc() == SYM["_start"]
    regs = c.cmd("g")
    changed = (regs[:T0 * REG_HEX] + (0x1234).to_bytes(8, "little").hex() + regs[(T0 + 1) * REG_HEX:REG_PC * REG_HEX]
               + odd)
    assert c.cmd("G" + changed) == "E16"
    assert c.cmd("g") == regs                                   # nothing written, t0 neither
    assert c.cmd(f"s{SYM['_start'] + 1:x}") == "E16" and c.cmd(f"c{SYM['_start'] + 3:x}") == "E16"
    assert c.pc() == SYM["_start"] and vmm.guest.instructions_retired == 0
    assert c.cmd("s") == "T05" and c.pc() & 1 == 0 and c.pc() != SYM["_start"]
    even = SYM["_start"].to_bytes(8, "little").hex()
    assert c.cmd(f"P{REG_PC:x}={even}") == "OK" and c.pc() == SYM["_start"]   # an even pc is written
    assert c.cmd("G" + regs[:REG_PC * REG_HEX] + even) == "OK"
    assert c.cmd("c") == "W00"
    assert vmm.join() is None and vmm.guest.exit_code == 0


def test_cli_gdb_option_errors():
    from tests.test_cli import numbavm, assert_user_error
    assert_user_error(numbavm("run", TARGET, "--gdb-wait"), "--gdb")
    assert_user_error(numbavm("run", TARGET, "--gdb", "nope"), "--gdb")
    assert_user_error(numbavm("run", TARGET, "--gdb", "70000"), "--gdb")
    s = socket.create_server(("127.0.0.1", 0))
    try:
        r = numbavm("run", TARGET, "--gdb", str(s.getsockname()[1]))
        assert r.returncode == 2 and b"cannot listen" in r.stderr, r.stderr
    finally:
        s.close()


# --------------------------------------------------------------------------- the real client

def gdb_multiarch():
    path = shutil.which("gdb-multiarch")
    if path is None:
        unavailable("gdb-multiarch is not installed (Debian package gdb-multiarch; tests/setup-debian.sh "
                    "installs it)")
    return path


class Numbavm:
    """`numbavm ARGS` in a child process; its stdout and stderr read by threads (no read blocks a test)."""

    def __init__(self, *args):
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        self.p = subprocess.Popen([sys.executable, "-m", "lifecycle.cli.main", *args], cwd=ROOT, env=env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.cond = threading.Condition()
        self.data = {"out": b"", "err": b""}
        self.pumps = [threading.Thread(target=self._pump, args=(f, k), daemon=True)
                      for f, k in ((self.p.stdout, "out"), (self.p.stderr, "err"))]
        for t in self.pumps:
            t.start()

    def _pump(self, f, key):
        while True:
            b = f.read1(65536)
            with self.cond:
                if not b:
                    self.data[key + " closed"] = True
                    self.cond.notify_all()
                    return
                self.data[key] += b
                self.cond.notify_all()

    def wait_stderr(self, pattern, timeout=HANG):
        """-> the first match of `pattern` (bytes regex) in stderr; fails if it exits or times out first."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = re.search(pattern, self.data["err"])
                if m is not None:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self.data.get("err closed"):
                    self.kill()
                    pytest.fail(f"numbavm did not print {pattern!r}: {self.data['err'].decode()[-2000:]!r}")
                self.cond.wait(left)

    def finish(self, timeout=HANG):
        """Wait for the process to end -> (stdout, stderr) as text."""
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"numbavm did not end within {timeout} s: {self.data['err'].decode()[-2000:]!r}")
        for t in self.pumps:
            t.join(HANG)
            assert not t.is_alive(), "numbavm's output did not end"
        return self.data["out"].decode(errors="replace"), self.data["err"].decode(errors="replace")

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(HANG)


def start_numbavm(*args):
    """`numbavm ARGS --gdb 0 --gdb-wait` -> (Numbavm, port), the port read from its stderr."""
    p = Numbavm(*args, "--gdb", "0", "--gdb-wait")
    m = p.wait_stderr(rb"gdb: listening on 127\.0\.0\.1:(\d+)")
    return p, int(m.group(1))


def run_gdb(binary, port, *commands, cwd=ROOT):
    argv = [gdb_multiarch(), "-batch", "-nx", binary, "-ex", "set remotetimeout 120",
            "-ex", f"target remote 127.0.0.1:{port}"]
    for c in commands:
        argv += ["-ex", c]
    r = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=600, stdin=subprocess.DEVNULL)
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def test_gdb_multiarch_debugs_a_c_program():
    gdb_multiarch()
    p, port = start_numbavm("run", TARGET)
    try:
        out = run_gdb(TARGET, port,
                      "break scale", "continue", "print x", "set var x = 5", "print x",
                      "stepi", "info registers pc", "print $priv", "print/x $misa",
                      "watch counter", "continue", "print counter", "delete",
                      "rwatch table[2]", "continue", "print i", "delete",
                      "x/2xg &table", "set var table[3] = 40", "continue", cwd=GUEST)
        stdout, stderr = p.finish()
    finally:
        p.kill()
    text = f"--- gdb ---\n{out}\n--- numbavm stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    assert "Breakpoint 1, scale (x=1) at gdb/target.c:" in out, text
    assert "$1 = 1" in out and "$2 = 5" in out, text
    assert re.search(r"pc\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <scale\+\d+>", out), text
    assert "$3 = 3" in out, text                               # priv: M
    assert "$4 = 0x800000000014112d" in out, text              # misa
    assert "Hardware watchpoint 2: counter" in out and "Old value = 0" in out and "New value = 16" in out, text
    assert "in bump (n=16)" in out and "$5 = 16" in out, text
    assert "Hardware read watchpoint 3: table[2]" in out and "Value = 3" in out and "$6 = 2" in out, text
    assert "0x0000000000000001\t0x0000000000000002" in out, text
    assert "[Inferior 1 (Remote target) exited normally]" in out, text
    assert p.p.returncode == 0, text
    assert stdout == "result = 16\ncounter = 16\nsum = 46\n", text


def test_gdb_multiarch_stops_a_booting_linux_at_start_kernel():
    gdb_multiarch()
    kernel = bundled_kernel()
    vmlinux = os.path.join(os.path.dirname(kernel), "vmlinux")
    if not os.path.isfile(vmlinux):
        unavailable(f"{vmlinux} is missing (lifecycle/guests/linux/build.sh keeps it next to the Image)")
    with open(vmlinux, "rb") as f:
        start_kernel = {s.name: s["st_value"] for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()
                        }["start_kernel"]
    p, port = start_numbavm("boot", "--kernel", kernel)
    try:
        out = run_gdb(vmlinux, port, "info registers pc", "break start_kernel", "continue",
                      "info registers pc", "print $priv", "print/x $satp", "stepi", "info registers pc", "kill")
        _stdout, stderr = p.finish()
    finally:
        p.kill()
    text = f"--- gdb ---\n{out}\n--- numbavm stderr ---\n{stderr[-3000:]}"
    assert "0x0000000080200000 in ?? ()" in out, text          # held before the kernel's first instruction
    assert f"Breakpoint 1, 0x{start_kernel:016x} in start_kernel ()" in out, text
    assert re.search(rf"pc\s+0x{start_kernel:x}\s+0x{start_kernel:x} <start_kernel>", out), text
    assert "$1 = 1" in out, text                               # S-mode
    assert re.search(r"\$2 = 0xa[0-9a-f]{15}", out), text      # satp: Sv57 on (the kernel takes the largest)
    assert re.search(r"pc\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <start_kernel\+\d+>", out), text
    assert "[Inferior 1 (Remote target) killed]" in out, text
    assert p.p.returncode == 130, text                           # killed: stopped like Ctrl-C


def test_hardware_breakpoints_take_the_harts_triggers(vmm):
    """Z1 takes one of the hart's Sdtrig triggers (emu/trigger.py): E0c once they are used up, as on
    hardware, while Z0 has no such limit; a removed one frees its trigger; hits report hwbreak."""
    from emu.state import N_TRIGGERS
    c = vmm.connect()
    c.cmd("qSupported:swbreak+;hwbreak+")
    assert c.cmd("?") == "T05"
    pcs = [SYM["_start"] + 0x100 + 2 * i for i in range(N_TRIGGERS)]
    for pc in pcs:
        assert c.cmd(f"Z1,{pc:x},2") == "OK"
    assert c.cmd(f"Z1,{SYM['bump']:x},2") == "E0c"
    assert c.cmd(f"Z0,{SYM['scale']:x},2") == "OK"
    assert c.cmd(f"z1,{pcs[0]:x},2") == "OK"
    assert c.cmd(f"Z1,{SYM['bump']:x},2") == "OK"
    for pc in pcs[1:]:
        assert c.cmd(f"z1,{pc:x},2") == "OK"
    assert c.cmd("c") == "T05swbreak:;" and c.pc() == SYM["scale"]
    assert c.cmd("c") == "T05hwbreak:;" and c.pc() == SYM["bump"]
    assert c.cmd(f"z1,{SYM['bump']:x},2") == "OK" and c.cmd(f"z0,{SYM['scale']:x},2") == "OK"
    assert c.cmd("c") == "W00"
    assert vmm.join() is None and vmm.guest.exit_code == 0


def test_gdb_multiarch_hbreak_and_watch():
    """gdb's hbreak (Z1) and watch (Z2) each take one of the hart's triggers; the watch table matches
    the watchpoint."""
    gdb_multiarch()
    p, port = start_numbavm("run", TARGET)
    try:
        out = run_gdb(TARGET, port, "hbreak bump", "continue", "print n", "delete",
                      "watch counter", "continue", "print counter", "delete", "continue", cwd=GUEST)
        stdout, stderr = p.finish()
    finally:
        p.kill()
    text = f"--- gdb ---\n{out}\n--- numbavm stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    assert "Hardware assisted breakpoint 1 at" in out and "Breakpoint 1, bump (n=" in out, text
    assert "Hardware watchpoint 2: counter" in out and "New value = " in out, text
    assert "[Inferior 1 (Remote target) exited normally]" in out, text
    assert p.p.returncode == 0, text


def test_watchpoints_share_the_harts_triggers_with_hardware_breakpoints(vmm):
    """Z2-Z4 take one trigger each, as Z1 does, as on a board (hbreak + watch): 4 in all, E0c for
    the fifth whatever its type (Z0 takes none), a removed one frees its trigger, a detach frees
    them all; the stops are the watch table's (the store, the load) as before."""
    from emu import trigger as T
    h = vmm.lc.machine.hart
    c = vmm.connect()
    assert c.cmd("?") == "T05"
    to_main(c)                                                 # (crt0 writes counter: zeroing .bss)
    c.cmd("qSupported:swbreak+;hwbreak+")
    cnt, spin, tab = SYM["counter"], SYM["spin"], SYM["table"]
    assert c.cmd(f"Z1,{SYM['scale']:x},2") == "OK"
    assert c.cmd(f"Z1,{SYM['total']:x},2") == "OK"
    assert c.cmd(f"Z2,{cnt:x},8") == "OK"
    assert c.cmd(f"Z3,{tab + 8:x},8") == "OK"
    for pkt in (f"Z1,{SYM['bump']:x},2", f"Z2,{spin:x},8", f"Z3,{spin:x},8", f"Z4,{spin:x},8"):
        assert c.cmd(pkt) == "E0c", pkt
    assert T.free_triggers(h.st) == 0 and h.st[S.ST_TRIG_LDST] == 0
    assert c.cmd(f"Z0,{SYM['bump']:x},2") == "OK"
    assert c.cmd(f"z3,{tab + 8:x},8") == "OK"                  # frees one
    assert T.free_triggers(h.st) == 1
    assert c.cmd(f"Z4,{spin:x},8") == "OK"
    assert c.cmd(f"Z1,{SYM['bump']:x},2") == "E0c"
    assert c.cmd("c") == "T05hwbreak:;" and c.pc() == SYM["scale"]
    assert c.cmd("c") == "T05swbreak:;" and c.pc() == SYM["bump"]
    assert c.cmd("c") == f"T05watch:{cnt:x};" and SYM["bump"] < c.pc() < SYM["total"]
    assert c.mem(cnt, 8) == (4).to_bytes(8, "little")          # the store is done
    assert c.cmd("c") == "T05hwbreak:;" and c.pc() == SYM["total"]
    assert c.cmd("c") == f"T05awatch:{spin:x};" and SYM["main"] <= c.pc()    # main reads spin
    assert T.free_triggers(h.st) == 0 and h.st[S.ST_TRIG_LDST] == 0
    assert c.cmd("D") == "OK"
    assert c.closed()
    assert vmm.join() is None and vmm.guest.exit_code == 0
    assert T.free_triggers(h.st) == S.N_TRIGGERS
