"""Suite-wide fixtures."""
import os
import sys
import time

import pytest

# How long a test may wait for something that is certain to come (the guest's output, a thread's
# end) before it fails: a hang guard only, never a pass criterion, and generous, so a slow or loaded
# host cannot fail a test. The loop's compile is not part of any wait: see _warm_loop.
HANG_GUARD_S = 300


@pytest.fixture(autouse=True)
def _keep_numba_disable_jit():
    """`numbavm run --engine python`, run in-process by some tests, sets NUMBA_DISABLE_JIT=1 in
    os.environ; put it back afterwards, so child processes of later tests get the JIT."""
    before = os.environ.get("NUMBA_DISABLE_JIT")
    yield
    if before is None:
        os.environ.pop("NUMBA_DISABLE_JIT", None)
    else:
        os.environ["NUMBA_DISABLE_JIT"] = before


@pytest.fixture(scope="session", autouse=True)
def _warm_loop():
    """Compile the Numba loop (or load it from the cache) once, before the first test: a cold
    compile takes about a minute, and no test's wait or deadline may include it (it would pass or
    fail with the host's speed and whether the cache was warm). Child processes load the same
    cache."""
    from emu.hart import Hart, jit_enabled
    if not jit_enabled():
        yield
        return
    t = time.perf_counter()
    Hart(4096).run(0)
    took = time.perf_counter() - t
    if took > 5:
        print(f"\nconftest: compiled the CPU loop in {took:.0f} s (once per cache)", file=sys.stderr)
    yield
