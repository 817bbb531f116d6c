"""Our own guest programs (tests/guest/): each checks itself and exits 0 on success.

With the JIT in this process, and with the plain-Python engine (NUMBA_DISABLE_JIT=1)
in a subprocess; the two engines must end every program in bit-identical state.
"""
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lifecycle.machine.board import Machine

ROOT = Path(__file__).resolve().parent.parent
# self-checking programs only: dev_* programs talk to devices and wait for input
GUEST = sorted(p for p in (ROOT / "tests" / "guest" / "bin").glob("*.elf") if not p.name.startswith("dev_"))
RUNNER = ROOT / "tests" / "engine_runner.py"


def run_program(path, **kw):
    out = io.BytesIO()
    m = Machine(console=out, **kw)
    m.load(str(path))
    r = m.run(max_instructions=100_000_000)
    return m, r, out.getvalue()


def test_programs_exist():
    names = {p.stem for p in GUEST}
    assert {"hello", "isa_alu", "isa_c", "isa_amo", "priv_traps", "priv_vm_sv39",
            "priv_interrupts"} <= names


@pytest.mark.parametrize("path", GUEST, ids=lambda p: p.stem)
def test_program_passes_jit(path):
    m, r, out = run_program(path)
    assert r.reason == "exit", r.message
    assert r.exit_code == 0, f"{path.name}: first failing test case is {r.exit_code} (see its source)"


def test_hello_output():
    m, r, out = run_program(ROOT / "tests/guest/bin/hello.elf")
    assert out.startswith(b"Hello from numbavm!\n")
    assert b"primes below 10000 = 1229" in out
    assert out.endswith(b"Bye.\n")


def test_failing_guest_is_reported():
    """A program whose checks fail must not pass: turn every ADD in isa_alu into SUB."""
    out = io.BytesIO()
    m = Machine(console=out)
    img = m.load(str(ROOT / "tests/guest/bin/isa_alu-nc.elf"))
    h = m.hart
    paddr, data, _ = img.segments[0]
    patched = 0
    for off in range(0, len(data) - 3, 4):
        w = int.from_bytes(data[off:off + 4], "little")
        if w & 0xFE00707F == 0x00000033:                  # add
            h.write_phys(paddr + off, (w | 0x40000000).to_bytes(4, "little"))
            patched += 1
    assert patched > 0
    r = m.run(max_instructions=1_000_000)
    assert r.reason == "exit" and r.exit_code != 0


def _state_digest(npz):
    return {k: npz[k] for k in ("x", "st", "csr")} | {"ram_sum": int(npz["ram"].astype(np.uint64).sum())}


@pytest.fixture(scope="module")
def python_engine_states(tmp_path_factory):
    out = tmp_path_factory.mktemp("pyengine")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run([sys.executable, str(RUNNER), str(out)] + [str(p) for p in GUEST],
                   check=True, env=env, cwd=ROOT, timeout=900)
    return out


@pytest.mark.parametrize("path", GUEST, ids=lambda p: p.stem)
def test_python_engine_bit_identical(path, python_engine_states, tmp_path):
    """The plain-Python engine runs the same source: same exit code, same final state."""
    res = json.loads((python_engine_states / (path.stem + ".json")).read_text())
    assert res["reason"] == "exit" and res["exit_code"] == 0, res
    py = np.load(python_engine_states / (path.stem + ".npz"))
    m, r, out = run_program(path)
    assert out.hex() == res["output"]
    from emu.state import ST_REGION_ON
    for k in ("x", "st", "csr"):
        got = getattr(m.hart, k)
        exp = py[k]
        if k == "st":       # the native-region tier's own bookkeeping (JIT only) is not guest state
            got, exp = got[:ST_REGION_ON], exp[:ST_REGION_ON]
        diff = np.nonzero(got != exp)[0]
        assert diff.size == 0, f"{k} differs at {diff[:8].tolist()}: jit {got[diff[:8]]} python {exp[diff[:8]]}"
    assert np.array_equal(m.hart.ram, py["ram"]), "RAM differs between the engines"
