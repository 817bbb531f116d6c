"""python -m bench [--quick] [--reps N] [--workloads sieve,crc32] [--engines ...] [--system ...] [--output FILE]

Runs numbavm (JIT in-process, plain Python in a subprocess) and the peers that
are installed (Unicorn, qemu-riscv64, qemu-system-riscv64) on the workloads in
bench/workloads/bin, interleaved, with the system workloads (the bundled Linux
booted to its prompt, also under qemu-system-riscv64; a sieve as a Linux user
process against the same C bare-metal; a UART flood; timer interrupts) in every
repetition, and then the control-plane measurements (stop latency under a tight
loop and under wfi, one create/run/stop cycle, cached start-up, first-run
compile, and a compute workload with and without Python hooks: bench/hooks.py).  Prints a table and writes
bench/results/bench-<UTC time>.json and bench/results/latest.json, then
regenerates docs/performance.md and docs/performance.png from them (bench/report.py;
`python -m bench.report` redoes only that).  --quick writes quick-<time>.json and
quick-latest.json instead and leaves the page alone, so a smoke test does not
replace the published numbers.

Exit status: 0; 1 if any run gave a wrong answer (that is a failure, not a number).
"""
import os
import sys

# Before anything imports emu/ (and numba): pin LLVM's code alignment.
from bench import harness

harness.setup_env()

import argparse  # noqa: E402


def _system_items():
    from bench import system
    return system.SYSTEM_ITEMS


def build_parser(prog=None):
    p = argparse.ArgumentParser(prog=prog or "python -m bench", description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="one repetition of everything (smoke test); results go to quick-*.json")
    p.add_argument("--reps", type=int, default=None, help="repetitions per engine and workload (default 5)")
    p.add_argument("--workloads", default=",".join(harness.WORKLOADS),
                   help=f"comma-separated subset of {','.join(harness.WORKLOADS)}")
    p.add_argument("--engines", default=",".join(harness.ENGINES),
                   help=f"comma-separated subset of {','.join(harness.ENGINES)}")
    p.add_argument("--system", default=None, metavar="ITEMS",
                   help="comma-separated subset of " + ",".join(_system_items())
                        + " (default: all of them; 'none' for none)")
    p.add_argument("--no-system", action="store_true", help="skip the system workloads (= --system none)")
    p.add_argument("--python-instructions", type=int, default=harness.PY_ENGINE_N, metavar="N",
                   help=f"instructions timed on the plain-Python engine (default {harness.PY_ENGINE_N:,})")
    p.add_argument("--stop-reps", type=int, default=None, help="stop-latency repetitions (default 20)")
    p.add_argument("--no-control", action="store_true", help="skip the control-plane measurements")
    p.add_argument("--no-compile", action="store_true",
                   help="skip the first-run compile measurement (an empty Numba cache: ~20 s)")
    p.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                   help="first wait up to SECONDS until other processes use < 0.25 CPUs (default: don't wait)")
    p.add_argument("--output", metavar="FILE.json", default=None,
                   help="write the JSON here instead of bench/results/{bench,quick}-<time>.json + latest")
    p.add_argument("--no-save", action="store_true", help="print the table only")
    p.add_argument("--no-report", action="store_true",
                   help="do not regenerate docs/performance.md and .png (a full run does, after saving latest.json)")
    return p


def main(argv=None, prog=None):
    args = build_parser(prog).parse_args(argv)
    wls = [w.strip() for w in args.workloads.split(",") if w.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for w in wls:
        if w not in harness.WORKLOADS:
            print(f"bench: error: unknown workload {w!r} (choose from {', '.join(harness.WORKLOADS)})",
                  file=sys.stderr)
            return 2
        if not os.path.exists(harness.workload_path(w)):
            print(f"bench: error: {harness.workload_path(w)} is missing (bench/workloads/build.sh)",
                  file=sys.stderr)
            return 2
    for e in engines:
        if e not in harness.ENGINES:
            print(f"bench: error: unknown engine {e!r} (choose from {', '.join(harness.ENGINES)})",
                  file=sys.stderr)
            return 2
    if args.no_system or args.system == "none":
        system = ()
    elif args.system is None:
        system = None
    else:
        system = [x.strip() for x in args.system.split(",") if x.strip()]
        for x in system:
            if x not in _system_items():
                print(f"bench: error: unknown system item {x!r} (choose from {', '.join(_system_items())})",
                      file=sys.stderr)
                return 2
    reps = args.reps if args.reps is not None else (1 if args.quick else 5)
    stop_reps = args.stop_reps if args.stop_reps is not None else (5 if args.quick else 20)
    if reps < 1:
        print("bench: error: --reps must be at least 1", file=sys.stderr)
        return 2
    res = harness.run_suite(wls, reps, engines, py_n=args.python_instructions, stop_reps=stop_reps,
                            control=not args.no_control, compile_check=not args.no_compile,
                            quick=args.quick, wait_idle_s=args.wait_idle, system=system)
    print(harness.format_table(res))
    if not args.no_save:
        for p in harness.save(res, args.output):
            print(f"wrote {os.path.relpath(p)}")
        if not args.quick and args.output is None and not args.no_report:
            # the published page follows the published numbers (bench/results/latest.json)
            from bench import report
            for p in report.write(res):
                print(f"wrote {os.path.relpath(p)}")
    return 1 if res["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
