"""--isa STRING: the ISA-string parser, misa, the device tree, and a hart without some extensions
(their instructions illegal, through the loop, native regions and the plain-Python engine; IALIGN = 32
without C); real guest programs under the ISA they were built for."""
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvenc  # noqa: E402

from emu import isastring, state as S  # noqa: E402
from emu.isastring import parse, canonical, IsaError  # noqa: E402
from emu.hart import Hart, jit_enabled  # noqa: E402
from emu.spec import MISA, FCSR, STIMECMP, MEPC, MENVCFG, MSTATUS, MSTATUS_FS  # noqa: E402
from regionmode import force_regions  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "tests", "guest", "bin")
BASE = 0x8000_0000
M64 = (1 << 64) - 1
FULL = isastring.FULL_STRING


# --------------------------------------------------------------------------- the parser
@pytest.mark.parametrize("text, want", [
    ("rv64imac", "rv64imac_zicntr_zicsr_zihpm"),
    ("rv64gc", "rv64imafdc_zicntr_zicsr_zifencei_zihpm"),
    ("RV64GC_Zba_Zbb_Zbs", "rv64imafdc_zicntr_zicsr_zifencei_zihpm_zba_zbb_zbs"),
    ("rv64i", "rv64i_zicntr_zicsr_zihpm"),
    ("rv64ima_zifencei", "rv64ima_zicntr_zicsr_zifencei_zihpm"),
    ("rv64icam", "rv64imac_zicntr_zicsr_zihpm"),                  # letters in any order after i
    ("rv64i_zicond", "rv64i_zicntr_zicond_zicsr_zihpm"),            # Zicond needs nothing else
    ("rv64gc_svpbmt_sstc_zicboz", "rv64imafdc_zicboz_zicntr_zicsr_zifencei_zihpm_sstc_svpbmt"),
    (FULL, FULL),
])
def test_good_strings_and_their_canonical_form(text, want):
    assert canonical(parse(text)) == want


def test_the_full_string_is_everything_and_in_linux_order():
    assert parse(FULL) == isastring.FULL
    assert FULL == ("rv64imafdc_zicbom_zicbop_zicboz_zicntr_zicond_zicsr_zifencei_zihintpause_zihpm_"
                    "zba_zbb_zbs_sstc_svinval_svpbmt")


@pytest.mark.parametrize("text, says", [
    ("rv32imac", "RV64 only"),
    ("rv128i", "RV64 only"),
    ("x86_64", "not an ISA string"),
    ("rv64", "base ISA i is required"),
    ("rv64mac", "base ISA i is required"),
    ("rv64e", "rv64e"),
    ("rv64imadc", "d requires f"),
    ("rv64gcv", "does not implement the V extension"),
    ("rv64gch", "does not implement the H extension"),
    ("rv64gc_zfh", "does not implement zfh"),
    ("rv64gc_svnapot", "does not implement svnapot"),
    ("rv64gc_zfoo", "unknown extension 'zfoo'"),
    ("rv64gcy", "unknown extension 'y'"),
    ("rv64gc_xtheadba", "no vendor extension"),
    ("rv64gczba", "follows an underscore"),
    ("rv64gc__zba", "empty extension name"),
    ("rv64i2p1", "version numbers"),
])
def test_bad_strings_are_one_line_naming_the_problem(text, says):
    with pytest.raises(IsaError) as e:
        parse(text)
    assert says in str(e.value) and "\n" not in str(e.value)


# --------------------------------------------------------------------------- misa and the CSRs
def hart(text=None):
    h = Hart(1 << 16, BASE)
    h.stop_regions()
    if text is not None:
        h.set_isa(text)
    return h


def csr(h, n):
    from emu.csr import csr_read
    ok, v = csr_read(n, h.st, h.csr)
    return bool(ok), int(v) & M64


def letters(v):
    return "".join(chr(ord("A") + b) for b in range(26) if v >> b & 1)


@pytest.mark.parametrize("text, want", [(None, "ACDFIMSU"), ("rv64imac", "ACIMSU"), ("rv64gc", "ACDFIMSU"),
                                        ("rv64i", "ISU"), ("rv64imafd", "ADFIMSU")])
def test_misa_reports_the_selected_letters_with_s_and_u(text, want):
    ok, v = csr(hart(text), MISA)
    assert ok and v >> 62 == 2 and letters(v & ((1 << 26) - 1)) == want


def test_misa_is_read_only():
    from emu.csr import csr_access
    h = hart("rv64imac")
    before = csr(h, MISA)[1]
    ok, _old = csr_access(MISA, 0, 0, True, h.st, h.csr, h.tlb)     # csrrw misa, x0: WARL, ignored
    assert ok and csr(h, MISA)[1] == before


def test_without_f_the_fp_csrs_do_not_exist_and_fs_reads_zero():
    from emu.csr import csr_access
    h = hart("rv64imac")
    assert not csr(h, FCSR)[0]
    assert int(h.csr[MSTATUS]) & MSTATUS_FS == 0
    csr_access(MSTATUS, 1, MSTATUS_FS, True, h.st, h.csr, h.tlb)      # csrs mstatus, FS: not writable
    assert csr(h, MSTATUS)[1] & MSTATUS_FS == 0
    g = hart("rv64gc")
    assert csr(g, FCSR)[0]
    csr_access(MSTATUS, 1, MSTATUS_FS, True, g.st, g.csr, g.tlb)
    assert csr(g, MSTATUS)[1] & MSTATUS_FS == MSTATUS_FS


def test_envcfg_and_stimecmp_follow_the_extensions():
    from emu.csr import csr_access
    from emu.spec import ENVCFG_CBIE, ENVCFG_CBCFE, ENVCFG_CBZE, MENVCFG_STCE, MENVCFG_PBMTE
    every = ENVCFG_CBIE | ENVCFG_CBCFE | ENVCFG_CBZE | MENVCFG_STCE | MENVCFG_PBMTE
    for text, want in ((None, every), ("rv64gc", 0), ("rv64gc_zicbom", ENVCFG_CBIE | ENVCFG_CBCFE),
                       ("rv64gc_zicboz_sstc", ENVCFG_CBZE | MENVCFG_STCE), ("rv64gc_svpbmt", MENVCFG_PBMTE)):
        h = hart(text)
        csr_access(MENVCFG, 0, every, True, h.st, h.csr, h.tlb)
        assert csr(h, MENVCFG)[1] == want & M64, text
        assert csr(h, STIMECMP)[0] == (text is None or "sstc" in text)


@pytest.mark.parametrize("text, mask", [("rv64gc", ~1), ("rv64imafd", ~3)])
def test_mepc_has_ialign_zero_bits(text, mask):
    from emu.csr import csr_access
    h = hart(text)
    csr_access(MEPC, 0, BASE | 3, True, h.st, h.csr, h.tlb)
    assert csr(h, MEPC)[1] == (BASE | 3) & mask


def test_the_builtin_sbi_sets_only_what_the_hart_has():
    from devices.firmware.sbi import enter_supervisor
    from emu.spec import ENVCFG_CBZE, MENVCFG_STCE, MENVCFG_PBMTE
    full, small = hart(), hart("rv64gc_zicboz")
    for h in (full, small):
        enter_supervisor(h, BASE, 0, BASE)
    assert int(full.csr[MENVCFG]) & (MENVCFG_STCE | MENVCFG_PBMTE) == MENVCFG_STCE | MENVCFG_PBMTE
    assert int(small.csr[MENVCFG]) == ENVCFG_CBZE


# --------------------------------------------------------------------------- the device tree
def test_the_device_tree_follows_the_isa():
    import io
    from devices.firmware.devicetree import build_tree
    from lifecycle.machine.board import Machine
    m = Machine(console=io.BytesIO(), isa="rv64imac_zba")
    assert m.hart.isa == "rv64imac_zicntr_zicsr_zihpm_zba"
    props = build_tree(m.bus, BASE, 1 << 20, isa=m.hart.isa).node("/cpus/cpu@0").props
    assert props["riscv,isa"] == b"rv64imac_zicntr_zicsr_zihpm_zba\0"
    assert props["riscv,isa-extensions"].rstrip(b"\0").split(b"\0") == [
        b"i", b"m", b"a", b"c", b"zicntr", b"zicsr", b"zihpm", b"zba"]
    assert "riscv,cboz-block-size" not in props


def test_a_guest_config_with_a_bad_isa_names_the_field():
    from lifecycle import GuestConfig
    from lifecycle.control.errors import ConfigError
    from lifecycle.control.config import KernelType
    elf = dict(kernel_type=KernelType.ELF, kernel=os.path.join(BIN, "hello.elf"))
    with pytest.raises(ConfigError) as e:
        GuestConfig(isa="rv32gc", **elf).validate()
    assert "isa" in str(e.value) and "RV64 only" in str(e.value)
    assert GuestConfig(isa="RV64GC", **elf).validate().isa == "rv64imafdc_zicntr_zicsr_zifencei_zihpm"


# --------------------------------------------------------------------------- illegal instructions
HANDLER = 0x400
ITER = 40


def program(insn):
    """mtvec = the handler; a hot counted loop (a native region when they are on), then the instruction
    under test in the loop's fall-through (the region explores it), then a1 = 1 and a spin.  The handler
    records mcause, mtval and mepc in s0, s1, s2 and spins."""
    if len(insn) == 2:
        insn += rvenc.enc_bytes("c.nop")                    # never reached without C, padding with it
    head = (rvenc.enc_bytes("auipc", rd=5, imm=0) + rvenc.enc_bytes("addi", rd=5, rs1=5, imm=HANDLER)
            + rvenc.csrw(0x305, 5) + rvenc.enc_bytes("addi", rd=6, rs1=0, imm=ITER))
    loop = rvenc.assemble([("addi", dict(rd=10, rs1=10, imm=1)), ("addi", dict(rd=6, rs1=6, imm=-1)),
                           ("bne", dict(rs1=6, rs2=0, imm=-8))])
    tail = insn + rvenc.assemble([("addi", dict(rd=11, rs1=0, imm=1)), ("jal", dict(rd=0, imm=0))])
    code = head + loop + tail
    handler = (rvenc.csrr(8, 0x342) + rvenc.csrr(9, 0x343) + rvenc.csrr(18, 0x341)
               + rvenc.enc_bytes("jal", rd=0, imm=0))
    return code.ljust(HANDLER, b"\0") + handler, len(head + loop)


def run_case(text, insn, mode, setup=()):
    """-> (trapped, mcause, mtval, mepc offset, a0) after the program ran on a hart with ISA `text`."""
    code, at = program(insn)
    h = Hart(1 << 16, BASE)
    if text is not None:
        h.set_isa(text)
    if mode == "regions":
        h.start_regions()
        h.regions.sync = True
        h.st[S.ST_REGION_HOT] = 1
        h.st[S.ST_POLL] = 8
    else:
        h.stop_regions()
    h.write_phys(BASE, code)
    for r, v in setup:
        h.x[r] = v
    h.run(3 * ITER + 40)
    trapped = int(h.x[11]) == 0
    assert int(h.x[10]) == ITER
    return trapped, int(h.x[8]) & M64, int(h.x[9]) & M64, (int(h.x[18]) - BASE - at) if trapped else None, h


def w32(mn, **kw):
    return rvenc.enc_bytes(mn, **kw)


# (an ISA without the extension, the instruction, its bits as mtval); each also runs on the full hart
# (FULL), where it must not trap
CASES = {
    "czero.eqz/zicond": ("rv64gc_zba_zbb_zbs", w32("czero.eqz", rd=12, rs1=12, rs2=13)),
    "sh1add/zba": ("rv64gc_zbb_zbs_zicond", w32("sh1add", rd=12, rs1=12, rs2=13)),
    "clz/zbb": ("rv64gc_zba", w32("clz", rd=12, rs1=12)),
    "bseti/zbs": ("rv64gc", w32("bseti", rd=12, rs1=12, shamt=3)),
    "mul/m": ("rv64iac", w32("mul", rd=12, rs1=12, rs2=13)),
    "amoadd.w/a": ("rv64imc", (0x202F | 13 << 20 | 2 << 15 | 12 << 7).to_bytes(4, "little")),   # amoadd.w a2, a3, (sp)
    "fadd.d/d": ("rv64imafc", w32("fadd.d", rd=1, rs1=2, rs2=3, rm=0)),
    "fld/d": ("rv64imafc", w32("fld", rd=1, rs1=2, imm=0)),
    "flw/f": ("rv64imac", w32("flw", rd=1, rs1=2, imm=0)),
    "c.fld/d": ("rv64imafc", rvenc.enc_bytes("c.fld", rd=8, rs1=15, imm=0)),
    "c.addi/c": ("rv64imafd", rvenc.enc_bytes("c.addi", rd=12, imm=1)),
    "fence.i/zifencei": ("rv64imac", (0x100F).to_bytes(4, "little")),
    "cbo.zero/zicboz": ("rv64gc_zicbom", w32("cbo.zero", rs1=2)),
    "cbo.flush/zicbom": ("rv64gc_zicboz", w32("cbo.flush", rs1=2)),
    "sinval.vma/svinval": ("rv64gc", w32("sinval.vma", rs1=0, rs2=0)),
    "csrr fcsr/f": ("rv64imac", rvenc.csrr(12, FCSR)),
    "csrr stimecmp/sstc": ("rv64gc", rvenc.csrr(12, STIMECMP)),
}
SETUP = ((2, BASE + 0x800), (15, BASE + 0x800))     # sp, a5: RAM addresses for the loads and cache-block ops
MODES = ["loop", "regions"] if jit_enabled() else ["loop"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_an_instruction_of_a_missing_extension_is_illegal(case, mode):
    text, insn = CASES[case]
    trapped, cause, tval, epc, h = run_case(text, insn, mode, SETUP)
    bits = int.from_bytes(insn, "little")
    assert (trapped, cause, tval, epc) == (True, 2, bits, 0)
    if mode == "regions" and case == "czero.eqz/zicond":
        assert h.regions.compiled > 0          # the loop was a region, and it left before czero
    assert not run_case(None, insn, mode, SETUP)[0]                   # the full hart runs it


# IALIGN = 32 without C: the jump raises instruction-address-misaligned itself (tval = the target, rd
# not written); with C the same jumps land on a c.nop
def jumps():
    cnop = rvenc.enc_bytes("c.nop")
    return {
        "jal +6": (w32("jal", rd=1, imm=6) + cnop + cnop, 6, ()),
        "jalr 2 mod 4": (w32("jalr", rd=1, rs1=13, imm=2) + cnop + cnop, 6, ((13, 4),)),
        "beq taken +6": (w32("beq", rs1=0, rs2=0, imm=6) + cnop + cnop, 6, ()),
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["jal +6", "jalr 2 mod 4", "beq taken +6"])
def test_without_c_a_jump_to_a_halfword_pc_is_misaligned(name, mode):
    insn, off, setup = jumps()[name]
    _code, at = program(insn)
    setup = tuple((r, BASE + at + v) for r, v in setup)        # jalr's register: from this jump's own pc
    trapped, cause, tval, epc, h = run_case("rv64imafd", insn, mode, setup)
    assert (trapped, cause, tval - BASE - at, epc) == (True, 0, off, 0)
    assert int(h.x[1]) == 0                                     # rd not written
    trapped, *_rest, h = run_case("rv64imafdc", insn, mode, setup)
    assert not trapped and (name == "beq taken +6" or int(h.x[1]) == BASE + at + 4)


@pytest.mark.parametrize("mode", MODES)
def test_without_c_aligned_jumps_and_untaken_branches_run(mode):
    # jalr to 1 mod 4: the low bit is cleared first (then 4-byte aligned); bne not taken to +6
    insn = (rvenc.enc_bytes("bne", rs1=0, rs2=0, imm=6) + w32("jalr", rd=1, rs1=13, imm=1)
            + w32("addi", rd=12, rs1=0, imm=7))
    _code, at = program(insn)
    trapped, *_rest, h = run_case("rv64imafd", insn, mode, ((13, BASE + at + 8),))
    assert not trapped and int(h.x[1]) == BASE + at + 8 and int(h.x[12]) == 7


@pytest.mark.parametrize("mode", MODES)
def test_without_c_calls_and_returns_in_a_hot_loop(mode):
    """jalr runs off the hot path without C (emu/cold.py exec_ialign32): a hot loop of calls gives
    the same result in the loop and with regions on."""
    body = rvenc.assemble([("jal", dict(rd=1, imm=16)), ("addi", dict(rd=6, rs1=6, imm=-1)),
                           ("bne", dict(rs1=6, rs2=0, imm=-8)), ("jal", dict(rd=0, imm=0)),
                           ("addi", dict(rd=10, rs1=10, imm=3)), ("jalr", dict(rd=0, rs1=1, imm=0))])
    h = Hart(1 << 16, BASE)
    h.set_isa("rv64ima")
    force_regions(h, mode == "regions")
    h.write_phys(BASE, body)
    h.x[6] = 50
    h.run(50 * 5 + 10)
    assert int(h.x[10]) == 150 and int(h.x[6]) == 0 and h.pc == BASE + 12


# --------------------------------------------------------------------------- the plain-Python engine
if __name__ == "__main__":          # run in a subprocess by the test below (NUMBA_DISABLE_JIT=1)
    out = {}
    for case in sorted(CASES):
        text, insn = CASES[case]
        out[case] = list(run_case(text, insn, "loop", SETUP)[:4]) + [run_case(None, insn, "loop", SETUP)[0]]
    insn, off, setup = jumps()["jal +6"]
    out["jal +6"] = list(run_case("rv64imafd", insn, "loop", setup)[:4])
    print(json.dumps(out))


def test_the_plain_python_engine_does_the_same():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = json.loads(subprocess.run([sys.executable, os.path.abspath(__file__)], env=env, check=True,
                                    capture_output=True, text=True, timeout=900).stdout)
    for case, (text, insn) in CASES.items():
        assert out[case] == [True, 2, int.from_bytes(insn, "little"), 0, False], case
    _code, at = program(jumps()["jal +6"][0])
    assert out["jal +6"] == [True, 0, BASE + at + 6, 0]


# --------------------------------------------------------------------------- real programs, the CLI
def numbavm(*args):
    return subprocess.run([sys.executable, "-m", "lifecycle.cli.main", *args], capture_output=True, text=True,
                          timeout=900, cwd=ROOT)


@pytest.mark.parametrize("isa_, prog", [("rv64imac_zifencei", "isa_alu"), ("rv64imac_zifencei", "isa_branch"),
                                        ("rv64ima_zifencei", "isa_branch-nc"), ("rv64ima_zifencei", "isa_fencei-nc"),
                                        ("rv64gc_zba_zbb_zbs", "isa_bitmanip")])
def test_programs_built_for_an_isa_run_under_it(isa_, prog):
    r = numbavm("run", "--isa", isa_, os.path.join(BIN, prog + ".elf"))
    assert r.returncode == 0, r.stderr


def test_a_zba_program_under_rv64gc_is_an_illegal_instruction():
    r = numbavm("run", "--isa", "rv64gc", os.path.join(BIN, "isa_bitmanip.elf"))
    assert r.returncode != 0 and "illegal instruction" in r.stderr and "add.uw" in r.stderr


@pytest.mark.parametrize("command", ["run", "boot"])
def test_a_bad_isa_on_the_command_line_is_one_line_and_status_2(command):
    args = [command, "--isa", "rv32gc"] + ([os.path.join(BIN, "hello.elf")] if command == "run" else [])
    r = numbavm(*args)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["numbavm: error: --isa: 'rv32gc': numbavm is RV64 only "
                                             "(rv32 is not supported)"]


def test_the_bundled_linux_boots_on_rv64imac_zifencei():
    """The bundled kernel is built for rv64imac; Linux needs Zifencei (fence.i) besides."""
    from linux_guest import bundled_kernel
    kernel = bundled_kernel()
    r = subprocess.run([sys.executable, "-m", "lifecycle.cli.main", "boot", "--kernel", kernel, "--no-reboot",
                        "--isa", "rv64imac_zifencei"], input="cat /proc/cpuinfo\n", capture_output=True,
                       text=True, timeout=900, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    assert "riscv: base ISA extensions acim" in r.stdout
    assert "isa\t\t: rv64imac" in r.stdout


@pytest.mark.parametrize("isa, noted", [("rv64imac", True), ("rv64imac_zifencei", False), ("rv64gc", False)])
def test_boot_notes_an_isa_without_zifencei(tmp_path, isa, noted):
    """Linux runs fence.i early: `boot --isa` without Zifencei says so in one line (and still does as told)."""
    r = numbavm("boot", "--isa", isa, "--dump-dtb", str(tmp_path / "virt.dtb"))
    assert r.returncode == 0, r.stderr
    note = [line for line in r.stderr.splitlines() if "Zifencei" in line]
    assert note == ([f"numbavm: note: --isa {isa}_zicntr_zicsr_zihpm has no Zifencei: Linux's fence.i will trap "
                     "(add _zifencei to boot Linux)"] if noted else [])
