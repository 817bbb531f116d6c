"""Issue 12 items for the command line: Ctrl-C at every moment, console write errors, --dump-state's
exact path, stdin to the guest, usage errors in the command's own usage, the compile notice,
`numbavm bench` as a registered command (lifecycle never imports bench), bench without import circles.

Every subprocess and every read has a timeout; nothing here asserts on timing.
"""
from __future__ import annotations

import ast
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_cli import eb

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "tests" / "guest" / "bin"
TIMEOUT = 600           # generous: a cold Numba cache compiles the loop for about a minute


def env_for(**extra):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def cli(*args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env_extra=None, input=None):
    if input is not None:
        stdin = None
    return subprocess.run([sys.executable, "-m", "lifecycle.cli.main", *map(str, args)], cwd=ROOT,
                          env=env_for(**(env_extra or {})), stdin=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, timeout=TIMEOUT, input=input)


def one_line(err: bytes, status_line_start: str) -> str:
    text = err.decode()
    assert "Traceback" not in text and "Exception ignored" not in text, text
    lines = [x for x in text.splitlines() if x.strip()]
    assert len(lines) == 1, text
    assert lines[0].startswith(status_line_start), text
    return lines[0]


@pytest.fixture
def spin(tmp_path):
    p = tmp_path / "spin.elf"
    p.write_bytes(eb.htif_elf(0, b"s", loop_forever=True))      # prints "s", then spins forever
    return p


# --------------------------------------------------------------------------- Ctrl-C (item 7)

def _sigint_at(argv, delay, tmp_path):
    """Start numbavm, wait until its SIGINT handler is in place, wait `delay` more, send SIGINT."""
    ready = tmp_path / f"ready-{delay}"
    p = subprocess.Popen([sys.executable, "-m", "lifecycle.cli.main", *map(str, argv)], cwd=ROOT,
                         env=env_for(NUMBAVM_TEST_SIGINT_READY=str(ready)), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not ready.exists():                 # the handler's first moment (a file it creates)
            assert p.poll() is None, p.communicate(timeout=TIMEOUT)
            assert time.monotonic() < deadline, "numbavm never installed its SIGINT handler"
            time.sleep(0.001)
        if delay:
            time.sleep(delay)                     # the moment under test, not a synchronisation
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate(timeout=TIMEOUT)
    return p.returncode, out, err.decode()


# delays from the handler's first moment: imports, argument checks, loading the program,
# importing numba, loading the loop from the cache (the llvmlite object-cache callbacks),
# and the running guest (the exact phase each falls in depends on the host's speed)
DELAYS = [0, 0.001, 0.003, 0.01, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9,
          1.0, 1.05, 1.1, 1.2, 1.4, 1.7, 2.0, 3.0]


def test_ctrl_c_at_any_moment_of_run_is_130_without_a_traceback(spin, tmp_path):
    for delay in DELAYS:
        rc, _out, err = _sigint_at(["run", spin], delay, tmp_path)
        assert rc == 130, (delay, rc, err)
        one_line(err.encode(), "numbavm: interrupted")


def test_ctrl_c_at_any_moment_of_boot_is_130_without_a_traceback(tmp_path):
    from tests.test_boot import image, putchar, J_SELF
    k = tmp_path / "Image"
    k.write_bytes(image(putchar("s") + J_SELF))
    for delay in DELAYS[::3]:
        rc, _out, err = _sigint_at(["boot", "--kernel", k], delay, tmp_path)
        assert rc == 130, (delay, rc, err)
        one_line(err.encode(), "numbavm: interrupted")


def _ctrl_c_once_running(*run_args):
    """numbavm run ARGS until the guest prints, then SIGINT: (status, stderr)."""
    p = subprocess.Popen([sys.executable, "-m", "lifecycle.cli.main", "run", *map(str, run_args)], cwd=ROOT,
                         env=env_for(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready, _, _ = select.select([p.stdout], [], [], TIMEOUT)     # the guest printed: it runs
        assert ready and os.read(p.stdout.fileno(), 1) == b"s"
        p.send_signal(signal.SIGINT)
        _out, err = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate(timeout=TIMEOUT)
    return p.returncode, err


def test_ctrl_c_once_the_guest_runs_stops_it_and_says_how_far_it_got(spin):
    rc, err = _ctrl_c_once_running(spin)
    assert rc == 130
    line = one_line(err, "numbavm: interrupted after ")
    assert line.endswith(" instructions")


# --------------------------------------------------------------------------- console write errors (item 9)

@pytest.mark.parametrize("program", ["hello.elf", "dev_uart_echo.elf"])       # HTIF, UART
def test_console_output_to_a_full_device_is_one_line_and_125(program):
    with open("/dev/full", "wb") as full:
        r = cli("run", BIN / program, "-n", "5M", stdout=full)
    assert r.returncode == 125, r.stderr.decode()
    line = one_line(r.stderr, "numbavm: fatal: cannot write the guest's console output to stdout")
    assert "No space left on device" in line


def test_console_output_with_stdout_closed_is_one_line_and_125():
    # `numbavm run hello.elf >&-`: the child starts with fd 1 closed
    code = ("import os, subprocess, sys; os.close(1); "
            "r = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=%d); "
            "sys.stderr.write(r.stderr.decode()); sys.exit(r.returncode)" % TIMEOUT)
    r = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "lifecycle.cli.main", "run",
                        str(BIN / "hello.elf")], cwd=ROOT, env=env_for(), capture_output=True, timeout=TIMEOUT)
    assert r.returncode == 125, r.stderr.decode()
    assert "stdout is closed" in one_line(r.stderr, "numbavm: fatal: cannot write the guest's console output")


# --------------------------------------------------------------------------- --dump-state (item 10)

def test_dump_state_writes_exactly_the_path_given(tmp_path):
    import numpy as np
    target = tmp_path / "mystate"
    r = cli("run", BIN / "hello.elf", "--dump-state", target)
    assert r.returncode == 0, r.stderr.decode()
    assert sorted(os.listdir(tmp_path)) == ["mystate"]
    with np.load(target) as z:
        assert int(z["instret"]) > 0


def test_dump_state_write_error_is_one_line_and_2():
    r = cli("run", BIN / "hello.elf", "--dump-state", "/dev/full")
    assert r.returncode == 2, r.stderr.decode()
    assert not os.path.exists("/dev/full.npz")
    one_line(r.stderr, "numbavm: error: --dump-state: cannot write /dev/full")


# --------------------------------------------------------------------------- stdin (item 21)

def test_run_feeds_piped_stdin_to_the_uart():
    r = cli("run", BIN / "dev_uart_echo.elf", "-n", "200M", input=b"hello\nq")
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b"uart ready\nHELLO\nbye\n"


def test_run_feeds_piped_stdin_to_a_guest_waiting_in_wfi_for_the_receive_interrupt():
    r = cli("run", BIN / "dev_uart_irq.elf", "-n", "200M", input=b"abcq")
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.startswith(b"uart irq ready\nABC"), r.stdout


def test_a_wfi_nothing_can_wake_is_still_fatal_once_stdin_is_at_its_end(tmp_path):
    from tests.test_cli import eb as b
    p = tmp_path / "wfi.elf"
    p.write_bytes(b.build_elf([b.Segment(b.RAM_BASE, b.words([0x10500073, b.jal(0, 0)]), name=".text")],
                              entry=b.RAM_BASE, symbols={"_start": (b.RAM_BASE, b.STT_FUNC)}))
    for stdin in (b"", b"some input nobody reads\n"):
        r = cli("run", p, input=stdin)
        assert r.returncode == 125, r.stderr.decode()
        assert "nothing in this machine can raise" in one_line(r.stderr, "numbavm: fatal:")


# --------------------------------------------------------------------------- usage (item 23)

@pytest.mark.parametrize("argv,usage", [(["run", "x.elf", "--frobnicate"], "usage: numbavm run"),
                                        (["boot", "--frobnicate"], "usage: numbavm boot")])
def test_an_unknown_option_prints_the_commands_usage(argv, usage):
    r = cli(*argv)
    err = r.stderr.decode()
    assert r.returncode == 2 and "Traceback" not in err
    assert err.startswith(usage) and "unrecognized arguments: --frobnicate" in err, err


def test_help_texts():
    run = cli("run", "--help").stdout.decode()
    assert "instruction retired or one trap taken" in " ".join(run.split())
    boot = " ".join(cli("boot", "--help").stdout.decode().split())
    assert "--engine {jit,python} jit: Numba-compiled core" in boot
    assert "--no-reboot" in boot and "Ctrl-A H" in boot


# --------------------------------------------------------------------------- the compile notice (item 18)

class _FakeMachine:
    compile_s = None

    def warm_up(self):
        self.compile_s = 0.0


class _FakeLifecycle:
    def __init__(self):
        self.machine = _FakeMachine()

    def run(self):
        return None


def test_a_cold_numba_cache_gets_one_progress_line(tmp_path, monkeypatch, capfd):
    from lifecycle.cli import runner
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("NUMBA_DISABLE_JIT", raising=False)
    assert runner.cache_is_cold()
    assert runner.run_vcpu(_FakeLifecycle()).error is None
    assert capfd.readouterr().err == f"numbavm: {runner.COMPILING}\n"
    # an index for another checkout's emu/, or for another version of loop.py: still cold
    import hashlib
    import pickle
    import emu
    emu_dir = os.path.dirname(os.path.abspath(emu.__file__))
    stamp = hashlib.sha256((Path(emu_dir) / "loop.py").read_bytes()).digest()     # Numba's source stamp

    from numba import __version__

    def index(sub, stamp, version=__version__):
        (tmp_path / sub).mkdir(exist_ok=True)
        (tmp_path / sub / "loop.run-83.py311.nbi").write_bytes(pickle.dumps(version) + pickle.dumps((stamp, {})))

    index("emu_0123", stamp)
    ours = f"emu_{hashlib.sha1(emu_dir.encode()).hexdigest()}"
    index(ours, hashlib.sha256(b"another loop.py").digest())
    assert runner.cache_is_cold()
    index(ours, stamp, version="0.1")                   # another Numba's index
    assert runner.cache_is_cold()
    # warm: Numba's index for this emu/loop.py's run, with its source stamp
    index(ours, stamp)
    assert not runner.cache_is_cold()
    assert runner.run_vcpu(_FakeLifecycle()).error is None
    assert capfd.readouterr().err == ""


def test_a_warm_run_prints_no_progress_line():
    r = cli("run", BIN / "hello.elf")               # (a cold cache: the first run in this test)
    r = cli("run", BIN / "hello.elf")
    assert r.returncode == 0 and b"compiling" not in r.stderr, r.stderr.decode()


# --------------------------------------------------------------------------- layering (hygiene)

def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_lifecycle_never_imports_bench():
    for f in sorted((ROOT / "lifecycle").glob("*.py")):
        bad = {n for n in _imports(f) if n == "bench" or n.startswith("bench.")}
        assert not bad, (f.name, bad)
        text = f.read_text()
        assert "import_module(\"bench" not in text and "import_module('bench" not in text, f.name


def test_bench_modules_form_no_import_circle():
    mods = {f.stem: f for f in (ROOT / "bench").glob("*.py") if f.stem not in ("__init__", "test_bench")}
    graph = {}
    for name, f in mods.items():
        deps = set()
        for n in _imports(f):
            parts = n.split(".")
            if parts[0] == "bench" and len(parts) > 1 and parts[1] in mods:
                deps.add(parts[1])
        graph[name] = deps - {name}

    def reach(start):
        seen, todo = set(), [start]
        while todo:
            for d in graph[todo.pop()]:
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        return seen

    for name in graph:
        assert name not in reach(name), f"bench/{name}.py imports itself through {sorted(reach(name))}"


def _registered(tmp_path, group_lines):
    """A dist-info on PYTHONPATH declaring numbavm.commands entry points."""
    d = tmp_path / "numbavm_plugins-1.0.dist-info"
    d.mkdir()
    (d / "METADATA").write_text("Metadata-Version: 2.1\nName: numbavm-plugins\nVersion: 1.0\n")
    (d / "entry_points.txt").write_text("[numbavm.commands]\n" + group_lines)
    return {"PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}


def test_numbavm_bench_runs_through_its_entry_point(tmp_path):
    extra = _registered(tmp_path, "bench = bench.__main__:main\n")
    r = cli("bench", "--help", env_extra=extra)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode().startswith("usage: numbavm bench"), r.stdout.decode()
    top = cli("--help", env_extra=extra).stdout.decode()
    assert "bench" in top


def test_a_broken_registered_command_is_one_line(tmp_path):
    r = cli("nope", env_extra=_registered(tmp_path, "nope = no_such_module_xyz:main\n"))
    assert r.returncode == 2
    assert "no_such_module_xyz" in one_line(r.stderr, "numbavm: error: nope: cannot load")


def test_pyproject_registers_numbavm_bench():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project.get("entry-points", {}).get("numbavm.commands", {}).get("bench") == "bench.__main__:main"


def test_ctrl_c_stops_the_python_engine_in_the_main_thread(spin):
    rc, err = _ctrl_c_once_running("--engine", "python", spin)
    assert rc == 130
    one_line(err, "numbavm: interrupted after ")
