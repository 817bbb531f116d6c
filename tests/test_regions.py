"""Native regions (emu/regions/): hot code compiled with LLVM must change nothing but speed.

Every test runs the same guest twice, once from the loop alone and once with
regions made as eagerly as possible (a window is hot at its first sample, a
sample every POLL instructions), and asks for bit-identical results: registers,
pc, instret, CSRs, RAM.  Each also checks that regions really ran, so a tier
that silently stayed off fails instead of passing for the wrong reason.
"""
import io
import os
import sys
import threading
from pathlib import Path

import numpy as np

import pytest

from emu import state as S
from emu.hart import Hart, jit_enabled
from lifecycle.machine.board import Machine

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvenc  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GUEST = sorted(p for p in (ROOT / "tests" / "guest" / "bin").glob("*.elf") if not p.name.startswith("dev_"))
WORKLOADS = sorted((ROOT / "bench" / "workloads" / "bin").glob("*.elf"))
BARE_WORKLOADS = [p for p in WORKLOADS if "linux" not in p.stem and p.stem != "usersieve"]
POLL = 16

pytestmark = pytest.mark.skipif(not jit_enabled(), reason="native regions need the Numba JIT engine")


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    monkeypatch.setenv("NUMBAVM_REGIONS_STRICT", "1")     # a region that fails to compile fails the test


def eager(h):
    """Regions on, compiled at the first sample of a window."""
    h.start_regions()
    h.regions.sync = True           # compiled at once: the same regions every run
    h.st[S.ST_REGION_HOT] = 1
    h.st[S.ST_POLL] = POLL


def loop_only(h):
    h.stop_regions()
    h.st[S.ST_POLL] = POLL


def machine_run(path, setup, budget=100_000_000):
    out = io.BytesIO()
    m = Machine(console=out)
    m.load(str(path))
    setup(m.hart)
    r = m.run(max_instructions=budget)
    return m, r, out.getvalue()


def same_state(a, b):
    ha, hb = a.hart, b.hart
    assert np.array_equal(ha.regs[:32], hb.regs[:32]), "registers differ"
    assert np.array_equal(ha.st[:S.ST_REGION_ON], hb.st[:S.ST_REGION_ON]), \
        f"hart state differs at {np.nonzero(ha.st[:S.ST_REGION_ON] != hb.st[:S.ST_REGION_ON])[0][:8]}"
    assert np.array_equal(ha.csr, hb.csr), "CSRs differ"
    assert np.array_equal(ha.ram, hb.ram), "RAM differs"


@pytest.mark.parametrize("path", GUEST, ids=lambda p: p.stem)
def test_guest_program_identical_with_regions(path):
    ref, r0, out0 = machine_run(path, loop_only)
    m, r, out = machine_run(path, eager)
    assert r0.reason == "exit" and r0.exit_code == 0, r0.message
    assert (r.reason, r.exit_code) == (r0.reason, r0.exit_code), r.message
    assert out == out0
    same_state(ref, m)


def test_regions_ran_in_most_guest_programs():
    """The identity tests prove something only where regions ran.  Programs that are mostly
    CSR accesses and traps end their chunks early (each one syncs), so they are never sampled.
    (Runs every program itself: no state shared with the tests above.)"""
    compiled = {path.stem: machine_run(path, eager)[0].hart.regions.compiled for path in GUEST}
    ran = sorted(k for k, n in compiled.items() if n > 0)
    assert len(ran) >= 0.75 * len(GUEST), f"regions ran only in {ran}"
    for must in ("hello", "isa_alu", "isa_mul", "isa_ldst", "isa_c", "isa_amo", "priv_vm_sv39",
                 "priv_interrupts", "isa_fencei"):
        assert compiled[must] > 0, must


@pytest.mark.parametrize("path", BARE_WORKLOADS, ids=lambda p: p.stem)
def test_workload_prefix_identical_with_regions(path):
    """The bench programs (bigger loops, all the M ops, byte/half/word/double accesses)."""
    ref, _, _ = machine_run(path, loop_only, budget=3_000_000)
    m, _, _ = machine_run(path, eager, budget=3_000_000)
    same_state(ref, m)
    assert m.hart.regions.compiled > 0
    assert m.hart.st[S.ST_REGION_ENTRIES] > 0


@pytest.mark.parametrize("name", ["crc32", "sieve", "bytecode"])
def test_regions_run_most_of_a_hot_loop(name):
    """At the default threshold a hot loop is compiled and then stays in native code: the
    region returns to the loop about once per chunk (at most 4,096 instructions), not more.
    sieve keeps its array in the page of its code (stores there must stay native unless
    they touch code), bytecode dispatches through a jump table (jalr into the region).
    Compiled at once when asked (sync), not on the compiler thread: how many instructions run
    in the loop before a region is ready must not depend on the host's speed."""
    def default_threshold_sync(h):
        h.start_regions()
        h.regions.sync = True
    m, r, out = machine_run(ROOT / f"bench/workloads/bin/{name}.elf", default_threshold_sync, budget=400_000_000)
    assert r.reason == "exit" and r.exit_code == 0
    assert f"{name}: ok".encode() in out
    assert m.hart.regions.compiled >= 1 and m.hart.regions.errors == 0
    assert m.hart.st[S.ST_REGION_ENTRIES] < r.instret / 2000, int(m.hart.st[S.ST_REGION_ENTRIES])


# ---------------------------------------------------------------- code that changes under a region
CODE = 0x8000_0000
FENCE_I = (0x0000100F).to_bytes(4, "little")


def program(words):
    return b"".join(w.to_bytes(4, "little") for w in words)


def loop_program(step):
    """a0 += step, 20000 times (a1 counts down), then ebreak."""
    return rvenc.assemble([
        ("addi", dict(rd=11, rs1=0, imm=2000)),          # 0: a1 = 2000
        ("slli", dict(rd=11, rs1=11, shamt=3)),          # 4: a1 = 16000
        ("addi", dict(rd=10, rs1=10, imm=step)),         # 8: the instruction that gets patched
        ("addi", dict(rd=11, rs1=11, imm=-1)),           # 12
        ("bne", dict(rs1=11, rs2=0, imm=-8)),            # 16 -> 8
        ("ebreak", dict()),                              # 20
    ])


def run_hart(code, setup, steps_before_patch=None, patch=None):
    h = Hart(ram_size=1 << 20, ram_base=CODE)
    setup(h)
    h.write_phys(CODE, code)
    h.pc = CODE
    if steps_before_patch:
        h.run(steps_before_patch)
        patch(h)
    h.run(2_000_000)                      # ends at the ebreak (no trap handler: EXIT_FATAL)
    return h


def test_host_write_into_region_code_drops_it():
    """write_phys (loaders, DMA, a debugger) into compiled code: the new instruction runs."""
    new_addi = rvenc.enc("addi", rd=10, rs1=10, imm=5).to_bytes(4, "little")

    def patch(h):
        assert h.regions.compiled > 0 and h.st[S.ST_REGION_ENTRIES] > 0
        h.write_phys(CODE + 8, new_addi)

    ref = run_hart(loop_program(1), loop_only, 3000, lambda h: h.write_phys(CODE + 8, new_addi))
    h = run_hart(loop_program(1), eager, 3000, patch)
    assert int(h.x[10]) == int(ref.x[10])
    assert int(h.x[10]) > 3000            # most iterations added 5
    assert h.instret == ref.instret


def test_guest_store_into_region_code_drops_it():
    """The guest patches its own hot loop (sw into the loop body, then fence.i)."""
    new_addi = rvenc.enc("addi", rd=10, rs1=10, imm=7)
    code = rvenc.assemble([
        ("auipc", dict(rd=5, imm=0)),                    # 0: t0 = CODE
        ("lui", dict(rd=6, imm=new_addi >> 12 if not new_addi & 0x800 else (new_addi >> 12) + 1)),  # 4
        ("addi", dict(rd=6, rs1=6, imm=(new_addi & 0xFFF) - (0x1000 if new_addi & 0x800 else 0))),  # 8
        ("addi", dict(rd=11, rs1=0, imm=1000)),          # 12: a1 = 1000 (outer)
        ("addi", dict(rd=12, rs1=0, imm=100)),           # 16: a2 = 100 (inner)    <- outer loop
        ("addi", dict(rd=10, rs1=10, imm=1)),            # 20: patched to +7       <- inner loop
        ("addi", dict(rd=12, rs1=12, imm=-1)),           # 24
        ("bne", dict(rs1=12, rs2=0, imm=-8)),            # 28 -> 20
        ("addi", dict(rd=11, rs1=11, imm=-1)),           # 32
        ("addi", dict(rd=13, rs1=0, imm=500)),           # 36
        ("bne", dict(rs1=11, rs2=13, imm=12)),           # 40 -> 52 unless a1 == 500
        ("sw", dict(rs2=6, rs1=5, imm=20)),              # 44: patch the inner loop's addi
    ]) + FENCE_I + rvenc.assemble([                      # 48
        ("bne", dict(rs1=11, rs2=0, imm=-36)),           # 52 -> 16
        ("ebreak", dict()),                              # 56
    ])
    ref = run_hart(code, loop_only)
    h = run_hart(code, eager)
    assert int(ref.x[10]) == 500 * 100 * 1 + 500 * 100 * 7
    assert int(h.x[10]) == int(ref.x[10])
    assert h.instret == ref.instret
    assert h.regions.compiled >= 2, "the patched loop was not compiled again"


def test_budget_is_exact_inside_regions():
    """Running in steps of every size gives the same instret as one run: a region never
    retires past the loop's budget (timer interrupts rely on it)."""
    h = Hart(ram_size=1 << 20, ram_base=CODE)
    eager(h)
    h.write_phys(CODE, loop_program(1))
    h.pc = CODE
    done = 0
    for n in (1, 2, 3, 5, 7, 11, 100, 1000, 4097, 1):
        before = h.instret
        h.run(n)
        assert h.instret - before == n
        done += n
    assert h.regions.compiled > 0
    assert int(h.x[10]) == -(-(done - 2) // 3)    # two set-up instructions, then 3 per iteration


def test_regions_off_by_environment(monkeypatch):
    monkeypatch.setenv("NUMBAVM_REGIONS", "0")
    h = Hart(ram_size=1 << 20, ram_base=CODE)
    h.write_phys(CODE, loop_program(1))
    h.pc = CODE
    h.run(100_000)
    assert h.regions is None and h.st[S.ST_REGION_ON] == 0


# ---------------------------------------------------------------- under hooks and breakpoints
def test_code_hooks_fire_the_same_with_regions():
    """Regions end before every hooked pc and hooked range: with regions compiled eagerly the
    hooks fire exactly as often as with the loop alone, and an unhooked hot loop stays native."""
    from elftools.elf.elffile import ELFFile
    from lifecycle.debug.hooks import HOOK_CODE
    from tests.test_hooks import Vm
    path = ROOT / "tests/guest/bin/hello.elf"
    with open(path, "rb") as f:
        sym = {s.name: (s["st_value"], s["st_size"]) for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()}
    fib, (cp, cp_size) = sym["htif_putchar"][0], sym["htif_put_udec"]     # (the loops are in main)
    results = []
    for setup in (loop_only, eager):
        vm = Vm(program=str(path), memory=16 << 20)
        setup(vm.machine.hart)
        at_fib, in_primes, never = [], [], []
        vm.guest.hook_add(HOOK_CODE, lambda g, pc: at_fib.append(pc), fib)
        vm.guest.hook_add(HOOK_CODE, lambda g, pc: in_primes.append(pc), cp, cp + cp_size - 2)
        vm.guest.hook_add(HOOK_CODE, lambda g, pc: never.append(pc), CODE + (8 << 20))
        m = vm.run()
        results.append((len(at_fib), len(in_primes), never, bytes(vm.out.data), m.hart.instret))
        if setup is eager:
            assert m.hart.regions.compiled > 0 and m.hart.st[S.ST_REGION_ENTRIES] > 0
    assert results[0] == results[1]
    assert results[0][0] > 0 and results[0][1] > 100 and results[0][2] == []


def test_trap_hooks_and_read_watches_turn_regions_off():
    from emu import debug
    h = Hart(ram_size=1 << 20, ram_base=CODE)
    eager(h)
    debug.set_watches(h, [(CODE + 4096, CODE + 4104, debug.WATCH_READ)])
    assert h.st[S.ST_REGION_BLOCKED] != 0
    debug.set_watches(h, [(CODE + 4096, CODE + 4104, debug.WATCH_WRITE)])
    assert h.st[S.ST_REGION_BLOCKED] == 0
    debug.set_breakpoints(h, [CODE + 8], hooks=True, traps=True)
    assert h.st[S.ST_REGION_BLOCKED] != 0
    debug.clear_all(h)
    assert h.st[S.ST_REGION_BLOCKED] == 0


def test_store_into_code_the_loop_decoded_is_seen():
    """A region's store into code that the loop decoded earlier, in another page (so no region
    holds it), must leave for the store hooks: the patched function then runs its new
    instruction.  The store happens halfway through the loop, when it runs as native code."""
    new_addi = rvenc.enc("addi", rd=10, rs1=10, imm=100)
    hi, lo = (new_addi + 0x800) >> 12, ((new_addi & 0xFFF) ^ 0x800) - 0x800
    F = 4096
    code = rvenc.assemble([
        ("auipc", dict(rd=5, imm=1)),                    # 0: t0 = CODE + 4096 (F)
        ("addi", dict(rd=11, rs1=0, imm=2000)),          # 4
        ("jal", dict(rd=1, imm=F - 8)),                  # 8: call F once: decoded
        ("lui", dict(rd=6, imm=hi)),                     # 12
        ("addi", dict(rd=6, rs1=6, imm=lo)),             # 16: t1 = addi a0, a0, 100
        ("addi", dict(rd=13, rs1=0, imm=1000)),          # 20
        ("addi", dict(rd=11, rs1=11, imm=-1)),           # 24: loop
        ("bne", dict(rs1=11, rs2=13, imm=8)),            # 28 -> 36 unless a1 == 1000
        ("sw", dict(rs2=6, rs1=5, imm=0)),               # 32: patch F
        ("bne", dict(rs1=11, rs2=0, imm=-12)),           # 36 -> 24
        ("jal", dict(rd=1, imm=F - 40)),                 # 40: call F again
        ("ebreak", dict()),                              # 44
    ])
    code += bytes(F - len(code)) + rvenc.assemble([
        ("addi", dict(rd=10, rs1=10, imm=1)),            # F
        ("jalr", dict(rd=0, rs1=1, imm=0)),
    ])
    ref = run_hart(code, loop_only)
    h = run_hart(code, eager)
    assert int(ref.x[10]) == 101
    assert int(h.x[10]) == 101
    assert h.instret == ref.instret
    assert h.regions.compiled >= 1


# ---------------------------------------------------------------- the compiler thread
@pytest.mark.parametrize("change", ["code", "flush"])
def test_background_region_is_not_installed_over_changed_code(change):
    """A region compiled on the compiler thread is installed by the hart's thread only if its code
    bytes are still the ones it was compiled from (and no flush came in between)."""
    new_addi = rvenc.enc("addi", rd=10, rs1=10, imm=5).to_bytes(4, "little")

    def setup(h):
        h.start_regions()
        h.st[S.ST_REGION_HOT] = 1
        h.st[S.ST_POLL] = POLL

    def mutate(h):
        if change == "code":
            h.write_phys(CODE + 8, new_addi)
        else:
            h.flush_decode_cache()

    h = Hart(ram_size=1 << 20, ram_base=CODE)
    setup(h)
    assert not h.regions.sync
    # the compiler thread waits for the gate: without it, a compile that ends while run(100) is still
    # going is installed by that same run, and nothing would be left to test on a fast host
    gate = threading.Event()
    build = h.regions.build
    h.regions.build = lambda job: (gate.wait(300), build(job))
    h.write_phys(CODE, loop_program(1))
    h.pc = CODE
    h.run(100)                              # a request: queued for the compiler thread
    assert h.regions.in_flight == 1 and not h.regions.ready
    gate.set()
    assert h.regions.wait(timeout=300), "the compile did not end"   # a hang guard, however slow the host
    assert h.regions.in_flight == len(h.regions.ready) == 1, "the compiler thread did not finish"
    mutate(h)
    h.run(200_000)                          # installs what is ready: nothing, it is stale
    assert h.regions.stale == 1, h.regions.stats()       # (a later request may compile the new code)
    ref = run_hart(loop_program(1), loop_only, 100, mutate)
    assert int(h.x[10]) == int(ref.x[10]) and h.instret == ref.instret
