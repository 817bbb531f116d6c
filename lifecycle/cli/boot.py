"""numbavm boot: a Linux kernel on the qemu-virt machine, with the terminal as its console.

    numbavm boot [--kernel IMAGE] [--initrd FILE] [--cmdline STR] [--bios builtin|PATH]
                 [--memory SIZE] [--disk FILE[:ro|:volatile]] [--virtio-rng] [--virtio-console]
                 [--timer deterministic|realtime] [--rtc-base DATE|SECONDS] [--engine jit|python]
                 [--isa STRING] [--dtb-overlay FILE] [--dump-dtb FILE] [--no-reboot] [--stats] [--prompt STR]
                 [--trace[=FILE]] [--trace-from ADDR|N|SYMBOL] [--trace-to ADDR|N|SYMBOL]
                 [--symbols FILE] [--mix] [--gdb [HOST:]PORT [--gdb-wait]]

Without --kernel it boots the bundled guest (lifecycle/guests/linux/), building it first
when the cache (~/.cache/numbavm/linux/) lacks it.  The console:
  * stdin a terminal: raw mode, keys go to the guest as typed; Ctrl-A X quits
    (through GuestLifecycle.stop, as QEMU's -nographic does), Ctrl-A H lists the Ctrl-A
    keys, Ctrl-A Ctrl-A sends Ctrl-A;
  * stdin not a terminal (a pipe, CI): one line is fed each time the guest waits
    for input (it has gone idle in wfi), and end of input sends Ctrl-D (end of file
    to the guest's line discipline).
The timer is realtime at a terminal (an idle guest sleeps) and deterministic
otherwise (same input, same run), unless --timer says.
The guest's poweroff ends the command with status 0; a system reset with a failure
reason, 1.  A reboot boots a fresh machine (at most MAX_REBOOTS times); with --no-reboot
(QEMU's -no-reboot) a reboot, or a kernel panic seen on the console, ends the command
with status EXIT_NO_REBOOT (4) instead.  Other statuses as `numbavm run`: 2 for a user
error, 125 for a VMM fatal error (console output that cannot be written included), 130
for Ctrl-C at any moment.
When the kernel says "Initramfs unpacking failed", a warning line goes to stderr
(`numbavm: warning: the kernel could not unpack the initrd: ...`): the kernel boots on
with its built-in initramfs, which is easy to miss.
"""
from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time

from lifecycle.cli.runner import EXIT_USER_ERROR, EXIT_FATAL, EXIT_INTERRUPTED, EXIT_NO_REBOOT  # (runner.ExitStatus)
from lifecycle.control.units import parse_size
from lifecycle.cli.main import DEFAULT_MEMORY, check_isa

LIFECYCLE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_SCRIPT = os.path.join(LIFECYCLE, "guests", "linux", "build.sh")
DEFAULT_CMDLINE = "console=ttyS0"
DEFAULT_PROMPT = "~ # "
CTRL_A = 0x01
MAX_REBOOTS = 64        # a guest that reboots forever ends the command instead
PANIC = b"Kernel panic - not syncing"
INITRD_FAILED = b"Initramfs unpacking failed"
CTRL_A_HELP = ("C-a h    print this help\r\n"
               "C-a x    exit the emulator (status 0)\r\n"
               "C-a C-a  send C-a to the guest\r\n")


def add_parser(sub, user_error):
    b = sub.add_parser(
        "boot", help="boot a RISC-V Linux kernel (the bundled guest by default) with the terminal as console",
        description="Boot a RISC-V Linux Image on the qemu-virt-like machine.  At a terminal, Ctrl-A X "
                    "quits and Ctrl-A H lists the Ctrl-A keys.  Exit status: 0 when the guest powers off "
                    f"(or Ctrl-A X); 1 for a reset with a failure reason; {EXIT_USER_ERROR} for a user error; "
                    f"{EXIT_NO_REBOOT} when the guest reboots or panics with --no-reboot; {EXIT_FATAL} for a VMM "
                    f"fatal error; {EXIT_INTERRUPTED} after Ctrl-C.")
    b.add_argument("--kernel", metavar="IMAGE", default=None,
                   help="a RISC-V Linux Image (arch/riscv/boot/Image); default: the bundled guest, "
                        "built on first use")
    b.add_argument("--initrd", metavar="FILE", default=None, help="an initramfs / initrd to load beside it")
    b.add_argument("--cmdline", metavar="STR", default=None, help=f"kernel command line (default {DEFAULT_CMDLINE!r})")
    b.add_argument("--bios", metavar="builtin|PATH", default="builtin",
                   help="builtin: the VMM implements the SBI (default); PATH: M-mode firmware such as "
                        "OpenSBI's fw_dynamic.bin")
    b.add_argument("--memory", "-m", metavar="SIZE", default=DEFAULT_MEMORY,
                   help=f"guest RAM: a bare number is MiB (as QEMU's -m), or 512M, 1G (default {DEFAULT_MEMORY})")
    b.add_argument("--disk", metavar="FILE[:ro|:volatile]", action="append", default=[],
                   help="a virtio-blk disk backed by FILE (:ro read-only, :volatile writes kept in memory); "
                        "may be repeated")
    b.add_argument("--virtio-rng", action="store_true", help="add a virtio-rng device (host entropy)")
    b.add_argument("--virtio-console", action="store_true", help="add a virtio-console device (hvc0)")
    b.add_argument("--timer", choices=("deterministic", "realtime"), default=None,
                   help="deterministic: mtime follows instructions retired (reproducible; the default "
                        "when stdin is not a terminal); realtime: the host clock, and an idle guest "
                        "sleeps (the default at a terminal)")
    b.add_argument("--rtc-base", metavar="DATE|SECONDS", default=None,
                   help="the date the guest's RTC (goldfish-rtc) starts at: an ISO 8601 date such as "
                        "2026-01-01T12:00:00Z, or seconds since 1970 (default: the host's time); give one "
                        "with the deterministic timer for runs that read the same dates every time")
    b.add_argument("--isa", metavar="STRING", default=None,
                   help="the extensions the hart has, as an ISA string: rv64imac, rv64gc, rv64gc_zba_zbb_zbs, ... "
                        "(default: everything numbavm implements); misa and the device tree's riscv,isa and "
                        "riscv,isa-extensions follow it")
    b.add_argument("--engine", choices=("jit", "python"), default="jit",
                   help="jit: Numba-compiled core (default); python: same code interpreted "
                        "(NUMBA_DISABLE_JIT=1), slow but debuggable")
    b.add_argument("--no-reboot", action="store_true",
                   help=f"a guest reboot, or a kernel panic on the console, ends the command with status "
                        f"{EXIT_NO_REBOOT} instead of booting again (QEMU's -no-reboot)")
    b.add_argument("--dtb-overlay", metavar="FILE", default=None,
                   help="a device-tree overlay (.dtbo) applied on top of the generated tree")
    b.add_argument("--dump-dtb", metavar="FILE", default=None,
                   help="write the device tree the guest would get (for these options) to FILE and exit")
    b.add_argument("--stats", action="store_true",
                   help="at exit, print time and instructions to the first prompt, MIPS, device time")
    b.add_argument("--prompt", metavar="STR", default=DEFAULT_PROMPT,
                   help=f"the shell prompt --stats times (default {DEFAULT_PROMPT!r})")
    b.set_defaults(func=lambda args: cmd_boot(args, user_error))
    from lifecycle.debug.gdbstub import add_arguments as add_gdb_arguments
    add_gdb_arguments(b)            # --gdb [HOST:]PORT, --gdb-wait (lifecycle/debug/gdbstub.py)
    from lifecycle.debug.trace import add_trace_arguments
    add_trace_arguments(b)          # --trace[=FILE], --trace-from, --trace-to, --mix (lifecycle/debug/trace.py)


# --------------------------------------------------------------------------- the bundled guest

def bundled_kernel(user_error):
    """The bundled guest's Image path, building it first (progress lines on stderr)."""
    if not os.path.isfile(BUILD_SCRIPT):
        raise user_error(f"the bundled guest recipe {BUILD_SCRIPT} is missing: pass --kernel IMAGE")
    p = subprocess.Popen(["bash", BUILD_SCRIPT], stdout=subprocess.PIPE, text=True)
    last = None
    for line in p.stdout:
        line = line.rstrip("\n")
        if last is not None:
            sys.stderr.write(last + "\n")
            sys.stderr.flush()
        last = line
    rc = p.wait()
    if rc == 3:
        raise SystemExit(3)             # packages missing, not root: build.sh printed the apt-get line
    if rc != 0:
        if last:
            sys.stderr.write(last + "\n")
        raise user_error(f"building the bundled guest failed (status {rc}; see the lines above)")
    if not last or not os.path.isfile(last):
        raise user_error(f"the bundled guest build did not name an Image (it printed {last!r})")
    return last


# --------------------------------------------------------------------------- console input

class LineFeeder:
    """stdin not a terminal: one line each time the guest is idle; Ctrl-D at end of input."""

    def __init__(self, fd):
        self.lines = queue.Queue()
        self.fd = fd
        threading.Thread(target=self._read, name="stdin", daemon=True).start()

    def _read(self):
        # os.read, not sys.stdin: a daemon thread blocked inside a buffered reader at
        # interpreter exit is a fatal error (_enter_buffered_busy)
        pending = b""
        while True:
            try:
                data = os.read(self.fd, 4096)
            except OSError:
                break
            if not data:
                break
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                self.lines.put(line + b"\n")
        if pending:
            self.lines.put(pending)
        self.lines.put(b"\x04")        # end of input: EOF for the guest's canonical tty

    def __call__(self, idle):
        if not idle:
            return b""
        try:
            return self.lines.get_nowait()
        except queue.Empty:
            return b""


class TerminalInput:
    """stdin a terminal, in raw mode: bytes as typed; Ctrl-A X calls quit()."""

    def __init__(self, fd, quit):
        self.fd = fd
        self.quit = quit
        self.buf = queue.Queue()
        self.escape = False
        threading.Thread(target=self._read, name="tty", daemon=True).start()

    def _read(self):
        while True:
            try:
                data = os.read(self.fd, 1024)
            except OSError:
                return
            if not data:
                return
            out = bytearray()
            for c in data:
                if self.escape:
                    self.escape = False
                    if c in (ord("x"), ord("X")):
                        self.quit()
                        return
                    if c in (ord("h"), ord("H")):
                        _tell(CTRL_A_HELP)
                        continue
                    if c == CTRL_A:
                        out.append(CTRL_A)
                    continue
                if c == CTRL_A:
                    self.escape = True
                    continue
                out.append(c)
            if out:
                self.buf.put(bytes(out))

    def __call__(self, idle):
        data = bytearray()
        while True:
            try:
                data += self.buf.get_nowait()
            except queue.Empty:
                return bytes(data)


def _tell(text):
    """Straight to stderr's fd: the terminal is in raw mode, so lines end in \\r\\n."""
    try:
        os.write(2, text.encode())
    except OSError:
        pass


class LineWatch:
    """A console tap: calls found(line) for the first whole output line containing `marker`."""

    def __init__(self, marker, found):
        self.marker = marker
        self.found = found
        self.tail = b""
        self.done = False

    def __call__(self, data):
        if self.done:
            return
        self.tail = (self.tail + bytes(data))[-4096:]
        i = self.tail.find(self.marker)
        if i < 0:
            return
        end = self.tail.find(b"\n", i)
        if end < 0:
            return                      # wait for the rest of the line
        self.done = True
        self.found(self.tail[i:end].rstrip(b"\r").decode("utf-8", "replace"))


class PromptWatch:
    """A console tap: notes when the prompt first appears."""

    def __init__(self, prompt, clock):
        self.prompt = prompt.encode()
        self.clock = clock              # -> (seconds, instructions) at this moment
        self.tail = b""
        self.seen = None

    def __call__(self, data):
        if self.seen is None and self.prompt:
            self.tail = (self.tail + bytes(data))[-4096:]
            if self.prompt in self.tail:
                self.seen = self.clock()


# --------------------------------------------------------------------------- the command

def _disks(specs, user_error):
    from lifecycle.control.config import BlockMode, BlockSpec
    out = []
    for i, spec in enumerate(specs):
        path, mode = spec, BlockMode.READ_WRITE
        for suffix, m in ((":ro", BlockMode.READ_ONLY), (":volatile", BlockMode.VOLATILE_WRITE),
                          (":rw", BlockMode.READ_WRITE)):
            if spec.endswith(suffix):
                path, mode = spec[: -len(suffix)], m
        if os.path.isdir(path):
            raise user_error(f"--disk: {path}: is a directory, not a disk image")
        if not os.path.exists(path):
            raise user_error(f"--disk: {path}: no such file")
        out.append(BlockSpec(f"disk{i}", path, mode))
    return out


def cmd_boot(args, user_error):
    try:
        memory = parse_size(args.memory)
    except ValueError as e:
        raise user_error(f"--memory: {e}") from None
    disks = _disks(args.disk, user_error)
    rtc_base = None
    if args.rtc_base is not None:
        from devices.rtc import parse_base, RtcBaseError
        try:
            rtc_base = parse_base(args.rtc_base)
        except RtcBaseError as e:
            raise user_error(f"--rtc-base: {e}") from None
    from lifecycle.debug import gdbstub
    gdbstub.check_args(args, user_error)    # --gdb (lifecycle/debug/gdbstub.py)
    from lifecycle.debug import trace as tracing
    trace_opts = tracing.validate_args(args, user_error)    # --trace / --mix (lifecycle/debug/trace.py)
    bios = None if args.bios == "builtin" else args.bios
    if bios is not None and not os.path.isfile(bios):
        raise user_error(f"--bios: {bios}: no such file (or use --bios builtin)")
    for opt, path in (("--dtb-overlay", args.dtb_overlay), ("--initrd", args.initrd)):
        if path is not None and os.path.isdir(path):
            raise user_error(f"{opt}: {path}: is a directory, not a file")
        if path is not None and not os.path.exists(path):     # (a pipe, <(...), is a file too)
            raise user_error(f"{opt}: {path}: no such file")
    if args.cmdline is not None:
        try:
            args.cmdline.encode("utf-8")
        except UnicodeEncodeError:
            # (bytes that are not UTF-8 reach Python as lone surrogates)
            raise user_error("--cmdline: the kernel command line must be text (ASCII or UTF-8); "
                             "it has bytes that are not valid UTF-8") from None
    if args.dump_dtb is not None:
        d = os.path.dirname(os.path.abspath(args.dump_dtb))
        if not os.path.isdir(d):
            raise user_error(f"--dump-dtb: directory {d} does not exist")
    isa = check_isa(args.isa, user_error)
    if isa is not None and "zifencei" not in isa.split("_"):
        # Linux runs fence.i (its flush_icache_all) early; without Zifencei that is an illegal instruction
        # and init dies, which would say nothing about the cause.
        print(f"numbavm: note: --isa {isa} has no Zifencei: Linux's fence.i will trap "
              f"(add _zifencei to boot Linux)", file=sys.stderr)
    if args.engine == "python":
        os.environ["NUMBA_DISABLE_JIT"] = "1"   # before numba is imported

    from lifecycle.machine.loader import LoadError, read_linux_image
    kernel = args.kernel if args.kernel is not None else bundled_kernel(user_error)
    try:
        # read here, once: the InputFile (the path with its bytes) goes on to the machine
        kernel = read_linux_image(kernel, limit=memory).path
    except LoadError as e:
        raise user_error(str(e)) from None

    from lifecycle.control.config import GuestConfig, KernelType
    from lifecycle.control.errors import GuestError, GuestLifecycleError
    from lifecycle.control.lifecycle import GuestLifecycle
    from devices.firmware.sbi import ResetType

    from lifecycle.cli import runner
    lc = GuestLifecycle()
    t_start = [None]

    def clock():
        from lifecycle.machine.proctime import seconds_since_process_start
        m = lc.machine
        return (time.perf_counter() - t_start[0] if t_start[0] else None,
                m.hart.instret if m is not None else None, seconds_since_process_start())

    tty = sys.stdin is not None and sys.stdin.isatty() and args.dump_dtb is None
    eol = "\r\n" if tty else "\n"          # (raw mode: no newline translation)
    prompt_watch = PromptWatch(args.prompt, clock) if args.stats else None
    panicked = []

    def initrd_failed(line):
        reason = line.split(":", 1)[1].strip() if ":" in line else line
        _tell(f"numbavm: warning: the kernel could not unpack the initrd: {reason}{eol}")

    def panic(line):
        panicked.append(line)
        threading.Thread(target=lc.stop, name="stop", daemon=True).start()

    taps = [LineWatch(INITRD_FAILED, initrd_failed)]
    if prompt_watch is not None:
        taps.append(prompt_watch)
    if args.no_reboot:
        taps.append(LineWatch(PANIC, panic))
    out = args.stdout if hasattr(args, "stdout") else runner.stdout_stream()
    if args.timer is None:
        # at a terminal a person waits at the prompt: an idle guest should cost no CPU;
        # otherwise (scripts, CI, research runs) the same input gives the same run
        args.timer = "realtime" if tty else "deterministic"
    quit_requested = threading.Event()

    def quit_():
        quit_requested.set()
        threading.Thread(target=lc.stop, name="stop", daemon=True).start()

    stdin_fd = runner.stdin_fd()
    if args.dump_dtb is not None or stdin_fd is None:
        feed = None
    elif tty:
        feed = TerminalInput(stdin_fd, quit_)
    else:
        feed = LineFeeder(stdin_fd)
    reboots = 0
    while True:
        # (a fresh sink per machine: its taps watch this boot's console)
        for tap in taps:
            if isinstance(tap, LineWatch) and tap.marker != INITRD_FAILED:
                tap.done, tap.tail = False, b""
        console = runner.ConsoleSink(out, taps)
        config = GuestConfig(kernel_type=KernelType.LINUX, kernel=kernel, ramdisk=args.initrd,
                             cmdline=args.cmdline if args.cmdline is not None else DEFAULT_CMDLINE,
                             bios=bios, guest_memory=memory, engine=args.engine, timer=args.timer,
                             rtc_base=rtc_base,
                             block_devices=disks, virtio_rng=args.virtio_rng,
                             virtio_console=args.virtio_console, console=console, console_input=feed,
                             keep_final_state=True, dtb_overlay=args.dtb_overlay, isa=isa)
        try:
            lc.create(config)
        except GuestLifecycleError as e:
            line = e.message.splitlines()[0] if e.message else e.error.name
            overlay_error = _overlay_error(e)
            if overlay_error is not None:
                # named after the file (until the machine passes overlay_name, the fdt module
                # calls it "the device-tree overlay")
                generic, path = "the device-tree overlay", str(args.dtb_overlay)
                if overlay_error.startswith(generic):
                    overlay_error = path + overlay_error[len(generic):]
                elif not overlay_error.startswith(path):
                    overlay_error = f"{path}: {overlay_error}"
                raise user_error(f"--dtb-overlay: {overlay_error}") from None
            if e.error in (GuestError.BAD_CONFIG, GuestError.KERNEL_LOAD_FAILURE):
                raise user_error(line) from None
            sys.stderr.write(f"numbavm: fatal: {line}\n")
            return EXIT_FATAL
        if args.dump_dtb is not None:
            try:
                with open(args.dump_dtb, "wb") as f:
                    f.write(lc.machine.dtb)
            except OSError as e:
                raise user_error(f"--dump-dtb: cannot write {args.dump_dtb}: {e.strerror or e}") from None
            lc.stop()
            return 0
        tracing.attach(lc.machine, trace_opts, user_error)
        guest = lc.bind()
        gdb = gdbstub.serve_from_args(args, guest, lc, user_error)   # --gdb: None without it
        saved = None
        if tty:
            import termios
            import tty as ttymod
            saved = termios.tcgetattr(sys.stdin.fileno())
            ttymod.setraw(sys.stdin.fileno())

        def first_instruction():
            t_start[0] = time.perf_counter()

        def restore_terminal():
            if saved is not None:
                import termios
                termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)

        try:
            outcome = runner.run_vcpu(lc, in_main_thread=args.engine == "python", before=first_instruction,
                                      on_exit=restore_terminal)
        finally:
            restore_terminal()
            m, r = runner.after_vcpu(lc, console, gdb)
        err = outcome.error
        status = 0
        rebooted = err is None and guest.reset_type in (ResetType.COLD_REBOOT, ResetType.WARM_REBOOT)
        if outcome.interrupted and not quit_requested.is_set() and not panicked:
            sys.stderr.write(f"\nnumbavm: interrupted after {guest.instructions_retired} instructions\n")
            status = EXIT_INTERRUPTED
        elif console.error is not None:
            sys.stderr.write(f"\nnumbavm: {console.describe()}\n")
            status = runner.EXIT_CONSOLE
        elif panicked:
            sys.stderr.write(f"\nnumbavm: the guest kernel panicked (--no-reboot): {panicked[0]}\n")
            status = EXIT_NO_REBOOT
        elif isinstance(err, GuestLifecycleError) and err.error is GuestError.CONTROLLER_FORCED_HALT:
            if quit_requested.is_set():
                sys.stderr.write("\nnumbavm: quit (Ctrl-A X)\n")
                status = 0
            else:
                sys.stderr.write(f"\nnumbavm: stopped after {guest.instructions_retired} instructions\n")
                status = EXIT_INTERRUPTED
        elif err is not None:
            msg = getattr(err, "message", None) or f"{type(err).__name__}: {err}"
            sys.stderr.write(f"\nnumbavm: fatal: {msg}\n")
            status = EXIT_FATAL
        elif rebooted and args.no_reboot:
            sys.stderr.write("numbavm: the guest rebooted (--no-reboot)\n")
            status = EXIT_NO_REBOOT
        elif guest.stop_reason == "exit":
            status = runner.guest_exit_status(guest.exit_code or 0)
        if args.stats and m is not None:
            _print_stats(m, r, prompt_watch, args)
        if rebooted and status == 0 and not args.no_reboot and reboots < MAX_REBOOTS:
            reboots += 1                 # the guest asked for a reboot: a fresh machine, as QEMU does
            sys.stderr.write("numbavm: the guest rebooted\n")
            continue
        return status


def _overlay_error(e):
    """The overlay's own message when creating the machine failed in the --dtb-overlay file
    (devices.firmware.fdt.OverlayError names the overlay; the lifecycle may have prefixed the kernel's name)."""
    cause = e.__cause__
    try:
        from devices.firmware.fdt import OverlayError
    except ImportError:
        return None
    while cause is not None:
        if isinstance(cause, OverlayError):
            return str(cause)
        cause = cause.__cause__
    return None


def _print_stats(m, r, console, args):
    from emu import state as S
    h = m.hart
    wall = getattr(r, "wall_s", None)
    instret = h.instret
    lines = ["numbavm: stats:",
             f"  firmware             : {'builtin SBI' if args.bios == 'builtin' else args.bios}",
             f"  timer                : {args.timer}",
             f"  instructions retired : {instret:,}",
             f"  wall time (run)      : {wall:.3f} s" if wall else "  wall time (run)      : n/a",
             f"  MIPS                 : {instret / wall / 1e6:.1f}" if wall else "  MIPS                 : n/a"]
    seen = getattr(console, "seen", None)          # (console: the PromptWatch, or None)
    if seen is not None and seen[0] is not None:
        lines.append(f"  first prompt         : {seen[2]:.3f} s after process start; {seen[0]:.3f} s of "
                     f"running, {seen[1]:,} instructions ({seen[1] / seen[0] / 1e6:.1f} MIPS)")
    else:
        lines.append(f"  first prompt         : not seen ({args.prompt!r})")
    lines += [f"  JIT compile/load     : {m.compile_s:.3f} s" if m.compile_s is not None else "",
              f"  start-up             : {m.startup_s:.3f} s (process start to first instruction)"
              if m.startup_s is not None else "",
              f"  device handlers      : {m.device_s:.3f} s in Python, {m.mmio_exits:,} MMIO exits, "
              f"{m.sbi.calls:,} SBI calls",
              f"  traps / interrupts   : {int(h.st[S.ST_TRAPS]):,} / {int(h.st[S.ST_IRQS]):,}",
              f"  TLB misses           : {int(h.st[S.ST_TLB_MISSES]):,}"]
    from lifecycle.cli.stats import stats_lines
    lines += stats_lines(m, counters=False)     # MMIO per device, --mix (lifecycle/cli/stats.py)
    sys.stderr.write("\n".join(x for x in lines if x) + "\n")
    sys.stderr.flush()
