"""GuestLifecycle: Create, Bind, Run and Stop with the semantics of the seed (fuchsia GuestLifecycle).

    NOT_CREATED --create--> CREATED --run--> RUNNING --(guest exit | budget)--> NOT_CREATED  (run -> None)
                              |  ^             |--stop()---> STOPPING -> NOT_CREATED  (run raises CONTROLLER_FORCED_HALT)
                              |  +--create--+  +--fatal / host exception--> NOT_CREATED  (run raises VCPU_RUNTIME_FAILURE)
                              +--stop()--> NOT_CREATED

Threading: every call is thread-safe (one lock + condition).  run() blocks in the
calling thread: it is the vcpu thread.  The Numba loop runs without the GIL and polls
the machine's stop flag at least every 4096 instructions (and sleeps on an event while
the guest idles in wfi), so stop() from any other thread takes effect within
microseconds; stop() returns only after run's loop has exited and the VMM has been torn
down.  Guest memory/register access on a running VMM uses the same flag to pause the
loop between two slices (see lifecycle/control/guest.py); nothing is added to the hot loop.

Outcomes of run() (exactly one per run, decided by how the loop ended):
  guest HTIF exit (any code)  -> None; guest.exit_code is the code, guest.stop_reason 'exit'
  guest system reset          -> the same, and guest.reset_type says which (SBI SRST, test device)
  max_instructions reached    -> None; guest.stop_reason 'budget'
  stop() on the running VMM   -> GuestLifecycleError(CONTROLLER_FORCED_HALT); stop_reason 'stopped'
  Machine 'fatal' / exception -> GuestLifecycleError(VCPU_RUNTIME_FAILURE, detail); stop_reason 'fatal'
If a stop() races a guest exit, the loop's own result wins: an exit that already
happened is reported as the exit, and stop() still returns after the teardown.

This module does not import numba: lifecycle.machine.board is imported inside create().
"""
from __future__ import annotations

import enum
import threading

from lifecycle.control.config import GuestConfig, KernelType, check_engine, validate
from lifecycle.control.errors import ConfigError, GuestClosedError, GuestError, GuestLifecycleError
from lifecycle.control.guest import ConsoleTee, Guest


class LifecycleState(enum.Enum):
    NOT_CREATED = "not_created"
    CREATED = "created"
    RUNNING = "running"
    STOPPING = "stopping"     # RUNNING after stop() was called, until the teardown


class _Request:
    __slots__ = ("fn", "done", "result", "error")

    def __init__(self, fn):
        self.fn, self.done, self.result, self.error = fn, threading.Event(), None, None

    def serve(self, machine):
        try:
            self.result = self.fn(machine)
        except BaseException as e:        # handed to the waiting thread
            self.error = e
        self.done.set()


class _Vmm:
    """One created VMM: the machine, its console, its bound Guests and the outcome of its run."""

    def __init__(self, lc, config, machine, console):
        self.lc = lc
        self.config = config
        self.machine = machine
        self.console = console
        self.guests = set()
        self.requests = []
        self.exit_code = None
        self.stop_reason = None
        self.message = ""
        self.reset_type = None       # a devices.firmware.sbi.ResetType when the guest ended with a system reset
        self.gdb = None              # the GdbServer of Guest.serve_gdb, if any
        self.hooks = None            # lifecycle.debug.hooks.Hooks once a Guest has added a hook
        self.epitaph = None          # set by the teardown: what the Guests of this VMM were closed with

    def fact(self, name):
        if name == "instructions_retired":
            return int(self.machine.hart.instret)
        return getattr(self, name)

    def access(self, fn):
        return self.lc._access(self, fn)

    def discard(self, guest):
        with self.lc._lock:
            self.guests.discard(guest)


class GuestLifecycle:
    """create / bind / run / stop.  See the module docstring and docs/lifecycle.md."""

    def __init__(self):
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._vmm = None
        self._running = False
        self._stop_requested = False
        self._run_thread = None
        self.last_result = None      # the machine's RunResult of the last run (reason, exit_code, instret, ...)
        self.final_machine = None    # with config.keep_final_state: the torn-down machine, for post-mortems

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> LifecycleState:
        with self._lock:
            if self._running:
                return LifecycleState.STOPPING if self._stop_requested else LifecycleState.RUNNING
            return LifecycleState.CREATED if self._vmm is not None else LifecycleState.NOT_CREATED

    @property
    def machine(self):
        """The current VMM's lifecycle.machine.board.Machine, or None (for tests and research tools:
        control it through the lifecycle, not directly)."""
        vmm = self._vmm
        return vmm.machine if vmm is not None else None

    # ------------------------------------------------------------------ create
    def create(self, config: GuestConfig) -> None:
        """Build the VMM (devices instantiated, kernel loaded); no vcpu runs yet.

        ALREADY_RUNNING while a VMM runs.  A created-but-not-running VMM is destroyed
        first; if the new one fails, no VMM remains (run then gives NOT_CREATED).
        """
        with self._lock:
            if self._running:
                raise GuestLifecycleError(GuestError.ALREADY_RUNNING,
                                          "a VMM is running: stop() it before create()")
            if self._vmm is not None:
                self._teardown_locked(self._vmm, "OK")
            self.final_machine = None
            c = validate(config)
            self._vmm = self._build(c)

    def _build(self, c: GuestConfig) -> _Vmm:
        try:
            from lifecycle.machine.board import Machine     # heavy: numba and the core
            from devices.bus import OverlapError
            from devices.virtio.blk import BlockDeviceError
            from emu.hart import jit_enabled
            from lifecycle.machine.loader import LoadError
        except Exception as e:   # noqa: BLE001 - the core cannot be imported
            raise GuestLifecycleError(GuestError.GUEST_INITIALIZATION_FAILURE,
                                      f"cannot import the VMM core: {type(e).__name__}: {e}") from e
        console = ConsoleTee(c.console)
        try:
            extra = {}                       # only what differs from the plain machine's defaults
            if c.timer != "deterministic":
                extra["timer"] = c.timer
            if c.rtc_base is not None:
                extra["rtc_base"] = c.rtc_base
            if c.block_devices:
                extra["block_devices"] = [(b.path, b.mode.name) for b in c.block_devices]
            if c.virtio_rng:
                extra["virtio_rng"] = True
            if c.virtio_console:
                extra["virtio_console"] = True
            if c.console_input is not None:
                extra["console_input"] = c.console_input
            if c.isa is not None:
                extra["isa"] = c.isa
            m = Machine(memory=c.guest_memory, engine=c.engine, console=console, **extra)
        except OverlapError as e:
            raise GuestLifecycleError(GuestError.DEVICE_MEMORY_OVERLAP, str(e)) from e
        except MemoryError as e:
            raise GuestLifecycleError(GuestError.GUEST_INITIALIZATION_FAILURE,
                                      f"guest_memory: cannot allocate {c.guest_memory} bytes of guest RAM") from e
        except BlockDeviceError as e:
            # an image validate() found but the device cannot use (unreadable, not writable...)
            raise ConfigError("block_devices", str(e)) from e
        except Exception as e:   # noqa: BLE001
            if isinstance(e, ValueError):
                # Machine() refuses an engine numba does not give in this process (numba is imported
                # now; validate() could only read the environment): check_engine says so, naming
                # the field.  Its other ValueErrors are about fields validate() checked: one that
                # still happens is a VMM bug, never a field guessed from the error's text.
                check_engine(c.engine, jit_enabled())
            raise GuestLifecycleError(GuestError.GUEST_INITIALIZATION_FAILURE,
                                      f"building the machine failed: {type(e).__name__}: {e}") from e
        m.idle_wait = c.wfi_idle == "wait"
        try:
            if c.kernel_type is KernelType.LINUX:
                m.boot_linux(c.kernel, initrd=c.ramdisk, cmdline=c.cmdline, bios=c.bios,
                             dtb_overlay=c.dtb_overlay)
            elif c.raw_addr is None:
                m.load(c.kernel)
            else:
                m.load(c.kernel, raw_addr=c.raw_addr)
        except BaseException as e:
            # no VMM remains: release what the machine holds (its disk images) now
            console.close()
            close = getattr(m, "close", None)
            if close is not None:
                close()
            if isinstance(e, LoadError):
                raise GuestLifecycleError(GuestError.KERNEL_LOAD_FAILURE, str(e)) from e
            if isinstance(e, (ValueError, OSError)):
                raise GuestLifecycleError(GuestError.KERNEL_LOAD_FAILURE, f"{c.kernel}: {e}") from e
            raise
        return _Vmm(self, c, m, console)

    # ------------------------------------------------------------------ bind
    def bind(self) -> Guest:
        """A live Guest between create and stop; otherwise a Guest that is already closed."""
        with self._lock:
            vmm = self._vmm
            if vmm is None or self._stop_requested:
                return Guest(None, "BAD_STATE")
            g = Guest(vmm)
            vmm.guests.add(g)
            return g

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        """Start the vcpu and block until the VMM stops.  None on a clean (guest) shutdown."""
        with self._lock:
            if self._running:
                raise GuestLifecycleError(GuestError.ALREADY_RUNNING, "the VMM is already running")
            vmm = self._vmm
            if vmm is None:
                raise GuestLifecycleError(GuestError.NOT_CREATED, "run() before create() (or after a failed "
                                          "create, or after the VMM stopped): call create(config) first")
            self._running = True
            self._stop_requested = False
            self._run_thread = threading.get_ident()
        m = vmm.machine
        try:
            warm_up = getattr(m, "warm_up", None)
            if warm_up is not None:
                warm_up()            # compile or load the loop: the vcpu's start
        except Exception as e:   # noqa: BLE001
            self._finish(vmm, None, "fatal", f"vcpu start: {type(e).__name__}: {e}")
            raise GuestLifecycleError(GuestError.VCPU_START_FAILURE,
                                      f"the primary vcpu could not start: {type(e).__name__}: {e}") from e

        left = vmm.config.max_instructions
        r = None
        try:
            while True:
                r = m.run(max_instructions=left)
                if r.reason != "stopped":
                    break
                with self._lock:
                    if self._stop_requested:
                        break
                    reqs, vmm.requests = vmm.requests, []
                for q in reqs:                       # a pause for Guest memory/register access
                    q.serve(m)
                if left is not None:
                    left = max(0, left - int(r.instret))
        except KeyboardInterrupt:
            self._finish(vmm, r, "stopped", "interrupted (KeyboardInterrupt in the vcpu thread)")
            raise
        except Exception as e:   # noqa: BLE001 - a host-side failure in the loop or a device
            msg = f"internal error: {type(e).__name__}: {e}"
            self._finish(vmm, r, "fatal", msg)
            raise GuestLifecycleError(GuestError.VCPU_RUNTIME_FAILURE, msg) from e

        reason = r.reason
        if reason in ("exit", "budget"):
            self._finish(vmm, r, reason, r.message or "", exit_code=r.exit_code if reason == "exit" else None,
                         reset_type=r.reset_type)
            return None
        if reason == "stopped":
            msg = f"stop() was called on the running VMM (after {int(m.hart.instret)} instructions)"
            self._finish(vmm, r, "stopped", msg)
            raise GuestLifecycleError(GuestError.CONTROLLER_FORCED_HALT, msg)
        msg = r.message or f"the vcpu ended with reason {reason!r}"
        self._finish(vmm, r, "fatal", msg)
        raise GuestLifecycleError(GuestError.VCPU_RUNTIME_FAILURE, msg)

    def _finish(self, vmm, r, stop_reason, message, exit_code=None, reset_type=None):
        """The vcpu loop is over: serve pending accesses, close the Guests, tear down, wake stop()."""
        with self._lock:
            vmm.stop_reason = stop_reason
            vmm.message = message
            vmm.exit_code = exit_code
            vmm.reset_type = reset_type
            self.last_result = r
            for q in vmm.requests:
                q.serve(vmm.machine)
            vmm.requests = []
            clean = stop_reason in ("exit", "budget")
            self._teardown_locked(vmm, "OK" if clean else "INTERNAL")
            if vmm.config.keep_final_state:
                self.final_machine = vmm.machine
            self._running = False
            self._stop_requested = False
            self._run_thread = None
            self._cond.notify_all()

    def _teardown_locked(self, vmm, epitaph):
        final = {"exit_code": vmm.exit_code, "stop_reason": vmm.stop_reason, "message": vmm.message,
                 "reset_type": vmm.reset_type, "instructions_retired": int(vmm.machine.hart.instret)}
        vmm.epitaph = epitaph        # before the Guests close: a call that finds the VMM gone reports it
        for g in list(vmm.guests):
            g._close(epitaph, final)
        vmm.guests.clear()
        gdb = vmm.gdb
        if gdb is not None:
            # serve_gdb serves for as long as the VMM lives: stop listening now (without waiting:
            # a connected GDB is told how the VMM ended by its own thread; the CLI waits for it)
            gdb.close(timeout=0)
        vmm.console.close()
        close = getattr(vmm.machine, "close", None)
        if close is not None:
            close()
        if self._vmm is vmm:
            self._vmm = None

    # ------------------------------------------------------------------ stop
    def stop(self, timeout: float | None = None) -> bool:
        """Stop a running VMM and return once its loop has exited and it is torn down.

        With nothing running: destroys a created VMM (if any) and returns at once.
        -> True; False if `timeout` (seconds) passed first (the stop stays requested), or
        when called from the vcpu thread itself (it cannot wait for its own loop: the loop
        stops as soon as control returns to it).
        """
        with self._cond:
            vmm = self._vmm
            if not self._running:
                if vmm is not None:
                    self._teardown_locked(vmm, "OK")
                return True
            self._stop_requested = True
            stop = getattr(vmm.machine, "stop", None)
            if stop is not None:
                stop()
            if self._run_thread == threading.get_ident():
                return False         # called from the vcpu thread itself: it will stop when we return
            return self._cond.wait_for(lambda: self._vmm is not vmm or not self._running, timeout)

    # ------------------------------------------------------------------ Guest access
    def _access(self, vmm, fn):
        with self._lock:
            if self._vmm is not vmm:             # torn down since the Guest looked: its epitaph is set
                raise GuestClosedError(vmm.epitaph or "BAD_STATE", "access a VMM that has gone away")
            if not self._running or self._run_thread == threading.get_ident():
                return fn(vmm.machine)            # nothing runs it: direct
            q = _Request(fn)
            vmm.requests.append(q)
            vmm.machine.stop()                     # pause the loop; the vcpu thread serves q and goes on
        q.done.wait()
        if q.error is not None:
            raise q.error
        return q.result
