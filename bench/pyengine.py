"""Run a slice of a workload on the plain-Python engine (NUMBA_DISABLE_JIT=1); print JSON.

    python -m bench.pyengine PROGRAM.elf N [SKIP]

Runs SKIP instructions untimed (to get past the start-up code, e.g. the .bss
zeroing loop, into the workload's own loop), then N instructions timed, and
prints one JSON object on stdout: {"instret", "wall_s", "mips", "skip",
"reason"}.  The bench harness calls this in a subprocess, because the engine is
chosen when numba is first imported.
"""
import json
import os
import sys

os.environ["NUMBA_DISABLE_JIT"] = "1"     # before anything imports numba


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (2, 3):
        sys.stderr.write("usage: python -m bench.pyengine PROGRAM.elf N [SKIP]\n")
        return 2
    path, n = argv[0], int(argv[1])
    skip = int(argv[2]) if len(argv) == 3 else 0
    import io
    from lifecycle.machine import Machine
    m = Machine(memory=128 << 20, engine="python", console=io.BytesIO())
    m.load(path)
    m.warm_up()
    if skip:
        r0 = m.run(max_instructions=skip)
        if r0.reason != "budget":
            print(json.dumps({"error": f"workload ended during the skip ({r0.reason}, code {r0.exit_code})"}))
            return 1
    r = m.run(max_instructions=n)
    out = {"instret": r.instret, "wall_s": r.wall_s, "mips": r.mips, "skip": skip, "reason": r.reason}
    if r.reason not in ("budget", "exit") or (r.reason == "exit" and r.exit_code != 0):
        out["error"] = f"{r.reason} (code {r.exit_code}): {r.message}"
    print(json.dumps(out))
    return 0 if "error" not in out else 1


if __name__ == "__main__":
    sys.exit(main())
