"""A trap loop names its cause: the trap that led into it (cause, pc, instruction bits, disassembly).

When the trap handler's own address cannot be fetched, the hart would trap forever; the loop
stops with FATAL_TRAP_LOOP.  The loop's own trap (an instruction access fault at the handler)
says nothing about why the program trapped in the first place, so emu/trap.py keeps the last
two traps and lifecycle/machine/board.py names the first one in the fatal message.
"""
import io
import os
import subprocess
import sys


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rvenc import I, w32  # noqa: E402
import elf_builder as eb  # noqa: E402

from emu import state as S  # noqa: E402
from emu.spec import CAUSE_ILLEGAL_INSTRUCTION, MTVEC, PRV_M, RAM_BASE  # noqa: E402
from emu.trap import cause_name  # noqa: E402
from lifecycle.machine.board import Machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = RAM_BASE
URET = 0x0020_0073           # uret: the N extension's (withdrawn), illegal here; capstone still names it
NOP = I("addi", rd=0, rs1=0, imm=0)


def program(tmp_path, code):
    p = tmp_path / "p.elf"
    p.write_bytes(eb.build_elf(
        [eb.Segment(BASE, code, name=".text"),
         eb.Segment(BASE + 0x1000, bytes(16), flags=eb.PF_R | eb.PF_W, name=".tohost")],
        entry=BASE, symbols={"tohost": BASE + 0x1000, "fromhost": BASE + 0x1008}))
    return p


def test_an_illegal_instruction_with_mtvec_zero_names_the_illegal_instruction(tmp_path):
    """mtvec is 0 at reset: the illegal uret traps to 0, which is not RAM, and the fetch fault
    there traps to 0 again.  The message must name the uret, not only 'mcause 0x1'."""
    m = Machine(memory=1 << 20, console=io.BytesIO())
    m.load(program(tmp_path, NOP + NOP + w32(URET)))
    r = m.run(max_instructions=10_000)
    assert r.reason == "fatal", r
    assert r.message.startswith("trap loop"), r.message
    assert "(pc 0x0, mcause 0x1)" in r.message                        # the loop's own trap, as before
    assert "it began with illegal instruction at pc 0x80000008 in M-mode" in r.message, r.message
    assert "instruction 0x00200073" in r.message, r.message
    assert "(uret)" in r.message, r.message


def test_the_cli_prints_the_first_trap_of_a_trap_loop(tmp_path):
    p = subprocess.run([sys.executable, "-m", "lifecycle.cli.main", "run", str(program(tmp_path, w32(URET)))],
                       capture_output=True, text=True, cwd=ROOT, timeout=600,
                       env={k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"})
    assert p.returncode == 125, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "trap loop" in lines[0], p.stderr
    assert "illegal instruction at pc 0x80000000 in M-mode" in lines[0] and "0x00200073" in lines[0], p.stderr


def test_a_compressed_instruction_in_a_trap_loop_shows_16_bits(tmp_path):
    """A reserved compressed encoding: its 16 bits, not 32."""
    m = Machine(memory=1 << 20, console=io.BytesIO())
    m.load(program(tmp_path, (0x6101).to_bytes(2, "little") + NOP))     # c.addi16sp with imm 0: reserved
    r = m.run(max_instructions=10_000)
    assert "illegal instruction at pc 0x80000000 in M-mode" in r.message, r.message
    assert "instruction 0x6101" in r.message, r.message


def test_a_load_fault_under_an_unfetchable_handler_shows_the_loads_pc_and_address(tmp_path):
    """Not only illegal instructions: the first trap's bits are read at its pc (bare fetch)."""
    code = I("lui", rd=5, imm=0x1) + I("ld", rd=6, rs1=5, imm=8)       # ld t1, 8(t0): 0x1008 is no RAM
    m = Machine(memory=1 << 20, console=io.BytesIO())
    m.load(program(tmp_path, code))
    m.hart.csr[MTVEC] = 0x40                                        # not RAM either
    r = m.run(max_instructions=10_000)
    assert r.reason == "fatal", r
    want = f"it began with load access fault at pc 0x80000004 in M-mode, tval 0x1008: instruction 0x{int.from_bytes(code[4:], 'little'):08x}"
    assert want in r.message, r.message


def test_the_last_two_traps_are_recorded():
    """emu/trap.take_trap keeps (cause, epc, tval, privilege) of the last trap and of the one before."""
    from emu.hart import Hart
    h = Hart(1 << 20)
    assert int(h.st[S.ST_TRAP_LAST + S.TRAP_PRIV]) == -1 == int(h.st[S.ST_TRAP_PREV + S.TRAP_PRIV])
    h.write_phys(BASE, w32(URET) + w32(0) + I("ecall"))
    h.csr[MTVEC] = BASE + 4                                         # an all-zero word (illegal too)
    h.run(2)
    last = [int(h.st[S.ST_TRAP_LAST + i]) for i in range(4)]
    prev = [int(h.st[S.ST_TRAP_PREV + i]) for i in range(4)]
    assert prev == [CAUSE_ILLEGAL_INSTRUCTION, BASE, URET, PRV_M]
    assert last == [CAUSE_ILLEGAL_INSTRUCTION, BASE + 4, 0, PRV_M]
    assert cause_name(last[0]) == "illegal instruction"
    assert cause_name((1 << 63) | 7) == "machine timer interrupt"
