"""Run guest programs with whichever engine this process has and save the final states.

    NUMBA_DISABLE_JIT=1 python tests/engine_runner.py OUTDIR prog.elf...

writes OUTDIR/NAME.npz (x, st, csr, ram) and OUTDIR/NAME.json (reason, exit code, output).
"""
import io
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from emu.hart import jit_enabled          # noqa: E402
from lifecycle.machine.board import Machine     # noqa: E402


def main(outdir, programs):
    outdir = Path(outdir)
    engine = "jit" if jit_enabled() else "python"
    for p in programs:
        out = io.BytesIO()
        m = Machine(console=out, engine=engine)
        m.load(p)
        r = m.run(max_instructions=100_000_000)
        h = m.hart
        np.savez(outdir / (Path(p).stem + ".npz"), x=h.x, st=h.st, csr=h.csr, ram=h.ram)
        (outdir / (Path(p).stem + ".json")).write_text(json.dumps(
            {"reason": r.reason, "exit_code": r.exit_code, "instret": r.instret,
             "output": out.getvalue().hex(), "engine": engine}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
