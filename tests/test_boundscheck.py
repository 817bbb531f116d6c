"""NUMBA_BOUNDSCHECK=1: no guest-controlled index may run past a host array.

The loop is compiled once more with bounds checks (its own Numba cache: see
emu/__init__.py), then runs every guest program and the edge-of-RAM probe.
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# self-checking programs only: dev_* programs talk to devices and wait for input
GUEST = sorted(p for p in (ROOT / "tests" / "guest" / "bin").glob("*.elf") if not p.name.startswith("dev_"))


def test_edges_and_programs_with_boundscheck(tmp_path):
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1")
    env.pop("NUMBA_CACHE_DIR", None)
    p = subprocess.run([sys.executable, str(ROOT / "tests" / "boundscheck_probe.py")],
                       env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "boundscheck probe: ok" in p.stdout
    p = subprocess.run([sys.executable, str(ROOT / "tests" / "engine_runner.py"), str(tmp_path)]
                       + [str(g) for g in GUEST], env=env, cwd=ROOT, capture_output=True, text=True,
                       timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    import json
    for g in GUEST:
        res = json.loads((tmp_path / (g.stem + ".json")).read_text())
        assert res["reason"] == "exit" and res["exit_code"] == 0, (g.name, res)
