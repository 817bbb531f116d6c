"""The benchmark suite: numbavm (JIT and plain Python) and its peers, side by side.

Import order matters: NUMBAVM_LLVM_OPTIONS must be in the environment before
emu/ is imported (emu/__init__.py applies it through llvmlite and keys the
Numba cache directory on it), so call setup_env() first; this module imports
lifecycle.machine.board only inside functions.

Method (see docs/performance.md):
  * interleaved repetitions: for each repetition, for each workload, every
    engine once (A B C D A B C D ...), so drifting host load hits all engines
    alike; min and median over the repetitions are reported;
  * a result counts only if it is right: numbavm must end with reason 'exit'
    and exit code 0 (the workload checked its own checksum); the peers must exit
    0 and print "NAME: ok";
  * MIPS = instructions / wall seconds, where the instructions are the exact
    count numbavm retired on the bare build (RunResult.instret) for every engine;
    every run also records cpu_s (the emulating thread's CPU time, or the QEMU
    process's), and the summary gives MIPS and ratios from it too: on this shared
    2-CPU host it is the figure the other processes disturb least;
  * system workloads (bench/system.py: Linux boot, a Linux user process, UART
    flood, timer interrupts) run once per repetition after the workloads, and the
    summary checks the issue's targets (TARGETS, check_targets()).
"""
from __future__ import annotations

import datetime as _dt
import gc
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (DEFAULT_LLVM_OPTIONS, ROOT, WORKLOAD_DIR, child_env, log,  # noqa: F401 - re-exported
                          numbavm_exe, setup_env, workload_path)

RESULTS_DIR = ROOT / "bench" / "results"
WORKLOADS = ("sieve", "crc32", "matmul", "divrem", "ptrchase", "memops", "qsort", "bytecode",
             "nbody", "dmatmul", "firf")
GROUPS = {"compute": ("sieve", "crc32", "matmul", "divrem"),
          "memory-bound": ("ptrchase", "memops"),
          "branchy": ("qsort", "bytecode"),
          "floating-point": ("nbody", "dmatmul", "firf")}
PY_ENGINE_N = 300_000

# bench/workloads/README.md: qemu-system-riscv64 -icount minstret of the -DBENCH_MEASURE build
README_COUNTS = {
    "sieve": 305_046_194, "crc32": 317_744_555, "matmul": 283_534_368, "divrem": 269_626_476,
    "ptrchase": 177_635_061, "memops": 174_420_387, "qsort": 194_558_075, "bytecode": 235_982_504,
    "nbody": 288_884_348, "dmatmul": 302_073_819, "firf": 285_331_928,
}
README_COUNTS_NC = {
    "sieve": 305_117_697, "crc32": 317_755_752, "matmul": 283_545_258, "divrem": 269_620_224,
    "ptrchase": 177_640_912, "memops": 174_419_825, "qsort": 194_658_112, "bytecode": 235_996_841,
    "nbody": 281_756_309, "dmatmul": 302_071_495, "firf": 285_347_241,
}
# targets of the JIT engine (the performance issue), checked by summarize(); GROUP_TARGETS
# replaces some of them for one group of workloads (issue 14: F/D)
TARGETS = {"unicorn_ratio_min": 1.0, "qemu_user_ratio_min": 0.25, "linux_user_ratio_min": 0.6,
           "python_ratio_min": 500.0, "linux_boot_max_s": 1.0}
GROUP_TARGETS = {"floating-point": {"unicorn_ratio_min": 3.0, "qemu_user_ratio_min": 0.5}}

# engine id -> (label, kind)
ENGINES = {
    "numbavm-jit": "numbavm JIT",
    "numbavm-loop": "numbavm JIT, loop only (no native regions)",
    "numbavm-jit-nc": "numbavm JIT (-nc build, no RVC)",
    "numbavm-python": "numbavm plain Python",
    "unicorn": "Unicorn (user level)",
    "qemu-user": "qemu-riscv64 (user level)",
    "qemu-system": "qemu-system-riscv64 -M spike",
}
PEERS = ("unicorn", "qemu-user", "qemu-system")


# --------------------------------------------------------------------------- machine description

def _cpuinfo():
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" in line:
                    k, v = (s.strip() for s in line.split(":", 1))
                    if k in ("model name", "cpu MHz", "cache size", "flags") and k not in info:
                        info[k] = v
    except OSError:
        pass
    flags = info.pop("flags", "").split()
    info["has_avx2"] = "avx2" in flags
    info["has_avx512f"] = "avx512f" in flags
    return info


def _meminfo_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _git(*args):
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.rstrip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _pkg_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return None


def machine_description():
    cpu = _cpuinfo()
    from bench import peers
    d = {
        "cpu_model": cpu.get("model name", platform.processor() or "unknown"),
        "cpu_mhz": cpu.get("cpu MHz"),
        "cpu_cache": cpu.get("cache size"),
        "cpu_has_avx2": cpu.get("has_avx2"),
        "cpu_has_avx512f": cpu.get("has_avx512f"),
        "logical_cpus": os.cpu_count(),
        "mem_gib": _meminfo_gib(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numba": _pkg_version("numba"),
        "llvmlite": _pkg_version("llvmlite"),
        "numpy": _pkg_version("numpy"),
        "unicorn": _pkg_version("unicorn"),
        "qemu_user": peers.qemu_user_available()[1],
        "qemu_system": peers.qemu_system_available()[1],
        "git_commit": _git("rev-parse", "HEAD").strip() or os.environ.get("BENCH_SOURCE_COMMIT"),
        "git_dirty_files": [l[3:] for l in _git("status", "--porcelain").splitlines() if l.strip()],
        "source_dir": str(ROOT),
        "NUMBAVM_LLVM_OPTIONS": os.environ.get("NUMBAVM_LLVM_OPTIONS"),
        "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR"),
    }
    return d


def loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def cpu_sample():
    """(system-wide busy CPU seconds from /proc/stat, this process + children CPU seconds, wall)."""
    busy = None
    try:
        with open("/proc/stat") as fh:
            v = [int(x) for x in fh.readline().split()[1:]]
        hz = os.sysconf("SC_CLK_TCK")
        busy = (sum(v) - v[3] - (v[4] if len(v) > 4 else 0)) / hz     # minus idle and iowait
    except (OSError, ValueError, IndexError):
        pass
    t = os.times()
    return busy, t.user + t.system + t.children_user + t.children_system, time.perf_counter()


def other_cpu(before, after):
    """CPU seconds other processes used between two cpu_sample()s, and as a fraction of one CPU."""
    if before[0] is None or after[0] is None:
        return None
    wall = after[2] - before[2]
    other = max(0.0, (after[0] - before[0]) - (after[1] - before[1]))
    return {"other_cpu_s": round(other, 2), "wall_s": round(wall, 2),
            "other_cpus_avg": max(0.0, round(other / wall, 3)) if wall > 0 else None}


def wait_idle(max_wait_s, threshold=0.25, window_s=5.0):
    """Wait (up to max_wait_s) until other processes use < threshold CPUs over a window. -> waited s, idle?"""
    t0 = time.perf_counter()
    while True:
        a = cpu_sample()
        time.sleep(window_s)
        oc = other_cpu(a, cpu_sample())
        if oc is None or oc["other_cpus_avg"] < threshold:
            return time.perf_counter() - t0, True
        if time.perf_counter() - t0 > max_wait_s:
            return time.perf_counter() - t0, False
        log(f"bench: waiting for an idle host (other processes use {oc['other_cpus_avg']:.2f} CPUs) ...")


def busy_processes(min_cpu=20.0):
    """Other processes using CPU right now (ps %cpu is a lifetime average; good enough as a hint)."""
    try:
        out = subprocess.run(["ps", "-eo", "pid,pcpu,args", "--sort=-pcpu"], capture_output=True,
                             text=True, timeout=10).stdout.splitlines()[1:]
    except (OSError, subprocess.SubprocessError):
        return []
    me, res = os.getpid(), []
    for line in out[:10]:
        parts = line.split(None, 2)
        if len(parts) == 3 and int(parts[0]) != me and float(parts[1]) >= min_cpu:
            res.append(f"{parts[0]} {parts[1]}% {parts[2][:80]}")
    return res


# --------------------------------------------------------------------------- numbavm

def run_jit(path, regions=True):
    """One in-process JIT run on a fresh Machine -> result dict (ok only if exit code 0).
    regions=False: the loop alone (the interpreter tier, emu/loop.py), no native regions."""
    import io
    from lifecycle.machine.board import Machine
    console = io.BytesIO()
    m = Machine(memory=128 << 20, engine="jit", console=console)
    if not regions:
        m.hart.stop_regions()
    m.load(path)
    m.warm_up()
    gc.collect()
    c0 = time.thread_time()
    r = m.run()
    cpu = time.thread_time() - c0
    out = console.getvalue().decode("latin-1").strip()
    ok = r.reason == "exit" and r.exit_code == 0
    err = None if ok else f"{r.reason} (exit code {r.exit_code}) {r.message} {out[-120:]!r}"
    rg = m.hart.regions
    return {"ok": ok, "wall_s": r.wall_s, "cpu_s": cpu, "instret": r.instret, "exit_code": r.exit_code,
            "output": out, "error": err, "compile_s": m.compile_s,
            "regions": rg.stats() if rg is not None else None}


def run_python(path, n=PY_ENGINE_N, skip=0, timeout_s=300):
    """The plain-Python engine in a subprocess (NUMBA_DISABLE_JIT=1): N instructions after SKIP."""
    env = child_env(NUMBA_DISABLE_JIT="1")
    cmd = [sys.executable, "-m", "bench.pyengine", path, str(n), str(skip)]
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout_s} s"}
    try:
        d = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "error": f"exit status {p.returncode}: {p.stderr.strip()[-300:]}"}
    # the budget is in steps (instructions + traps taken): a program taking interrupts
    # (timerirq) retires a little fewer than n
    d["ok"] = "error" not in d and d.get("reason") == "budget" and n * 0.95 <= d.get("instret", 0) <= n
    if not d["ok"] and "error" not in d:
        d["error"] = f"retired {d.get('instret')} instructions ({d.get('reason')}), expected {n}"
    return d


def run_jit_slice(path, n=PY_ENGINE_N):
    """The JIT on exactly the slice the plain-Python engine times (bench/pyengine.py, skip 'bss').

    -> {"ok", "wall_s", "instret"}: the same instructions, so JIT/Python on it is a
    per-instruction ratio on equal work (the whole-program ratio compares different mixes).
    """
    import io
    from lifecycle.machine.board import Machine
    m = Machine(memory=128 << 20, engine="jit", console=io.BytesIO())
    m.load(path)
    m.warm_up()
    syms = m.image.symbols
    r0 = m.run(max_instructions=6)
    h = m.hart
    if r0.reason != "budget" or int(h.x[5]) != syms.get("__bss_start") or int(h.x[6]) != syms.get("__bss_end"):
        return {"ok": False, "error": "the program does not start with crt0's bss loop"}
    h.x[5] = h.x[6]
    m.run(max_instructions=2_000)
    gc.collect()
    r = m.run(max_instructions=n)
    ok = r.reason == "budget" and n * 0.95 <= r.instret <= n
    return {"ok": ok, "wall_s": r.wall_s, "instret": r.instret,
            "error": None if ok else f"{r.reason} after {r.instret} instructions"}


_STAT_RE = {
    "jit_compile_s": re.compile(r"JIT compile/load\s*:\s*([0-9.]+) s"),
    "startup_s": re.compile(r"start-up\s*:\s*([0-9.]+) s"),
    "stats_wall_s": re.compile(r"wall time\s*:\s*([0-9.]+) s"),
}


def cli_stats(program, extra_env=None, budget="1000", timeout_s=600):
    """`numbavm run PROGRAM -n BUDGET --stats` in a subprocess; parse its stats lines."""
    env = child_env(**(extra_env or {}))
    cmd = numbavm_exe() + ["run", program, "--max-instructions", budget, "--stats"]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout_s} s"}
    wall = time.perf_counter() - t0
    d = {"process_wall_s": wall, "exit_status": p.returncode}
    for k, rx in _STAT_RE.items():
        mm = rx.search(p.stderr)
        d[k] = float(mm.group(1)) if mm else None
    d["ok"] = p.returncode == 124 and d["startup_s"] is not None
    if not d["ok"]:
        d["error"] = f"exit status {p.returncode}: {p.stderr.strip()[-300:]}"
    return d


STARTUP_STEPS = [
    ("python", "pass"),
    ("import numpy", "import numpy"),
    ("import numba", "import numba"),
    ("import lifecycle.machine.board", "import lifecycle.machine.board"),
    ("Machine() + warm_up()", "import io, lifecycle.machine.board as m; m.Machine(memory=1 << 20, console=io.BytesIO()).warm_up()"),
]


def startup_breakdown(reps=3):
    """Wall time of `python -c STEP` for cumulative start-up steps (median of reps), in seconds."""
    out = {}
    for name, code in STARTUP_STEPS:
        xs = []
        for _ in range(reps):
            t0 = time.perf_counter()
            p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child_env(), capture_output=True,
                               timeout=300)
            if p.returncode != 0:
                break
            xs.append(time.perf_counter() - t0)
        out[name] = _med(xs) if xs else None
    return out


def compile_time(program):
    """First run with a fresh, empty NUMBA_CACHE_DIR (full compile), then a second run on it."""
    with tempfile.TemporaryDirectory(prefix="numbavm-bench-cache-") as tmp:
        first = cli_stats(program, {"NUMBA_CACHE_DIR": tmp})
        second = cli_stats(program, {"NUMBA_CACHE_DIR": tmp})
    return {"fresh_cache": first, "same_cache_again": second}


def stop_latency(reps=20):
    """bench/stop_latency.py: GuestLifecycle stop() latency under a tight loop and under wfi,
    and the time of one create/run/stop cycle.  -> the summary's shape (seconds)."""
    from bench import stop_latency as sl
    try:
        r = sl.measure(reps)
    except Exception as e:      # noqa: BLE001 - a failure, reported
        return {"reps": 0, "error": f"{type(e).__name__}: {e}"}
    out = {"reps": reps, "method": "GuestLifecycle create / run in a thread / stop (bench/stop_latency.py)"}
    for name in ("tight_loop", "wfi"):
        d = r[name]
        xs = sorted(d["latency_s"])
        out[name] = {"p50_s": d["p50_ms"] / 1e3, "p99_s": d["p99_ms"] / 1e3, "max_s": d["max_ms"] / 1e3,
                     "min_s": xs[0], "latency_s": d["latency_s"]}
    c = r["cycle"]
    out["cycle"] = {"p50_s": c["p50_ms"] / 1e3, "p99_s": c["p99_ms"] / 1e3, "min_s": c["min_ms"] / 1e3,
                    "create_p50_s": c["create_p50_ms"] / 1e3, "cycle_s": c["cycle_s"]}
    # the tight loop is the headline figure (as before)
    out.update(p50_s=out["tight_loop"]["p50_s"], p99_s=out["tight_loop"]["p99_s"],
               max_s=out["tight_loop"]["max_s"])
    return out


# --------------------------------------------------------------------------- the suite

def available_engines():
    from bench import peers
    avail = {"numbavm-jit": (True, "in-process"), "numbavm-jit-nc": (True, "in-process"),
             "numbavm-loop": (True, "in-process, native regions off"),
             "numbavm-python": (True, "subprocess, NUMBA_DISABLE_JIT=1"),
             "unicorn": peers.unicorn_available(),
             "qemu-user": peers.qemu_user_available(),
             "qemu-system": peers.qemu_system_available()}
    return avail


def _one(engine, wl, py_n):
    from bench import peers
    if engine == "numbavm-jit":
        return run_jit(workload_path(wl))
    if engine == "numbavm-jit-nc":
        return run_jit(workload_path(wl, "-nc"))
    if engine == "numbavm-loop":
        return run_jit(workload_path(wl), regions=False)
    if engine == "numbavm-python":
        r = run_python(workload_path(wl), py_n, "bss")
        if r.get("ok"):
            js = run_jit_slice(workload_path(wl), py_n)
            r["jit_slice_wall_s"] = js["wall_s"] if js["ok"] and js["instret"] == r["instret"] else None
        return r
    gc.collect()
    if engine == "unicorn":
        return peers.unicorn_run(workload_path(wl, "-linux"))
    if engine == "qemu-user":
        return peers.qemu_user_run(workload_path(wl, "-linux"))
    if engine == "qemu-system":
        return peers.qemu_system_run(workload_path(wl))
    raise ValueError(engine)


def _startup_probes(engines, tmpdir):
    """Per-repetition start-up cost of the QEMU processes (an exit-at-once program)."""
    from bench import peers
    out = {}
    if "qemu-user" in engines:
        tiny = peers.startup_elf(os.path.join(tmpdir, "exit0-linux.elf"))
        r = peers._process_result(*peers._timed_process([peers._which(peers.QEMU_USER), tiny], 30),
                                  need_ok=False)
        out["qemu-user"] = r["wall_s"] if r["ok"] else None
    if "qemu-system" in engines:
        hello = str(ROOT / "tests" / "guest" / "bin" / "hello.elf")
        if os.path.exists(hello):
            r = peers.qemu_system_run(hello, 30, need_ok=False)
            out["qemu-system"] = r["wall_s"] if r["ok"] else None
    return out


SYSTEM_PY_N = 100_000      # plain-Python slice of uartflood / timerirq


def run_suite(workloads=WORKLOADS, reps=5, engines=None, py_n=PY_ENGINE_N, stop_reps=20,
              control=True, compile_check=True, quick=False, wait_idle_s=0, system=None):
    """system: the system items to measure (bench.system.SYSTEM_ITEMS; None = all, () = none)."""
    from bench import system as sysb
    waited = None
    if wait_idle_s:
        waited = wait_idle(wait_idle_s)
        if not waited[1]:
            log(f"bench: warning: the host did not become idle in {wait_idle_s} s; measuring anyway")
    t_suite = time.perf_counter()
    avail = available_engines()
    engines = list(engines or ENGINES)
    skipped = {}
    for e in list(engines):
        ok, why = avail[e]
        if not ok:
            skipped[e] = why
            engines.remove(e)
            print(f"bench: skipping {ENGINES[e]}: {why}", flush=True)
    sys_items = list(sysb.SYSTEM_ITEMS if system is None else system)
    sys_skipped = {}
    if sys_items:
        log("bench: system workloads: finding the bundled Linux guest (lifecycle/guests/linux/build.sh) ...")
        for it, (ok, why) in sysb.available(sys_items).items():
            if not ok:
                sys_skipped[it] = why
                sys_items.remove(it)
                print(f"bench: skipping {it}: {why}", flush=True)
    sys_py = [w for w, it in (("uartflood", "uart-flood"), ("timerirq", "timer-irq"))
              if it in sys_items and "numbavm-python" in engines]

    res = {
        "schema": 1,
        "timestamp_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join([os.path.basename(sys.executable), "-m", "bench"] + sys.argv[1:]),
        "quick": quick,
        "machine": None,
        "load_before": loadavg(),
        "busy_processes_before": busy_processes(),
        "settings": {"reps": reps, "workloads": list(workloads), "engines": engines,
                     "python_engine_instructions": py_n, "stop_reps": stop_reps,
                     "system": sys_items, "system_python_instructions": SYSTEM_PY_N},
        "groups": {g: [w for w in ws if w in workloads] for g, ws in GROUPS.items()},
        "engines": {e: ENGINES[e] for e in engines},
        "skipped": skipped,
        "system_skipped": sys_skipped,
        "system_runs": [],
        "peer_versions": {e: avail[e][1] for e in engines},
        "readme_counts": {w: README_COUNTS.get(w) for w in workloads},
        "readme_counts_nc": {w: README_COUNTS_NC.get(w) for w in workloads},
        "runs": [],
        "startup_probes": [],
        "waited_for_idle_s": None if waited is None else round(waited[0], 1),
        "host_was_idle_at_start": None if waited is None else waited[1],
    }

    # the in-process JIT: compile (or load from the disk cache) before anything is timed
    from lifecycle.machine.board import Machine
    import io
    t = time.perf_counter()
    mw = Machine(memory=1 << 20, engine="jit", console=io.BytesIO())
    mw.warm_up()
    res["in_process_warm_up_s"] = time.perf_counter() - t
    res["machine"] = machine_description()      # after emu/ set NUMBA_CACHE_DIR
    log(f"bench: in-process JIT ready in {res['in_process_warm_up_s']:.2f} s; "
        f"load average {res['load_before']}")
    if res["busy_processes_before"]:
        log("bench: warning: other processes are using CPU: " + "; ".join(res["busy_processes_before"]))

    failures = []
    if sys_items:
        # untimed: the boot subprocesses load the loop from the disk cache the in-process
        # warm-up has just filled, and the kernel, firmware and QEMU come into the page cache
        for it in [i for i in sys_items if i.startswith("linux-boot")]:
            log(f"bench: warm-up run of {it} (untimed) ...")
            r = sysb.run_item(it)
            if not r.get("ok"):
                log(f"bench: warning: the warm-up {it} failed: {r.get('error')}")
    cpu0 = cpu_sample()
    with tempfile.TemporaryDirectory(prefix="numbavm-bench-") as tmp:
        for rep in range(reps):
            for wl in workloads:
                for e in engines:
                    c0 = cpu_sample()
                    r = _one(e, wl, py_n)
                    oc = other_cpu(c0, cpu_sample())
                    r["other_cpus_avg"] = oc["other_cpus_avg"] if oc else None
                    r.update(rep=rep, workload=wl, engine=e)
                    if r.get("ok"):
                        r.pop("output", None)        # keep the guest's output only for failures
                    res["runs"].append(r)
                    if not r.get("ok"):
                        failures.append(f"{e} {wl} rep {rep}: {r.get('error')}")
                        log(f"bench: FAIL {e} {wl}: {r.get('error')}")
                    else:
                        log(f"bench: rep {rep + 1}/{reps} {wl:7s} {e:15s} {r['wall_s']:8.3f} s")
            probe = _startup_probes(engines, tmp)
            probe["rep"] = rep
            res["startup_probes"].append(probe)
            for it in sys_items:
                c0 = cpu_sample()
                r = sysb.run_item(it)
                oc = other_cpu(c0, cpu_sample())
                r["other_cpus_avg"] = oc["other_cpus_avg"] if oc else None
                r.update(rep=rep, item=it)
                res["system_runs"].append(r)
                if not r.get("ok"):
                    failures.append(f"{it} rep {rep}: {r.get('error')}")
                    log(f"bench: FAIL {it}: {r.get('error')}")
                else:
                    t = r.get("prompt_after_start_s") or r.get("wall_s") or 0
                    log(f"bench: rep {rep + 1}/{reps} system {it:19s} {t:8.3f} s")
            for w in sys_py:
                r = run_python(workload_path(w), SYSTEM_PY_N, "bss")
                r.update(rep=rep, item=f"{w}-python")
                res["system_runs"].append(r)
                if not r.get("ok"):
                    failures.append(f"numbavm-python {w} rep {rep}: {r.get('error')}")
                    log(f"bench: FAIL numbavm-python {w}: {r.get('error')}")

    cpu1 = cpu_sample()
    if control:
        log("bench: control plane: stop latency ...")
        res["stop_latency"] = stop_latency(stop_reps)
        log("bench: control plane: cached start-up ...")
        prog = workload_path("sieve")
        res["startup_cached"] = [cli_stats(prog) for _ in range(reps if not quick else 1)]
        log("bench: control plane: start-up breakdown ...")
        res["startup_breakdown"] = startup_breakdown(1 if quick else 3)
        log("bench: instruction classes (bench/microbench.py) ...")
        try:
            from bench import microbench
            res["microbench"] = microbench.measure(5_000_000 if quick else 20_000_000, 1 if quick else 3)
        except Exception as e:      # noqa: BLE001 - evidence only, not a result
            log(f"bench: warning: the instruction-class measurement failed: {e}")
        log("bench: hooks: with and without (bench/hooks.py) ...")
        try:
            from bench import hooks as hooks_bench
            res["hooks"] = hooks_bench.measure(1 if quick else 3, log=log)
            failures += res["hooks"]["failures"]
        except Exception as e:      # noqa: BLE001 - reported, the rest of the suite stands
            log(f"bench: warning: the hooks measurement failed: {type(e).__name__}: {e}")
            failures.append(f"hooks: {type(e).__name__}: {e}")
        if compile_check:
            log("bench: control plane: first-run compile with an empty NUMBA_CACHE_DIR (slow) ...")
            res["compile"] = compile_time(prog)

    res["load_after"] = loadavg()
    res["other_cpu_during_engines"] = other_cpu(cpu0, cpu1)
    res["other_cpu_during_suite"] = other_cpu(cpu0, cpu_sample())
    res["suite_wall_s"] = time.perf_counter() - t_suite
    res["failures"] = failures
    res["summary"] = summarize(res)
    return res


# --------------------------------------------------------------------------- summary

def _med(xs):
    return statistics.median(xs) if xs else None


def summarize(res):
    runs = res["runs"]
    workloads = res["settings"]["workloads"]
    engines = res["settings"]["engines"]
    # instruction counts: numbavm's exact count of the bare build (deterministic), else README
    counts, counts_nc = {}, {}
    for wl in workloads:
        c = {r["instret"] for r in runs if r["engine"] == "numbavm-jit" and r["workload"] == wl and r["ok"]}
        counts[wl] = c.pop() if len(c) == 1 else README_COUNTS.get(wl)
        c = {r["instret"] for r in runs if r["engine"] == "numbavm-jit-nc" and r["workload"] == wl and r["ok"]}
        counts_nc[wl] = c.pop() if len(c) == 1 else README_COUNTS_NC.get(wl)
    startup = {}
    for k in ("qemu-user", "qemu-system"):
        xs = [p[k] for p in res.get("startup_probes", []) if p.get(k) is not None]
        startup[k] = _med(xs)

    table = {}
    for e in engines:
        table[e] = {}
        for wl in workloads:
            rs = [r for r in runs if r["engine"] == e and r["workload"] == wl]
            good = [r for r in rs if r.get("ok")]
            cell = {"n": len(good), "failed": len(rs) - len(good)}
            if good and len(good) == len(rs):
                walls = sorted(r["wall_s"] for r in good)
                if e == "numbavm-python":
                    n = good[0]["instret"]
                elif e == "numbavm-jit-nc":
                    n = counts_nc[wl]
                else:
                    n = counts[wl]
                cell.update(instructions=n, wall_min_s=walls[0], wall_median_s=_med(walls),
                            mips_best=n / walls[0] / 1e6, mips_median=n / _med(walls) / 1e6)
                cpus = sorted(r["cpu_s"] for r in good if r.get("cpu_s"))
                if len(cpus) == len(good):
                    cell.update(cpu_median_s=_med(cpus), mips_cpu_median=n / _med(cpus) / 1e6,
                                mips_cpu_best=n / cpus[0] / 1e6)
                if e in startup and startup[e]:
                    net = _med(walls) - startup[e]
                    cell["startup_s"] = startup[e]
                    cell["mips_median_net"] = n / net / 1e6 if net > 0 else None
            table[e][wl] = cell

    def geomean(xs):
        xs = [x for x in xs if x]
        if not xs:
            return None
        p = 1.0
        for x in xs:
            p *= x
        return p ** (1 / len(xs))

    ratios = {}
    jit = table.get("numbavm-jit", {})
    for e in engines:
        if e == "numbavm-jit":
            continue
        per = {}
        for wl in workloads:
            a, b = jit.get(wl, {}), table[e].get(wl, {})
            if a.get("mips_median") and b.get("mips_median"):
                per[wl] = {"median": a["mips_median"] / b["mips_median"],
                           "best": a["mips_best"] / b["mips_best"]}
                if a.get("mips_cpu_median") and b.get("mips_cpu_median"):
                    per[wl]["cpu_median"] = a["mips_cpu_median"] / b["mips_cpu_median"]
                if b.get("mips_median_net"):
                    per[wl]["median_net"] = a["mips_median"] / b["mips_median_net"]
        ratios[e] = {"per_workload": per,
                     "geomean_median": geomean([v["median"] for v in per.values()]),
                     "geomean_best": geomean([v["best"] for v in per.values()]),
                     "geomean_cpu_median": geomean([v.get("cpu_median") for v in per.values()])}
        if any("median_net" in v for v in per.values()):
            ratios[e]["geomean_median_net"] = geomean([v.get("median_net") for v in per.values()])
        if e == "numbavm-python":
            for wl in workloads:
                rs = [r for r in runs if r["engine"] == e and r["workload"] == wl and r.get("ok")
                      and r.get("jit_slice_wall_s")]
                if rs and wl in per:
                    py = _med([r["instret"] / r["wall_s"] for r in rs])
                    jit_ = _med([r["instret"] / r["jit_slice_wall_s"] for r in rs])
                    per[wl]["same_slice"] = jit_ / py
                    per[wl]["jit_slice_mips"] = jit_ / 1e6
            ratios[e]["geomean_same_slice"] = geomean([v.get("same_slice") for v in per.values()])
        ratios[e]["geomean_by_group"] = {
            g: geomean([per[w]["median"] for w in ws if w in per])
            for g, ws in GROUPS.items() if any(w in per for w in ws)}
    for e in engines:
        table[e]["geomean"] = {"mips_median": geomean([table[e][w].get("mips_median") for w in workloads]),
                               "mips_best": geomean([table[e][w].get("mips_best") for w in workloads]),
                               "mips_cpu_median": geomean([table[e][w].get("mips_cpu_median") for w in workloads])}
        table[e]["geomean_by_group"] = {
            g: geomean([table[e][w].get("mips_median") for w in ws if w in workloads])
            for g, ws in GROUPS.items() if any(w in workloads for w in ws)}

    summ = {"instructions": counts, "instructions_nc": counts_nc, "table": table,
            "ratios_jit_over": ratios, "startup_probe_median_s": startup}
    ctl = {}
    if "stop_latency" in res:
        sl = res["stop_latency"]
        ctl["stop_latency_p50_s"] = sl.get("p50_s")
        ctl["stop_latency_p99_s"] = sl.get("p99_s")
        ctl["stop_latency_max_s"] = sl.get("max_s")
        for k in ("wfi", "cycle"):
            if k in sl:
                ctl[f"{k}_p50_s"] = sl[k]["p50_s"]
                ctl[f"{k}_p99_s"] = sl[k]["p99_s"]
        if "cycle" in sl:
            ctl["cycle_create_p50_s"] = sl["cycle"]["create_p50_s"]
    if res.get("startup_cached"):
        good = [d for d in res["startup_cached"] if d.get("ok")]
        ctl["cached_startup_median_s"] = _med([d["startup_s"] for d in good])
        ctl["cached_startup_min_s"] = min((d["startup_s"] for d in good), default=None)
        ctl["cached_jit_load_median_s"] = _med([d["jit_compile_s"] for d in good if d["jit_compile_s"] is not None])
        ctl["cached_process_wall_median_s"] = _med([d["process_wall_s"] for d in good])
    if res.get("compile"):
        f, s = res["compile"]["fresh_cache"], res["compile"]["same_cache_again"]
        ctl["first_run_jit_compile_s"] = f.get("jit_compile_s")
        ctl["first_run_startup_s"] = f.get("startup_s")
        ctl["first_run_process_wall_s"] = f.get("process_wall_s")
        ctl["second_run_jit_load_s"] = s.get("jit_compile_s")
        ctl["second_run_startup_s"] = s.get("startup_s")
    summ["control"] = ctl
    summ["system"] = summarize_system(res)
    summ["targets"] = check_targets(res, summ)
    return summ


def _stats(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return {"n": 0}
    return {"n": len(xs), "median": _med(xs), "min": min(xs), "max": max(xs)}


def summarize_system(res):
    """Medians (and min/max) of the system measurements; None for what did not run or failed."""
    runs = res.get("system_runs", [])
    out = {}

    def good(item):
        rs = [r for r in runs if r.get("item") == item]
        if not rs or not all(r.get("ok") for r in rs):
            return None if not rs else False
        return rs

    boot = {}
    for it in ("linux-boot", "linux-boot-opensbi", "linux-boot-qemu"):
        rs = good(it)
        if rs is None:
            continue
        if rs is False:
            boot[it] = {"failed": True}
            continue
        d = {"prompt_after_start_s": _stats([r.get("prompt_after_start_s") for r in rs]),
             "process_wall_s": _stats([r.get("process_wall_s") for r in rs]),
             "process_cpu_s": _stats([r.get("process_cpu_s") for r in rs])}
        if it != "linux-boot-qemu":
            d.update(prompt_run_s=_stats([r.get("prompt_run_s") for r in rs]),
                     prompt_instructions=rs[0].get("prompt_instructions"),
                     prompt_mips=_stats([r.get("prompt_mips") for r in rs]),
                     startup_s=_stats([r.get("startup_s") for r in rs]),
                     mmio_exits=rs[0].get("mmio_exits"), sbi_calls=rs[0].get("sbi_calls"),
                     device_s=_stats([r.get("device_s") for r in rs]),
                     traps=rs[0].get("traps"), interrupts=rs[0].get("interrupts"),
                     tlb_misses=rs[0].get("tlb_misses"))
        boot[it] = d
    if boot:
        out["linux_boot"] = boot

    lu, bare = good("linux-user"), good("usersieve")
    if lu is not None or bare is not None:
        d = {}
        if lu:
            warm = [x for r in lu for x in r["runs"][1:]]
            cold = [r["runs"][0] for r in lu]
            d["warm"] = {"runs": len(warm), "mips": _stats([x["mips"] for x in warm]),
                         "mips_cpu": _stats([x.get("mips_cpu") for x in warm]),
                         "instret": _stats([x["instret"] for x in warm]),
                         "wall_s": _stats([x["wall_s"] for x in warm]),
                         "tlb_misses": _stats([x["tlb_misses"] for x in warm]),
                         "interrupts": _stats([x["interrupts"] for x in warm]),
                         "traps": _stats([x["traps"] for x in warm]),
                         "mmio_exits": _stats([x["mmio_exits"] for x in warm])}
            d["cold"] = {"runs": len(cold), "mips": _stats([x["mips"] for x in cold]),
                         "instret": _stats([x["instret"] for x in cold]),
                         "tlb_misses": _stats([x["tlb_misses"] for x in cold]),
                         "traps": _stats([x["traps"] for x in cold])}
        elif lu is False:
            d["failed_linux"] = True
        if bare:
            d["bare"] = {"mips": _stats([r["mips"] for r in bare]), "instret": bare[0]["instret"],
                         "mips_cpu": _stats([r.get("mips_cpu") for r in bare]),
                         "wall_s": _stats([r["wall_s"] for r in bare])}
        elif bare is False:
            d["failed_bare"] = True
        if lu and bare:
            d["ratio_median"] = d["warm"]["mips"]["median"] / d["bare"]["mips"]["median"]
            d["ratio_best"] = d["warm"]["mips"]["max"] / d["bare"]["mips"]["max"]
            if d["warm"]["mips_cpu"].get("n") and d["bare"]["mips_cpu"].get("n"):
                d["ratio_cpu_median"] = d["warm"]["mips_cpu"]["median"] / d["bare"]["mips_cpu"]["median"]
        out["linux_user"] = d

    def py_mips(w):
        rs = [r for r in runs if r.get("item") == f"{w}-python" and r.get("ok")]
        return _stats([r["instret"] / r["wall_s"] / 1e6 for r in rs]) if rs else None

    rs = good("uart-flood")
    if rs:
        out["uart_flood"] = {"mips": _stats([r["mips"] for r in rs]), "instret": rs[0]["instret"],
                             "wall_s": _stats([r["wall_s"] for r in rs]), "mmio_exits": rs[0]["mmio_exits"],
                             "bytes": rs[0].get("bytes"),
                             "us_per_access": _stats([r["us_per_access"] for r in rs]),
                             "us_per_access_cpu": _stats([r.get("us_per_access_cpu") for r in rs]),
                             "handler_us_per_access": _stats([r["handler_us_per_access"] for r in rs]),
                             "python_mips": py_mips("uartflood")}
    elif rs is False:
        out["uart_flood"] = {"failed": True}
    rs = good("timer-irq")
    if rs:
        out["timer_irq"] = {"mips": _stats([r["mips"] for r in rs]), "instret": rs[0]["instret"],
                            "mips_cpu": _stats([r.get("mips_cpu") for r in rs]),
                            "wall_s": _stats([r["wall_s"] for r in rs]), "interrupts": rs[0]["interrupts"],
                            "instructions_per_interrupt": rs[0]["instructions_per_interrupt"],
                            "python_mips": py_mips("timerirq")}
    elif rs is False:
        out["timer_irq"] = {"failed": True}
    return out


def check_targets(res, summ):
    """The JIT engine's targets (TARGETS) -> [{"target", "value", "threshold", "met", "detail"}]."""
    out = []
    ratios = summ["ratios_jit_over"]
    wls = res["settings"]["workloads"]

    def add(name, value, threshold, met, detail=""):
        out.append({"target": name, "value": value, "threshold": threshold, "met": met, "detail": detail})

    for peer, key, label in (("unicorn", "unicorn_ratio_min", "Unicorn"),
                             ("qemu-user", "qemu_user_ratio_min", "qemu-riscv64")):
        if peer not in ratios:
            continue
        per = ratios[peer]["per_workload"]
        for g, ws in GROUPS.items():
            vals = {w: per[w]["median"] for w in ws if w in per}
            if not vals:
                continue
            thr = GROUP_TARGETS.get(g, {}).get(key, TARGETS[key])
            met = [w for w, v in vals.items() if v >= thr]
            best = {w: per[w]["best"] for w in vals}
            cpu = {w: per[w].get("cpu_median") for w in vals}
            add(f"JIT / {label} >= {thr:g} ({g} workloads)", min(vals.values()), thr,
                len(met) == len(vals),
                ", ".join(f"{w} {v:.3g}" for w, v in vals.items())
                + "; best/best: " + ", ".join(f"{w} {v:.3g}" for w, v in best.items())
                + ("; CPU time: " + ", ".join(f"{w} {v:.3g}" for w, v in cpu.items())
                   if all(cpu.values()) else ""))
    if "numbavm-python" in ratios:
        per = ratios["numbavm-python"]["per_workload"]
        thr = TARGETS["python_ratio_min"]
        gm = ratios["numbavm-python"]["geomean_median"]
        if per and gm:
            ss = ratios["numbavm-python"].get("geomean_same_slice")
            add(f"JIT / plain Python >= {thr:g} per instruction (geomean over the workloads)", gm, thr, gm >= thr,
                f"min {min(v['median'] for v in per.values()):.0f}, max {max(v['median'] for v in per.values()):.0f}"
                + (f"; on the same slice {ss:.0f}" if ss else "") + "; "
                + ", ".join(f"{w} {per[w]['median']:.0f}" for w in wls if w in per))
    sy = summ.get("system", {})
    lu = sy.get("linux_user", {})
    if "ratio_median" in lu:
        thr = TARGETS["linux_user_ratio_min"]
        add(f"Linux user process (Sv39) / bare metal >= {thr:g}", lu["ratio_median"], thr,
            lu["ratio_median"] >= thr,
            f"{lu['warm']['mips']['median']:.0f} vs {lu['bare']['mips']['median']:.0f} MIPS; best/best "
            f"{lu['ratio_best']:.3g}" + (f"; CPU time {lu['ratio_cpu_median']:.3g}" if lu.get("ratio_cpu_median") else ""))
    lb = sy.get("linux_boot", {}).get("linux-boot", {})
    if "prompt_after_start_s" in lb:
        thr = TARGETS["linux_boot_max_s"]
        v = lb["prompt_after_start_s"]["median"]
        add(f"Linux boot to the prompt <= {thr:g} s warm (built-in SBI, process start to prompt)", v, thr,
            v <= thr, f"median {v:.3f} s, min {lb['prompt_after_start_s']['min']:.3f} s, "
                      f"max {lb['prompt_after_start_s']['max']:.3f} s"
                      + (f"; CPU time of the whole process (boot, prompt, poweroff) "
                         f"{lb['process_cpu_s']['median']:.3f} s" if lb.get("process_cpu_s", {}).get("n") else ""))
    return out


# --------------------------------------------------------------------------- output

def _fmt(v, spec=".1f", na="-"):
    return na if v is None else format(v, spec)


def format_table(res):
    s = res["summary"]
    t = s["table"]
    engines = res["settings"]["engines"]
    wls = res["settings"]["workloads"]
    lines = []
    m = res["machine"] or {}
    lines.append(f"numbavm bench  {res['timestamp_utc']}  {m.get('cpu_model')} x{m.get('logical_cpus')}  "
                 f"load {res['load_before']} -> {res.get('load_after')}  reps={res['settings']['reps']}")
    lines.append(f"NUMBAVM_LLVM_OPTIONS={m.get('NUMBAVM_LLVM_OPTIONS')!r}  git {str(m.get('git_commit'))[:10]}"
                 f"{' (dirty)' if m.get('git_dirty_files') else ''}")
    lines.append("")
    lines.append("MIPS, median of repetitions (best in parentheses); instructions = numbavm's retired count")
    hdr = f"{'engine':34s}" + "".join(f"{w:>16s}" for w in wls) + f"{'geomean':>16s}"
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for e in engines:
        row = f"{ENGINES[e]:34s}"
        for w in wls + ["geomean"]:
            c = t[e].get(w, {})
            if w != "geomean" and c.get("failed"):
                row += f"{'FAIL':>16s}"
                continue
            spec = ".2f" if e == "numbavm-python" else ".1f"
            row += f"{_fmt(c.get('mips_median'), spec) + ' (' + _fmt(c.get('mips_best'), spec) + ')':>16s}"
        lines.append(row)
        if any(t[e].get(w, {}).get("mips_cpu_median") for w in wls):
            row = f"{'  ... from CPU time (median)':34s}"
            for w in wls + ["geomean"]:
                row += f"{_fmt(t[e].get(w, {}).get('mips_cpu_median'), '.2f' if e == 'numbavm-python' else '.1f'):>16s}"
            lines.append(row)
        if any(t[e].get(w, {}).get("mips_median_net") for w in wls):
            row = f"{'  ... minus process start-up':34s}"
            for w in wls:
                row += f"{_fmt(t[e][w].get('mips_median_net')):>16s}"
            lines.append(row + f"{'':>16s}")
    lines.append("")
    lines.append("numbavm JIT speed / engine speed (median MIPS ratio; >1 = numbavm faster)")
    lines.append(f"{'vs':34s}" + "".join(f"{w:>12s}" for w in wls) + f"{'geomean':>12s}")
    for e, r in s["ratios_jit_over"].items():
        row = f"{ENGINES[e]:34s}"
        for w in wls:
            v = r["per_workload"].get(w, {}).get("median")
            row += f"{_fmt(v, '.3g'):>12s}"
        lines.append(row + f"{_fmt(r['geomean_median'], '.3g'):>12s}")
        if r.get("geomean_cpu_median"):
            row = f"{'  ... from CPU time':34s}"
            for w in wls:
                row += f"{_fmt(r['per_workload'].get(w, {}).get('cpu_median'), '.3g'):>12s}"
            lines.append(row + f"{_fmt(r['geomean_cpu_median'], '.3g'):>12s}")
        if r.get("geomean_median_net"):
            row = f"{'  ... start-up subtracted':34s}"
            for w in wls:
                row += f"{_fmt(r['per_workload'].get(w, {}).get('median_net'), '.3g'):>12s}"
            lines.append(row + f"{_fmt(r['geomean_median_net'], '.3g'):>12s}")
    c = s.get("control", {})
    if c:
        lines.append("")
        lines.append("control plane")
        if "first_run_jit_compile_s" in c:
            lines.append(f"  first-run JIT compile (empty cache)  : {_fmt(c['first_run_jit_compile_s'], '.2f')} s "
                         f"(process start to first instruction {_fmt(c['first_run_startup_s'], '.2f')} s)")
            lines.append(f"  second run on that cache             : JIT load {_fmt(c['second_run_jit_load_s'], '.3f')} s, "
                         f"start-up {_fmt(c['second_run_startup_s'], '.3f')} s")
        if "cached_startup_median_s" in c:
            lines.append(f"  cached start-up (process start to 1st instruction): median "
                         f"{_fmt(c['cached_startup_median_s'], '.3f')} s, min {_fmt(c['cached_startup_min_s'], '.3f')} s"
                         f" (of which JIT load {_fmt(c['cached_jit_load_median_s'], '.3f')} s)")
        def us(v):
            return _fmt(v * 1e6 if v is not None else None, ".0f")
        if "stop_latency_p50_s" in c:
            lines.append(f"  stop latency, tight loop (stop() call to return): p50 {us(c['stop_latency_p50_s'])} us, "
                         f"p99 {us(c['stop_latency_p99_s'])} us ({res['stop_latency']['reps']} reps)")
        if "wfi_p50_s" in c:
            lines.append(f"  stop latency, guest idle in wfi             : p50 {us(c['wfi_p50_s'])} us, "
                         f"p99 {us(c['wfi_p99_s'])} us")
        if "cycle_p50_s" in c:
            lines.append(f"  one create/run/stop cycle (1 MiB guest)    : p50 {_fmt(c['cycle_p50_s'] * 1e3, '.2f')} ms, "
                         f"p99 {_fmt(c['cycle_p99_s'] * 1e3, '.2f')} ms (create {_fmt(c['cycle_create_p50_s'] * 1e3, '.2f')} ms)")
        if res.get("stop_latency", {}).get("error"):
            lines.append(f"  stop latency: FAILED: {res['stop_latency']['error']}")
    lines += format_system(res)
    mb = res.get("microbench")
    if mb:
        lines.append("")
        lines.append("ns per guest instruction by class (bench/microbench.py; 512 copies + a jump back)")
        lines.append("  " + "  ".join(f"{k} {v['ns']:.2f}" for k, v in mb.items()))
    if res.get("hooks"):
        from bench import hooks as hooks_bench
        lines.append("")
        lines += hooks_bench.format_lines(res["hooks"])
    sb = res.get("startup_breakdown")
    if sb:
        lines.append("start-up steps (python -c ..., median wall s): "
                     + ", ".join(f"{k} {_fmt(v, '.3f')}" for k, v in sb.items()))
    tg = s.get("targets") or []
    if tg:
        lines.append("")
        lines.append("targets of the JIT engine")
        for t in tg:
            lines.append(f"  [{'met ' if t['met'] else 'MISS'}] {t['target']}: {t['value']:.3g}  ({t['detail']})")
    if res["skipped"] or res.get("system_skipped"):
        lines.append("")
        for e, why in res["skipped"].items():
            lines.append(f"skipped {ENGINES[e]}: {why}")
        for e, why in (res.get("system_skipped") or {}).items():
            lines.append(f"skipped {e}: {why}")
    if res["failures"]:
        lines.append("")
        lines.append(f"FAILURES ({len(res['failures'])}):")
        lines += ["  " + f for f in res["failures"]]
    lines.append("")
    oc = res.get("other_cpu_during_engines")
    if oc:
        lines.append(f"other processes used {oc['other_cpu_s']:.1f} CPU-s during the {oc['wall_s']:.0f} s of "
                     f"engine runs (= {oc['other_cpus_avg']:.2f} CPUs on average; 0 = an idle host)")
    lines.append(f"suite wall time {res['suite_wall_s']:.0f} s")
    return "\n".join(lines)


def format_system(res):
    sy = res["summary"].get("system") or {}
    if not sy:
        return []
    L = ["", "system workloads (median; min-max)"]

    def mm(d, spec=".3f", scale=1.0):
        if not d or not d.get("n"):
            return "-"
        return (f"{d['median'] * scale:{spec}} ({d['min'] * scale:{spec}}-{d['max'] * scale:{spec}})")
    names = {"linux-boot": "numbavm, built-in SBI", "linux-boot-opensbi": "numbavm, OpenSBI fw_dynamic",
             "linux-boot-qemu": "qemu-system-riscv64 -M virt (OpenSBI)"}
    for it, d in (sy.get("linux_boot") or {}).items():
        if d.get("failed"):
            L.append(f"  linux-boot {names[it]:38s}: FAIL")
            continue
        extra = ""
        if "prompt_mips" in d:
            extra = (f"; running {mm(d['prompt_run_s'])} s, {d['prompt_instructions']:,} instructions, "
                     f"{mm(d['prompt_mips'], '.0f')} MIPS, {d['mmio_exits']:,} MMIO exits")
        L.append(f"  linux-boot {names[it]:38s}: prompt {mm(d['prompt_after_start_s'])} s after process start{extra}")
    lu = sy.get("linux_user")
    if lu:
        if "warm" in lu:
            L.append(f"  linux-user `bench 1000000` in Linux (warm, {lu['warm']['runs']} runs): "
                     f"{mm(lu['warm']['mips'], '.0f')} MIPS, {lu['warm']['instret']['median']:,.0f} instructions, "
                     f"{lu['warm']['tlb_misses']['median']:,.0f} TLB misses; first run {mm(lu['cold']['mips'], '.0f')} MIPS")
        if "bare" in lu:
            L.append(f"  usersieve.elf bare metal (10 x the same)            : {mm(lu['bare']['mips'], '.0f')} MIPS")
        if "ratio_median" in lu:
            L.append(f"  linux-user / bare-metal MIPS                         : {lu['ratio_median']:.3f} "
                     f"(best/best {lu['ratio_best']:.3f})")
        if lu.get("failed_linux") or lu.get("failed_bare"):
            L.append("  linux-user: FAIL")
    uf = sy.get("uart_flood")
    if uf:
        if uf.get("failed"):
            L.append("  uart-flood: FAIL")
        else:
            L.append(f"  uart-flood ({uf['bytes']:,} bytes, {uf['mmio_exits']:,} MMIO exits): {mm(uf['mips'], '.2f')} MIPS; "
                     f"one Python-device access {mm(uf['us_per_access'], '.2f')} us (handler alone "
                     f"{mm(uf['handler_us_per_access'], '.2f')} us)"
                     + (f"; plain Python {mm(uf['python_mips'], '.3f')} MIPS" if uf.get("python_mips") else ""))
    ti = sy.get("timer_irq")
    if ti:
        if ti.get("failed"):
            L.append("  timer-irq: FAIL")
        else:
            L.append(f"  timer-irq ({ti['interrupts']:,} interrupts, one per {ti['instructions_per_interrupt']:.0f} "
                     f"instructions): {mm(ti['mips'], '.0f')} MIPS"
                     + (f"; plain Python {mm(ti['python_mips'], '.3f')} MIPS" if ti.get("python_mips") else ""))
    return L


def save(res, path=None, latest=True):
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = res["timestamp_utc"].replace(":", "").replace("-", "")
    prefix = "quick" if res.get("quick") else "bench"
    paths = []
    p = Path(path) if path else RESULTS_DIR / f"{prefix}-{stamp}.json"
    text = json.dumps(res, indent=1, sort_keys=False) + "\n"
    p.write_text(text)
    paths.append(p)
    if latest and path is None:
        lp = RESULTS_DIR / ("latest.json" if not res.get("quick") else "quick-latest.json")
        lp.write_text(text)
        paths.append(lp)
    return paths
