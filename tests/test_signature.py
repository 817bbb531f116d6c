"""`numbavm run --signature FILE [--signature-granularity 4|8]`: the architecture tests' signature, as
Spike writes it (lifecycle/cli/signature.py), however the guest stops; bad input is one line, status 2."""
from __future__ import annotations

import configparser
import importlib.util
import shlex
import shutil
import sys
import types
from pathlib import Path

import pytest

from emu.spec import RAM_BASE
from lifecycle.cli.main import build_parser
from lifecycle.cli.signature import lines
from tests.test_cli import assert_user_error, eb, numbavm

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "tests" / "guest" / "bin" / "isa_signature.elf"      # tests/guest/isa/signature.S

# What tests/guest/isa/signature.S stores in its 20-byte region: sw 0x01234567, sw 0x89abcdef,
# sd 0x0011223344556677, and sb 0x2a into the low byte of the last word (0xdeadbeef before).
EXPECTED = {
    4: "01234567\n89abcdef\n44556677\n00112233\ndeadbe2a\n",
    # 20 bytes are two lines and a half: the missing upper four bytes of the last are zeros
    8: "89abcdef01234567\n0011223344556677\n00000000deadbe2a\n",
}


@pytest.mark.parametrize("granularity", [4, 8])
def test_the_signature_of_a_compiled_program(tmp_path, granularity):
    out = tmp_path / "sig.txt"
    out.write_text("a stale signature from an earlier run\n")
    r = numbavm("run", PROGRAM, "--signature", out, "--signature-granularity", granularity)
    assert r.returncode == 0, r.stderr.decode()
    assert out.read_bytes() == EXPECTED[granularity].encode()


def test_the_default_granularity_is_4(tmp_path):
    out = tmp_path / "sig.txt"
    r = numbavm("run", PROGRAM, "--signature", out)
    assert r.returncode == 0, r.stderr.decode()
    assert out.read_text() == EXPECTED[4]


def test_lines_pads_a_short_last_line_and_writes_nothing_for_an_empty_region():
    assert lines(bytes([0x01, 0x02, 0x03]), 4) == "00030201\n"
    assert lines(bytes(range(1, 10)), 8) == "0807060504030201\n0000000000000009\n"
    assert lines(b"\xAB" * 8, 4) == "abababab\nabababab\n"
    assert lines(b"", 4) == ""


# ----------------------------------------------------------------- however the guest stops

SIG = RAM_BASE + 0x2000
SIG_BYTES = bytes(range(1, 21))           # 20 bytes, as the compiled program's region


def sig_elf(code: bytes, symbols=None) -> bytes:
    """``code`` at RAM_BASE, HTIF at RAM_BASE + 0x1000 and SIG_BYTES between the signature symbols."""
    if symbols is None:
        symbols = {"begin_signature": SIG, "end_signature": SIG + len(SIG_BYTES)}
    return eb.build_elf(
        [eb.Segment(RAM_BASE, code, name=".text"),
         eb.Segment(RAM_BASE + 0x1000, bytes(16), flags=eb.PF_R | eb.PF_W, name=".tohost"),
         eb.Segment(SIG, SIG_BYTES, flags=eb.PF_R | eb.PF_W, name=".data")],
        entry=RAM_BASE,
        symbols={"_start": (RAM_BASE, eb.STT_FUNC), "tohost": RAM_BASE + 0x1000,
                 "fromhost": RAM_BASE + 0x1008, **symbols})


def sw(rs2, rs1, imm):
    return eb.sd(rs2, rs1, imm) & ~(1 << 12)          # funct3 2 instead of 3


FINISHER_FAIL_7 = eb.words([eb.lui(eb.T0, 0x100),                       # t0 = 0x100000, the test device
                            eb.lui(eb.T1, 0x73), eb.addi(eb.T1, eb.T1, 0x333),   # 0x3333 | 7 << 16
                            sw(eb.T1, eb.T0, 0), eb.jal(0, 0)])


@pytest.mark.parametrize("code, status, how", [
    (eb.htif_program(3), 3, "tohost exit with a failure code"),
    (FINISHER_FAIL_7, 7, "the test finisher's fail"),
    (eb.htif_program(0, loop_forever=True), 124, "--max-instructions"),
    (eb.words([0]), 125, "a trap loop (a VMM fatal error)"),
], ids=["tohost-fail", "finisher-fail", "budget", "trap-loop"])
def test_the_signature_is_written_however_the_guest_stops(tmp_path, code, status, how):
    prog = tmp_path / "prog.elf"
    prog.write_bytes(sig_elf(code))
    out = tmp_path / "sig.txt"
    r = numbavm("run", prog, "-n", "100000", "--signature", out, "--signature-granularity", "8")
    assert r.returncode == status, (how, r.stderr.decode())
    assert out.read_text() == "0807060504030201\n100f0e0d0c0b0a09\n0000000014131211\n", how


def test_an_empty_region_gives_an_empty_file(tmp_path):
    prog = tmp_path / "prog.elf"
    prog.write_bytes(sig_elf(eb.htif_program(0), {"begin_signature": SIG, "end_signature": SIG}))
    out = tmp_path / "sig.txt"
    r = numbavm("run", prog, "--signature", out)
    assert r.returncode == 0, r.stderr.decode()
    assert out.read_bytes() == b""


# ----------------------------------------------------------------- user errors: one line, status 2

@pytest.mark.parametrize("symbols, words", [
    ({}, ["no begin_signature and no end_signature symbol"]),
    ({"begin_signature": SIG}, ["no end_signature symbol"]),
    ({"end_signature": SIG}, ["no begin_signature symbol"]),
    ({"begin_signature": SIG + 8, "end_signature": SIG}, ["end_signature (0x80002000) is below begin_signature"]),
    ({"begin_signature": 0x1000, "end_signature": 0x1010}, ["[0x1000, 0x1010) is outside guest RAM"]),
], ids=["no-symbols", "no-end", "no-begin", "end-below-begin", "outside-ram"])
def test_a_program_without_a_valid_region_is_a_user_error(tmp_path, symbols, words):
    prog = tmp_path / "prog.elf"
    prog.write_bytes(sig_elf(eb.htif_program(0), symbols))
    out = tmp_path / "sig.txt"
    assert_user_error(numbavm("run", prog, "--signature", out), "--signature:", str(prog), *words)
    assert not out.exists()


@pytest.mark.parametrize("args, words", [
    (["--signature", "{tmp}/sig.txt", "--signature-granularity", "16"], ["'16': must be 4 or 8"]),
    (["--signature", "{tmp}/sig.txt", "--signature-granularity", "0"], ["'0': must be 4 or 8"]),
    (["--signature", "{tmp}/sig.txt", "--signature-granularity", "four"], ["'four': must be 4 or 8"]),
    (["--signature-granularity", "8"], ["--signature-granularity: needs --signature FILE"]),
    (["--signature", "{tmp}/no/sig.txt"], ["--signature:", "does not exist"]),
    (["--signature", "{tmp}"], ["--signature:", "is a directory"]),
    (["--signature="], ["--signature: the file name is empty"]),
    (["--signature", "{tmp}/sig.txt", "--raw-addr", "0x80000000"], ["--signature: needs an ELF program"]),
], ids=["granularity-16", "granularity-0", "granularity-word", "granularity-alone", "no-directory",
        "a-directory", "empty-name", "raw-binary"])
def test_bad_arguments_are_user_errors(tmp_path, args, words):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert_user_error(numbavm("run", PROGRAM, *argv), *words)
    assert not (tmp_path / "sig.txt").exists()


def test_a_write_error_is_one_line_and_2():
    r = numbavm("run", PROGRAM, "--signature", "/dev/full")
    assert_user_error(r, "--signature: cannot write /dev/full")


# ----------------------------------------------------------------- the RISCOF plugins (docs/riscof/)

RISCOF_DIR = ROOT / "docs" / "riscof"


def riscof_plugin(monkeypatch, model, targets):
    """docs/riscof/MODEL/riscof_MODEL.py's plugin as RISCOF makes it from config.ini, with just enough
    of the riscof package (not installed here) to collect the make targets it writes."""
    class PluginTemplate:               # riscof.pluginTemplate's naming: name="DUT" -> "DUT-numbavm:"
        def __init__(self, *args, **kwargs):
            self.name = kwargs.get("name", "")
        name = property(lambda self: f"{self._role}-{self.__model__}:",
                        lambda self, role: setattr(self, "_role", role))

    class MakeUtil:
        def __init__(self, makefilePath):
            self.makeCommand = None

        def add_target(self, command):
            targets.append(command)

        def execute_all(self, work_dir):
            pass

    isa = {"hart0": {"supported_xlen": [64], "ISA": "RV64IMAFDCSUZicsr_Zifencei"}}
    riscof = types.ModuleType("riscof")
    riscof.utils = types.SimpleNamespace(load_yaml=lambda path: isa, makeUtil=MakeUtil)
    template = types.ModuleType("riscof.pluginTemplate")
    template.pluginTemplate = PluginTemplate
    monkeypatch.setitem(sys.modules, "riscof", riscof)
    monkeypatch.setitem(sys.modules, "riscof.pluginTemplate", template)
    monkeypatch.setattr(shutil, "which", lambda tool: "/usr/bin/" + tool)   # gcc, numbavm, spike
    spec = importlib.util.spec_from_file_location(f"riscof_{model}", RISCOF_DIR / model / f"riscof_{model}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = configparser.ConfigParser()
    config.read(RISCOF_DIR / "config.ini")
    return getattr(module, model)(name="DUT" if model == "numbavm" else "Reference",
                                  config=config[model], config_dir=str(RISCOF_DIR))


def run_plugin(plugin, work_dir):
    plugin.initialise("/suite", str(work_dir), "/suite/env")
    plugin.build("isa.yaml", "platform.yaml")
    plugin.runTests({"/suite/add-01.S": {"isa": "RV64I", "macros": ["TEST_CASE_1=True", "XLEN=64"],
                                         "test_path": "/suite/add-01.S", "work_dir": str(work_dir)}})


def test_the_riscof_plugin_runs_numbavm_with_its_signature_options(monkeypatch, tmp_path):
    targets = []
    run_plugin(riscof_plugin(monkeypatch, "numbavm", targets), tmp_path)
    assert len(targets) == 1
    compile_cmd, run_cmd = [c.strip() for c in targets[0].split(";")[1:3]]
    assert "-march=rv64i_zicsr_zifencei " in compile_cmd
    assert f"-T {RISCOF_DIR}/numbavm/env/link.ld " in compile_cmd
    argv = shlex.split(run_cmd.split(">")[0])
    assert argv[:3] == ["numbavm", "run", "my.elf"]
    args = build_parser().parse_args(argv[1:])          # numbavm's own parser takes every option
    assert args.signature == str(tmp_path / "DUT-numbavm.signature")     # where RISCOF looks
    assert (args.signature_granularity, args.max_instructions) == ("4", "10M")
    assert args.isa == "rv64imafdc_zicsr_zifencei"       # the ISA YAML's, as numbavm's --isa parses it
    from emu.isastring import parse, canonical
    assert canonical(parse(args.isa)) == "rv64imafdc_zicntr_zicsr_zifencei_zihpm"


@pytest.mark.parametrize("yaml_isa, isa", [("RV64IMAFDCSUZicsr_Zifencei", "rv64imafdc_zicsr_zifencei"),
                                           ("RV64IMACSU", "rv64imac_zicsr_zifencei"),
                                           ("RV64ISUZba_Zbb_Zbs_Svinval", "rv64i_zba_zbb_zbs_svinval_zicsr_zifencei")])
def test_the_riscof_plugin_gives_numbavm_the_yaml_isa(monkeypatch, yaml_isa, isa):
    hart_isa = type(riscof_plugin(monkeypatch, "numbavm", [])).build.__globals__["hart_isa"]
    assert hart_isa(yaml_isa) == isa


def test_the_spike_plugin_builds_the_tests_as_the_numbavm_plugin_does(monkeypatch, tmp_path):
    targets = []
    run_plugin(riscof_plugin(monkeypatch, "numbavm", targets), tmp_path / "dut")
    run_plugin(riscof_plugin(monkeypatch, "spike", targets), tmp_path / "ref")
    (dut_compile, _), (ref_compile, ref_run) = [[c.strip() for c in t.split(";")[1:3]] for t in targets]
    assert ref_compile == dut_compile.replace("my.elf", "ref.elf")    # the same env: the same memory
    assert ref_run.startswith(f"spike --isa=rv64imafdc_zicsr_zifencei +signature={tmp_path}/ref/"
                              "Reference-spike.signature +signature-granularity=4 ref.elf")
