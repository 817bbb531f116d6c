"""The benchmark workloads and bench's measuring functions give right answers (what
bench/test_bench.py checked outside CI, now part of the suite).

Correctness only, never speed: each workload checks its own checksum and exits 0 (reason 'exit');
the RVC and no-RVC builds of a workload must compute the same thing in the same number of
instructions; the UART flood's console output must be the exact pattern; the timer workload must
have taken its interrupts; the Linux guest must print the right prime count.  Through bench's
public functions (bench.harness.run_jit, bench.system.*), so `python -m bench` measures what these
tests check.

Nothing here sets NUMBAVM_LLVM_OPTIONS in this process (bench.common.setup_env does, for
`python -m bench`): it changes LLVM's code generation and the Numba cache key, which would leak into
every later test.  setup_env itself is tested under monkeypatch, which restores the environment.
"""
import os

import pytest

from bench import common, system
from bench.harness import WORKLOADS, run_jit
from tests.linux_guest import bundled_kernel

LINUX_USER_N, LINUX_USER_PRIMES = 20_000, 2_262        # pi(20000): a short `bench` run in the guest


@pytest.mark.parametrize("name", WORKLOADS)
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
