"""numbavm command line.

    numbavm run PROGRAM [--memory SIZE] [--max-instructions N] [--engine jit|python]
                        [--stats] [--dump-state FILE] [--raw-addr ADDR] [--isa STRING]
                        [--signature FILE [--signature-granularity 4|8]]
                        [--trace[=FILE]] [--trace-from ADDR|N|SYMBOL] [--trace-to ADDR|N|SYMBOL]
                        [--symbols FILE] [--mix] [--gdb [HOST:]PORT [--gdb-wait]]
    numbavm boot [--kernel IMAGE] [--initrd FILE] [--cmdline STR] [--bios builtin|PATH] ...
                 [--no-reboot] [--prompt STR] ...        (lifecycle/cli/boot.py)
    numbavm image debian [--release R] [--packages A,B] [--size 2G] [--rebuild]
                         a cached Debian riscv64 image   (lifecycle/cli/image.py)
    numbavm COMMAND ...     a command another package registers (entry point group
                            "numbavm.commands"): `numbavm bench` is bench's (= python -m bench)
    numbavm --version

Exit status of ``run``: the guest's exit code; 124 when --max-instructions was
reached; 2 for a user error (one line 'numbavm: error: ...' on stderr, no
traceback; also when --dump-state or --signature cannot be written); 125 when the VMM
hit a fatal condition, including console output that cannot be written (stdout full or closed:
one line 'numbavm: fatal: cannot write the guest's console output ...'); 130 after
Ctrl-C at any moment (lifecycle/cli/runner.py: during start-up the process ends at once;
once the guest runs, it is stopped through GuestLifecycle.stop; a second Ctrl-C does
not wait for that).

``run`` connects stdin to the guest's console input (the UART's receive FIFO, and the
SBI console): `echo hello | numbavm run prog.elf` gives the program "hello\n".

Layers point one way: bench/ drives the machine and nothing here imports it.  Commands
other than run and boot come from entry points in the group "numbavm.commands" (name ->
a main(argv, prog=...) function); bench declares `bench` there (pyproject.toml).

``run`` is built on the lifecycle layer: GuestLifecycle.create(GuestConfig(kernel_type=
KernelType.ELF, ...)), bind(), then run() in a vcpu thread while the main thread waits
for it (so that Ctrl-C, delivered to the main thread, can call stop()).

Import discipline: this module imports nothing heavy at module level.  numba
is imported only via lifecycle.machine.board, *after* argument parsing, so that
``--engine python`` can set NUMBA_DISABLE_JIT=1 first; and the program is
validated with lifecycle.machine.loader (pyelftools only) before that import, so bad input
fails fast without the core.
"""
from __future__ import annotations

# First, so its clock origin is as early as possible (start-up time for --stats).
from lifecycle.machine import proctime  # noqa: I001

import argparse
import os
import sys

from lifecycle.cli import runner, signature
from lifecycle.cli.runner import sigint
from lifecycle.cli.runner import (ExitStatus, EXIT_USER_ERROR, EXIT_BUDGET, EXIT_FATAL,  # noqa: F401
                                  EXIT_INTERRUPTED, EXIT_BROKEN_PIPE)
from emu.spec import RAM_BASE, DEFAULT_MEMORY as SPEC_DEFAULT_MEMORY   # imports nothing: no numba before the JIT choice
from lifecycle.control.units import parse_addr, parse_count, parse_size

PROG = "numbavm"
DEFAULT_MEMORY = f"{SPEC_DEFAULT_MEMORY >> 20}M"    # as the CLI spells it
DEFAULT_RAM_BASE = RAM_BASE           # contract: guest RAM at 0x8000_0000

PLUGIN_GROUP = "numbavm.commands"      # entry points: NAME = "package.module:main"


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


def plugin_commands() -> dict:
    """name -> entry point, for the commands other packages register (not loaded here)."""
    try:
        from importlib.metadata import entry_points
        return {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)
                if ep.name not in ("run", "boot", "image")}
    except Exception:   # noqa: BLE001 - broken metadata must not break run/boot
        return {}


def build_parser(plugins=None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="numbavm: a RISC-V RV64 full-system emulator in Python with a Numba-compiled core.")
    p.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser(
        "run", help="run a guest program (RV64 ELF, or a raw binary with --raw-addr)",
        description="Run a guest program; stdin is its console input. Exit status: the guest's "
                    f"exit code; {EXIT_BUDGET} when --max-instructions is reached; {EXIT_USER_ERROR} for a "
                    f"user error; {EXIT_FATAL} for a VMM fatal error (also when the console output cannot be "
                    f"written); {EXIT_INTERRUPTED} after Ctrl-C.")
    r.add_argument("program", metavar="PROGRAM", help="RV64 ELF executable (or raw binary with --raw-addr)")
    r.add_argument("--memory", "-m", metavar="SIZE", default=DEFAULT_MEMORY,
                   help=f"guest RAM size: a bare number is MiB (as QEMU's -m), or 128M, 1G, 512MiB, 65536B; "
                        f"a multiple of 4 KiB (default {DEFAULT_MEMORY}); "
                        f"RAM starts at {DEFAULT_RAM_BASE:#x}")
    r.add_argument("--max-instructions", "-n", metavar="N", default=None,
                   help="stop after N steps, a step being one instruction retired or one trap taken "
                        f"(exit status {EXIT_BUDGET}); 10M = 10,000,000")
    r.add_argument("--isa", metavar="STRING", default=None,
                   help="the extensions the hart has, as an ISA string: rv64imac, rv64gc, rv64gc_zba_zbb_zbs, ... "
                        "(default: everything numbavm implements); misa, decoding (an instruction of an extension "
                        "left out is an illegal instruction) and the CSRs follow it")
    r.add_argument("--engine", choices=("jit", "python"), default="jit",
                   help="jit: Numba-compiled core (default); python: same code interpreted "
                        "(NUMBA_DISABLE_JIT=1), slow but debuggable")
    r.add_argument("--stats", action="store_true",
                   help="print instructions retired, wall time, MIPS, JIT compile and start-up time to stderr")
    r.add_argument("--dump-state", metavar="FILE.npz", default=None,
                   help="after the run, save x, pc, priv, csr, instret and RAM (numpy .npz format) "
                        f"to exactly FILE (no suffix is added); a write error is status {EXIT_USER_ERROR}")
    r.add_argument("--raw-addr", metavar="ADDR", default=None,
                   help="treat PROGRAM as a raw binary, load it at ADDR and start there (e.g. 0x80000000)")
    r.add_argument("--signature", metavar="FILE", default=None,
                   help="after the run, write the memory between the ELF's begin_signature and end_signature "
                        "symbols to FILE as Spike's +signature= does (the architecture tests' signature, "
                        "for RISCOF: docs/riscof.md): one line per --signature-granularity bytes, a "
                        "little-endian word in lowercase hex, a short last line padded with zero bytes. "
                        "Written however the guest stops: its exit with any code (HTIF tohost, the test "
                        f"finisher), --max-instructions (status {EXIT_BUDGET}) or a VMM fatal error such as a "
                        f"trap loop ({EXIT_FATAL}), with the memory as it is then (the exit status says "
                        "whether the test ran to its end); not when the run is cut short (Ctrl-C, console "
                        "output that cannot be written, an internal error); a write error is status "
                        f"{EXIT_USER_ERROR}")
    r.add_argument("--signature-granularity", metavar="4|8", default=None,
                   help="bytes per line of the --signature file (Spike's +signature-granularity=): 4 "
                        "(default) or 8")
    r.set_defaults(func=cmd_run)
    from lifecycle.debug.gdbstub import add_arguments as add_gdb_arguments
    add_gdb_arguments(r)            # --gdb [HOST:]PORT, --gdb-wait (lifecycle/debug/gdbstub.py)
    from lifecycle.debug.trace import add_trace_arguments
    add_trace_arguments(r)          # --trace[=FILE], --trace-from, --trace-to, --mix (lifecycle/debug/trace.py)

    from lifecycle.cli.boot import add_parser as add_boot_parser
    add_boot_parser(sub, UserError)
    from lifecycle.cli.image import add_parser as add_image_parser
    add_image_parser(sub, UserError)        # numbavm image debian (lifecycle/cli/image.py)

    # Listed for --help only: main() hands `NAME ...` to the registered command before
    # parsing, so that every option after it reaches that command's own parser.
    for name, ep in sorted((plugins if plugins is not None else plugin_commands()).items()):
        sub.add_parser(name, add_help=False,
                       help=f"{ep.value.split(':')[0]}'s command (numbavm {name} --help)")
    p.subcommands = sub.choices     # name -> its parser, for errors in the command's own usage
    return p


def cmd_plugin(ep, argv: list[str]) -> int:
    """numbavm NAME ...: a registered command (e.g. bench), loaded only when asked for."""
    try:
        fn = ep.load()
    except Exception as e:   # noqa: BLE001 - a broken plugin is reported, not a traceback
        raise UserError(f"{ep.name}: cannot load {ep.value} ({type(e).__name__}: {e})") from None
    # the command is not numbavm's guest runner: Python's own Ctrl-C handling for it
    sigint.restore()
    return fn(argv, prog=f"{PROG} {ep.name}")


# --------------------------------------------------------------------------- run

def check_isa(isa, user_error):
    """--isa STRING -> its canonical form (None without --isa); a bad string is one line, status 2."""
    if isa is None:
        return None
    from emu.isastring import parse, canonical, IsaError      # pure Python: numba is not imported yet
    try:
        return canonical(parse(isa))
    except IsaError as e:
        raise user_error(f"--isa: {e}") from None


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
    opts["isa"] = check_isa(args.isa, UserError)
    if args.dump_state is not None:
        _check_output_file("--dump-state", args.dump_state)
    if args.signature is None:
        if args.signature_granularity is not None:
            raise UserError("--signature-granularity: needs --signature FILE")
    else:
        _check_output_file("--signature", args.signature)
        if args.raw_addr is not None:
            raise UserError("--signature: needs an ELF program (a raw binary, --raw-addr, has no "
                            f"{signature.BEGIN} and {signature.END} symbols)")
    g = args.signature_granularity
    if g is None:
        opts["signature_granularity"] = signature.DEFAULT_GRANULARITY
    elif g in [str(n) for n in signature.GRANULARITIES]:
        opts["signature_granularity"] = int(g)
    else:
        raise UserError(f"--signature-granularity: {g!r}: must be "
                        f"{' or '.join(map(str, signature.GRANULARITIES))} (bytes per line)")
    return opts


def _check_output_file(option: str, path: str) -> None:
    """The output file of `option` can be created (its directory exists; it is no directory)."""
    if path == "":
        raise UserError(f"{option}: the file name is empty")
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise UserError(f"{option}: {path}: directory {d} does not exist")
    if os.path.isdir(path):
        raise UserError(f"{option}: {path}: is a directory")


def _dump_state(m, path: str) -> None:
    """Save the final state to exactly `path` (savez_compressed given a file name appends .npz;
    given an open file it writes there).  OSError on a write error (closing included)."""
    import numpy as np
    h = m.hart
    with open(path, "wb") as f:
        _savez(np, f, h)


def _savez(np, f, h):
    np.savez_compressed(
        f,
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
    from lifecycle.cli.stats import stats_lines
    lines += stats_lines(m)         # traps, TLB misses, MMIO per device, --mix (lifecycle/cli/stats.py)
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


def cmd_run(args) -> int:
    """numbavm run: a GuestLifecycle with KernelType.ELF: create, bind, run (Ctrl-C -> stop)."""
    opts = _validate_run_args(args)
    from lifecycle.debug import gdbstub
    gdbstub.check_args(args, UserError)     # --gdb (lifecycle/debug/gdbstub.py)
    from lifecycle.debug import trace as tracing
    trace_opts = tracing.validate_args(args, UserError)     # --trace / --mix (lifecycle/debug/trace.py)
    memory, budget, raw_addr = opts["memory"], opts["max_instructions"], opts["raw_addr"]

    # Must precede any import of numba (GuestLifecycle.create imports lifecycle.machine.board).
    if args.engine == "python":
        os.environ["NUMBA_DISABLE_JIT"] = "1"

    # Validate the program cheaply (pyelftools only) before importing the core.
    # The file is read here, once: the InputFile (a path carrying its bytes) goes on to the
    # machine, so a FIFO or <(cat prog.elf) works.
    from lifecycle.machine.loader import LoadError, load_elf, load_raw
    try:
        if raw_addr is None:
            image = load_elf(args.program, DEFAULT_RAM_BASE, memory)
        else:
            image = load_raw(args.program, raw_addr, DEFAULT_RAM_BASE, memory)
    except LoadError as e:
        raise UserError(str(e)) from None
    program = image.path
    if args.signature is not None:
        try:
            sig_region = signature.region(image.symbols, DEFAULT_RAM_BASE, memory)
        except ValueError as e:
            raise UserError(f"--signature: {image.path}: {e}") from None

    from lifecycle.control.config import GuestConfig, KernelType
    from lifecycle.control.errors import GuestError, GuestLifecycleError
    from lifecycle.control.lifecycle import GuestLifecycle

    console = runner.ConsoleSink(args.stdout if hasattr(args, "stdout") else runner.stdout_stream())
    fd = runner.stdin_fd()
    feed = runner.StreamInput(fd) if fd is not None else None
    extra = {"console_input": feed} if feed is not None else {}
    # wfi_idle='fatal': a bare program that waits for an interrupt nothing can raise is
    # reported (status 125) instead of sleeping until Ctrl-C; while stdin may still bring
    # input (a UART receive interrupt), it waits, until stdin is at its end (StreamInput).
    config = GuestConfig(kernel_type=KernelType.ELF, kernel=program, guest_memory=memory,
                         engine=args.engine, max_instructions=budget, raw_addr=raw_addr, isa=opts["isa"],
                         wfi_idle="wait" if feed is not None else "fatal", console=console,
                         keep_final_state=True, **extra)
    lc = GuestLifecycle()
    try:
        lc.create(config)
    except GuestLifecycleError as e:
        line = e.message.splitlines()[0] if e.message else e.error.name
        if e.error in (GuestError.BAD_CONFIG, GuestError.KERNEL_LOAD_FAILURE):
            raise UserError(line) from None
        _err(f"fatal: {line}")
        return EXIT_FATAL
    if feed is not None:
        feed.attach(lc.machine)     # input goes in when the guest waits for it
    guest = lc.bind()
    gdb = gdbstub.serve_from_args(args, guest, lc, UserError)   # --gdb: None without it
    tracing.attach(lc.machine, trace_opts, UserError)

    startup_fallback = proctime.seconds_since_process_start()
    # The plain-Python engine runs in the main thread, so that pdb (which traces only the
    # thread it runs in) can step through the instructions' code.
    out = runner.run_vcpu(lc, in_main_thread=args.engine == "python")
    m, r = runner.after_vcpu(lc, console, gdb)
    err = out.error
    cause = getattr(err, "__cause__", None)
    if out.interrupted:
        _err(f"interrupted after {guest.instructions_retired} instructions")
        return EXIT_INTERRUPTED
    if console.error is not None:
        _err(console.describe())
        return runner.EXIT_CONSOLE
    if isinstance(err, BrokenPipeError) or isinstance(cause, BrokenPipeError):
        # the console's reader went away (`numbavm run x.elf | head`): main() reports it as before
        raise BrokenPipeError(getattr(cause or err, "errno", 32), "Broken pipe")
    if isinstance(err, GuestLifecycleError) and err.error is GuestError.CONTROLLER_FORCED_HALT:
        _err(f"stopped after {guest.instructions_retired} instructions")
        return EXIT_INTERRUPTED
    if err is not None and not isinstance(err, GuestLifecycleError):
        import traceback
        traceback.print_exception(type(err), err, err.__traceback__)
        _err(f"fatal: internal error: {type(err).__name__}: {err}")
        return EXIT_FATAL
    if err is not None:
        cause = err.__cause__
        if cause is not None and err.message.startswith("internal error:"):
            import traceback
            traceback.print_exception(type(cause), cause, cause.__traceback__)
            _err(f"fatal: {err.message}")
            return EXIT_FATAL
        _err(f"fatal: {err.message}" if err.message else "fatal: VMM error")
        status = EXIT_FATAL
    elif guest.stop_reason == "exit":
        status = runner.guest_exit_status(guest.exit_code)
    elif guest.stop_reason == "budget":
        _err(f"stopped after {guest.instructions_retired} instructions (--max-instructions)")
        status = EXIT_BUDGET
    else:
        _err(f"fatal: unknown stop reason {guest.stop_reason!r}: {guest.message}")
        status = EXIT_FATAL

    if args.stats and r is not None:
        _print_stats(m, r, startup_fallback, args.engine)

    if args.signature is not None and m is not None:
        try:
            signature.write(args.signature, m.hart, *sig_region, opts["signature_granularity"])
        except OSError as e:
            _err(f"error: --signature: cannot write {args.signature}: {e.strerror or e}")
            return EXIT_USER_ERROR
    if args.dump_state is not None and m is not None:
        try:
            _dump_state(m, args.dump_state)
        except OSError as e:
            _err(f"error: --dump-state: cannot write {args.dump_state}: {e.strerror or e}")
            return EXIT_USER_ERROR
    return status


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    # First: Ctrl-C from here on gives status 130 and one line (lifecycle/cli/runner.py).
    sigint.install()
    try:
        return _main(argv)
    finally:
        sigint.restore()


def _main(argv):
    stdout = runner.stdout_stream()     # before any file is opened (fd 1 may be closed)
    if argv is None:
        argv = sys.argv[1:]
    plugins = plugin_commands()
    if argv and argv[0] in plugins:
        try:
            return cmd_plugin(plugins[argv[0]], list(argv[1:]))
        except UserError as e:
            _err(f"error: {e}")
            return EXIT_USER_ERROR
    parser = build_parser(plugins)
    args, extra = parser.parse_known_args(argv)
    if extra:
        # in the usage of the command they follow, not the top-level one
        sub = parser.subcommands.get(getattr(args, "command", None) or "", parser)
        sub.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "func", None) is None:
        if args.command in parser.subcommands:      # a registered command that is not installed
            parser.error(f"{args.command}: not available")
        parser.print_help(sys.stderr)
        return EXIT_USER_ERROR
    args.stdout = stdout
    try:
        status = args.func(args)
        if sigint and status != EXIT_INTERRUPTED:
            # Ctrl-C after the guest ended (while writing --stats or --dump-state): still 130
            _err("interrupted")
            return EXIT_INTERRUPTED
        return status
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
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
