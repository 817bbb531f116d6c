"""Regenerate docs/performance.md and docs/performance.png from bench/results/latest.json.

    make bench                          # = .venv/bin/python -m bench: runs the suite, then this
    .venv/bin/python -m bench.report    # [--input FILE.json] [--output docs/performance.md]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INPUT = ROOT / "bench" / "results" / "latest.json"
DEFAULT_OUTPUT = ROOT / "docs" / "performance.md"
RESULTS = ROOT / "bench" / "results"
# the integer workloads before and after F/D (issue 14): `python -m bench` results of the two commits,
# results/fd-before-N.json and fd-after-N.json, pooled by bench/compare.py when both sides are there
FP_GROUP = "floating-point"

LABELS = {
    "numbavm-jit": "numbavm JIT",
    "numbavm-loop": "numbavm JIT, loop only (no native regions)",
    "numbavm-jit-nc": "numbavm JIT, -nc build (no RVC)",
    "numbavm-python": "numbavm plain Python",
    "unicorn": "Unicorn 2 (user level)",
    "qemu-user": "qemu-riscv64 (user level)",
    "qemu-system": "qemu-system-riscv64 -M spike",
}
COLORS = {
    "numbavm-jit": "#1f77b4", "numbavm-jit-nc": "#aec7e8", "numbavm-loop": "#9edae5", "numbavm-python": "#7f7f7f",
    "unicorn": "#ff7f0e", "qemu-user": "#2ca02c", "qemu-system": "#98df8a",
}
BOOT_LABELS = {"linux-boot": "numbavm, built-in SBI", "linux-boot-opensbi": "numbavm, OpenSBI fw_dynamic",
               "linux-boot-qemu": "qemu-system-riscv64 -M virt, OpenSBI"}


def f(v, spec=".1f", na="–"):
    return na if v is None else format(v, spec)


def med(d, key="median"):
    return None if not d or not d.get("n") else d[key]


# --------------------------------------------------------------------------- plot

def _system_bars(res):
    """[(label, MIPS median, MIPS best, colour)] of the system workloads on numbavm."""
    sy = res["summary"].get("system") or {}
    bars = []
    lb = sy.get("linux_boot") or {}
    for it in ("linux-boot", "linux-boot-opensbi"):
        d = lb.get(it) or {}
        if d.get("prompt_mips"):
            bars.append((f"{it.replace('linux-boot', 'boot')}\n(to prompt)", med(d["prompt_mips"]),
                         med(d["prompt_mips"], "max"), COLORS["numbavm-jit"]))
    lu = sy.get("linux_user") or {}
    if "warm" in lu:
        bars.append(("linux-user\n(Sv39)", med(lu["warm"]["mips"]), med(lu["warm"]["mips"], "max"),
                     COLORS["numbavm-jit"]))
    if "bare" in lu:
        bars.append(("usersieve\n(bare)", med(lu["bare"]["mips"]), med(lu["bare"]["mips"], "max"),
                     COLORS["numbavm-jit-nc"]))
    for key, lab in (("timer_irq", "timer-irq"), ("uart_flood", "uart-flood")):
        d = sy.get(key) or {}
        if d.get("mips"):
            bars.append((lab, med(d["mips"]), med(d["mips"], "max"), COLORS["numbavm-jit"]))
            if d.get("python_mips"):
                bars.append((f"{lab}\n(plain Python)", med(d["python_mips"]), med(d["python_mips"], "max"),
                             COLORS["numbavm-python"]))
    return bars


def plot(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        print(f"bench.report: no plot ({e}); pip install matplotlib", file=sys.stderr)
        return False
    t = res["summary"]["table"]
    engines = res["settings"]["engines"]
    wls = res["settings"]["workloads"] + ["geomean"]
    sbars = _system_bars(res)
    boot = (res["summary"].get("system") or {}).get("linux_boot") or {}
    fig = plt.figure(figsize=(11, 8.2), dpi=100)
    gs = fig.add_gridspec(2, 2, height_ratios=[1.25, 1], width_ratios=[2.2, 1])
    ax = fig.add_subplot(gs[0, :])
    width = 0.8 / max(1, len(engines))
    for i, e in enumerate(engines):
        xs, ys, lo, hi = [], [], [], []
        for j, w in enumerate(wls):
            c = t[e].get(w, {})
            if c.get("mips_median"):
                xs.append(j + (i - (len(engines) - 1) / 2) * width)
                ys.append(c["mips_median"])
                lo.append(0)
                hi.append(max(0.0, (c.get("mips_best") or c["mips_median"]) - c["mips_median"]))
        bars = ax.bar(xs, ys, width, label=LABELS.get(e, e), color=COLORS.get(e),
                      yerr=[lo, hi], capsize=2, error_kw={"elinewidth": 0.8})
        if e in ("numbavm-jit", "numbavm-python"):
            for b, y in zip(bars, ys):
                ax.annotate(f"{y:.0f}" if y >= 10 else f"{y:.2f}", (b.get_x() + b.get_width() / 2, y),
                            ha="center", va="bottom", fontsize=6.5)
    ax.set_yscale("log")
    ax.set_xticks(range(len(wls)))
    ax.set_xticklabels(wls, fontsize=8)
    ax.set_ylabel("MIPS (median; whisker = best), log")
    m = res.get("machine") or {}
    ax.set_title(f"Bare-metal / user-level workloads: numbavm and peers ({m.get('cpu_model', '?')} x"
                 f"{m.get('logical_cpus', '?')}, {res['timestamp_utc'][:10]})", fontsize=9.5)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))

    ax2 = fig.add_subplot(gs[1, 0])
    if sbars:
        xs = range(len(sbars))
        ys = [b[1] for b in sbars]
        hi = [max(0.0, (b[2] or b[1]) - b[1]) for b in sbars]
        bb = ax2.bar(xs, ys, 0.6, color=[b[3] for b in sbars], yerr=[[0] * len(ys), hi], capsize=2,
                     error_kw={"elinewidth": 0.8})
        for b, y in zip(bb, ys):
            ax2.annotate(f"{y:.0f}" if y >= 10 else f"{y:.2f}", (b.get_x() + b.get_width() / 2, y),
                         ha="center", va="bottom", fontsize=7)
        ax2.set_xticks(list(xs))
        ax2.set_xticklabels([b[0] for b in sbars], fontsize=7)
        ax2.set_yscale("log")
    ax2.set_ylabel("MIPS (median), log")
    ax2.set_title("System workloads on numbavm (numbavm only)", fontsize=9.5)
    ax2.grid(axis="y", which="both", alpha=0.3)

    ax3 = fig.add_subplot(gs[1, 1])
    items = [it for it in ("linux-boot", "linux-boot-opensbi", "linux-boot-qemu")
             if (boot.get(it) or {}).get("prompt_after_start_s")]
    if items:
        ys = [med(boot[it]["prompt_after_start_s"]) for it in items]
        runs = [med(boot[it].get("prompt_run_s")) for it in items]
        cols = [COLORS["qemu-system"] if it == "linux-boot-qemu" else
                COLORS["numbavm-jit"] if it == "linux-boot" else COLORS["numbavm-jit-nc"] for it in items]
        bb = ax3.bar(range(len(items)), ys, 0.6, color=cols)
        for i, (b, y, r) in enumerate(zip(bb, ys, runs)):
            if r:
                ax3.bar([i], [r], 0.6, color="none", edgecolor="black", hatch="//", linewidth=0.6)
            ax3.annotate(f"{y:.2f} s", (b.get_x() + b.get_width() / 2, y), ha="center", va="bottom", fontsize=7)
        ax3.axhline(1.0, color="red", lw=0.8, ls="--")
        ax3.set_xticks(range(len(items)))
        short = {"linux-boot": "numbavm\nbuilt-in SBI", "linux-boot-opensbi": "numbavm\nOpenSBI",
                 "linux-boot-qemu": "QEMU virt\nOpenSBI"}
        ax3.set_xticklabels([short[it] for it in items], fontsize=7)
    ax3.set_ylabel("s from process start to '~ # '")
    ax3.set_title("Linux boot to the prompt (hatched: guest running)", fontsize=9)
    ax3.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


# --------------------------------------------------------------------------- text

def render(res, png_name):
    s = res["summary"]
    t = s["table"]
    m = res.get("machine") or {}
    engines = res["settings"]["engines"]
    wls = res["settings"]["workloads"]
    groups = res.get("groups") or {"workloads": wls}
    ratios = s["ratios_jit_over"]
    ctl = s.get("control", {})
    sy = s.get("system") or {}
    jit = t.get("numbavm-jit", {})
    sb = res.get("startup_breakdown") or {}
    qu = t.get("qemu-user", {})
    qcomp = [qu.get(w, {}).get("mips_median") for w in (groups.get("compute") or [])]
    qcomp = [x for x in qcomp if x]
    L = []
    a = L.append
    a("# numbavm performance")
    a("")
    a("<!-- generated by bench/report.py from bench/results/latest.json: do not edit by hand -->")
    a("")
    a("Regenerate with one command: **`make bench`** (the same as `.venv/bin/python -m bench`, or "
      "`numbavm bench`; about "
      f"{res.get('suite_wall_s', 0) / 60:.0f} min here). It runs the suite, writes "
      "`bench/results/bench-<time>.json` and `latest.json`, and then rewrites this page and "
      "`docs/performance.png` (`.venv/bin/python -m bench.report` redoes only that step from "
      "`latest.json`). A smoke test of the harness is `.venv/bin/python -m bench --quick` (its results go "
      "to `bench/results/quick-latest.json` and do not touch this page). Per-test timings of the JIT alone, "
      "with pytest-benchmark: `.venv/bin/python -m pytest bench/ --benchmark-only`.")
    a("")
    g = jit.get("geomean", {}).get("mips_median")
    head = [f"numbavm's JIT runs the {len(wls)} bare-metal workloads at **{f(g, '.0f')} MIPS** "
            "(geometric mean of medians)"]
    if "numbavm-python" in ratios and ratios["numbavm-python"]["geomean_median"]:
        head.append(f"**{f(ratios['numbavm-python']['geomean_median'], '.0f')}×** the plain-Python engine")
    for e in ("unicorn", "qemu-user"):
        if e in ratios and ratios[e]["geomean_median"]:
            gm = ratios[e]["geomean_median"]
            head.append(f"**{f(gm, '.2f')}×** {LABELS[e]}")
    a("; ".join(head) + ".")
    lb = (sy.get("linux_boot") or {}).get("linux-boot") or {}
    lq = (sy.get("linux_boot") or {}).get("linux-boot-qemu") or {}
    lu = sy.get("linux_user") or {}
    extra = []
    if lb.get("prompt_after_start_s"):
        extra.append(f"The bundled Linux reaches its prompt **{f(med(lb['prompt_after_start_s']), '.2f')} s** after "
                     "`numbavm boot` starts" + (f" (QEMU: {f(med(lq['prompt_after_start_s']), '.2f')} s)"
                                                if lq.get("prompt_after_start_s") else ""))
    if "ratio_median" in lu:
        extra.append(f"a sieve run as a Linux user process (Sv39 on) keeps **{lu['ratio_median'] * 100:.0f} %** "
                     "of the same program's bare-metal MIPS")
    uf = sy.get("uart_flood") or {}
    if uf.get("us_per_access"):
        extra.append(f"one Python-device access (exit, handle, resume) costs **{f(med(uf['us_per_access']), '.1f')} µs**")
    if extra:
        a("")
        a("; ".join(extra) + ".")
    a("")
    a(f"Measured {res['timestamp_utc']} on {m.get('cpu_model')} ({m.get('logical_cpus')} logical CPUs, "
      f"{m.get('cpu_cache')} L2 per core as /proc/cpuinfo reports it, {m.get('mem_gib')} GiB), "
      f"{m.get('platform')}; Python {m.get('python')}, numba {m.get('numba')}, "
      f"llvmlite {m.get('llvmlite')}, numpy {m.get('numpy')}, unicorn {m.get('unicorn')}, "
      f"{m.get('qemu_user')}. numbavm at git {str(m.get('git_commit'))[:12]}"
      + (f" with uncommitted changes in {len(m['git_dirty_files'])} files" if m.get("git_dirty_files")
         else " (a clean `git archive` export of that commit)"
         if m.get("source_dir") and not (Path(m["source_dir"]) / ".git").exists() else "")
      + ".")
    a("")
    a("**Host load.** This is a 2-CPU machine shared with other engineers' test runs, so every figure "
      f"below was taken on a loaded host. Load average before / after the run: {res.get('load_before')} / "
      f"{res.get('load_after')}.")
    oc = res.get("other_cpu_during_engines")
    if oc:
        a(f"Other processes used {oc['other_cpus_avg']:.2f} CPUs on average during the "
          f"{oc['wall_s']:.0f} s of engine runs (from /proc/stat minus this process and its children; "
          "0 = idle, 2 = both CPUs busy with others)"
          + (f"; the harness waited {res['waited_for_idle_s']:.0f} s for an idle host first"
             if res.get("waited_for_idle_s") else "") + ".")
    if res.get("busy_processes_before"):
        a("Busy when the run started: " + "; ".join(f"`{p}`" for p in res["busy_processes_before"]) + ".")
    a("Medians move by 10–30 % between runs under this load; the best of the repetitions is the better "
      "estimate of an engine's own speed, and the ratios are taken within one interleaved run.")
    a("")
    a(f"![MIPS per workload and engine]({png_name})")
    a("")

    # ---------------------------------------------------------------- targets
    tg = s.get("targets") or []
    if tg:
        a("## Targets (JIT engine, ratios measured in this run)")
        a("")
        a("Judged on the median wall-time ratio of this run (the table's figure); the detail column "
          "also gives the best/best and the CPU-time ratios, which the host's load disturbs less.")
        a("")
        a("| Target | Measured | Met? | Detail |")
        a("|---|---:|:---:|---|")
        for x in tg:
            a(f"| {x['target']} | {x['value']:.3g} | {'yes' if x['met'] else '**no**'} | {x['detail']} |")
        a("")

    # ---------------------------------------------------------------- table
    a("## Bare-metal workloads")
    a("")
    a(f"MIPS = instructions / wall seconds; median of {res['settings']['reps']} interleaved repetitions, "
      "best in parentheses. The instruction count for every engine is numbavm's exact retired count "
      "of the bare-metal build (table below); the plain-Python engine is timed on "
      f"{res['settings']['python_engine_instructions']:,} instructions (see Method). Groups: "
      + "; ".join(f"{g}: {', '.join(ws)}" for g, ws in groups.items()) + ".")
    a("")
    a("| Engine | " + " | ".join(wls) + " | geomean |")
    a("|---|" + "---:|" * (len(wls) + 1))
    for e in engines:
        spec = ".2f" if e == "numbavm-python" else ".0f"
        cells = []
        for w in wls + ["geomean"]:
            c = t[e].get(w, {})
            if w != "geomean" and c.get("failed"):
                cells.append("**FAIL**")
            else:
                cells.append(f"{f(c.get('mips_median'), spec)} ({f(c.get('mips_best'), spec)})")
        a(f"| {LABELS.get(e, e)} | " + " | ".join(cells) + " |")
        if any(t[e].get(w, {}).get("mips_median_net") for w in wls):
            a(f"| … {LABELS.get(e, e)}, process start-up subtracted | "
              + " | ".join(f(t[e][w].get("mips_median_net"), ".0f") for w in wls) + " | |")
    a("")
    if any(t[e].get("geomean", {}).get("mips_cpu_median") for e in engines):
        a("The same runs, MIPS from **CPU time** instead of wall time (median; the CPU time of the thread "
          "that emulates for numbavm and Unicorn, of the whole process with all its threads for QEMU, "
          "including its start-up). CPU time leaves out the time the engine was waiting for a CPU that "
          "other processes held, so on this shared host it is the steadier figure of an engine's own "
          "speed (cache and memory-bandwidth contention remain):")
        a("")
        a("| Engine | " + " | ".join(wls) + " | geomean |")
        a("|---|" + "---:|" * (len(wls) + 1))
        for e in engines:
            spec = ".2f" if e == "numbavm-python" else ".0f"
            a(f"| {LABELS.get(e, e)} | " + " | ".join(
                f(t[e].get(w, {}).get("mips_cpu_median"), spec) for w in wls + ["geomean"]) + " |")
        a("")
    a("Instructions (numbavm `RunResult.instret`, bare-metal build; in parentheses the QEMU `-icount` "
      "count of the `-DBENCH_MEASURE` build from `bench/workloads/README.md`):")
    a("")
    a("| | " + " | ".join(wls) + " |")
    a("|---|" + "---:|" * len(wls))
    a("| RV64IMAC `NAME.elf` | " + " | ".join(
        f"{s['instructions'].get(w) or 0:,} ({(res.get('readme_counts') or {}).get(w) or 0:,})" for w in wls) + " |")
    if "numbavm-jit-nc" in engines:
        a("| RV64IMA `NAME-nc.elf` | " + " | ".join(
            f"{s['instructions_nc'].get(w) or 0:,} ({(res.get('readme_counts_nc') or {}).get(w) or 0:,})"
            for w in wls) + " |")
    a("")
    a("### Ratios: numbavm JIT speed / engine speed")
    a("")
    a("From median MIPS; above 1 means numbavm's JIT is faster, below 1 slower.")
    a("")
    gnames = list(groups)
    a("| vs | " + " | ".join(wls) + " | geomean | " + " | ".join(f"geomean {g}" for g in gnames) + " |")
    a("|---|" + "---:|" * (len(wls) + 1 + len(gnames)))
    for e, r in ratios.items():
        gg = r.get("geomean_by_group") or {}
        a(f"| {LABELS.get(e, e)} | " + " | ".join(
            f(r["per_workload"].get(w, {}).get("median"), ".3g") for w in wls)
          + f" | {f(r['geomean_median'], '.3g')} | " + " | ".join(f(gg.get(g), ".3g") for g in gnames) + " |")
        if r.get("geomean_cpu_median"):
            a("| … from CPU time | " + " | ".join(
                f(r["per_workload"].get(w, {}).get("cpu_median"), ".3g") for w in wls)
              + f" | {f(r['geomean_cpu_median'], '.3g')} |" + " |" * len(gnames))
        if r.get("geomean_median_net"):
            a("| … start-up subtracted | " + " | ".join(
                f(r["per_workload"].get(w, {}).get("median_net"), ".3g") for w in wls)
              + f" | {f(r['geomean_median_net'], '.3g')} |" + " |" * len(gnames))
        if e == "numbavm-python" and r.get("geomean_same_slice"):
            a("| … plain Python, JIT timed on the same slice | " + " | ".join(
                f(r["per_workload"].get(w, {}).get("same_slice"), ".3g") for w in wls)
              + f" | {f(r['geomean_same_slice'], '.3g')} |" + " |" * len(gnames))
    a("")
    if "numbavm-python" in ratios and ratios["numbavm-python"].get("geomean_same_slice"):
        a("The JIT/Python row compares the JIT's whole-program speed with the plain-Python engine's speed on "
          "a slice at the program's start. The row below it times the JIT on exactly that slice (a new "
          "machine, so with a cold decode cache and guest RAM the host has not touched yet: the JIT "
          "runs it at " + ", ".join(
              f"{w} {f(ratios['numbavm-python']['per_workload'].get(w, {}).get('jit_slice_mips'), '.0f')}"
              for w in wls if ratios['numbavm-python']['per_workload'].get(w, {}).get('jit_slice_mips'))
          + " MIPS). That is the per-instruction ratio on equal work, pessimistic for the JIT.")
        a("")

    L += fd_section(res)

    # ---------------------------------------------------------------- system
    if sy:
        a("## System workloads")
        a("")
        a("Each of these ran once per repetition, interleaved with the workloads above; median (min–max) "
          "over the repetitions.")
        a("")
        boot = sy.get("linux_boot") or {}
        if boot:
            a("### Linux boot to the prompt")
            a("")
            a("The bundled guest (`lifecycle/guests/linux/`: Linux 6.1 tinyconfig, 128 MiB, built-in initramfs with "
              "a one-file shell) from process start to the first `~ # ` on the console, stdin `poweroff`. "
              "numbavm: `numbavm boot --kernel IMAGE --stats` (its `first prompt` line; deterministic timer, "
              "the Numba cache warm). QEMU: `qemu-system-riscv64 -M virt -m 128M -nographic -bios default "
              "-kernel IMAGE -append console=ttyS0`, from just before the process is started until the prompt "
              "is on its stdout.")
            a("")
            a("| Machine | Process start to prompt (s) | of which guest running (s) | Instructions | MIPS while running | MMIO exits | Python device time (s) | CPU time of the process, to poweroff (s) |")
            a("|---|---:|---:|---:|---:|---:|---:|---:|")
            for it in ("linux-boot", "linux-boot-opensbi", "linux-boot-qemu"):
                d = boot.get(it)
                if not d:
                    continue
                if d.get("failed"):
                    a(f"| {BOOT_LABELS[it]} | **FAIL** | | | | | | |")
                    continue

                def mm(x, spec=".3f"):
                    if not x or not x.get("n"):
                        return "–"
                    return f"{x['median']:{spec}} ({x['min']:{spec}}–{x['max']:{spec}})"
                a(f"| {BOOT_LABELS[it]} | {mm(d['prompt_after_start_s'])} | {mm(d.get('prompt_run_s'))} | "
                  f"{f(d.get('prompt_instructions'), ',')} | {mm(d.get('prompt_mips'), '.0f')} | "
                  f"{f(d.get('mmio_exits'), ',')} | {mm(d.get('device_s'))} | {mm(d.get('process_cpu_s'))} |")
            a("")
            if lb.get("startup_s"):
                a(f"numbavm's figure is mostly process start-up: {f(med(lb['startup_s']), '.2f')} s pass before "
                  f"the first guest instruction (Python, numpy, numba, loading the compiled loop; see Control "
                  f"plane), and the guest then runs {f(med(lb.get('prompt_run_s')), '.2f')} s, "
                  f"{f(med(lb.get('device_s')), '.3f')} s of it in Python device handlers. The boot runs at "
                  f"{f(med(lb.get('prompt_mips')), '.0f')} MIPS, well below the compute loops: it executes most "
                  f"of its code once (decode-cache misses), takes {f(lb.get('tlb_misses'), ',')} TLB misses and "
                  "leaves the loop for every device access.")
                a("")
        if lu:
            a("### Linux user process vs bare metal")
            a("")
            a("`bench 1000000` of the guest's shell (`lifecycle/guests/linux/init.c`: a byte sieve counting the 78,498 "
              "primes below 10^6, a user process with Sv39 paging, so every fetch and access goes through the "
              "TLB), run 4 times after one in-process boot (`Machine.boot_linux` + UART input), timed from the "
              "moment the command line is handed to the UART to the moment the result line has been written "
              "(the loop is stopped at both moments, so the instruction counts are exact; they include the "
              "kernel's work for that command: tty, timer interrupts, page faults). The first run is cold (its "
              "1 MB of .bss pages fault in); the others are warm. The bare-metal comparison is "
              "`usersieve.elf`: the same C, compiled like /init (`-Os`, nolibc's byte-loop `memset`), run 10 "
              "times in M-mode without paging.")
            a("")
            a("| | MIPS | Instructions per run | TLB misses per run | Traps (page faults, ecalls) per run |")
            a("|---|---:|---:|---:|---:|")

            def mm0(x, spec=".0f"):
                if not x or not x.get("n"):
                    return "–"
                return f"{x['median']:{spec}} ({x['min']:{spec}}–{x['max']:{spec}})"
            if "warm" in lu:
                w = lu["warm"]
                a(f"| Linux user process, warm ({w['runs']} runs) | {mm0(w['mips'])} | {f(med(w['instret']), ',.0f')} | "
                  f"{f(med(w['tlb_misses']), ',.0f')} | {f(med(w['traps']), ',.0f')} |")
                c = lu["cold"]
                a(f"| Linux user process, first run after boot ({c['runs']} boots) | {mm0(c['mips'])} | {f(med(c['instret']), ',.0f')} | "
                  f"{f(med(c['tlb_misses']), ',.0f')} | {f(med(c['traps']), ',.0f')} |")
            if "bare" in lu:
                a(f"| usersieve.elf, bare metal (per round of 10) | {mm0(lu['bare']['mips'])} | "
                  f"{lu['bare']['instret'] / 10:,.0f} | 0 | 0 |")
            if "ratio_median" in lu:
                a("")
                a(f"Ratio, Linux user process (warm) / bare metal: **{lu['ratio_median']:.2f}** (median/median; "
                  f"best/best {lu['ratio_best']:.2f}"
                  + (f"; from CPU time {lu['ratio_cpu_median']:.2f}" if lu.get("ratio_cpu_median") else "") + ").")
            a("")
        if uf and not uf.get("failed"):
            a("### UART flood: the cost of a Python-device access")
            a("")
            a(f"`uartflood.elf` writes {f(uf.get('bytes'), ',')} bytes to the NS16550A, polling LSR before each: "
              f"{f(uf.get('mmio_exits'), ',')} MMIO accesses, each of which leaves the compiled loop (exit), is "
              "served by the Python UART model (`Run.on_mmio` in `lifecycle/machine/exits.py` → `Uart16550.read/write`) and re-enters the "
              "loop. The console (a BytesIO here) must receive exactly the pattern.")
            a("")
            a("| | median (min–max) |")
            a("|---|---:|")
            a(f"| MIPS | {f(med(uf['mips']), '.2f')} ({f(med(uf['mips'], 'min'), '.2f')}–{f(med(uf['mips'], 'max'), '.2f')}) |")
            a(f"| One access: exit + handle + resume (wall / accesses) | {f(med(uf['us_per_access']), '.2f')} µs "
              f"({f(med(uf['us_per_access'], 'min'), '.2f')}–{f(med(uf['us_per_access'], 'max'), '.2f')}) |")
            if uf.get("us_per_access_cpu", {}).get("n"):
                a(f"| One access, from the thread's CPU time | {f(med(uf['us_per_access_cpu']), '.2f')} µs |")
            a(f"| … of which in the Python handler (`Machine.device_s`) | {f(med(uf['handler_us_per_access']), '.2f')} µs |")
            if uf.get("python_mips"):
                a(f"| plain-Python engine, {res['settings'].get('system_python_instructions', 0):,} instructions | "
                  f"{f(med(uf['python_mips']), '.3f')} MIPS |")
            a("")
            if lb.get("mmio_exits") and uf.get("us_per_access"):
                a(f"At that price the {lb['mmio_exits']:,} MMIO exits of the Linux boot above cost about "
                  f"{lb['mmio_exits'] * med(uf['us_per_access']) / 1e3:.0f} ms. (Under QEMU the same kind of "
                  "small Linux makes ~11k MMIO accesses to reach its prompt, ~90 % of them to the UART.)")
                a("")
        ti = sy.get("timer_irq") or {}
        if ti and not ti.get("failed"):
            a("### Timer interrupts")
            a("")
            a(f"`timerirq.elf`: a compute loop while the CLINT timer interrupts it {f(ti.get('interrupts'), ',')} "
              f"times (one per {f(ti.get('instructions_per_interrupt'), '.0f')} instructions; M-mode handler "
              "re-arming `mtimecmp = mtime + 100`; numbavm's deterministic timer counts 10 instructions per "
              f"tick). **{f(med(ti['mips']), '.0f')} MIPS** (best {f(med(ti['mips'], 'max'), '.0f')})"
              + (f"; plain Python {f(med(ti['python_mips']), '.3f')} MIPS" if ti.get("python_mips") else "")
              + ". The CLINT lives in the compiled loop (`emu/timer.py`), so interrupts cost no exit to Python.")
            a("")
    if res.get("system_skipped"):
        a("Skipped: " + "; ".join(f"{k} ({v})" for k, v in res["system_skipped"].items()) + ".")
        a("")

    # ---------------------------------------------------------------- control plane
    if ctl:
        a("## Control plane")
        a("")
        a("| What | Time |")
        a("|---|---:|")
        if "first_run_jit_compile_s" in ctl:
            a(f"| First run, empty Numba cache: JIT compile of the loop | {f(ctl['first_run_jit_compile_s'], '.1f')} s |")
            a(f"| First run, empty Numba cache: process start to first instruction | {f(ctl['first_run_startup_s'], '.1f')} s |")
            a(f"| Second run on that cache: JIT load / start-up | {f(ctl['second_run_jit_load_s'], '.3f')} s / "
              f"{f(ctl['second_run_startup_s'], '.3f')} s |")
        if "cached_startup_median_s" in ctl:
            n = len(res.get("startup_cached", []))
            a(f"| Cached start-up, process start to first instruction (median of {n}) | "
              f"{f(ctl['cached_startup_median_s'], '.3f')} s |")
            a(f"| … of which loading the compiled loop from the cache | {f(ctl['cached_jit_load_median_s'], '.3f')} s |")
        if ctl.get("stop_latency_p50_s") is not None:
            sl = res["stop_latency"]
            a(f"| Stop latency, tight loop: p50 / p99 ({sl['reps']} stops) | {ctl['stop_latency_p50_s'] * 1e6:.0f} µs / "
              f"{ctl['stop_latency_p99_s'] * 1e6:.0f} µs |")
        if ctl.get("wfi_p50_s") is not None:
            a(f"| Stop latency, guest idle in `wfi`: p50 / p99 | {ctl['wfi_p50_s'] * 1e6:.0f} µs / "
              f"{ctl['wfi_p99_s'] * 1e6:.0f} µs |")
        if ctl.get("cycle_p50_s") is not None:
            a(f"| One create / run / stop cycle (1 MiB guest): p50 / p99 | {ctl['cycle_p50_s'] * 1e3:.2f} ms / "
              f"{ctl['cycle_p99_s'] * 1e3:.2f} ms |")
            a(f"| … of which `create()` (p50) | {ctl['cycle_create_p50_s'] * 1e3:.2f} ms |")
        a("")
        if sb:
            a("Start-up, step by step (`python -c STEP` in a fresh process, median wall time; each step includes "
              "the ones before): " + ", ".join(f"{k} {f(v, '.2f')} s" for k, v in sb.items()) + ".")
            a("")
        a("Start-up and compile times come from `numbavm run PROGRAM --max-instructions 1000 --stats` in a "
          "subprocess (its `JIT compile/load` and `start-up` lines); start-up is measured from the kernel's "
          "record of the process start, so it includes the interpreter's own start-up and the imports of numpy "
          "and numba. The first-run figure uses a fresh temporary `NUMBA_CACHE_DIR`. Stop latency and the "
          "cycle come from `bench/stop_latency.py`: `GuestLifecycle.create()`, `run()` in a thread, wait until "
          "the guest visibly runs (instructions retired, or the machine idling in `wfi`), then `stop()`; the "
          "latency is the `stop()` call until it returns (the loop has exited and the VMM is torn down), the "
          "cycle is `create()` until then. The loop polls the stop flag between chunks of at most 4096 "
          "instructions; a guest in `wfi` sleeps on an event that `stop()` sets.")
        a("")

    # ---------------------------------------------------------------- hooks
    L += hooks_section(res)

    # ---------------------------------------------------------------- method
    a("## Method")
    a("")
    a("* **Workloads** (`bench/workloads/`, see its README): our own C, gcc 12 `-O2`, each checking its own "
      "result and exiting 0 only if it is right — **a wrong answer is a failure, not a number** (the "
      "harness exits 1 and the table says FAIL). Floating-point (RV64GC, lp64d; see above): nbody, dmatmul, "
      "firf. Compute: sieve, crc32, matmul, divrem. Memory-bound: "
      "ptrchase (a random single-cycle permutation of 2^20 32-bit indices, 4 MiB, more than the host's L2, "
      "followed 24 M steps), memops (word-wise memset/memcpy over two 2 MiB buffers plus byte copies at "
      "odd alignments). Branchy: qsort (9 arrays of 128 Ki ints, checked sorted + a position-weighted "
      "sum), bytecode (a 16-opcode stack VM dispatching through a jump table). System (numbavm only, but "
      "the boot also on QEMU): linux-boot, linux-user (+ usersieve), uart-flood, timer-irq, as described "
      "above. 100–320 M dynamic instructions each (the system programs fewer).")
    a("* **numbavm JIT**: in-process, a new `Machine(memory=128 MiB, engine='jit')` per repetition, "
      "`load()`, `warm_up()` (the compiled loop comes from Numba's disk cache; compiling it is measured "
      "separately), then `run()`; the time is `RunResult.wall_s` (the run only) and the count "
      "`RunResult.instret`. The `-nc` row runs the same programs built without compressed instructions.")
    a("* **numbavm plain Python**: the same loop interpreted by CPython (`NUMBA_DISABLE_JIT=1`), in a "
      "subprocess (`python -m bench.pyengine PROGRAM N bss`), on a reduced budget: crt0's `.bss`-zeroing "
      "loop is cut short (RAM starts zeroed), 2,000 instructions run untimed, then the next "
      f"{res['settings']['python_engine_instructions']:,} instructions are timed (the system programs: "
      f"{res['settings'].get('system_python_instructions', 0):,}). Its MIPS is per-instruction speed on "
      "that slice (the workload's set-up and first iterations), so the whole-program JIT/Python ratio "
      "mixes two instruction mixes; the same-slice row removes that.")
    a("* **Unicorn** (in-process, PyPI `unicorn`): the `NAME-linux.elf` build at user level — its "
      "PT_LOAD segments mapped at their addresses, an 8 MiB stack, `sp` and `pc` = entry; a "
      "`UC_HOOK_INTR` hook implements `exit` (a7=93, → `emu_stop`) and `write` (a7=64, captured and "
      "checked); `mstatus.FS` is set to Initial before the start, as Linux starts a user process with "
      "the FPU on. Only `emu_start` is timed. Unicorn cannot run the system workloads (no devices).")
    a("* **qemu-riscv64** (Debian qemu-user): `NAME-linux.elf` in a subprocess; the time is the wall "
      "time of the whole process, which includes QEMU's start-up and teardown. The \"start-up "
      "subtracted\" row removes the median wall time of a 3-instruction ELF that exits at once, "
      "measured in every repetition. **qemu-system-riscv64** `-M spike -bios none -nographic -kernel "
      "NAME.elf` runs the same bare-metal build as numbavm (HTIF exit); its start-up is estimated "
      "with `tests/guest/bin/hello.elf`. For the Linux boot, `-M virt` with OpenSBI (`-bios default`).")
    a("* **Instruction counts**: every engine's MIPS uses numbavm's exact retired count of the bare-metal "
      "build. The Linux builds run the same compiled workload code but a different start-up (no `.bss` "
      "zeroing, one `write` instead of HTIF `putchar`), so their counts are lower by at most ~1 % (ptrchase "
      "and memops have 4 MiB of `.bss`: 2 M instructions of zeroing), which overstates the Unicorn and "
      "qemu-riscv64 MIPS by at most that much. numbavm retires the same count for `NAME.elf` and "
      "`NAME-nc.elf`: a compressed instruction is a re-encoding of one 32-bit instruction.")
    a("* **Timing hygiene**: repetitions are interleaved (for each repetition: every workload on every "
      "engine, then every system measurement), so a drifting host load affects all engines alike; median "
      "and best are reported. "
      f"`NUMBAVM_LLVM_OPTIONS={m.get('NUMBAVM_LLVM_OPTIONS')!r}` pins LLVM's code alignment for the "
      "numbavm runs, in-process and in the `numbavm boot` subprocesses (emu/ applies it through llvmlite and "
      "keys the Numba cache on it), because block alignment alone moves this loop by up to ~20 %. One "
      "untimed boot of each kind runs before the repetitions, so that the boots are warm (compiled loop in "
      "the disk cache, kernel and firmware in the page cache). The load average, the other processes' CPU "
      "use and the machine are recorded in the JSON (`machine`, `load_before`, `load_after`, "
      "`other_cpu_during_engines`, and `other_cpus_avg` of every raw run in `runs` / `system_runs`).")
    a("")

    # ---------------------------------------------------------------- limits
    a("## What limits numbavm's speed now, and what would lift it")
    a("")
    mb = res.get("microbench") or {}
    base = ld = sd = None
    try:
        mhz = float(m.get("cpu_mhz"))
    except (TypeError, ValueError):
        mhz = None
    a("numbavm runs guest code in two tiers. **The loop** (`emu/loop.py`) is an interpreter compiled "
      "ahead of running: one Numba function that, for every guest instruction, translates the pc (a "
      "one-entry page cache in front of the TLB when paging is on), looks up the pre-decoded instruction "
      "in a direct-mapped decode cache keyed by physical address, unpacks the operands, walks an if-chain "
      "on the op group and then on the op, executes it on the register array in memory and counts it. "
      "**Native regions** (`emu/regions/`) are the second tier: the loop samples the pc once per chunk "
      "(at most 4,096 instructions); a 256-byte window sampled 256 times is hot, and the hart compiles the "
      "code reachable from there inside its 4 KiB page (straight-line code and direct branches, up to 512 "
      "instructions) into one LLVM function through llvmlite. Guest branches become host branches, so a "
      "loop runs as a host loop; a region counts instructions exactly, stops at the loop's budget (timer "
      "interrupts still arrive at the same instruction), leaves for the loop on anything it does not do "
      "itself (a TLB miss, MMIO, a misaligned access, a CSR or system instruction), and jumps straight "
      "into the next region when one starts where it exits. Unicorn and QEMU are dynamic binary "
      "translators (TCG) that translate every block on first use; numbavm translates only what is hot, "
      "so a Linux boot (code run once or a few times) stays in the loop and compiles nothing.")
    a("")
    if mb:
        a("**Per-instruction cost of the loop tier** (`bench/microbench.py`, run by the suite with native "
          "regions off: 512 copies of one instruction and a jump back, 20 M instructions, best of 3, in "
          "M-mode without paging):")
        a("")
        a("| Instruction | ns | host cycles" + (f" at {mhz:.0f} MHz" if mhz else "") + " | MIPS | what it shows |")
        a("|---|---:|---:|---:|---|")
        for k, v in mb.items():
            a(f"| `{k}` | {v['ns']:.2f} | {v['ns'] * mhz / 1e3:.1f} | {v['mips']:.0f} | {v['what']} |" if mhz else
              f"| `{k}` | {v['ns']:.2f} | – | {v['mips']:.0f} | {v['what']} |")
        a("")
        base = mb.get("addi", {}).get("ns")
        ld = mb.get("ld", {}).get("ns")
        sd = mb.get("sd", {}).get("ns")
        a("What these say:")
        a("")
        a(f"* **The floor is the dispatch, not the work.** The cheapest instruction (`addi`) costs "
          f"{f(base, '.1f')} ns{f' (~{base * mhz / 1e3:.0f} host cycles)' if mhz and base else ''}; the ALU "
          "operation itself is one host instruction. Fetch-translate, the decode-cache tag check, operand "
          "unpacking, the op-group and op compares, the write-back to the in-memory register file and the "
          "budget check are paid by every instruction; the depth of the if-chain adds a little (`sraiw`, "
          "`sraw` vs `addi`, `add`)"
          + (f", and a compressed `c.addi` costs {mb['c.addi']['ns']:.2f} ns against {base:.2f} ns (the decode "
             "cache holds it pre-expanded; differences of a few tenths of a ns are within this host's noise)."
             if "c.addi" in mb and base else ".")
          + (f" qemu-riscv64's {min(qcomp):.0f}–{max(qcomp):.0f} MIPS on the compute workloads is "
             f"{1e3 / max(qcomp):.2f}–{1e3 / min(qcomp):.2f} ns per instruction, so the `≥ 0.25× qemu-riscv64` "
             f"target means {0.25 * min(qcomp):.0f}–{0.25 * max(qcomp):.0f} MIPS, "
             f"{4e3 / max(qcomp):.1f}–{4e3 / min(qcomp):.1f} ns per instruction: below this floor, so out of "
             "reach of any change that keeps one dispatch per guest instruction: hence the native regions, "
             "which have none." if qcomp else ""))
        a(f"* **Loads and stores** add ~{f((ld or 0) - (base or 0), '.1f')} ns and ~{f((sd or 0) - (base or 0), '.1f')} ns: "
          "the RAM-bounds and alignment checks, the page-flags check on stores (code pages and HTIF need "
          "to see stores), and, with paging on, the TLB lookup. **Division** is the slowest ALU op "
          "(Python-semantics `//`/`%` fixed up to RISC-V truncation, plus the zero and overflow checks).")
    a("")
    tj = t.get("numbavm-jit", {})
    pc = tj.get("ptrchase", {}).get("mips_median")
    qp = t.get("qemu-user", {}).get("ptrchase", {}).get("mips_median")
    a("Evidence from the workloads:")
    a("")
    gcomp = (tj.get("geomean_by_group") or {}).get("compute")
    if pc and gcomp:
        a(f"* The compute loops all run at about the same speed ({f(gcomp, '.0f')} MIPS geomean), as expected "
          f"when the cost is per instruction. **ptrchase** drops to {f(pc, '.0f')} MIPS: each guest load is a "
          "host cache miss on the 4 MiB array"
          + (f", and QEMU drops with it (qemu-riscv64 {f(qp, '.0f')} MIPS), so there numbavm is closest to "
             "the translators" if qp else "") + ". Unicorn and qemu-system-riscv64 are much slower on it "
          "than on the compute loops — presumably their soft-MMU TLB (system-mode QEMU, which Unicorn is "
          "built from) missing on random accesses over 1,024 pages, where numbavm's bare-metal loads index "
          "guest RAM directly; not investigated further here (nor Unicorn's slowness on memops).")
    if "ratio_median" in lu:
        a(f"* **Paging costs little once the TLB is warm**: the Sv39 user process keeps {lu['ratio_median'] * 100:.0f} % "
          "of bare-metal MIPS with "
          f"{f(med(lu['warm']['tlb_misses']), ',.0f')} TLB misses per 18.6 M-instruction run. The remaining gap "
          "is the per-access TLB lookup on loads and stores, the page-cache check on fetch, and the kernel's "
          "share (tty, timer ticks).")
    if lb.get("prompt_after_start_s") and lb.get("startup_s"):
        a(f"* **Linux boot**: {f(med(lb['startup_s']), '.2f')} s of the {f(med(lb['prompt_after_start_s']), '.2f')} s "
          "is process start-up before the first guest instruction" + (" — importing numba is the largest part " if sb.get("import numba") else "")
          + (f"({f(sb.get('import numba'), '.2f')} s of the {f(sb.get('Machine() + warm_up()'), '.2f')} s to a "
             "ready machine in a fresh process)" if sb.get("import numba") else "")
          + f". The guest's own {f(med(lb.get('prompt_run_s')), '.2f')} s run at "
          f"{f(med(lb.get('prompt_mips')), '.0f')} MIPS (decode-cache misses on code run once, page walks, "
          "device exits).")
    if uf.get("us_per_access"):
        share = med(uf["handler_us_per_access"]) / med(uf["us_per_access"])
        a(f"* **A Python-device access costs {f(med(uf['us_per_access']), '.1f')} µs**"
          + (f" (≈ {med(uf['us_per_access']) * 1e3 / base:.0f} simple instructions)" if base else "")
          + f", {share * 100:.0f} % of it in the device handler (`Machine.device_s`) and the rest in leaving "
          "and re-entering the compiled loop (returning from and calling the Numba dispatcher, re-reading the "
          "state in `the machine's run loop (lifecycle/machine/exits.py Run)`). It matters for a UART-heavy guest, not for compute.")
    a("")
    a("What would lift it, in order of expected gain:")
    a("")
    a("1. **Keep guest registers in host registers across a loop.** Regions read and write the guest "
      "registers in `x[]` (store-to-load forwarding makes that cheap, and every exit then leaves with "
      "nothing to write back); keeping them in SSA values made LLVM 3x slower to compile, because every "
      "side exit then writes them all back. LLVM's loop passes (LICM's scalar promotion) could do it for "
      "loops only, at some compile cost. This is most of the remaining distance to qemu-riscv64 on the "
      "compute loops.")
    a("2. **Cheaper compiles**: LLVM takes 10–200 ms for a region (on the compiler thread, so on this "
      "2-core machine the other core's time, while the guest goes on in the loop); smaller IR per "
      "access (the Sv39 TLB lookup is inline at every load and store) would let a lower hot threshold "
      "pay for itself on short runs and on the Linux boot, which now compiles nothing.")
    a("3. **Memory-bound loops**: a region's load or store still pays the RAM-bounds, alignment and "
      "page-flags checks (and with Sv39 the TLB lookup) on every access; hoisting them out of loops "
      "over one page would let LLVM vectorise `memcpy`/`memset`-like loops, which is where "
      "qemu-riscv64 is furthest ahead (memops).")
    a("4. **Regions across pages under Sv39** (today a region and its direct chaining stay inside one "
      "virtual page, because only that page's translation is known when it is compiled).")
    a("5. **The loop tier**: superinstructions for hot pairs, a dense op switch, fewer live values "
      "(the per-instruction figures above); it still runs all code that is not hot.")
    a("6. **Start-up**: load fewer compiled functions (one cached entry point instead of many `@njit` "
      "functions, each with its own index file), or keep a warm VMM process, to get the boot's "
      "process-start figure towards QEMU's; the guest part of the boot is already a small share.")
    a("7. **Device exits**: serve the UART's LSR and THR in the compiled loop (like the CLINT), leaving "
      "Python only for the bytes, which would remove most of the boot's MMIO exits and the uart-flood's "
      "per-access cost.")
    a("")

    # ---------------------------------------------------------------- published
    a("## Comparison with published figures of Python-hosted emulators (not measured here)")
    a("")
    pym = t.get("numbavm-python", {}).get("geomean", {}).get("mips_median")
    a("| Emulator | Host | Reported speed | numbavm here |")
    a("|---|---|---:|---:|")
    a(f"| Pure-Python RISC-V emulators | CPython | about 1–2 MIPS | plain-Python engine {f(pym, '.2f')} MIPS; "
      f"JIT {f(g, '.0f')} MIPS |")
    a(f"| RPython meta-tracing JIT emulator (Pydgin-style) | PyPy-built binary | ~17 MIPS booting a Buildroot "
      f"Linux | JIT {f(med(lb.get('prompt_mips')), '.0f')} MIPS booting our Linux to its prompt; "
      f"{f(med(lu.get('warm', {}).get('mips')), '.0f')} MIPS for a Linux user process |")
    a("")
    bm = med(lb.get("prompt_mips"))
    um = med(lu.get("warm", {}).get("mips"))
    a("numbavm's plain-Python engine is slower than the pure-Python emulators because it is the JIT's own "
      "source run by CPython (numpy arrays and int64 scalars, written for Numba, not for CPython); it is a "
      "debugging engine. numbavm's JIT is "
      + (f"{g / 1.5:.0f}× the middle of the pure-Python range on the bare-metal workloads" if g else "")
      + (f", {bm / 17:.1f}× the meta-tracing figure on its own (much smaller) Linux boot" if bm else "")
      + (f" and {um / 17:.0f}× it for a user process inside that Linux" if um else "")
      + ". Those are different guests and hosts: order-of-magnitude context, not a ranking.")
    a("")
    if res.get("failures"):
        a("## Failures in this run")
        a("")
        for x in res["failures"]:
            a(f"* {x}")
        a("")
    a("Raw data: `bench/results/latest.json` (and the dated `bench/results/bench-*.json`).")
    a("")
    return "\n".join(L)


def fd_section(res):
    """"Floating-point workloads (F and D)": the FP group's MIPS and ratios in this run, and the
    integer workloads before and after F/D (fd_compare_section)."""
    wls = [w for w in (res.get("groups") or {}).get(FP_GROUP, []) if w in res["settings"]["workloads"]]
    if not wls:
        return []
    s = res["summary"]
    t, ratios = s["table"], s["ratios_jit_over"]
    engines = res["settings"]["engines"]
    L = []
    a = L.append
    a("## Floating-point workloads (F and D)")
    a("")
    a("Three programs of our own (`bench/workloads/`: `nbody.c`, `dmatmul.c`, `firf.c`), built for "
      "RV64GC with the lp64d ABI (`-march=rv64gc -mabi=lp64d -O2 -fno-math-errno`; `-nc`: rv64g). "
      "**nbody**: the Benchmarks Game's n-body step (5 bodies, double precision; `fsqrt.d` and `fdiv.d` "
      "per pair). **dmatmul**: a 64×64 double-precision matrix multiply (a chain of `fmadd.d`), 185 "
      "rounds. **firf**: a single-precision 32-tap FIR filter and a biquad IIR over 8192 samples, "
      "normalised with `fsqrt.s`/`fdiv.s`, quantised with `fcvt.w.s` and fed back, 150 rounds. gcc "
      "contracts `a*b+c` into the fused instructions (GNU C's default `-ffp-contract=fast`). Each folds "
      "the bits of its results into a checksum and compares it with the constant in its source, computed "
      "by a native x86-64 build with hardware FMA (`gcc -O2 -mfma`) and printed alike by qemu-riscv64 and "
      "qemu-system-riscv64; the same build without FMA gives other checksums, so an engine that "
      "rounds the product of a fused multiply-add, or any other result, wrongly prints `MISMATCH` and its "
      "run counts as a failure, not a number. The engines and the method are those of the table above "
      "(Unicorn with `mstatus.FS` on; numbavm JIT = native regions on, the default).")
    a("")
    a("| Engine | " + " | ".join(f"{w} MIPS" for w in wls) + " | "
      + " | ".join(f"{w} MIPS from CPU time" for w in wls) + " |")
    a("|---|" + "---:|" * (2 * len(wls)))
    for e in engines:
        spec = ".2f" if e == "numbavm-python" else ".0f"
        cells = []
        for w in wls:
            c = t[e].get(w, {})
            cells.append("**FAIL**" if c.get("failed") else f"{f(c.get('mips_median'), spec)} ({f(c.get('mips_best'), spec)})")
        cells += [f(t[e].get(w, {}).get("mips_cpu_median"), spec) for w in wls]
        a(f"| {LABELS.get(e, e)} | " + " | ".join(cells) + " |")
    a("")
    nreg = {w: sorted((r.get("regions") or {}).get("regions", 0) for r in res["runs"]
                      if r["engine"] == "numbavm-jit" and r["workload"] == w and r.get("ok")) for w in wls}
    if any(nreg.values()):
        a("Native regions the JIT compiled per run (min–max over the repetitions; 0: the hot loop never "
          "became a region and the whole run was the loop alone): "
          + ", ".join(f"{w} {v[0]}–{v[-1]}" for w, v in nreg.items() if v) + ".")
        if (nreg.get("nbody") or [1])[0] == 0:
            a("A loop becomes hot from the loop's pc samples, one per chunk of 4,096 instructions, taken only "
              "when the chunk ends inside the loop's own instructions (not on an instruction it hands to "
              "another handler, such as F/D arithmetic, `emu/fpu.py`). nbody's step is exactly 512 "
              "instructions, a divisor of 4,096, so every chunk ends on the same instruction; when that is "
              "one the loop hands off, the loop is never sampled and never compiled (with chunks of 4,000 "
              "instructions it is compiled within the first 30 M).")
        a("")
    a("numbavm JIT speed / engine speed (median MIPS; in parentheses from CPU time):")
    a("")
    a("| vs | " + " | ".join(wls) + " | geomean |")
    a("|---|" + "---:|" * (len(wls) + 1))
    for e, r in ratios.items():
        per = r["per_workload"]
        a(f"| {LABELS.get(e, e)} | " + " | ".join(
            f"{f(per.get(w, {}).get('median'), '.3g')} ({f(per.get(w, {}).get('cpu_median'), '.3g')})" for w in wls)
          + f" | {f((r.get('geomean_by_group') or {}).get(FP_GROUP), '.3g')} |")
    a("")
    tg = [x for x in s.get("targets") or [] if f"({FP_GROUP} workloads)" in x["target"]]
    if tg:
        a("Targets (issue 14, with native regions on): " + "; ".join(
            f"{x['target'].replace(f' ({FP_GROUP} workloads)', '')}: {x['value']:.3g}, "
            + ("met" if x["met"] else "**not met**") for x in tg) + ".")
        a("")
    L += fd_compare_section()
    return L


def fd_compare_section(before=None, after=None):
    """The integer workloads before and after F/D: results/fd-before-N.json and fd-after-N.json (runs
    alternated between the two trees, each side pooled by bench/compare.py), or nothing without them."""
    import math
    from bench import compare
    before = sorted(RESULTS.glob("fd-before-*.json")) if before is None else before
    after = sorted(RESULTS.glob("fd-after-*.json")) if after is None else after
    try:
        bs, afs = ([json.loads(Path(p).read_text()) for p in side] for side in (before, after))
    except (OSError, ValueError):
        return []
    if not bs or not afs:
        return []
    engines = set(compare.NUMBAVM)
    lines, worst = compare.table(compare.pooled(bs), compare.pooled(afs), engines)
    cpu_lines, cpu_worst = compare.table(compare.pooled(bs), compare.pooled(afs), engines, "cpu_s")
    if worst is None:
        return []
    L = []
    a = L.append

    def commit(r):
        return str((r.get("machine") or {}).get("git_commit"))[:7]

    def spread(b, af):
        """{engine: (min, geomean, max)} of the CPU-time ratios af / b over the workloads."""
        rb, ra = compare.compute_rows(b, engines, "cpu_s"), compare.compute_rows(af, engines, "cpu_s")
        out = {}
        for (w, e) in set(rb) & set(ra):
            out.setdefault(e, []).append(ra[(w, e)] / rb[(w, e)])
        return {e: (min(v), math.exp(sum(map(math.log, v)) / len(v)), max(v)) for e, v in out.items()}
    a("### The integer workloads before and after F/D")
    a("")
    a("F/D must not slow the integer code. The same `python -m bench` settings on the commit before F/D "
      f"({commit(bs[0])}) and on a later tree with F/D ({commit(afs[0])}), alternated on this host (before, after, before, "
      "after: a drifting load then hits both alike), each from its own `git worktree` with the project's "
      "`.venv` Python and `PYTHONPATH` pointing at the worktree (each tree's compiled loop gets its own "
      "Numba cache directory: emu/ keys it on a hash of its sources). The runs, in order:")
    a("")
    named = sorted([(r, p, "before") for r, p in zip(bs, before)] + [(r, p, "after") for r, p in zip(afs, after)],
                   key=lambda x: x[0]["timestamp_utc"])
    for r, p, tag in named:
        oc = r.get("other_cpu_during_engines")
        a(f"* {tag}, git {commit(r)}: {r['timestamp_utc']}, load {r.get('load_before')} → {r.get('load_after')}"
          + (f", other processes {oc['other_cpus_avg']:.2f} CPUs during the engine runs" if oc else "")
          + f" (`{Path(p).relative_to(ROOT)}`)")
    a("")
    a("```")
    trees = {}
    for r, _p, _tag in named:
        m = r.get("machine") or {}
        trees.setdefault(m.get("source_dir", "TREE"), commit(r))
    for d, c in trees.items():
        a(f"git worktree add {d} {c}")
    for r, p, _tag in named:
        d = (r.get("machine") or {}).get("source_dir", "TREE")
        args = r["command"].split(" -m bench", 1)[-1]
        a(f"cd {d} && PYTHONPATH={d} {ROOT / '.venv' / 'bin' / 'python'} -m bench{args}")
        a(f"# saved as {Path(p).relative_to(ROOT)}")
    pb = ",".join(str(Path(p).relative_to(ROOT)) for p in before)
    pa = ",".join(str(Path(p).relative_to(ROOT)) for p in after)
    a(f".venv/bin/python -m bench.compare {pb} {pa}")
    a(f".venv/bin/python -m bench.compare --cpu {pb} {pa}")
    a("```")
    a("")
    a("Wall time: the median over all repetitions of each side (system items: the process's wall seconds; "
      "the boot's MIPS), after / before; above 1 = slower after:")
    a("")
    L += lines
    a("")
    a(f"Worst after / before: {worst:.2f}.")
    a("")
    a("CPU time of the emulating thread (the figure the other processes disturb least; the native regions' "
      "compiler thread is not in it), after / before:")
    a("")
    L += cpu_lines
    a("")
    sp = spread(compare.pooled(bs), compare.pooled(afs))
    a("From CPU time, after / before over the workloads (min, geomean, max): " + "; ".join(
        f"{LABELS.get(e, e)} {v[0]:.2f}, **{v[1]:.2f}**, {v[2]:.2f}" for e, v in sorted(sp.items()))
      + f" (worst {cpu_worst:.2f}).")
    if len(bs) > 1:
        nb = spread(bs[0], bs[1])
        a("The noise: the second before run / the first, in the same way: " + "; ".join(
            f"{LABELS.get(e, e)} {v[0]:.2f}, {v[1]:.2f}, {v[2]:.2f}" for e, v in sorted(nb.items())) + ".")
    a("")
    return L


def hooks_section(res):
    """"Python hooks, with and without" (bench/hooks.py), or nothing when the run has no such figures."""
    hk = res.get("hooks")
    if not hk or not hk.get("rows"):
        return []
    rows = hk["rows"]
    L = []
    a = L.append
    a("## Python hooks, with and without")
    a("")
    a(f"`Guest.hook_add` (`lifecycle/debug/hooks.py`) calls Python on guest events. `bench/hooks.py` runs "
      f"`{hk['workload']}.elf` on a fresh machine per run, {hk['reps']} interleaved repetition{'s' if hk['reps'] != 1 else ''}, median "
      "(best): the whole workload without hooks and with a `HOOK_CODE` hook on an address that is never "
      f"executed, and a {hk['hot_steps']:,}-instruction slice (after {hk['warm_instructions']:,} untimed "
      "instructions, inside the hot loop) without hooks and with a `HOOK_CODE` hook on the pc where the "
      "untimed part stopped, whose callback only counts. Every run must be right (the whole runs exit 0, "
      "and the unexecuted hook never calls back).")
    a("")
    a("| Run | MIPS | Callbacks |")
    a("|---|---:|---:|")
    names = {"none": "No hooks (whole run)",
             "loop": "No hooks, the loop alone (native regions off)",
             "cold": "A code hook on an address never executed (whole run)",
             "hot-slice": f"No hooks ({hk['hot_steps']:,}-instruction slice)",
             "hot": f"A code hook in the hot loop, at 0x{hk['hot_pc'] or 0:x} (same slice)"}
    for v in ("none", "loop", "cold", "hot-slice", "hot"):
        d = rows.get(v) or {}
        if d.get("skipped") or not d:
            continue
        if d.get("failed"):
            a(f"| {names[v]} | **FAIL** | |")
            continue
        spec = ".2f" if d["mips_median"] < 10 else ".0f"
        a(f"| {names[v]} | {f(d['mips_median'], spec)} ({f(d['mips_best'], spec)}) | {d['callbacks']:,} |")
    a("")
    words = []
    if hk.get("cold_over_none"):
        words.append(f"With hooks installed that never fire the guest keeps **{hk['cold_over_none'] * 100:.0f} %** "
                     "of its speed"
                     + ": the breakpoint table is looked at on decode-cache misses only, and native "
                       "regions end before every hooked address (trap and read hooks turn them off)")
    if hk.get("us_per_callback"):
        words.append(f"a hook that fires costs **{hk['us_per_callback']:.1f} µs** per callback "
                     f"({hk['callbacks_per_s']:,.0f} callbacks/s: the loop's exit, the Python callback, a "
                     "one-instruction step over the breakpoint and the re-entry), so the hook in the hot loop, "
                     f"one callback per {hk['instructions_per_callback']:.1f} instructions, runs the guest at "
                     f"{f(rows['hot']['mips_median'], '.2f')} MIPS. A range hook costs the same for every "
                     "instruction inside its range and nothing outside it")
    if words:
        a("; ".join(words) + ". Without hooks nothing changes: the machine calls the loop itself, as it "
          "does in the rest of this page.")
        a("")
    return L


def write(res, output=DEFAULT_OUTPUT):
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    png = out.with_suffix(".png")
    have_png = plot(res, png)
    out.write_text(render(res, png.name if have_png else "performance.png"))
    return [out] + ([png] if have_png else [])


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.split("\n\n")[0])
    p.add_argument("--input", default=str(DEFAULT_INPUT), help="results JSON (default bench/results/latest.json)")
    p.add_argument("--output", default=str(DEFAULT_OUTPUT), help="Markdown to write (default docs/performance.md)")
    args = p.parse_args(argv)
    try:
        res = json.loads(Path(args.input).read_text())
    except FileNotFoundError:
        print(f"bench.report: error: {args.input} does not exist: run `make bench` first", file=sys.stderr)
        return 2
    paths = write(res, args.output)
    print("wrote " + " and ".join(os.path.relpath(x) for x in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
