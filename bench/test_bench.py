"""pytest-benchmark timings of the numbavm JIT on the bench workloads.

    .venv/bin/python -m pytest bench/ --benchmark-only

Each round is a fresh Machine (loading is untimed setup) running one workload
to its HTIF exit.  The tests assert correctness only, never speed: a workload
that computed the wrong answer fails (reason 'exit' and exit code 0: the
workload checked its own checksum; the UART flood's console output must be
the exact pattern; the timer workload must have taken its interrupts; the
Linux guest must print the right prime count).  The side-by-side comparison
with the other engines is `python -m bench`.
"""
import io
import os

import pytest

# Before emu/ is imported: pin LLVM's code alignment (see bench/harness.py).
os.environ.setdefault("NUMBAVM_LLVM_OPTIONS", "--align-all-nofallthru-blocks=5")

from bench.harness import WORKLOADS, workload_path  # noqa: E402


@pytest.fixture(scope="module")
def machine_cls():
    from lifecycle.machine import Machine
    m = Machine(memory=1 << 20, engine="jit", console=io.BytesIO())
    m.warm_up()                       # compile / load the loop once, outside the timings
    return Machine


def _bare(benchmark, machine_cls, path, rounds=3):
    def setup():
        m = machine_cls(memory=128 << 20, engine="jit", console=io.BytesIO())
        m.load(path)
        m.warm_up()
        return (m,), {}

    def run(m):
        r = m.run(max_instructions=2_000_000_000)
        r.output = m.console.getvalue()
        r.machine = m
        return r

    r = benchmark.pedantic(run, setup=setup, rounds=rounds, iterations=1, warmup_rounds=0)
    assert r.reason == "exit", (r.reason, r.message)
    assert r.exit_code == 0, r.output[-200:]
    assert b": ok" in r.output
    benchmark.extra_info["instret"] = r.instret
    benchmark.extra_info["mips"] = round(r.mips, 1)
    return r


@pytest.mark.parametrize("variant", ["", "-nc"], ids=["rv64imac", "rv64ima"])
@pytest.mark.parametrize("name", WORKLOADS)
def test_workload_jit(benchmark, machine_cls, name, variant):
    _bare(benchmark, machine_cls, workload_path(name, variant))


def test_usersieve_jit(benchmark, machine_cls):
    _bare(benchmark, machine_cls, workload_path("usersieve"))


def test_uart_flood_jit(benchmark, machine_cls):
    from bench.system import uartflood_expected
    r = _bare(benchmark, machine_cls, workload_path("uartflood"))
    exp = uartflood_expected()
    assert r.output.startswith(exp), "the console did not receive the UART pattern"
    assert r.machine.mmio_exits >= 2 * len(exp)
    benchmark.extra_info["mmio_exits"] = r.machine.mmio_exits
    benchmark.extra_info["us_per_access"] = round(r.wall_s / r.machine.mmio_exits * 1e6, 3)


def test_timer_irq_jit(benchmark, machine_cls):
    from emu import state as S
    r = _bare(benchmark, machine_cls, workload_path("timerirq"))
    irqs = int(r.machine.hart.st[S.ST_IRQS])
    assert irqs >= r.instret // 2000, f"only {irqs} timer interrupts in {r.instret} instructions"
    benchmark.extra_info["interrupts"] = irqs


def _kernel():
    from bench.system import bundled_kernel
    k, why = bundled_kernel()
    if k is None:
        pytest.skip(why)
    return k


def test_linux_user_process_jit(benchmark, machine_cls):
    """`bench 1000000` as a Linux user process: each round boots the guest and runs it 4 times."""
    from bench.system import linux_user
    kernel = _kernel()
    d = benchmark.pedantic(linux_user, args=(kernel,), rounds=1, iterations=1, warmup_rounds=0)
    assert d["ok"], d.get("error")
    warm = [x["mips"] for x in d["runs"][1:]]
    benchmark.extra_info["warm_mips"] = [round(x, 1) for x in warm]


def test_linux_boot_to_prompt(benchmark):
    """`numbavm boot --stats` in a subprocess: process start to the first prompt."""
    from bench.system import linux_boot_numbavm
    kernel = _kernel()
    d = benchmark.pedantic(linux_boot_numbavm, args=(kernel,), rounds=2, iterations=1, warmup_rounds=1)
    assert d["ok"], d.get("error")
    benchmark.extra_info["prompt_after_start_s"] = d["prompt_after_start_s"]
    benchmark.extra_info["prompt_instructions"] = d["prompt_instructions"]
