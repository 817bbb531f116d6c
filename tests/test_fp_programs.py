"""The F/D guest programs (tests/guest/isa/fp_*.S, priv/fp_*.S; tests/guest/README.md).

tests/test_guest_programs.py runs them as it runs every program (JIT, plain Python) and
tests/test_regions.py with regions off and eager, but both compare the x registers and the hart
state below ST_REGION_ON only: here the 32 f registers and fcsr (st[ST_FCSR]) are compared too,
and it is checked that native regions really ran FP instructions (isa_fp_loops, in each
translation mode), and that the programs' checks fail when an expectation is wrong.
"""
import io
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from emu import state as S
from emu.hart import jit_enabled
from emu.native import region_key
from lifecycle.machine.board import Machine
from regionmode import force_regions  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "tests" / "guest" / "bin"
FP = sorted(BIN.glob("*_fp_*.elf"))
BUDGET = 100_000_000
POLL = 16

pytestmark = pytest.mark.skipif(not jit_enabled(), reason="compares the JIT engine with the others")


def run(path, regions):
    m = Machine(console=io.BytesIO())
    m.load(str(path))
    h = m.hart
    force_regions(h, regions, poll=POLL)
    r = m.run(max_instructions=BUDGET)
    return m, r


def state(h):
    """The guest's state: every register (x and f), the hart state but the region tier's own
    bookkeeping, fcsr, the CSRs, RAM."""
    return {"regs": np.array(h.regs), "st": np.array(h.st[:S.ST_REGION_ON]), "fcsr": int(h.st[S.ST_FCSR]),
            "csr": np.array(h.csr), "ram": np.array(h.ram)}


def assert_same(a, b, what):
    for k in a:
        if isinstance(a[k], int):
            assert a[k] == b[k], f"{what}: {k} {a[k]:#x} != {b[k]:#x}"
        else:
            diff = np.nonzero(a[k] != b[k])[0]
            assert diff.size == 0, f"{what}: {k} differs at {diff[:8].tolist()}"


def test_fp_programs_exist():
    assert {p.stem for p in FP} == {"isa_fp_s", "isa_fp_d", "isa_fp_loops", "isa_fp_rm", "isa_fp_ldst",
                                   "priv_fp_fs", "priv_fp_off"}


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    monkeypatch.setenv("NUMBAVM_REGIONS_STRICT", "1")     # a region that fails to compile fails the test


@pytest.mark.parametrize("path", FP, ids=lambda p: p.stem)
def test_regions_on_and_off_identical_with_f_registers(path):
    ref, r0 = run(path, regions=False)
    m, r = run(path, regions=True)
    assert (r0.reason, r0.exit_code) == ("exit", 0), r0.message
    assert (r.reason, r.exit_code) == ("exit", 0), r.message
    assert m.hart.regions.compiled > 0
    assert_same(state(ref.hart), state(m.hart), "regions off vs on")


def test_regions_run_fp_in_every_translation_mode():
    """isa_fp_loops runs each FP instruction in a loop without CSR accesses in all five configurations:
    its regions are compiled for FS Dirty (FP inside) in Bare and in Sv39 with S's and U's data context."""
    m, r = run(BIN / "isa_fp_loops.elf", regions=True)
    assert (r.reason, r.exit_code) == ("exit", 0), r.message
    keys = {reg[3] for regs in m.hart.regions.per_page.values() for reg in regs}
    fp = region_key(False, False, 0, True, True)
    assert fp in keys
    sv39_fp = {k for k in keys if k & fp and (k & 3) == 3}
    assert len(sv39_fp) >= 2, keys                       # S and U (different data contexts)
    assert m.hart.st[S.ST_REGION_ENTRIES] > 1000


RUNNER = textwrap.dedent("""
    import io, sys
    import numpy as np
    sys.path.insert(0, {root!r})
    from emu import state as S
    from lifecycle.machine.board import Machine
    for path, out in zip(sys.argv[1::2], sys.argv[2::2]):
        m = Machine(console=io.BytesIO(), engine="python")
        m.load(path)
        m.hart.st[S.ST_POLL] = {poll}
        r = m.run(max_instructions={budget})
        h = m.hart
        np.savez(out, regs=h.regs, st=h.st[:S.ST_REGION_ON], fcsr=int(h.st[S.ST_FCSR]), csr=h.csr, ram=h.ram,
                 code=r.exit_code if r.reason == "exit" else -1)
""")


@pytest.fixture(scope="module")
def python_engine(tmp_path_factory):
    out = tmp_path_factory.mktemp("fp_python")
    args = []
    for p in FP:
        args += [str(p), str(out / (p.stem + ".npz"))]
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run([sys.executable, "-c", RUNNER.format(root=str(ROOT), budget=BUDGET, poll=POLL)] + args,
                   check=True, env=env, cwd=ROOT, timeout=900)
    return out


@pytest.mark.parametrize("path", FP, ids=lambda p: p.stem)
def test_python_engine_identical_with_f_registers(path, python_engine):
    py = np.load(python_engine / (path.stem + ".npz"))
    assert int(py["code"]) == 0
    m, r = run(path, regions=False)
    assert_same(state(m.hart), {k: (int(py[k]) if k == "fcsr" else py[k]) for k in state(m.hart)},
                "JIT vs plain Python")


def case_data(source, n):
    """The data row of case n in a generated program: (its bytes, the offsets of result and flags)."""
    text = (ROOT / "tests" / "guest" / source).read_text()
    m = re.search(rf"FP_CASE_BEGIN\({n}\)\n(?:    .*\n)*?    FP_DATA_([WD])\(([^)]*)\)", text)
    kind, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
    flags = 0
    for name in args[1].split("|"):
        flags |= {"0": 0, "FFLAG_NX": 1, "FFLAG_UF": 2, "FFLAG_OF": 4, "FFLAG_DZ": 8, "FFLAG_NV": 16}[name]
    width = 4 if kind == "W" else 8
    row = int(args[0], 16).to_bytes(8, "little") + flags.to_bytes(4, "little") + bytes(4)
    row += b"".join(int(a, 16).to_bytes(width, "little") for a in args[2:])
    return row


@pytest.mark.parametrize("source, elf, n, field", [
    ("isa/fp_s.S", "isa_fp_s", 1, "result"),          # 1 + 2 = 3
    ("isa/fp_d.S", "isa_fp_d", 206, "flags"),        # -1 / +0 = -inf, DZ
    ("isa/fp_d.S", "isa_fp_d", 700, "result"),
])
def test_a_wrong_expectation_fails_with_its_case_number(source, elf, n, field):
    """The checks can fail: change one expected value (or flag) in the loaded image, and the program
    exits with that case's number (configuration 0, M-mode, runs first)."""
    row = case_data(source, n)
    m = Machine(console=io.BytesIO())
    img = m.load(str(BIN / f"{elf}.elf"))
    h = m.hart
    hits = [(paddr + i) for paddr, data, _ in img.segments for i in range(len(data))
            if data[i:i + len(row)] == row]
    assert len(hits) == 1              # (the dyn cases repeat a static one: pick another n)
    at = hits[0] + (0 if field == "result" else 8)
    old = int.from_bytes(h.read_phys(at, 1), "little")
    h.write_phys(at, bytes([old ^ 1]))
    r = m.run(max_instructions=BUDGET)
    assert (r.reason, r.exit_code) == ("exit", n)
