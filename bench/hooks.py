"""The cost of Python hooks (lifecycle/debug/hooks.py): one compute workload with and without them.

    python -m bench.hooks [--workload sieve] [--reps 3] [--hot-steps 200000] [--json]

Four runs per repetition, each on a fresh in-process Machine (128 MiB, JIT), interleaved:
  none        the whole workload, no hooks (the plain loop, as `make bench` runs it);
  loop        the whole workload, no hooks, with the loop's native regions (emu/regions/)
              off, as they are while any hook (or GDB) is installed: only when the hart
              has them;
  cold        the whole workload with a HOOK_CODE hook on an address that is never
              executed (the last halfword of RAM): what merely having hooks costs;
  hot-slice   WARM instructions untimed (into the hot loop), then HOT_STEPS timed, no hooks;
  hot         the same, with a HOOK_CODE hook on the pc where the untimed part stopped
              (inside the hot loop), whose callback counts: MIPS and callbacks per second.
The hooks are installed on the Machine directly (lifecycle.debug.hooks.Hooks, which is what
Guest.hook_add installs); the callback is a plain Python counter. A run counts only if
it is right: the whole runs must exit 0 (the workload checked itself) with no callback
from the cold hook; the hot run must retire its budget.

measure(...) -> {"workload", "hot_pc", "rows": {variant: {...}}, ...} for the bench harness.
"""
from __future__ import annotations

import argparse
import gc
import io
import json
import statistics
import sys
import time

WARM = 20_000_000          # untimed instructions before the hot slice
HOT_STEPS = 200_000
VARIANTS = ("none", "loop", "cold", "hot-slice", "hot")


def _machine(path):
    from lifecycle.machine.board import Machine
    m = Machine(memory=128 << 20, engine="jit", console=io.BytesIO())
    m.load(path)
    m.warm_up()
    return m


def _hook(m, pc, calls):
    from lifecycle.debug.hooks import HOOK_CODE, Hooks, make_hook

    def count(_guest, _pc):
        calls[0] += 1
    hooks = Hooks(m)
    hooks.add(make_hook(HOOK_CODE, count, begin=pc))
    return hooks


def _one(path, variant, hot_steps, hot_pc):
    m = _machine(path)
    h = m.hart
    calls = [0]
    if variant in ("hot", "hot-slice"):
        r0 = m.run(max_instructions=WARM)
        if r0.reason != "budget":
            return {"ok": False, "error": f"{r0.reason} before the hot slice"}
        pc = h.pc
        if hot_pc is not None and pc != hot_pc:
            return {"ok": False, "error": f"the untimed part ended at 0x{pc:x}, not 0x{hot_pc:x}"}
        if variant == "hot":
            _hook(m, pc, calls)
        gc.collect()
        c0 = time.thread_time()
        r = m.run(max_instructions=hot_steps)
        cpu = time.thread_time() - c0
        ok = r.reason == "budget" and r.instret == hot_steps and (variant == "hot-slice" or calls[0] > 0)
        err = None if ok else f"{r.reason} after {r.instret} instructions, {calls[0]} callbacks"
    else:
        if variant == "loop":
            if not hasattr(h, "stop_regions"):
                return {"ok": False, "skipped": True, "error": "the hart has no native regions"}
            h.stop_regions()
        if variant == "cold":
            _hook(m, h.ram_base + h.ram_size - 2, calls)
        pc = None
        gc.collect()
        c0 = time.thread_time()
        r = m.run()
        cpu = time.thread_time() - c0
        ok = r.reason == "exit" and r.exit_code == 0 and calls[0] == 0
        err = None if ok else f"{r.reason} (exit code {r.exit_code}) {r.message}, {calls[0]} callbacks"
    return {"ok": ok, "error": err, "wall_s": r.wall_s, "cpu_s": cpu, "instret": r.instret,
            "mips": r.instret / r.wall_s / 1e6 if r.wall_s > 0 else None, "callbacks": calls[0], "pc": pc}


def _med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def measure(reps=3, workload="sieve", hot_steps=HOT_STEPS, log=None):
    from bench.common import workload_path
    path = workload_path(workload)
    runs = []
    hot_pc = None
    for rep in range(reps):
        for v in VARIANTS:
            r = _one(path, v, hot_steps, hot_pc)
            if v == "hot-slice" and r.get("ok"):
                hot_pc = r["pc"]                 # deterministic: every hot run stops at the same pc
            r.update(rep=rep, variant=v)
            runs.append(r)
            if log is not None:
                log(f"bench: hooks rep {rep + 1}/{reps} {v:9s} "
                    + (f"{r['mips']:8.1f} MIPS, {r['callbacks']} callbacks" if r.get("ok") else f"FAIL {r['error']}"))
    rows = {}
    for v in VARIANTS:
        rs = [r for r in runs if r["variant"] == v and r.get("ok")]
        if not rs:
            skipped = all(r.get("skipped") for r in runs if r["variant"] == v)
            rows[v] = {"skipped": True} if skipped else {"failed": True}
            continue
        rows[v] = {"n": len(rs), "mips_median": _med([r["mips"] for r in rs]), "mips_best": max(r["mips"] for r in rs),
                   "mips_cpu_median": _med([r["instret"] / r["cpu_s"] / 1e6 for r in rs if r["cpu_s"] > 0]),
                   "instret": rs[0]["instret"], "callbacks": rs[0]["callbacks"],
                   "wall_s_median": _med([r["wall_s"] for r in rs])}
    out = {"workload": workload, "reps": reps, "warm_instructions": WARM, "hot_steps": hot_steps,
           "hot_pc": hot_pc, "rows": rows, "runs": runs,
           "failures": [f"hooks {r['variant']} rep {r['rep']}: {r['error']}" for r in runs
                        if not r.get("ok") and not r.get("skipped")]}
    hot, sl, none, cold = rows["hot"], rows["hot-slice"], rows["none"], rows["cold"]
    if not hot.get("failed") and not sl.get("failed"):
        cb = hot["callbacks"]
        out["callbacks_per_s"] = cb / hot["wall_s_median"]
        out["instructions_per_callback"] = hot_steps / cb if cb else None
        out["us_per_callback"] = (hot["wall_s_median"] - sl["wall_s_median"]) / cb * 1e6 if cb else None
    if none.get("mips_median") and cold.get("mips_median"):
        out["cold_over_none"] = cold["mips_median"] / none["mips_median"]
    loop = rows["loop"]
    if loop.get("mips_median") and cold.get("mips_median"):
        out["cold_over_loop"] = cold["mips_median"] / loop["mips_median"]
    return out


def format_lines(res):
    """The result as lines of text (the bench table and this module's own output)."""
    rows = res["rows"]
    L = [f"hooks ({res['workload']}, median of {res['reps']}; lifecycle/debug/hooks.py, bench/hooks.py)"]
    names = {"none": "no hooks (whole run)", "loop": "no hooks, native regions off (whole run)",
             "cold": "code hook never executed (whole run)",
             "hot-slice": f"no hooks ({res['hot_steps']:,}-instruction slice)",
             "hot": "code hook in the hot loop (same slice)"}
    for v in VARIANTS:
        d = rows[v]
        if d.get("skipped"):
            continue
        if d.get("failed"):
            L.append(f"  {names[v]:42s}: FAIL")
            continue
        L.append(f"  {names[v]:42s}: {d['mips_median']:8.2f} MIPS (best {d['mips_best']:.2f}), "
                 f"{d['callbacks']:,} callbacks")
    if res.get("callbacks_per_s"):
        L.append(f"  hot hook at 0x{res['hot_pc']:x}: one callback per {res['instructions_per_callback']:.1f} "
                 f"instructions, {res['callbacks_per_s']:,.0f} callbacks/s, {res['us_per_callback']:.1f} us each "
                 "(exit, Python callback, step, re-entry)")
    if res.get("cold_over_none"):
        L.append(f"  an unexecuted code hook keeps {res['cold_over_none'] * 100:.0f} % of the no-hook speed"
                 + (f" ({res['cold_over_loop']:.1f}x the loop alone: native regions end before the hook)"
                    if res.get("cold_over_loop") else ""))
    return L


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.hooks", description=__doc__.split("\n\n")[0])
    p.add_argument("--workload", default="sieve")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--hot-steps", type=int, default=HOT_STEPS)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    from bench import common
    common.setup_env()
    res = measure(a.reps, a.workload, a.hot_steps, log=None if a.json else common.log)
    if a.json:
        print(json.dumps(res, indent=1))
    else:
        print("\n".join(format_lines(res)))
    return 1 if res["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
