"""numbavm CLI: user errors are one line + exit 2 without the core; runs map stop reasons to exit statuses.

Error-path tests run `python -m lifecycle.cli.main` in a subprocess and must not need the
CPU core (they fail before lifecycle.machine.board is imported).  The run tests at the end
need lifecycle.machine.board and are skipped while it does not exist.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


from emu.spec import PRV_M, RAM_BASE
from tests import elf_builder as eb


def numbavm(*args, timeout=600, env_extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "lifecycle.cli.main", *map(str, args)], stdin=subprocess.DEVNULL,
                          cwd=ROOT, env=env, capture_output=True, timeout=timeout)


def assert_user_error(r, *words):
    err = r.stderr.decode()
    assert r.returncode == 2, (r.returncode, err)
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("numbavm: error:"), err
    for w in words:
        assert w.lower() in lines[0].lower(), f"{w!r} not in {lines[0]!r}"
    assert r.stdout == b""
    return lines[0]


@pytest.fixture
def good(tmp_path) -> Path:
    p = tmp_path / "exit3.elf"
    p.write_bytes(eb.htif_elf(3, b"hi\n"))
    return p


# --------------------------------------------------------------------------- error paths

def test_version():
    r = numbavm("--version")
    assert r.returncode == 0
    assert r.stdout.decode().startswith("numbavm ")


def test_help():
    r = numbavm("run", "--help")
    assert r.returncode == 0
    out = r.stdout.decode()
    for opt in ("--memory", "--max-instructions", "--engine", "--stats", "--dump-state", "--raw-addr"):
        assert opt in out


def test_no_command_is_usage_error():
    r = numbavm()
    assert r.returncode == 2
    assert b"usage:" in r.stderr


def test_unknown_option_is_usage_error(good):
    r = numbavm("run", good, "--frobnicate")
    assert r.returncode == 2 and b"usage:" in r.stderr and b"Traceback" not in r.stderr


def test_bad_engine(good):
    r = numbavm("run", good, "--engine", "turbo")
    assert r.returncode == 2 and b"invalid choice" in r.stderr


def test_missing_file(tmp_path):
    line = assert_user_error(numbavm("run", tmp_path / "nope.elf"), "no such file")
    assert "nope.elf" in line


def test_directory(tmp_path):
    assert_user_error(numbavm("run", tmp_path), "directory")


def test_not_an_elf(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("just text\n")
    assert_user_error(numbavm("run", p), "not an ELF", "notes.txt")


def test_wrong_machine(tmp_path, good):
    p = tmp_path / "x86.elf"
    p.write_bytes(eb.patch(good.read_bytes(), eb.OFF_E_MACHINE, "<H", eb.EM_X86_64))
    assert_user_error(numbavm("run", p), "x86-64")


def test_elf32(tmp_path, good):
    p = tmp_path / "e32.elf"
    p.write_bytes(eb.patch(good.read_bytes(), eb.OFF_EI_CLASS, "B", 1))
    assert_user_error(numbavm("run", p), "ELFCLASS32")


def test_truncated(tmp_path, good):
    p = tmp_path / "trunc.elf"
    p.write_bytes(good.read_bytes()[:100])
    assert_user_error(numbavm("run", p), "truncated")


@pytest.mark.parametrize("size", ["12X", "abc", "0", "-5M", "1.3B", "M"])
def test_bad_memory(good, size):
    assert_user_error(numbavm("run", good, f"--memory={size}"), "--memory", "invalid size")


def test_memory_too_small_for_program(good):
    assert_user_error(numbavm("run", good, "--memory", "4K"), "outside guest RAM")


@pytest.mark.parametrize("n", ["lots", "0", "-1", "1.5"])
def test_bad_max_instructions(good, n):
    assert_user_error(numbavm("run", good, f"--max-instructions={n}"), "--max-instructions")


def test_bad_raw_addr(good):
    assert_user_error(numbavm("run", good, "--raw-addr", "zz"), "--raw-addr", "invalid address")


def test_raw_outside_ram(tmp_path):
    p = tmp_path / "prog.bin"
    p.write_bytes(eb.htif_program(0))
    assert_user_error(numbavm("run", p, "--raw-addr", "0x1000"), "outside guest RAM")


def test_dump_state_dir_missing(tmp_path, good):
    assert_user_error(numbavm("run", good, "--dump-state", tmp_path / "no" / "s.npz"), "--dump-state")


def test_errors_do_not_import_the_core(tmp_path):
    """The user-error path must not import numba (fast, and works while the core is broken)."""
    code = ("import sys\nfrom lifecycle.cli.main import main\n"
            f"rc = main(['run', {str(tmp_path / 'nope.elf')!r}])\n"
            "sys.exit(10 if 'numba' in sys.modules else rc)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True)
    assert r.returncode == 2, r.stderr.decode()


def test_units():
    from lifecycle.control.units import parse_addr, parse_count, parse_size
    assert parse_size("128M") == 128 << 20
    assert parse_size("128MiB") == 128 << 20
    assert parse_size("128mb") == 128 << 20
    assert parse_size("1G") == parse_size("1GiB") == 1 << 30
    assert parse_size("64k") == 64 << 10
    assert parse_size("4096") == 4096 << 20        # a bare number is MiB, as QEMU's and Spike's -m
    assert parse_size("65536B") == 65536
    assert parse_size("1.5G") == 3 << 29
    assert parse_size(" 2 M ") == 2 << 20
    assert parse_size("1_024") == 1024 << 20
    for bad in ("", "12X", "M", "0", "-1", "1.3B", "iB", "1.5.5M"):
        with pytest.raises(ValueError):
            parse_size(bad)
    assert parse_count("1000") == 1000
    assert parse_count("10M") == 10_000_000
    assert parse_count("2.5k") == 2500
    assert parse_count("1_000") == 1000
    for bad in ("", "x", "0", "-3", "1.5", "1e6"):
        with pytest.raises(ValueError):
            parse_count(bad)
    assert parse_addr("0x80000000") == 0x8000_0000
    assert parse_addr("0x8000_0000") == 0x8000_0000
    assert parse_addr("4096") == 4096
    for bad in ("", "zz", "-1", hex(1 << 64)):
        with pytest.raises(ValueError):
            parse_addr(bad)


# --------------------------------------------------------------------------- runs (need the core)

def needs_machine(f):
    return f


@needs_machine
def test_run_exit_code_output_stats_and_dump(tmp_path, good):
    dump = tmp_path / "state.npz"
    r = numbavm("run", good, "--stats", "--dump-state", dump)
    err = r.stderr.decode()
    assert r.returncode == 3, err
    assert r.stdout == b"hi\n"
    assert "Traceback" not in err
    for w in ("instructions retired", "wall time", "MIPS", "JIT compile", "start-up"):
        assert w in err, err
    import numpy as np
    with np.load(dump) as z:
        assert set(z.files) >= {"x", "pc", "priv", "csr", "instret", "ram"}
        assert z["x"].shape == (32,) and z["x"][0] == 0
        assert z["csr"].shape == (4096,)
        assert z["ram"].dtype == np.uint8 and z["ram"].size == 128 << 20
        assert int(z["instret"]) > 0
        assert bytes(z["ram"][:8]) == eb.htif_program(3, b"hi\n")[:8]


@needs_machine
def test_run_budget_exit_124(tmp_path):
    p = tmp_path / "spin.elf"
    p.write_bytes(eb.htif_elf(0, loop_forever=True))
    r = numbavm("run", p, "--max-instructions", "1000")
    err = r.stderr.decode()
    assert r.returncode == 124, err
    assert "numbavm: stopped after 1000 instructions (--max-instructions)" in err


@needs_machine
def test_run_python_engine(tmp_path):
    p = tmp_path / "exit5.elf"
    p.write_bytes(eb.htif_elf(5, b"ok"))
    r = numbavm("run", p, "--engine", "python")
    assert r.returncode == 5, r.stderr.decode()
    assert r.stdout == b"ok"


@needs_machine
def test_run_raw(tmp_path):
    # Raw image: code at RAM_BASE, tohost at RAM_BASE + 0x1000 (no symbols: the machine
    # must know HTIF's address some other way, so only the budget stop is checked).
    p = tmp_path / "spin.bin"
    p.write_bytes(eb.htif_program(0, loop_forever=True))
    r = numbavm("run", p, "--raw-addr", hex(RAM_BASE), "--max-instructions", "500")
    assert r.returncode == 124, r.stderr.decode()


# --------------------------------------------------------------------------- run logic, with a fake Machine
# In-process tests of cmd_run against a stand-in for lifecycle.machine.board.Machine that follows
# the contract's API; they check the exit-status mapping, --stats, --dump-state and --engine.

class _FakeHart:
    def __init__(self, ram_size):
        import numpy as np
        self.x = np.zeros(32, dtype=np.int64)
        self.x[10] = -1
        self.csr = np.zeros(4096, dtype=np.int64)
        self.ram = np.zeros(ram_size, dtype=np.uint8)
        self.pc = RAM_BASE + 0x10
        self.priv = PRV_M
        self.instret = 0
        self.ram_base = RAM_BASE


class _FakeResult:
    def __init__(self, reason, exit_code=0, instret=0, wall_s=0.5, message="", reset_type=None):
        self.reason, self.exit_code, self.instret, self.wall_s, self.message, self.reset_type = \
            reason, exit_code, instret, wall_s, message, reset_type


def _fake_machine_module(result, seen):
    import types

    class Machine:
        def __init__(self, memory, engine, console):
            seen.update(memory=memory, engine=engine, console=console,
                        jit_disabled=os.environ.get("NUMBA_DISABLE_JIT"))
            self.hart = _FakeHart(memory)
            self.compile_s = 1.25
            self.startup_s = 2.5

        def load(self, path, raw_addr=None):
            seen.update(path=path, raw_addr=raw_addr)

        def run(self, max_instructions=None):
            seen["max_instructions"] = max_instructions
            if isinstance(result, BaseException):
                raise result
            self.hart.instret = result.instret
            return result

    mod = types.ModuleType("lifecycle.machine.board")
    mod.Machine = Machine
    return mod


@pytest.fixture
def fake(monkeypatch):
    def install(result):
        seen = {}
        monkeypatch.setitem(sys.modules, "lifecycle.machine.board", _fake_machine_module(result, seen))
        monkeypatch.delenv("NUMBA_DISABLE_JIT", raising=False)
        return seen
    return install


def _main(*args):
    from lifecycle.cli.main import main
    return main([str(a) for a in args])


def test_fake_exit_code_and_options(fake, good, capsys):
    seen = fake(_FakeResult("exit", exit_code=7, instret=1000))
    assert _main("run", good, "--memory", "64M", "--max-instructions", "5k") == 7
    assert seen["memory"] == 64 << 20 and seen["engine"] == "jit" and seen["max_instructions"] == 5000
    assert seen["raw_addr"] is None and seen["path"] == str(good)
    assert seen["jit_disabled"] is None
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("code,status", [(0, 0), (1, 1), (255, 255), (256, 1), (0x1FF, 255)])
def test_fake_exit_status_mapping(fake, good, code, status):
    fake(_FakeResult("exit", exit_code=code))
    assert _main("run", good) == status


def test_fake_budget(fake, good, capsys):
    fake(_FakeResult("budget", instret=1234))
    assert _main("run", good, "--max-instructions", "1234") == 124
    assert capsys.readouterr().err == "numbavm: stopped after 1234 instructions (--max-instructions)\n"


def test_fake_fatal(fake, good, capsys):
    fake(_FakeResult("fatal", message="illegal instruction 0x0 at pc 0x80000000 in M-mode with no trap handler"))
    assert _main("run", good) == 125
    assert capsys.readouterr().err.startswith("numbavm: fatal: illegal instruction")


def test_fake_internal_error_is_125(fake, good, capsys):
    fake(RuntimeError("boom"))
    assert _main("run", good) == 125
    assert "internal error: RuntimeError: boom" in capsys.readouterr().err


def test_fake_python_engine_disables_jit(fake, good):
    seen = fake(_FakeResult("exit"))
    assert _main("run", good, "--engine", "python") == 0
    assert seen["engine"] == "python" and seen["jit_disabled"] == "1"


def test_fake_raw(fake, tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(eb.htif_program(0))
    seen = fake(_FakeResult("exit"))
    assert _main("run", p, "--raw-addr", "0x80200000") == 0
    assert seen["raw_addr"] == 0x8020_0000


def test_fake_stats(fake, good, capsys):
    fake(_FakeResult("exit", exit_code=0, instret=2_000_000, wall_s=0.5))
    assert _main("run", good, "--stats") == 0
    err = capsys.readouterr().err
    assert "instructions retired : 2,000,000" in err
    assert "wall time            : 0.500 s" in err
    assert "MIPS                 : 4.00" in err
    assert "JIT compile/load     : 1.250 s" in err
    assert "start-up             : 2.500 s" in err


def test_fake_dump_state(fake, good, tmp_path):
    import numpy as np
    fake(_FakeResult("budget", instret=42))
    out = tmp_path / "s.npz"
    assert _main("run", good, "--dump-state", out, "--memory", "1M") == 124
    with np.load(out) as z:
        assert z["x"][10] == -1 and z["x"].dtype == np.int64
        assert int(z["pc"]) == RAM_BASE + 0x10 and int(z["priv"]) == PRV_M
        assert int(z["instret"]) == 42
        assert z["csr"].shape == (4096,) and z["ram"].size == 1 << 20
        assert int(z["ram_base"]) == RAM_BASE
