"""pytest-benchmark timings of the numbavm JIT on the bench workloads.

    .venv/bin/python -m pytest bench/ --benchmark-only

Each round is a fresh Machine (loading is untimed setup) running one workload
to its HTIF exit.  The tests assert correctness only (reason 'exit', exit code
0: the workload checked its own checksum), never speed.  The side-by-side
comparison with the other engines is `python -m bench`.
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


@pytest.mark.parametrize("variant", ["", "-nc"], ids=["rv64imac", "rv64ima"])
@pytest.mark.parametrize("name", WORKLOADS)
def test_workload_jit(benchmark, machine_cls, name, variant):
    path = workload_path(name, variant)

    def setup():
        m = machine_cls(memory=128 << 20, engine="jit", console=io.BytesIO())
        m.load(path)
        m.warm_up()
        return (m,), {}

    def run(m):
        r = m.run()
        r.output = m.console.getvalue()
        return r

    r = benchmark.pedantic(run, setup=setup, rounds=3, iterations=1, warmup_rounds=0)
    assert r.reason == "exit", (r.reason, r.message)
    assert r.exit_code == 0, r.output
    assert b": ok" in r.output
    benchmark.extra_info["instret"] = r.instret
    benchmark.extra_info["mips"] = round(r.mips, 1)
