"""Before/after table of two `python -m bench` results: each workload's median time, after / before.

    python -m bench.compare BEFORE.json AFTER.json [--engines numbavm-jit,numbavm-loop] [--cpu]
    python -m bench.compare B1.json,B2.json A1.json,A2.json     # several runs a side, pooled

For a refactoring that must not slow anything down: run the suite on both trees in one sitting
(same machine, same load: `make bench` in each checkout, or `python -m bench --output FILE.json`),
then compare. Rows are the compute workloads per engine (median wall seconds over the
repetitions), the system items (median process wall seconds, and MIPS where there is a prompt),
and the control-plane figures both runs have. A ratio above 1 is slower after; noise on this
kind of machine is a few percent (code alignment alone moves a loop ~20%: see docs/performance.md).
On a shared host, alternate the trees (before, after, before, after) and pool each side's runs
(comma-separated files: the median is then over all their repetitions), and look at --cpu too:
the CPU time of the emulating thread (the runs' cpu_s), which other processes disturb much less
than the wall time; it has the compute rows only.
"""
import argparse
import json
import statistics
import sys

NUMBAVM = ("numbavm-jit", "numbavm-loop", "numbavm-jit-nc", "numbavm-python")


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def pooled(results):
    """One result whose runs and system runs are those of all the given results."""
    return {"runs": [r for res in results for r in res.get("runs", [])],
            "system_runs": [r for res in results for r in res.get("system_runs", [])]}


def compute_rows(res, engines, figure="wall_s"):
    """{(workload, engine): median of FIGURE (wall_s or cpu_s) in seconds} of the runs that succeeded."""
    out = {}
    for r in res.get("runs", []):
        if r.get("ok") and r["engine"] in engines and r.get(figure) is not None:
            out.setdefault((r["workload"], r["engine"]), []).append(r[figure])
    return {k: _median(v) for k, v in out.items()}


def system_rows(res):
    """{(item, figure): median} for the system items: process wall seconds and, with a prompt, MIPS."""
    out = {}
    for r in res.get("system_runs", []):
        if not r.get("ok") or "qemu" in r["item"]:      # a peer's run (linux-boot-qemu) is not ours to compare
            continue
        out.setdefault((r["item"], "wall s"), []).append(r.get("process_wall_s"))
        if r.get("prompt_mips") is not None:
            out.setdefault((r["item"], "MIPS"), []).append(r["prompt_mips"])
    return {k: _median(v) for k, v in out.items()}


def table(before, after, engines, figure="wall_s"):
    """Markdown rows and the worst after / before; figure cpu_s: the compute rows' CPU time, no system rows."""
    lines = ["| what | engine / figure | before | after | after / before |", "|---|---|---:|---:|---:|"]
    worst = None
    b, a = compute_rows(before, engines, figure), compute_rows(after, engines, figure)
    for key in sorted(set(b) & set(a)):
        ratio = a[key] / b[key]
        lines.append(f"| {key[0]} | {key[1]} | {b[key]:.3f} s | {a[key]:.3f} s | {ratio:.2f} |")
        worst = ratio if worst is None else max(worst, ratio)
    if figure != "wall_s":
        return lines, worst
    b, a = system_rows(before), system_rows(after)
    for key in sorted(set(b) & set(a)):
        if b[key] is None or a[key] is None:
            continue
        if key[1] == "MIPS":          # higher is better: the ratio still says 'above 1 = slower'
            ratio = b[key] / a[key]
            lines.append(f"| {key[0]} | MIPS | {b[key]:.1f} | {a[key]:.1f} | {ratio:.2f} |")
        else:
            ratio = a[key] / b[key]
            lines.append(f"| {key[0]} | {key[1]} | {b[key]:.3f} s | {a[key]:.3f} s | {ratio:.2f} |")
        worst = ratio if worst is None else max(worst, ratio)
    return lines, worst


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    p.add_argument("before", help="results JSON of the tree before the change (or several, comma-separated)")
    p.add_argument("after", help="results JSON of the tree after it (or several, comma-separated)")
    p.add_argument("--engines", default=",".join(NUMBAVM),
                   help=f"comma-separated engines to compare (default: numbavm's own, {','.join(NUMBAVM)})")
    p.add_argument("--cpu", action="store_true",
                   help="compare the emulating thread's CPU time (cpu_s) instead of the wall time")
    args = p.parse_args(argv)
    runs = []
    for side in (args.before, args.after):
        results = []
        for path in side.split(","):
            try:
                with open(path) as fh:
                    results.append(json.load(fh))
            except (OSError, ValueError) as e:
                print(f"bench.compare: cannot read {path}: {e}", file=sys.stderr)
                return 2
        runs.append(pooled(results))
    lines, worst = table(runs[0], runs[1], set(args.engines.split(",")), "cpu_s" if args.cpu else "wall_s")
    if worst is None:
        print("bench.compare: the two results have no workload in common", file=sys.stderr)
        return 2
    print("\n".join(lines))
    print(f"\nworst after / before: {worst:.2f} (above 1 = slower after)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
