"""Suite-wide fixtures."""
import os

import pytest


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
