"""Python hooks on a Guest (lifecycle/debug/hooks.py): Guest.hook_add / hook_del, in the style of Unicorn's.

The guests are our own committed programs: tests/guest/bin/gdb_target.elf (a -O0 C program:
scale, bump writes `counter`, total reads `table`, every console byte goes through
htif_putchar) for code and memory hooks; priv_traps.elf and priv_interrupts.elf (every
trap cause from M/S/U, delegation to S, vectored interrupts) for trap hooks, checked
against the instruction trace of lifecycle/debug/trace.py, which single-steps and sees every trap.
"""
import io
import os
import re
import threading

import numpy as np
import pytest

from emu.spec import (CAUSE_BREAKPOINT, CAUSE_ILLEGAL_INSTRUCTION, CAUSE_MACHINE_ECALL, CAUSE_SUPERVISOR_ECALL,
                      CAUSE_USER_ECALL, INTERRUPT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_SOFT, MTVEC, PRV_M, PRV_S,
                      STVEC, UART_BASE)
from lifecycle import GuestConfig, GuestError, GuestLifecycle, GuestLifecycleError, KernelType
from lifecycle.debug.hooks import (HOOK_CODE, HOOK_MEM_READ, HOOK_MEM_WRITE, HOOK_TRAP, DebuggerBusyError,
                             HookError)
from tests.linux_guest import ROOT
from tests.consoles import Console

BIN = os.path.join(ROOT, "tests", "guest", "bin")
TARGET = os.path.join(BIN, "gdb_target.elf")
OUTPUT = b"result = 4\ncounter = 4\nsum = 10\n"
HANG = 120.0




def symbols(path):
    from elftools.elf.elffile import ELFFile
    with open(path, "rb") as f:
        tab = ELFFile(f).get_section_by_name(".symtab")
        return {s.name: s["st_value"] for s in tab.iter_symbols() if s.name}


SYM = symbols(TARGET)


class Vm:
    """A created (not yet running) VMM with a bound Guest; run() runs it to the end."""

    def __init__(self, program=TARGET, memory=1 << 20, **extra):
        self.out = Console()
        self.lc = GuestLifecycle()
        self.lc.create(GuestConfig(kernel_type=KernelType.ELF, kernel=program, guest_memory=memory,
                                   console=self.out, keep_final_state=True, **extra))
        self.guest = self.lc.bind()
        self.machine = self.lc.machine

    def run(self):
        self.lc.run()
        return self.lc.final_machine


def word(m, addr):
    """The instruction bits at a physical address (2 or 4 bytes)."""
    lo = int.from_bytes(m.hart.read_phys(addr, 2), "little")
    return lo if lo & 3 != 3 else int.from_bytes(m.hart.read_phys(addr, 4), "little")


def instructions(m, lo, hi):
    """Addresses of the instructions in [lo, hi) of straight-line code."""
    out, a = [], lo
    while a < hi:
        out.append(a)
        a += 4 if m.hart.read_phys(a, 1)[0] & 3 == 3 else 2
    return out


# --------------------------------------------------------------------------- code hooks

def test_code_hook_at_a_symbol_fires_once_per_call_with_the_pc():
    """Every console byte of gdb_target goes through htif_putchar(c): one call per byte, c in a0."""
    vm = Vm()
    seen = []
    vm.guest.hook_add(HOOK_CODE, lambda g, pc: seen.append((pc, g.registers()["x"][10])),
                      begin=SYM["htif_putchar"])
    m = vm.run()
    assert vm.guest.exit_code == 0 and bytes(vm.out.data) == OUTPUT
    assert len(seen) == len(OUTPUT)
    assert {pc for pc, _a0 in seen} == {SYM["htif_putchar"]}
    assert bytes(a0 for _pc, a0 in seen) == OUTPUT
    assert m.debugger.callbacks == len(OUTPUT)


def test_range_hook_sees_every_pc_of_a_function_in_order():
    vm = Vm()
    lo, hi = SYM["bump"], SYM["total"]                 # bump() is straight-line code, run once
    expected = instructions(vm.machine, lo, hi)
    seen = []
    vm.guest.hook_add(HOOK_CODE, lambda g, pc: seen.append(pc), begin=lo, end=hi - 1)
    vm.run()
    assert bytes(vm.out.data) == OUTPUT
    assert len(expected) > 10 and seen == expected


def test_code_hooks_on_overlapping_ranges_and_an_address_all_fire_in_order():
    vm = Vm()
    s = SYM["scale"]
    calls = []
    vm.guest.hook_add(HOOK_CODE, lambda g, pc: calls.append(("all", pc)), begin=None)
    vm.guest.hook_add(HOOK_CODE, lambda g, pc: calls.append(("scale", pc)), begin=s, end=SYM["bump"] - 1)
    vm.guest.hook_add(HOOK_CODE, lambda g, pc: calls.append(("entry", pc)), begin=s)
    m = vm.run()
    everything = [pc for k, pc in calls if k == "all"]
    assert len(everything) == m.hart.instret                # begin=None: every instruction
    at = [k for k, pc in calls if pc == s]
    assert at == ["all", "scale", "entry"]                   # the order they were added
    assert [pc for k, pc in calls if k == "scale"] == instructions(m, s, SYM["bump"])


def test_a_callback_that_changes_a_register_changes_the_result():
    vm = Vm()

    def scale(g, pc):
        assert g.registers()["x"][10] == 1                   # scale(x = 1)
        g.set_registers(x={10: 5})
    vm.guest.hook_add(HOOK_CODE, scale, begin=SYM["scale"])
    vm.run()
    assert bytes(vm.out.data) == b"result = 16\ncounter = 16\nsum = 10\n"


def test_a_callback_that_moves_the_pc_skips_the_instruction():
    """bump(n) returns at once when its first instruction is replaced by a jump to its `ret`."""
    vm = Vm()
    ret = instructions(vm.machine, SYM["bump"], SYM["total"])[-1]
    vm.guest.hook_add(HOOK_CODE, lambda g, pc: g.set_registers(pc=ret), begin=SYM["bump"])
    vm.run()
    assert bytes(vm.out.data) == b"result = 4\ncounter = 0\nsum = 10\n"


def test_hook_del_stops_the_callbacks():
    vm = Vm()
    seen = []

    def cb(g, pc):
        seen.append(pc)
        if len(seen) == 5:
            g.hook_del(handle)
    handle = vm.guest.hook_add(HOOK_CODE, cb, begin=SYM["htif_putchar"])
    other = vm.guest.hook_add(HOOK_CODE, lambda g, pc: pytest.fail("deleted before the run"), begin=SYM["main"])
    vm.guest.hook_del(other)
    m = vm.run()
    assert len(seen) == 5 and bytes(vm.out.data) == OUTPUT
    # with the last hook gone the machine runs as if there had been none
    assert m.debugger is None
    from emu import state as S
    assert m.hart.st[S.ST_DBG_NBP] == 0 and m.hart.st[S.ST_DBG_NWATCH] == 0
    assert not (m.hart.pflags & S.PF_WATCH).any()
    with pytest.raises(ValueError, match="no hook with handle"):
        Vm().guest.hook_del(handle)


def test_stop_from_a_callback_ends_the_run_before_the_instruction():
    vm = Vm()
    vm.guest.hook_add(HOOK_CODE, lambda g, pc: g.stop(), begin=SYM["bump"])
    with pytest.raises(GuestLifecycleError) as e:
        vm.lc.run()
    assert e.value.error is GuestError.CONTROLLER_FORCED_HALT
    m = vm.lc.final_machine
    assert m.hart.pc == SYM["bump"]                          # bump's first instruction did not run
    assert int.from_bytes(m.hart.read_phys(SYM["counter"], 8), "little") == 0
    assert vm.out.data == b""


def test_an_exception_in_a_callback_ends_the_run_and_names_the_hook():
    vm = Vm()
    vm.guest.hook_add(HOOK_CODE, lambda g, pc: 1 // 0, begin=SYM["scale"])
    with pytest.raises(GuestLifecycleError) as e:
        vm.lc.run()
    assert e.value.error is GuestError.VCPU_RUNTIME_FAILURE
    assert "HOOK_CODE" in str(e.value) and "ZeroDivisionError" in str(e.value)
    assert isinstance(e.value.__cause__, HookError)


def test_hooks_added_to_a_running_guest_and_removed_by_their_callback():
    """A guest made to spin on `spin`: a hook added from another thread while it runs ends the spin.

    The callbacks find their own handle in g.current_hook: a hook added to a running guest can
    fire before hook_add() has returned its handle to the thread that added it, so they must
    not use the variable hook_add() assigns (they did, and failed with a NameError on a fresh
    machine)."""
    vm = Vm()
    spin = SYM["spin"]
    spinning = threading.Event()

    def at_main(g, pc):                                      # after crt0 has zeroed .bss
        g.write_memory(spin, (1).to_bytes(8, "little"))
        g.hook_del(g.current_hook)
        spinning.set()                                       # from here main spins until spin is 0
    vm.guest.hook_add(HOOK_CODE, at_main, begin=SYM["main"])

    outcome = []
    t = threading.Thread(target=lambda: outcome.append(vm.lc.run()), daemon=True)
    t.start()
    assert spinning.wait(HANG), "the guest never reached main"
    assert t.is_alive() and not vm.guest.closed              # it cannot leave main's loop by itself
    seen, handles = [], []

    def cb(g, pc):
        seen.append(pc)
        handles.append(g.current_hook)
        if len(seen) == 100:
            g.write_memory(spin, bytes(8))
            g.hook_del(g.current_hook)
    h = vm.guest.hook_add(HOOK_CODE, cb, begin=SYM["main"], end=SYM["main"] + 0x93)
    t.join(HANG)
    assert not t.is_alive() and outcome == [None]
    assert len(seen) == 100 and all(SYM["main"] <= pc < SYM["main"] + 0x94 for pc in seen)
    assert handles == [h] * 100
    assert bytes(vm.out.data) == OUTPUT


def test_current_hook_is_the_running_callbacks_handle_and_none_elsewhere():
    vm = Vm()
    seen = []
    a = vm.guest.hook_add(HOOK_CODE, lambda g, pc: seen.append(("a", g.current_hook)), begin=SYM["scale"])
    b = vm.guest.hook_add(HOOK_CODE, lambda g, pc: seen.append(("b", g.current_hook)), begin=SYM["scale"])
    t = vm.guest.hook_add(HOOK_MEM_WRITE, lambda g, *_: seen.append(("t", g.current_hook)), begin=SYM["counter"])
    assert a != b and vm.guest.current_hook is None          # outside a callback
    vm.run()
    assert seen == [("t", t), ("a", a), ("b", b), ("t", t)]  # crt0 zeroes counter, scale(), bump()
    assert vm.guest.current_hook is None


# --------------------------------------------------------------------------- memory hooks

def test_write_hook_sees_the_address_size_and_value_of_each_store():
    vm = Vm()
    c = SYM["counter"]
    seen = []
    vm.guest.hook_add(HOOK_MEM_WRITE, lambda g, *a: seen.append(a + (g.registers()["pc"],)), begin=c, end=c + 7)
    vm.run()
    assert bytes(vm.out.data) == OUTPUT
    # crt0 zeroes .bss (sd zero), then bump(4): counter = counter + 4 (sd); each seen after the store
    assert [a[:4] for a in seen] == [(HOOK_MEM_WRITE, c, 8, 0), (HOOK_MEM_WRITE, c, 8, 4)]
    assert seen[0][4] < SYM["htif_exit"] and SYM["bump"] < seen[1][4] < SYM["total"]


def test_write_hook_on_one_byte_of_a_wider_store_and_on_its_neighbour():
    vm = Vm()
    c = SYM["counter"]
    assert SYM["spin"] == c + 8                              # .bss: counter, then spin
    seen = []
    vm.guest.hook_add(HOOK_MEM_WRITE, lambda g, *a: seen.append(a), begin=c + 3)      # one byte
    vm.guest.hook_add(HOOK_MEM_WRITE, lambda g, *a: seen.append(("spin",) + a), begin=c + 8, end=c + 15)
    vm.guest.hook_add(HOOK_MEM_WRITE, lambda g, *a: seen.append(("below",) + a), begin=c - 8, end=c - 1)
    vm.run()
    # crt0 zeroes counter and spin, bump writes counter; nothing writes the bytes below counter
    assert seen == [(HOOK_MEM_WRITE, c, 8, 0), ("spin", HOOK_MEM_WRITE, c + 8, 8, 0), (HOOK_MEM_WRITE, c, 8, 4)]


def test_read_hook_sees_each_load_before_it_runs():
    vm = Vm()
    t = SYM["table"]
    seen = []

    def cb(g, access, pa, size, value):
        r = g.registers()
        seen.append((access, pa, size, value, r["pc"], r["instret"]))
    vm.guest.hook_add(HOOK_MEM_READ, cb, begin=t, end=t + 31)
    m = vm.run()
    assert bytes(vm.out.data) == OUTPUT
    assert [s[:4] for s in seen] == [(HOOK_MEM_READ, t + 8 * i, 8, i + 1) for i in range(4)]
    pcs = {s[4] for s in seen}
    assert len(pcs) == 1 and SYM["total"] <= pcs.pop() < SYM["main"]   # the same load, in total()'s loop
    assert len({s[5] for s in seen}) == 4                    # at four different moments
    assert m.debugger is not None and m.debugger.read_watches


def test_read_and_write_hook_on_the_same_bytes():
    vm = Vm()
    c = SYM["counter"]
    seen = []
    vm.guest.hook_add(HOOK_MEM_READ | HOOK_MEM_WRITE, lambda g, a, pa, n, v: seen.append((a, v)), begin=c, end=c + 7)
    vm.guest.hook_add(HOOK_CODE, lambda g, pc: seen.append(("bump", pc)), begin=SYM["bump"])
    vm.run()
    # crt0's zeroing; bump reads counter (0), writes 4; main reads it (4) to print it
    assert seen == [(HOOK_MEM_WRITE, 0), ("bump", SYM["bump"]), (HOOK_MEM_READ, 0), (HOOK_MEM_WRITE, 4),
                    (HOOK_MEM_READ, 4)]
    assert bytes(vm.out.data) == OUTPUT


# --------------------------------------------------------------------------- trap hooks

def traced_traps(program):
    """(cause name, epc, tval or None) of every trap, from the single-stepping tracer."""
    from lifecycle.debug import trace
    from lifecycle.machine.board import Machine
    m = Machine(memory=16 << 20, console=io.BytesIO())
    m.load(program)
    out = io.StringIO()
    m.stepper = trace.Stepper(m, out=out)
    r = m.run(max_instructions=20_000_000)
    m.stepper.close()
    assert r.reason == "exit" and r.exit_code == 0
    lines = out.getvalue().splitlines()
    got = []
    for i, ln in enumerate(lines):
        mm = re.match(r"core   0: exception (.+?), epc 0x([0-9a-f]+)$", ln)
        if mm:
            tv = re.match(r"core   0: +tval 0x([0-9a-f]+)$", lines[i + 1]) if i + 1 < len(lines) else None
            got.append((mm[1], int(mm[2], 16), int(tv[1], 16) if tv else None))
    return got


@pytest.mark.parametrize("name", ["priv_traps", "priv_interrupts"])
def test_trap_hook_sees_every_trap_with_its_cause_tval_and_epc(name):
    from lifecycle.debug.trace import TRAP_NAMES
    program = os.path.join(BIN, name + ".elf")
    reference = traced_traps(program)
    vm = Vm(program, memory=16 << 20)
    seen = []

    def cb(g, cause, tval, epc):
        r = g.registers()
        seen.append((cause, tval, epc, r["pc"], r["priv"]))
    vm.guest.hook_add(HOOK_TRAP, cb)
    m = vm.run()
    assert vm.guest.exit_code == 0
    h = m.hart
    from emu import state as S
    assert len(seen) == len(reference) == int(h.st[S.ST_TRAPS] + h.st[S.ST_IRQS]) > 5
    assert m.debugger.missed_traps == 0
    for (cause, tval, epc, pc, priv), (rname, repc, rtval) in zip(seen, reference):
        if cause >> 63:
            assert rname == f"interrupt #{cause & 0xFF}"
        else:
            assert rname == "trap_" + TRAP_NAMES[cause]
        assert epc == repc and (rtval is None or tval == rtval)
        # at the handler: mtvec/stvec as the privilege the trap went to says, vectored for interrupts
        tvec = int(h.csr[STVEC if priv == PRV_S else MTVEC])   # (the final value: programs set it once
        if name == "priv_traps" and priv == PRV_M:                # per phase, so check only the mode bits)
            assert tvec & 3 == 0
    causes = {c for c, *_ in seen}
    ecalls = (CAUSE_USER_ECALL, CAUSE_SUPERVISOR_ECALL, CAUSE_MACHINE_ECALL)
    if name == "priv_traps":
        assert {CAUSE_ILLEGAL_INSTRUCTION, CAUSE_BREAKPOINT, *ecalls} <= causes
        assert any(p == PRV_S for *_x, p in seen)
        m2 = Vm(program, memory=16 << 20).machine
        for cause, tval, epc, _pc, _priv in seen:
            if cause == CAUSE_ILLEGAL_INSTRUCTION and tval:
                assert tval == word(m2, epc)                      # illegal: tval = the instruction bits
            if cause in ecalls:
                assert word(m2, epc) == 0x00000073 and tval == 0  # ecall
    else:
        interrupt = INTERRUPT & ((1 << 64) - 1)                   # the hook reports xcause unsigned
        assert {interrupt | IRQ_M_TIMER, interrupt | IRQ_M_SOFT, interrupt | IRQ_S_SOFT} <= causes


def test_trap_hook_comes_before_the_code_hook_at_the_handler():
    """At a handler's first instruction the trap hook fires first, then the code hook there."""
    prog = os.path.join(BIN, "priv_traps.elf")
    syms = symbols(prog)
    handlers = (syms["trap_handler_m"], syms["s_handler"])
    vm = Vm(prog, memory=16 << 20)
    seen = []
    for a in handlers:
        vm.guest.hook_add(HOOK_CODE, lambda g, pc: seen.append(("code", pc)), begin=a)
    vm.guest.hook_add(HOOK_TRAP, lambda g, c, tv, epc: seen.append(("trap", g.registers()["pc"])))
    vm.run()
    assert vm.guest.exit_code == 0
    at = [(i, pc) for i, (k, pc) in enumerate(seen) if k == "trap" and pc in handlers]
    assert len(at) > 20 and {pc for _i, pc in at} == set(handlers)
    for i, pc in at:
        assert seen[i + 1] == ("code", pc)
    # the handlers are reached through traps only
    assert sum(1 for k, pc in seen if k == "code") == len(at)


@pytest.mark.parametrize("name", ["dev_poweroff", "isa_amo", "isa_fencei", "priv_interrupts", "priv_vm_sv39",
                                  "dev_timer"])
def test_hooks_do_not_change_what_the_guest_does(name):
    """A code hook on every pc, a trap hook, and read and write hooks on all of RAM: the same
    registers, CSRs, RAM and counters as a run without (MMIO, HTIF, AMOs, self-modifying
    code, interrupts, Sv39)."""
    from emu import state as S
    states = []
    for hooked in (False, True):
        vm = Vm(os.path.join(BIN, name + ".elf"), memory=16 << 20)
        n = {"code": 0, "trap": 0, "mem": 0}
        if hooked:
            def count(kind):
                def cb(*_a):
                    n[kind] += 1
                return cb
            vm.guest.hook_add(HOOK_CODE, count("code"))
            vm.guest.hook_add(HOOK_TRAP, count("trap"))
            vm.guest.hook_add(HOOK_MEM_READ | HOOK_MEM_WRITE, count("mem"))
        m = vm.run()
        h = m.hart
        counters = [int(h.st[i]) for i in (S.ST_PC, S.ST_INSTRET, S.ST_TRAPS, S.ST_IRQS, S.ST_PRIV)]
        states.append((vm.guest.exit_code, bytes(vm.out.data), h.regs[:32].copy(), h.csr.copy(), h.ram.copy(),
                       counters))
    (c0, o0, *a0), (c1, o1, *a1) = states
    assert (c0, o0) == (c1, o1) and c0 == 0
    for x, y in zip(a0, a1):
        assert np.array_equal(x, y)
    _pc, instret, traps, irqs, _priv = a1[-1]
    # before every instruction, also one that traps or that an interrupt pre-empts (it runs later)
    assert instret <= n["code"] <= instret + traps + irqs
    assert n["trap"] == traps + irqs and n["mem"] > 0


# --------------------------------------------------------------------------- errors and conflicts

def test_bad_arguments_raise_a_clear_value_error():
    vm = Vm()
    g = vm.guest
    cb = lambda *a: None  # noqa: E731
    with pytest.raises(ValueError, match="unknown hook kind"):
        g.hook_add(3, cb, begin=SYM["main"])
    with pytest.raises(ValueError, match="unknown hook kind"):
        g.hook_add(HOOK_CODE | HOOK_TRAP, cb)
    with pytest.raises(ValueError, match="end 0x.* < begin"):
        g.hook_add(HOOK_CODE, cb, begin=SYM["main"], end=SYM["main"] - 2)
    with pytest.raises(ValueError, match="HOOK_TRAP takes no begin"):
        g.hook_add(HOOK_TRAP, cb, begin=SYM["main"])
    with pytest.raises(ValueError, match="not a 64-bit address|negative"):
        g.hook_add(HOOK_CODE, cb, begin=-4)
    with pytest.raises(TypeError, match="callable"):
        g.hook_add(HOOK_CODE, None, begin=SYM["main"])
    with pytest.raises(ValueError, match="not in RAM"):
        g.hook_add(HOOK_MEM_WRITE, cb, begin=UART_BASE, end=UART_BASE + 7)
    with pytest.raises(ValueError, match="tohost"):
        g.hook_add(HOOK_MEM_WRITE, cb, begin=SYM["tohost"], end=SYM["tohost"] + 7)
    # too many address hooks: 64 table entries, one of them to step with
    from emu.state import DBG_MAX_BP
    base = SYM["main"]
    handles = [g.hook_add(HOOK_CODE, cb, begin=base + 2 * i) for i in range(DBG_MAX_BP - 1)]
    with pytest.raises(ValueError, match="too many code hooks"):
        g.hook_add(HOOK_CODE, cb, begin=base + 2 * DBG_MAX_BP)
    with pytest.raises(ValueError, match="too many code hooks"):
        g.hook_add(HOOK_TRAP, cb)
    g.hook_add(HOOK_CODE, cb, begin=base)                    # the same address again: no new entry
    for h in handles[:3]:                                    # (handles[0] stays: the same address again)
        g.hook_del(h)
    g.hook_add(HOOK_CODE, cb, begin=SYM["scale"], end=SYM["bump"])   # a range: two entries
    from emu.state import DBG_MAX_WATCH
    c = SYM["counter"]
    for i in range(DBG_MAX_WATCH):
        g.hook_add(HOOK_MEM_WRITE, cb, begin=c + i)
    with pytest.raises(ValueError, match="watch ranges: at most"):
        g.hook_add(HOOK_MEM_READ, cb, begin=c + DBG_MAX_WATCH)
    # the refused hooks left nothing behind: the run is normal
    vm.run()
    assert bytes(vm.out.data) == OUTPUT


def test_hooks_and_gdb_one_at_a_time():
    vm = Vm()
    h = vm.guest.hook_add(HOOK_CODE, lambda g, pc: None, begin=SYM["main"])
    with pytest.raises(DebuggerBusyError, match="hooks are installed"):
        vm.guest.serve_gdb(0)
    vm.guest.hook_del(h)
    srv = vm.guest.serve_gdb(0)
    try:
        with pytest.raises(DebuggerBusyError, match="serves GDB"):
            vm.guest.hook_add(HOOK_CODE, lambda g, pc: None, begin=SYM["main"])
    finally:
        srv.close()
    vm.guest.hook_add(HOOK_TRAP, lambda *a: None)             # the server is closed: hooks again
    vm.run()
    assert bytes(vm.out.data) == OUTPUT
