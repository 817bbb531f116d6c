"""The benchmark workloads and bench's measuring functions give right answers (what
bench/test_bench.py checked outside CI, now part of the suite).

Correctness only, never speed: each workload checks its own checksum and exits 0 (reason 'exit');
the RVC and no-RVC builds of a workload must compute the same thing in the same number of
instructions; the UART flood's console output must be the exact pattern; the timer workload must
have taken its interrupts; the Linux guest must print the right prime count; the floating-point
workloads' -DBENCH_TINY builds print the checksum of their source on numbavm (loop and native regions),
Unicorn and qemu-riscv64, and a wrong one fails; bench/workloads/build.sh rebuilds the committed
ELFs byte for byte.  Through bench's
public functions (bench.harness.run_jit, bench.system.*), so `python -m bench` measures what these
tests check.

Nothing here sets NUMBAVM_LLVM_OPTIONS in this process (bench.common.setup_env does, for
`python -m bench`): it changes LLVM's code generation and the Numba cache key, which would leak into
every later test.  setup_env itself is tested under monkeypatch, which restores the environment.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench import common, peers, system
from bench.harness import GROUPS, WORKLOADS, run_jit
from tests.linux_guest import bundled_kernel, unavailable

LINUX_USER_N, LINUX_USER_PRIMES = 20_000, 2_262        # pi(20000): a short `bench` run in the guest


# the F/D workloads run ~300 M instructions of FP code: the tests run their -tiny builds instead (below)
@pytest.mark.parametrize("name", [w for w in WORKLOADS if w not in GROUPS["floating-point"]])
def test_workload_rvc_and_no_rvc_builds_agree(name):
    runs = {}
    for variant in ("", "-nc"):
        d = run_jit(str(common.workload_path(name, variant)))
        assert d["ok"], d["error"]
        assert f"{name}: ok checksum=" in d["output"], d["output"][-200:]
        runs[variant] = d
    assert runs[""]["output"] == runs["-nc"]["output"]            # the same checksum line
    assert runs[""]["instret"] == runs["-nc"]["instret"] > 100_000_000


def test_workload_on_the_loop_alone_matches_native_regions():
    """bench's loop-only engine (no native regions) computes the same as the default."""
    path = str(common.workload_path("crc32"))
    a, b = run_jit(path), run_jit(path, regions=False)
    assert a["ok"] and b["ok"], (a["error"], b["error"])
    assert (a["output"], a["instret"]) == (b["output"], b["instret"])
    assert b["regions"] is None or b["regions"]["regions"] == 0
    assert a["regions"]["regions"] > 0


def test_usersieve():
    d = system.run_usersieve()
    assert d["ok"], d["error"]             # exit 0 and its "usersieve: ok" line


def test_uart_flood_writes_the_exact_pattern():
    d = system.run_uartflood()
    assert d["ok"], d["error"]             # run_bare compares the console with uartflood_expected()
    assert d["bytes"] == len(system.uartflood_expected()) == system.UART_BYTES
    assert d["mmio_exits"] >= 2 * d["bytes"]


def test_uart_flood_check_rejects_a_wrong_pattern():
    """The check above can fail: a console that lost one byte is reported."""
    exp = system.uartflood_expected()
    d = {"mmio_exits": 2 * len(exp), "wall_s": 1.0, "cpu_s": 1.0, "device_s": 0.5}
    assert system._uart_check(dict(d), exp) is None
    why = system._uart_check(dict(d), exp[:1000] + exp[1001:])
    assert why is not None and "byte 1000" in why


def test_timer_irq_takes_its_interrupts():
    d = system.run_timerirq()
    assert d["ok"], d["error"]
    assert d["interrupts"] >= d["instret"] // 2000 > 0


def test_linux_user_process():
    """`bench N` as a Linux user process, timed by bench.system.linux_user (short settings)."""
    kernel = bundled_kernel()            # fails on CI if missing, skips with the reason elsewhere
    d = system.linux_user(kernel, n=LINUX_USER_N, runs=2, expect=LINUX_USER_PRIMES)
    assert d["ok"], d.get("error")
    assert len(d["runs"]) == 2 and all(r["instret"] > 0 for r in d["runs"])


def test_linux_user_process_wrong_answer_fails():
    """linux_user checks the guest's answer: expecting another prime count fails the run."""
    kernel = bundled_kernel()
    d = system.linux_user(kernel, n=LINUX_USER_N, runs=1, expect=LINUX_USER_PRIMES + 1)
    assert not d["ok"] and "primes below" in d["error"]


def test_linux_boot_to_prompt():
    """`numbavm boot --stats` in a subprocess, to the prompt and a clean power-off."""
    kernel = bundled_kernel()
    d = system.linux_boot_numbavm(kernel)
    assert d["ok"], d.get("error")
    assert d["exit_status"] == 0 and d["prompt_instructions"] > 1_000_000


def test_setup_env_pins_llvm_options_without_overriding_the_user(monkeypatch):
    """python -m bench pins LLVM's code alignment unless the user chose options (restored after)."""
    monkeypatch.delenv("NUMBAVM_LLVM_OPTIONS", raising=False)
    common.setup_env()
    assert os.environ["NUMBAVM_LLVM_OPTIONS"] == common.DEFAULT_LLVM_OPTIONS
    monkeypatch.setenv("NUMBAVM_LLVM_OPTIONS", "--my-option")
    common.setup_env()
    assert os.environ["NUMBAVM_LLVM_OPTIONS"] == "--my-option"



def test_compare_table_ratios_and_errors(tmp_path, capsys):
    """bench.compare: medians per workload and engine, after / before, peers' system runs left out."""
    from bench import compare
    def res(scale):
        return {"runs": [{"ok": True, "workload": "sieve", "engine": "numbavm-jit", "wall_s": w * scale}
                         for w in (1.0, 2.0, 9.0)]
                + [{"ok": True, "workload": "sieve", "engine": "unicorn", "wall_s": 1.0}],
                "system_runs": [{"ok": True, "item": "linux-boot", "process_wall_s": 2.0 * scale, "prompt_mips": 50 / scale},
                                {"ok": True, "item": "linux-boot-qemu", "process_wall_s": 0.3}]}
    before, after = tmp_path / "b.json", tmp_path / "a.json"
    import json
    before.write_text(json.dumps(res(1.0)))
    after.write_text(json.dumps(res(1.5)))
    assert compare.main([str(before), str(after)]) == 0
    out = capsys.readouterr().out
    assert "| sieve | numbavm-jit | 2.000 s | 3.000 s | 1.50 |" in out
    assert "| linux-boot | MIPS | 50.0 | 33.3 | 1.50 |" in out
    assert "unicorn" not in out and "qemu" not in out
    assert "worst after / before: 1.50" in out
    assert compare.main([str(tmp_path / "missing.json"), str(after)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_compare_pools_runs_and_compares_cpu_time(tmp_path, capsys):
    """bench.compare B1,B2 A1,A2: each side's runs pooled (one median over all of them); --cpu compares
    cpu_s, with the compute rows only."""
    from bench import compare
    import json

    def res(walls, cpus):
        return {"runs": [{"ok": True, "workload": "sieve", "engine": "numbavm-loop", "wall_s": w, "cpu_s": c}
                         for w, c in zip(walls, cpus)],
                "system_runs": [{"ok": True, "item": "linux-boot", "process_wall_s": 2.0}]}
    files = {}
    for name, walls, cpus in (("b1", (1.0, 1.0), (1.0, 1.0)), ("b2", (3.0, 3.0), (1.0, 1.0)),
                              ("a1", (2.0, 2.0, 2.0), (1.5, 1.5, 1.5)), ("a2", (9.0,), (9.0,))):
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps(res(walls, cpus)))
    before, after = f"{files['b1']},{files['b2']}", f"{files['a1']},{files['a2']}"
    assert compare.main([before, after]) == 0
    out = capsys.readouterr().out
    assert "| sieve | numbavm-loop | 2.000 s | 2.000 s | 1.00 |" in out        # medians of 4 and of 4 runs
    assert "| linux-boot | wall s |" in out
    assert compare.main(["--cpu", before, after]) == 0
    out = capsys.readouterr().out
    assert "| sieve | numbavm-loop | 1.000 s | 1.500 s | 1.50 |" in out
    assert "linux-boot" not in out and "worst after / before: 1.50" in out


# --------------------------------------------------------------------------- the F/D workloads
FP_WORKLOADS = GROUPS["floating-point"]
WORKLOAD_SRC = Path(common.ROOT) / "bench" / "workloads"


def tiny_line(name):
    """The line NAME-tiny*.elf prints when right: the -DBENCH_TINY checksum of NAME.c."""
    src = (WORKLOAD_SRC / f"{name}.c").read_text()
    m = re.search(r"#ifdef BENCH_TINY\n(?:.*\n)*?const uint64_t bench_expected = (0x[0-9a-f]+)ull;", src)
    return f"{name}: ok checksum={m.group(1)}"


def eager_regions_run(path):
    """The program on a machine whose regions are compiled at once, at a window's first sample, with
    16-instruction chunks (one sample each) as in tests/test_regions.py: the tiny builds' hot loops then
    run as native code (at the default threshold they are too short, and a loop whose period divides the
    4096-instruction chunk is sampled at one pc only)."""
    import io
    from emu import state as S
    from lifecycle.machine.board import Machine
    out = io.BytesIO()
    m = Machine(console=out)
    m.load(path)
    m.hart.start_regions()
    m.hart.regions.sync = True
    m.hart.st[S.ST_REGION_HOT] = 1
    m.hart.st[S.ST_POLL] = 16
    r = m.run()
    return m, r, out.getvalue().decode("latin-1").strip()


@pytest.mark.parametrize("name", FP_WORKLOADS)
def test_fp_workload_tiny_build_loop_and_regions_agree(name, monkeypatch):
    """The -DBENCH_TINY build of each F/D workload prints the checksum of its source on the loop
    alone, at the default region threshold, and with its hot loops in native regions; the three
    retire the same instructions."""
    monkeypatch.setenv("NUMBAVM_REGIONS_STRICT", "1")        # a region that fails to compile fails
    path = common.workload_path(name, "-tiny")
    want = tiny_line(name)
    loop, default = run_jit(path, regions=False), run_jit(path)
    m, r, out = eager_regions_run(path)
    assert loop["ok"] and default["ok"], (loop["error"], default["error"])
    assert r.reason == "exit" and r.exit_code == 0, (r.message, out)
    assert loop["output"] == default["output"] == out == want
    assert loop["instret"] == default["instret"] == r.instret > 1_000_000
    assert m.hart.regions.compiled > 0 and m.hart.regions.errors == 0


@pytest.mark.parametrize("name", FP_WORKLOADS)
def test_fp_workload_tiny_build_on_unicorn(name):
    """Unicorn, as bench runs it (user level, mstatus.FS on), prints the same checksum."""
    ok, why = peers.unicorn_available()
    if not ok:
        unavailable(why)
    d = peers.unicorn_run(common.workload_path(name, "-tiny-linux"))
    assert d["ok"], d["error"]
    assert d["output"] == tiny_line(name)


@pytest.mark.parametrize("name", FP_WORKLOADS)
def test_fp_workload_tiny_build_on_qemu_user(name):
    """qemu-riscv64, as bench runs it, prints the same checksum."""
    ok, why = peers.qemu_user_available()
    if not ok:
        unavailable(why + " (tests/setup-debian.sh installs it)")
    d = peers.qemu_user_run(common.workload_path(name, "-tiny-linux"))
    assert d["ok"], d["error"]
    assert d["output"] == tiny_line(name)


def _wrong_expectation(path, tmp_path):
    """A copy of the ELF whose bench_expected constant is off by one bit."""
    from elftools.elf.elffile import ELFFile
    with open(path, "rb") as fh:
        e = ELFFile(fh)
        sym = e.get_section_by_name(".symtab").get_symbol_by_name("bench_expected")[0]
        addr = sym["st_value"]
        off = next(s["p_offset"] + addr - s["p_vaddr"] for s in e.iter_segments()
                   if s["p_type"] == "PT_LOAD" and s["p_vaddr"] <= addr < s["p_vaddr"] + s["p_filesz"])
    data = bytearray(Path(path).read_bytes())
    data[off] ^= 1
    out = tmp_path / Path(path).name
    out.write_bytes(bytes(data))
    return str(out)


def test_fp_wrong_checksum_is_a_failure(tmp_path):
    """A result that differs from the source's constant makes the run fail (not a number): numbavm
    and Unicorn on a copy of nbody-tiny expecting another checksum."""
    d = run_jit(_wrong_expectation(common.workload_path("nbody", "-tiny"), tmp_path))
    assert not d["ok"] and "MISMATCH" in d["error"]
    ok, why = peers.unicorn_available()
    if not ok:
        unavailable(why)
    d = peers.unicorn_run(_wrong_expectation(common.workload_path("nbody", "-tiny-linux"), tmp_path))
    assert not d["ok"] and "MISMATCH" in d["error"]


def test_workload_elfs_are_built_from_their_sources(tmp_path):
    """bench/workloads/build.sh (Debian's riscv64-unknown-elf-gcc) rebuilds every committed ELF of
    bench/workloads/bin byte for byte, the F/D and -tiny builds included."""
    cc = shutil.which("riscv64-unknown-elf-gcc")
    if cc is None:
        unavailable("riscv64-unknown-elf-gcc is not installed (Debian package gcc-riscv64-unknown-elf; "
                    "tests/setup-debian.sh installs it)")
    env = dict(os.environ, BENCH_WORKLOADS_OUT=str(tmp_path))
    p = subprocess.run(["bash", str(WORKLOAD_SRC / "build.sh")], env=env, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    built = sorted(x.name for x in tmp_path.glob("*.elf"))
    committed = sorted(x.name for x in (WORKLOAD_SRC / "bin").glob("*.elf"))
    assert built == committed
    for name in FP_WORKLOADS:
        assert {f"{name}{v}.elf" for v in ("", "-nc", "-linux", "-tiny", "-tiny-linux")} <= set(built)
    differ = [n for n in built if (tmp_path / n).read_bytes() != (WORKLOAD_SRC / "bin" / n).read_bytes()]
    assert differ == []
