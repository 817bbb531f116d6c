"""Run a slice of a workload on the plain-Python engine (NUMBA_DISABLE_JIT=1); print JSON.

    python -m bench.pyengine PROGRAM.elf N [SKIP | bss]

Runs SKIP instructions untimed (to get past the start-up code, e.g. the .bss
zeroing loop, into the workload's own loop), then N instructions timed, and
prints one JSON object on stdout: {"instret", "wall_s", "cpu_s" (this thread's CPU
time over the timed run), "mips", "skip", "reason"}.  The bench harness calls this in a subprocess, because the engine is
chosen when numba is first imported.

SKIP "bss": the program starts with tests/guest/common/crt0.S, whose first six
instructions load sp, t0 = __bss_start and t1 = __bss_end before the zeroing loop;
RAM starts zeroed, so after those six t0 is set to t1 (the loop ends at once; a
4 MiB .bss would otherwise cost 2 M interpreted instructions), then 2,000 more
instructions run untimed.  Checked: t0 and t1 must hold the two symbols.
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
    skip = argv[2] if len(argv) == 3 else 0
    skip = skip if skip == "bss" else int(skip)
    import io
    from lifecycle.machine.board import Machine
    m = Machine(memory=128 << 20, engine="python", console=io.BytesIO())
    m.load(path)
    m.warm_up()
    if skip == "bss":
        syms = m.image.symbols
        r0 = m.run(max_instructions=6)
        h = m.hart
        if (r0.reason != "budget" or "__bss_start" not in syms or int(h.x[5]) != syms["__bss_start"]
                or int(h.x[6]) != syms["__bss_end"]):
            print(json.dumps({"error": "skip bss: the program does not start with crt0's bss loop"}))
            return 1
        h.x[5] = h.x[6]
        skip = 2_000
    if skip:
        r0 = m.run(max_instructions=skip)
        if r0.reason != "budget":
            print(json.dumps({"error": f"workload ended during the skip ({r0.reason}, code {r0.exit_code})"}))
            return 1
    import time
    c0 = time.thread_time()
    r = m.run(max_instructions=n)
    cpu = time.thread_time() - c0
    out = {"instret": r.instret, "wall_s": r.wall_s, "cpu_s": cpu, "mips": r.mips, "skip": skip,
           "reason": r.reason}
    if r.reason not in ("budget", "exit") or (r.reason == "exit" and r.exit_code != 0):
        out["error"] = f"{r.reason} (code {r.exit_code}): {r.message}"
    print(json.dumps(out))
    return 0 if "error" not in out else 1


if __name__ == "__main__":
    sys.exit(main())
