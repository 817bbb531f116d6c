"""The benchmark suite: numbavm (JIT and plain Python) and its peers, side by side.

Import order matters: NUMBAVM_LLVM_OPTIONS must be in the environment before
emu/ is imported (emu/__init__.py applies it through llvmlite and keys the
Numba cache directory on it), so call setup_env() first; this module imports
lifecycle.machine only inside functions.

Method (see docs/performance.md):
  * interleaved repetitions: for each repetition, for each workload, every
    engine once (A B C D A B C D ...), so drifting host load hits all engines
    alike; min and median over the repetitions are reported;
  * a result counts only if it is right: numbavm must end with reason 'exit'
    and exit code 0 (the workload checked its own checksum); the peers must exit
    0 and print "NAME: ok";
  * MIPS = instructions / wall seconds, where the instructions are the exact
    count numbavm retired on the bare build (RunResult.instret) for every engine.
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
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD_DIR = ROOT / "bench" / "workloads" / "bin"
RESULTS_DIR = ROOT / "bench" / "results"
WORKLOADS = ("sieve", "crc32", "matmul", "divrem")
DEFAULT_LLVM_OPTIONS = "--align-all-nofallthru-blocks=5"
PY_ENGINE_N = 300_000

# bench/workloads/README.md: qemu-system-riscv64 -icount minstret of the -DBENCH_MEASURE build
README_COUNTS = {
    "sieve": 305_046_194, "crc32": 317_744_555, "matmul": 283_534_368, "divrem": 269_626_476,
}
README_COUNTS_NC = {
    "sieve": 305_117_697, "crc32": 317_755_752, "matmul": 283_545_258, "divrem": 269_620_224,
}

# engine id -> (label, kind)
ENGINES = {
    "numbavm-jit": "numbavm JIT",
    "numbavm-jit-nc": "numbavm JIT (-nc build, no RVC)",
    "numbavm-python": "numbavm plain Python",
    "unicorn": "Unicorn (user level)",
    "qemu-user": "qemu-riscv64 (user level)",
    "qemu-system": "qemu-system-riscv64 -M spike",
}
PEERS = ("unicorn", "qemu-user", "qemu-system")


def setup_env():
    """Pin LLVM code alignment for the numbavm runs (this process and its children)."""
    os.environ.setdefault("NUMBAVM_LLVM_OPTIONS", DEFAULT_LLVM_OPTIONS)
    if "emu" in sys.modules:
        print("bench: warning: emu/ was imported before the bench set NUMBAVM_LLVM_OPTIONS; "
              "the in-process numbers may not use the pinned alignment", file=sys.stderr)


def workload_path(name, variant=""):
    return str(WORKLOAD_DIR / f"{name}{variant}.elf")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


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

def run_jit(path):
    """One in-process JIT run on a fresh Machine -> result dict (ok only if exit code 0)."""
    import io
    from lifecycle.machine import Machine
    console = io.BytesIO()
    m = Machine(memory=128 << 20, engine="jit", console=console)
    m.load(path)
    m.warm_up()
    gc.collect()
    r = m.run()
    out = console.getvalue().decode("latin-1").strip()
    ok = r.reason == "exit" and r.exit_code == 0
    err = None if ok else f"{r.reason} (exit code {r.exit_code}) {r.message} {out[-120:]!r}"
    return {"ok": ok, "wall_s": r.wall_s, "instret": r.instret, "exit_code": r.exit_code,
            "output": out, "error": err, "compile_s": m.compile_s}


def bss_skip(path):
    """Instructions the bare-metal crt0 spends zeroing .bss (4 per 8-byte word) + a margin."""
    from elftools.elf.elffile import ELFFile
    with open(path, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        if symtab is None:
            return 0
        syms = {s.name: s["st_value"] for s in symtab.iter_symbols()
                if s.name in ("__bss_start", "__bss_end")}
    if len(syms) < 2:
        return 0
    return (syms["__bss_end"] - syms["__bss_start"]) // 8 * 4 + 2_000


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
    d["ok"] = "error" not in d and d.get("instret") == n
    if not d["ok"] and "error" not in d:
        d["error"] = f"retired {d.get('instret')} instructions, expected {n}"
    return d


def numbavm_exe():
    # `python -m lifecycle.cli` (= the numbavm console script) from ROOT, so that the
    # sources measured are the ones next to this file even when the installed (editable)
    # package points elsewhere
    return [sys.executable, "-m", "lifecycle.cli"]


def child_env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update(extra)
    return env


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


def compile_time(program):
    """First run with a fresh, empty NUMBA_CACHE_DIR (full compile), then a second run on it."""
    with tempfile.TemporaryDirectory(prefix="numbavm-bench-cache-") as tmp:
        first = cli_stats(program, {"NUMBA_CACHE_DIR": tmp})
        second = cli_stats(program, {"NUMBA_CACHE_DIR": tmp})
    return {"fresh_cache": first, "same_cache_again": second}


def stop_latency(reps=20, delay_s=0.2):
    """m.stop() from the main thread while run() spins on `j .` in a thread: time until run() returns."""
    import io
    from lifecycle.machine import Machine
    m = Machine(memory=1 << 20, engine="jit", console=io.BytesIO())
    m.hart.write_phys(0x8000_0000, bytes.fromhex("6f000000"))    # 0x0000006f: jal x0, 0 (j .)
    m.hart.pc = 0x8000_0000
    m.warm_up()
    lat, bad = [], []
    for _ in range(reps):
        box = {}

        def target():
            r = m.run()
            box["t_ret"] = time.perf_counter()
            box["r"] = r

        th = threading.Thread(target=target)
        th.start()
        time.sleep(delay_s)
        t0 = time.perf_counter()
        m.stop()
        th.join(10)
        if th.is_alive() or box.get("r") is None or box["r"].reason != "stopped":
            bad.append("run() did not return 'stopped' within 10 s")
            break
        lat.append(box["t_ret"] - t0)
    res = {"reps": len(lat), "delay_s": delay_s, "latency_s": lat}
    if lat:
        s = sorted(lat)
        res.update(p50_s=statistics.median(s), p99_s=s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))],
                   max_s=s[-1], min_s=s[0])
    if bad:
        res["error"] = bad[0]
    return res


# --------------------------------------------------------------------------- the suite

def available_engines():
    from bench import peers
    avail = {"numbavm-jit": (True, "in-process"), "numbavm-jit-nc": (True, "in-process"),
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
    if engine == "numbavm-python":
        p = workload_path(wl)
        return run_python(p, py_n, bss_skip(p))
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


def run_suite(workloads=WORKLOADS, reps=5, engines=None, py_n=PY_ENGINE_N, stop_reps=20,
              control=True, compile_check=True, quick=False, wait_idle_s=0):
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

    res = {
        "schema": 1,
        "timestamp_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join([os.path.basename(sys.executable), "-m", "bench"] + sys.argv[1:]),
        "quick": quick,
        "machine": None,
        "load_before": loadavg(),
        "busy_processes_before": busy_processes(),
        "settings": {"reps": reps, "workloads": list(workloads), "engines": engines,
                     "python_engine_instructions": py_n, "stop_reps": stop_reps},
        "engines": {e: ENGINES[e] for e in engines},
        "skipped": skipped,
        "peer_versions": {e: avail[e][1] for e in engines},
        "readme_counts": {w: README_COUNTS.get(w) for w in workloads},
        "readme_counts_nc": {w: README_COUNTS_NC.get(w) for w in workloads},
        "runs": [],
        "startup_probes": [],
        "waited_for_idle_s": None if waited is None else round(waited[0], 1),
        "host_was_idle_at_start": None if waited is None else waited[1],
    }

    # the in-process JIT: compile (or load from the disk cache) before anything is timed
    from lifecycle.machine import Machine
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

    cpu1 = cpu_sample()
    if control:
        log("bench: control plane: stop latency ...")
        res["stop_latency"] = stop_latency(stop_reps)
        log("bench: control plane: cached start-up ...")
        prog = workload_path("sieve")
        res["startup_cached"] = [cli_stats(prog) for _ in range(reps if not quick else 1)]
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
                if b.get("mips_median_net"):
                    per[wl]["median_net"] = a["mips_median"] / b["mips_median_net"]
        ratios[e] = {"per_workload": per,
                     "geomean_median": geomean([v["median"] for v in per.values()]),
                     "geomean_best": geomean([v["best"] for v in per.values()])}
        if any("median_net" in v for v in per.values()):
            ratios[e]["geomean_median_net"] = geomean([v.get("median_net") for v in per.values()])
    for e in engines:
        table[e]["geomean"] = {"mips_median": geomean([table[e][w].get("mips_median") for w in workloads]),
                               "mips_best": geomean([table[e][w].get("mips_best") for w in workloads])}

    summ = {"instructions": counts, "instructions_nc": counts_nc, "table": table,
            "ratios_jit_over": ratios, "startup_probe_median_s": startup}
    ctl = {}
    if "stop_latency" in res:
        sl = res["stop_latency"]
        ctl["stop_latency_p50_s"] = sl.get("p50_s")
        ctl["stop_latency_p99_s"] = sl.get("p99_s")
        ctl["stop_latency_max_s"] = sl.get("max_s")
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
    return summ


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
    hdr = f"{'engine':34s}" + "".join(f"{w:>18s}" for w in wls) + f"{'geomean':>18s}"
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for e in engines:
        row = f"{ENGINES[e]:34s}"
        for w in wls + ["geomean"]:
            c = t[e].get(w, {})
            if w != "geomean" and c.get("failed"):
                row += f"{'FAIL':>18s}"
                continue
            spec = ".2f" if e == "numbavm-python" else ".1f"
            row += f"{_fmt(c.get('mips_median'), spec) + ' (' + _fmt(c.get('mips_best'), spec) + ')':>18s}"
        lines.append(row)
        if any(t[e].get(w, {}).get("mips_median_net") for w in wls):
            row = f"{'  ... minus process start-up':34s}"
            for w in wls:
                row += f"{_fmt(t[e][w].get('mips_median_net')):>18s}"
            lines.append(row + f"{'':>18s}")
    lines.append("")
    lines.append("numbavm JIT speed / engine speed (median MIPS ratio; >1 = numbavm faster)")
    lines.append(f"{'vs':34s}" + "".join(f"{w:>12s}" for w in wls) + f"{'geomean':>12s}")
    for e, r in s["ratios_jit_over"].items():
        row = f"{ENGINES[e]:34s}"
        for w in wls:
            v = r["per_workload"].get(w, {}).get("median")
            row += f"{_fmt(v, '.3g'):>12s}"
        lines.append(row + f"{_fmt(r['geomean_median'], '.3g'):>12s}")
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
        if "stop_latency_p50_s" in c:
            lines.append(f"  stop latency (stop() -> run() returns): p50 {_fmt(c['stop_latency_p50_s'] * 1e6 if c['stop_latency_p50_s'] is not None else None, '.0f')} us, "
                         f"p99 {_fmt(c['stop_latency_p99_s'] * 1e6 if c['stop_latency_p99_s'] is not None else None, '.0f')} us "
                         f"({res['stop_latency']['reps']} reps)")
    if res["skipped"]:
        lines.append("")
        for e, why in res["skipped"].items():
            lines.append(f"skipped {ENGINES[e]}: {why}")
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
