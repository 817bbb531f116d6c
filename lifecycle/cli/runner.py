"""What `numbavm run` and `numbavm boot` share: Ctrl-C, the vcpu thread, the console streams, the exit statuses.

Ctrl-C (SIGINT) gives exit status 130 at every moment, with one line and no traceback:

  * main() calls ``sigint.install()`` before anything else it does.  From then on SIGINT
    never raises KeyboardInterrupt (an exception raised inside llvmlite's object-cache
    ctypes callback is printed as "Exception ignored" and lost, and one raised inside
    an import prints a traceback); the handler records it instead;
  * during start-up (parsing, loading, building the machine, importing numba), the
    handler ends the process at once: ``numbavm: interrupted during start-up``, 130.
    Nothing needs undoing then: no guest has run and the terminal is untouched (Numba
    writes its cache files to a temporary name and renames them, so a cut-off write
    leaves no broken cache entry);
  * once the vcpu thread is started (``run_vcpu``), the main thread waits for it and
    looks at the flag: before the guest's first instruction (the loop still compiling or
    loading from the cache) it ends the process at once; after it, stop() ends the guest
    through GuestLifecycle.stop(), and a second Ctrl-C ends the process without waiting;
  * the plain-Python engine runs the vcpu in the main thread (so pdb can step through
    it); there the handler raises KeyboardInterrupt as Python's own does.
Before numbavm's own first line runs (the interpreter's start-up, a few tens of ms),
Python's default SIGINT handling applies.

Console output (the guest's UART, HTIF and SBI console) goes to ``ConsoleSink``: a
write error (``> /dev/full``, stdout closed with ``>&-``) stops the guest and is
reported as one line; the command then exits with EXIT_CONSOLE (125).
"""
from __future__ import annotations

import os
import queue
import signal
import sys
import threading
from enum import IntEnum


class ExitStatus(IntEnum):
    """The process exit statuses of the numbavm commands (``run``, ``boot``), defined here only.
    A guest that exits passes its own code through instead (0 = success)."""
    USER_ERROR = 2          # bad input from the user: one line 'numbavm: error: ...'
    NO_REBOOT = 4           # boot --no-reboot: the guest rebooted or its kernel panicked
    BUDGET = 124            # run --max-instructions reached (timeout(1)'s status)
    FATAL = 125             # the VMM cannot go on, also when the console output cannot be written
    INTERRUPTED = 130       # Ctrl-C (128 + SIGINT)
    BROKEN_PIPE = 141       # stdout's reader went away (`| head`): 128 + SIGPIPE, as if the signal had ended us


# the names the commands use (lifecycle/cli/main.py and lifecycle/cli/boot.py import them from here)
EXIT_USER_ERROR = ExitStatus.USER_ERROR
EXIT_NO_REBOOT = ExitStatus.NO_REBOOT
EXIT_BUDGET = ExitStatus.BUDGET
EXIT_FATAL = ExitStatus.FATAL
EXIT_CONSOLE = ExitStatus.FATAL     # the console output could not be written: a VMM fatal condition
EXIT_INTERRUPTED = ExitStatus.INTERRUPTED
EXIT_BROKEN_PIPE = ExitStatus.BROKEN_PIPE


def guest_exit_status(code) -> int:
    """A guest's exit code as the command's exit status: its low 8 bits, and 1 for a non-zero code
    whose low 8 bits are zero (so that a failure never reads as success)."""
    try:
        code = int(code)
    except (TypeError, ValueError):
        return 1
    return code & 0xFF or (1 if code else 0)

# tests/test_cli_errors.py: names a file this creates once the SIGINT handler is in place, so
# that a test can send SIGINT at chosen delays after that moment (before it, the interpreter's
# own start-up, Python's default handling applies).
READY_ENV = "NUMBAVM_TEST_SIGINT_READY"


def _say(msg: str) -> None:
    """One line on stderr, straight to the fd (safe inside a signal handler)."""
    try:
        os.write(2, f"numbavm: {msg}\n".encode())
    except OSError:
        pass


def exit_now(status: int, msg: str | None = None) -> None:
    """End the process at once: the vcpu thread may be inside the compiler, which a normal
    interpreter exit would wait for (or crash in, as a daemon thread at shutdown)."""
    if msg:
        _say(msg)
    for f in (sys.stdout, sys.stderr):
        try:
            if f is not None:
                f.flush()
        except Exception:   # noqa: BLE001 - the process is ending; a full disk must not stop that
            pass
    os._exit(status)


class Sigint:
    """SIGINT, recorded: see the module docstring."""

    STARTUP, RUNNING, RAISE = "startup", "running", "raise"

    def __init__(self):
        self.event = threading.Event()
        self.count = 0
        self.phase = self.STARTUP
        self._previous = None
        self.installed = False

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return                          # (main() called from a thread: signals are not ours)
        self.event.clear()
        self.count = 0
        self.phase = self.STARTUP
        self._previous = signal.signal(signal.SIGINT, self._handler)
        self.installed = True
        ready = os.environ.get(READY_ENV)
        if ready:
            with open(ready, "w"):
                pass

    def restore(self) -> None:
        """Put back the handler install() replaced (main() called in-process, e.g. by tests)."""
        if self.installed:
            signal.signal(signal.SIGINT, self._previous)
            self.installed = False

    def _handler(self, signum, frame):
        self.count += 1
        self.event.set()
        if self.phase == self.STARTUP:
            exit_now(EXIT_INTERRUPTED, "interrupted during start-up")
        if self.phase == self.RAISE:
            raise KeyboardInterrupt

    def __bool__(self):
        return self.event.is_set()


sigint = Sigint()


# --------------------------------------------------------------------------- the vcpu thread

def cache_is_cold() -> bool:
    """True when the Numba cache holds no usable compiled loop (the first run compiles it, ~1 min).

    emu/__init__.py sets NUMBA_CACHE_DIR (keyed on the compiled sources).  Inside it Numba
    keeps, per source directory, "<dir name>_<sha1 of its absolute path>/", and there an
    index per cached function: for emu/loop.py's run, loop.run-<line>.py311.nbi, a pickled
    format version and then the pickled (source stamp, overloads), the stamp being the
    SHA-256 of the source (Numba >= 0.61; (st_mtime, st_size) before); an index whose stamp
    differs is recompiled, as is a missing one (numba.core.caching: UserProvidedCacheLocator,
    _SourceFileBackedLocatorMixin.get_source_stamp, IndexDataCacheFile._load_index).
    """
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        return False
    import glob
    import hashlib
    import pickle

    import emu  # noqa: F401 - sets NUMBA_CACHE_DIR
    from numba import __version__ as numba_version      # (imported by then: the machine is built)
    d = os.environ.get("NUMBA_CACHE_DIR")
    emu_dir = os.path.dirname(os.path.abspath(emu.__file__))
    sub = f"{os.path.basename(emu_dir)}_{hashlib.sha1(emu_dir.encode()).hexdigest()}"
    try:
        loop_py = os.path.join(emu_dir, "loop.py")
        st = os.stat(loop_py)
        with open(loop_py, "rb") as f:
            stamps = [hashlib.sha256(f.read()).digest(), (st.st_mtime, st.st_size)]
    except OSError:
        return True
    for index in glob.glob(os.path.join(d or "", sub, "loop.run-*.nbi")):
        try:
            with open(index, "rb") as f:
                if pickle.load(f) != numba_version:     # another Numba's index: not used
                    continue
                stamp, _overloads = pickle.loads(f.read())
        except Exception:   # noqa: BLE001 - unreadable: Numba cannot use it either
            continue
        if any(stamp == want for want in stamps):
            return False
    return True


COMPILING = ("compiling the CPU loop once (about a minute); later runs start in about a second")


class Outcome:
    def __init__(self):
        self.error = None           # what lc.run() raised, or None
        self.interrupted = False    # Ctrl-C (or stop) while the guest ran


def after_vcpu(lc, console, gdb):
    """What run and boot do once the vcpu is done: the guest's last output out, a connected GDB told
    how the guest ended, the trace finished. -> (the final machine, its last RunResult)."""
    from lifecycle.debug import trace as tracing
    try:
        console.flush()
    except OSError:
        pass
    if gdb is not None:
        gdb.close()
    m = lc.final_machine
    tracing.finish(m)
    return m, lc.last_result


def run_vcpu(lc, in_main_thread=False, before=None, on_exit=None) -> Outcome:
    """lc.run() in a vcpu thread while this (main) thread waits, so that Ctrl-C, which Python
    delivers only to the main thread, can stop the guest through lc.stop().

    The loop is compiled (or loaded from the cache) first, with a progress line when that
    is a cold compile.  before(): called in the vcpu thread just before the guest's first
    instruction.  A Ctrl-C before that instruction ends the process (130) at once, after
    on_exit() (e.g. the terminal's mode put back).
    """

    def leave(msg):
        if on_exit is not None:
            try:
                on_exit()
            except Exception:   # noqa: BLE001 - the process ends anyway
                pass
        exit_now(EXIT_INTERRUPTED, msg)

    out = Outcome()
    done = threading.Event()
    started = threading.Event()

    def vcpu():
        try:
            m = lc.machine
            warm_up = getattr(m, "warm_up", None)
            if warm_up is not None:
                if getattr(m, "compile_s", None) is None and cache_is_cold():
                    _say(COMPILING)
                warm_up()
            if before is not None:
                before()
            started.set()
            lc.run()
        except BaseException as e:   # noqa: BLE001 - handed to the main thread
            out.error = e
        finally:
            done.set()

    if in_main_thread:
        sigint.phase = Sigint.RAISE
        vcpu()
        sigint.phase = Sigint.RUNNING
        if isinstance(out.error, KeyboardInterrupt) or sigint:
            out.interrupted = True
        return out

    sigint.phase = Sigint.RUNNING
    if sigint:                          # between the last start-up check and now
        leave("interrupted during start-up")
    threading.Thread(target=vcpu, name="vcpu", daemon=True).start()
    stopping = False
    while not done.is_set():
        # (an Event, not join(): the main thread must come back to look at the SIGINT flag)
        done.wait(0.1)
        if not sigint or done.is_set():
            continue
        if not started.is_set():
            leave("interrupted during start-up")
        if not stopping:
            stopping = True
            out.interrupted = True
            seen = sigint.count
            # stop() in a helper thread, so this thread stays free to see a second Ctrl-C
            threading.Thread(target=lc.stop, name="stop", daemon=True).start()
        elif sigint.count > seen:       # a second Ctrl-C while the stop is still under way
            leave("interrupted again; not waiting for the guest to stop")
    if sigint:
        out.interrupted = True
    return out


# --------------------------------------------------------------------------- console output

class ConsoleWriteError(OSError):
    """The guest's console output could not be written to stdout."""


class ConsoleSink:
    """The guest's console output stream (what UART, HTIF and SBI write), with host errors made plain.

    stream: a binary stream (sys.stdout.buffer), or None when stdout is closed.  A failed
    write or flush is kept in .error and raised as ConsoleWriteError, which ends the
    guest's run (the machine turns it into VCPU_RUNTIME_FAILURE); the command then prints
    describe() as one line.  BrokenPipeError passes through unchanged (`| head`).
    taps: callables given every chunk written (prompt timing, kernel message watching).
    """

    def __init__(self, stream, taps=()):
        self.stream = stream
        self.taps = list(taps)
        self.error: OSError | None = None

    def _fail(self, e: OSError):
        if isinstance(e, BrokenPipeError):
            raise e
        if self.error is None:
            self.error = e
        raise ConsoleWriteError(e.errno, e.strerror) from e

    def write(self, data):
        for tap in self.taps:
            tap(data)
        if self.error is not None:
            raise ConsoleWriteError(self.error.errno, self.error.strerror)
        if self.stream is None:
            self._fail(OSError(9, "stdout is closed"))
        try:
            return self.stream.write(data)
        except OSError as e:
            self._fail(e)

    def flush(self):
        if self.stream is None or self.error is not None:
            return
        try:
            self.stream.flush()
        except OSError as e:
            self._fail(e)

    def describe(self) -> str:
        e = self.error
        why = "stdout is closed" if e.errno == 9 else (e.strerror or str(e))
        return f"fatal: cannot write the guest's console output to stdout: {why}"


def stdout_stream():
    """sys.stdout's binary stream, or None when stdout is closed (`>&-`).

    With fd 1 closed, the next file this process opens would get fd 1 and receive the
    console output, so fd 1 is then held open on /dev/null (writes still go nowhere:
    ConsoleSink reports them)."""
    out = sys.stdout
    if out is not None:
        try:
            fd = out.fileno()
        except (OSError, ValueError, AttributeError):
            return getattr(out, "buffer", out)      # a stand-in without a real fd (tests' capsys)
        try:
            os.fstat(fd)
        except OSError:
            out = None
    if out is None:
        try:
            os.fstat(1)
        except OSError:
            try:
                nul = os.open(os.devnull, os.O_WRONLY)
                if nul != 1:
                    os.close(nul)
            except OSError:
                pass
        return None
    return getattr(out, "buffer", out)


# --------------------------------------------------------------------------- console input

class StreamInput:
    """`numbavm run`: stdin (a pipe, a file or a terminal) to the guest's UART.

    A reader thread takes what arrives.  The machine asks for input each time it polls
    its devices; the next piece is handed over once the guest waits for input: it has
    read the UART's line status register and found no data (LSR.DR clear: a polling
    program), or it sleeps in wfi (idle: a program waiting for the receive interrupt).
    So input that arrives before the program has set up the UART (writing FCR clears the
    FIFO) is not lost, and a large input waits on the host side instead of piling up in
    the device.  End of input just ends the input (a bare-metal program has no line
    discipline to send Ctrl-D to).

    While input may still come, a wfi waits for it (the machine's idle_wait); once stdin
    is at its end and all of it has been handed over, a wfi that nothing can wake is the
    fatal error it is without input (exhausted()).
    """

    CHUNK = 4096

    def __init__(self, fd):
        self.fd = fd
        self.chunks = queue.Queue()
        self.waiting = False
        self.eof = False
        self.machine = None
        self._exhausted = False
        threading.Thread(target=self._read, name="stdin", daemon=True).start()

    def attach(self, machine):
        """Watch the guest's LSR reads (wrapping this one device's read; the bus calls it)."""
        self.machine = machine
        uart = getattr(machine, "uart", None)
        if uart is None:
            return
        from devices.uart import LSR, LSR_DR      # here: runner is imported at start-up, before numpy
        read = uart.read

        def watched_read(offset, size):
            value = read(offset, size)
            if offset == LSR and not int(value) & LSR_DR:
                self.waiting = True
            return value
        uart.read = watched_read

    def _read(self):
        # os.read, not sys.stdin: a daemon thread blocked inside a buffered reader at
        # interpreter exit is a fatal error (_enter_buffered_busy)
        while True:
            try:
                data = os.read(self.fd, self.CHUNK)
            except OSError:
                break
            if not data:
                break
            self.chunks.put(data)
        self.eof = True

    def _exhaust(self):
        """All input handed over (called in the vcpu thread, from the machine's device poll)."""
        self._exhausted = True
        m = self.machine
        if m is not None and getattr(m, "idle_wait", False):
            m.idle_wait = False
            m.stop()        # leave a wfi wait now: lc.run goes on, and the wfi is looked at again

    def __call__(self, idle=False):
        if self._exhausted:
            return b""
        if self.eof and self.chunks.empty():    # (the reader sets eof after its last put)
            self._exhaust()
            return b""
        if not (self.waiting or idle):
            return b""
        try:
            data = self.chunks.get_nowait()
        except queue.Empty:
            return b""
        self.waiting = False
        return data


def stdin_fd():
    try:
        return sys.stdin.fileno() if sys.stdin is not None else None
    except (OSError, ValueError, AttributeError):
        return None
    except Exception:   # noqa: BLE001 - pytest's stand-in raises its own error type
        return None
