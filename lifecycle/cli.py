"""numbavm command line.

    numbavm run PROGRAM [--memory SIZE] [--max-instructions N] [--engine jit|python]
                        [--stats] [--dump-state FILE.npz] [--raw-addr ADDR]
    numbavm --version

Exit status of ``run``: the guest's exit code; 124 when --max-instructions was
reached; 2 for a user error (one line 'numbavm: error: ...' on stderr, no
traceback); 125 when the VMM hit a fatal condition.

Import discipline: this module imports nothing heavy at module level.  numba
is imported only via lifecycle.machine, *after* argument parsing, so that
``--engine python`` can set NUMBA_DISABLE_JIT=1 first; and the program is
validated with emu.loader (pyelftools only) before that import, so bad input
fails fast without the core.
"""
from __future__ import annotations

# First, so its clock origin is as early as possible (start-up time for --stats).
from lifecycle import proctime  # noqa: I001

import argparse
import os
import sys

from lifecycle.units import parse_addr, parse_count, parse_size

PROG = "numbavm"
DEFAULT_MEMORY = "128M"
DEFAULT_RAM_BASE = 0x8000_0000       # contract: guest RAM at 0x8000_0000

EXIT_USER_ERROR = 2
EXIT_BUDGET = 124
EXIT_FATAL = 125
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("numbavm")
    except Exception:
        return "unknown (not installed)"


def _err(msg: str) -> None:
    sys.stderr.write(f"{PROG}: {msg}\n")
    sys.stderr.flush()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="numbavm: a RISC-V RV64 full-system emulator in Python with a Numba-compiled core.")
    p.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser(
        "run", help="run a guest program (RV64 ELF, or a raw binary with --raw-addr)",
        description="Run a guest program. Exit status: the guest's exit code; 124 when "
                    "--max-instructions is reached; 2 for a user error; 125 for a VMM fatal error.")
    r.add_argument("program", metavar="PROGRAM", help="RV64 ELF executable (or raw binary with --raw-addr)")
    r.add_argument("--memory", "-m", metavar="SIZE", default=DEFAULT_MEMORY,
                   help=f"guest RAM size, e.g. 128M, 1G, 512MiB (default {DEFAULT_MEMORY}); "
                        f"RAM starts at {DEFAULT_RAM_BASE:#x}")
    r.add_argument("--max-instructions", "-n", metavar="N", default=None,
                   help="stop after N retired instructions (exit status 124); 10M = 10,000,000")
    r.add_argument("--engine", choices=("jit", "python"), default="jit",
                   help="jit: Numba-compiled core (default); python: same code interpreted "
                        "(NUMBA_DISABLE_JIT=1), slow but debuggable")
    r.add_argument("--stats", action="store_true",
                   help="print instructions retired, wall time, MIPS, JIT compile and start-up time to stderr")
    r.add_argument("--dump-state", metavar="FILE.npz", default=None,
                   help="after the run, save x, pc, priv, csr, instret and RAM to FILE.npz")
    r.add_argument("--raw-addr", metavar="ADDR", default=None,
                   help="treat PROGRAM as a raw binary, load it at ADDR and start there (e.g. 0x80000000)")
    r.set_defaults(func=cmd_run)
    return p


# --------------------------------------------------------------------------- run

def _validate_run_args(args) -> dict:
    opts = {}
    try:
        opts["memory"] = parse_size(args.memory)
    except ValueError as e:
        raise UserError(f"--memory: {e}") from None
    try:
        opts["max_instructions"] = None if args.max_instructions is None else parse_count(args.max_instructions)
    except ValueError as e:
        raise UserError(f"--max-instructions: {e}") from None
    try:
        opts["raw_addr"] = None if args.raw_addr is None else parse_addr(args.raw_addr)
    except ValueError as e:
        raise UserError(f"--raw-addr: {e}") from None
    if args.dump_state is not None:
        d = os.path.dirname(os.path.abspath(args.dump_state))
        if not os.path.isdir(d):
            raise UserError(f"--dump-state: {args.dump_state}: directory {d} does not exist")
        if os.path.isdir(args.dump_state):
            raise UserError(f"--dump-state: {args.dump_state}: is a directory")
    return opts


def _exit_status_for_code(code) -> int:
    """Map a guest exit code to a process exit status (0..255, non-zero stays non-zero)."""
    try:
        code = int(code)
    except (TypeError, ValueError):
        return 1
    status = code & 0xFF
    if code != 0 and status == 0:
        status = 1
    return status


def _dump_state(m, path: str) -> None:
    import numpy as np
    h = m.hart
    np.savez_compressed(
        path,
        x=np.asarray(h.x, dtype=np.int64).copy(),
        pc=np.uint64(int(h.pc) & 0xFFFF_FFFF_FFFF_FFFF),
        priv=np.int64(int(h.priv)),
        csr=np.asarray(h.csr, dtype=np.int64).copy(),
        instret=np.uint64(int(h.instret)),
        ram=np.asarray(h.ram, dtype=np.uint8),
        ram_base=np.uint64(int(getattr(h, "ram_base", DEFAULT_RAM_BASE))),
    )


def _fmt_s(v) -> str:
    return "n/a" if v is None else f"{v:.3f} s"


def _print_stats(m, r, startup_fallback, engine: str) -> None:
    instret = getattr(r, "instret", None)
    wall = getattr(r, "wall_s", None)
    if instret is None and m is not None:
        instret = getattr(getattr(m, "hart", None), "instret", None)
    mips = (instret / wall / 1e6) if (instret is not None and wall) else None
    compile_s = getattr(m, "compile_s", None)
    startup_s = getattr(m, "startup_s", None)
    startup_note = "process start to first instruction"
    if startup_s is None and startup_fallback is not None:
        startup_s, startup_note = startup_fallback, "process start to run() call"
    if not proctime.process_start_known():
        startup_note += ", from CLI import"
    reason = getattr(r, "reason", "?")
    detail = f" (code {r.exit_code})" if reason == "exit" else ""
    lines = [
        f"{PROG}: stats:",
        f"  engine               : {engine}",
        f"  stop reason          : {reason}{detail}",
        f"  instructions retired : {instret:,}" if instret is not None else "  instructions retired : n/a",
        f"  wall time            : {_fmt_s(wall)}",
        f"  MIPS                 : {mips:.2f}" if mips is not None else "  MIPS                 : n/a",
        f"  JIT compile/load     : {_fmt_s(compile_s)}",
        f"  start-up             : {_fmt_s(startup_s)} ({startup_note})",
    ]
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


def cmd_run(args) -> int:
    opts = _validate_run_args(args)
    memory, budget, raw_addr = opts["memory"], opts["max_instructions"], opts["raw_addr"]

    # Must precede any import of numba (lifecycle.machine imports the core).
    if args.engine == "python":
        os.environ["NUMBA_DISABLE_JIT"] = "1"

    # Validate the program cheaply (pyelftools only) before importing the core.
    from emu.loader import LoadError, load_elf, load_raw
    try:
        if raw_addr is None:
            load_elf(args.program, DEFAULT_RAM_BASE, memory)
        else:
            load_raw(args.program, raw_addr, DEFAULT_RAM_BASE, memory)
    except LoadError as e:
        raise UserError(str(e)) from None

    from lifecycle.machine import Machine   # heavy: numba, the core

    console = getattr(sys.stdout, "buffer", sys.stdout)
    try:
        m = Machine(memory=memory, engine=args.engine, console=console)
        if raw_addr is None:
            m.load(args.program)
        else:
            m.load(args.program, raw_addr=raw_addr)
    except (LoadError, ValueError) as e:
        raise UserError(str(e).splitlines()[0] if str(e) else type(e).__name__) from None

    startup_fallback = proctime.seconds_since_process_start()
    try:
        r = m.run(max_instructions=budget)
    except KeyboardInterrupt:
        try:
            console.flush()
        except Exception:
            pass
        instret = getattr(getattr(m, "hart", None), "instret", "?")
        _err(f"interrupted after {instret} instructions")
        return EXIT_INTERRUPTED
    except Exception as e:
        import traceback
        traceback.print_exc()
        _err(f"fatal: internal error: {type(e).__name__}: {e}")
        return EXIT_FATAL
    finally:
        try:
            console.flush()
        except Exception:
            pass

    reason = getattr(r, "reason", None)
    message = getattr(r, "message", "") or ""
    if reason == "exit":
        status = _exit_status_for_code(r.exit_code)
    elif reason == "budget":
        _err(f"stopped after {r.instret} instructions (--max-instructions)")
        status = EXIT_BUDGET
    elif reason == "fatal":
        _err(f"fatal: {message}" if message else "fatal: VMM error")
        status = EXIT_FATAL
    elif reason == "stopped":
        _err(f"stopped: {message}" if message else "stopped")
        code = getattr(r, "exit_code", None)
        status = _exit_status_for_code(code) if code else 1
    else:
        _err(f"fatal: unknown stop reason {reason!r}: {message}")
        status = EXIT_FATAL

    if args.stats:
        _print_stats(m, r, startup_fallback, args.engine)

    if args.dump_state is not None:
        try:
            _dump_state(m, args.dump_state)
        except OSError as e:
            _err(f"error: --dump-state: cannot write {args.dump_state}: {e.strerror or e}")
            return EXIT_USER_ERROR
    return status


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USER_ERROR
    try:
        return args.func(args)
    except UserError as e:
        _err(f"error: {e}")
        return EXIT_USER_ERROR
    except BrokenPipeError:
        # e.g. `numbavm run x.elf | head`: not an error of ours.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 141


if __name__ == "__main__":
    sys.exit(main())
