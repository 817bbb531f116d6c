"""Guest: the handle that GuestLifecycle.bind() returns (the seed's Guest protocol).

A live Guest talks to its VMM; when the VMM goes away the Guest is closed with an
epitaph ("OK" after a clean shutdown, "INTERNAL" after a forced halt or an error;
a Guest bound outside create..stop is closed at once with "BAD_STATE").

While closed:
  * the final facts stay readable: closed, epitaph, exit_code, stop_reason, reset_type,
    instructions_retired, message;
  * every method (memory, registers, get_*) raises GuestClosedError.

Memory and registers of a *running* guest are read/written through a pause: the
lifecycle sets the stop flag the loop already polls, the vcpu thread serves the
request between two slices of the loop and goes on, so the hot loop pays nothing
when nobody asks and every answer is a consistent snapshot.
"""
from __future__ import annotations

import socket
import threading

from emu.ints import s64, u64, MASK64 as M64
from lifecycle.control.errors import GuestClosedError, GuestError, GuestLifecycleError


class ConsoleTee:
    """The machine's console: copies guest output to an optional stream and to every serial socket.

    The VMM's end of each socket is non-blocking, so the vcpu never blocks on a slow
    reader: what the socket cannot take now waits in a per-socket backlog (sent, in
    large pieces, on the next write or flush); beyond `cap` bytes of backlog, new
    output for that socket is dropped and counted in .dropped.
    """

    cap = 1 << 20

    def __init__(self, stream=None):
        self.stream = stream
        self.socks = []          # [our end of a socketpair, its backlog bytearray]
        self.dropped = 0
        self._lock = threading.Lock()

    def open_serial(self) -> socket.socket:
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        with self._lock:
            self.socks.append([ours, bytearray()])
        return theirs

    def _pump(self, entry):
        s, backlog = entry
        try:
            while backlog:
                n = s.send(backlog)
                del backlog[:n]
        except BlockingIOError:
            pass
        except OSError:              # the host closed its end: forget this socket
            self.dropped += len(backlog)
            s.close()
            self.socks.remove(entry)

    def write(self, data):
        if self.stream is not None:
            try:
                self.stream.write(data)
            except TypeError as e:       # a stream that wants str (io.TextIOBase ones are refused at create)
                raise TypeError(f"console: {type(self.stream).__name__}.write() does not take bytes ({e}): "
                                "GuestConfig.console must be a binary stream") from e
        if self.socks:
            with self._lock:
                for entry in list(self.socks):
                    backlog = entry[1]
                    if len(backlog) + len(data) > self.cap:
                        self.dropped += len(data)
                    else:
                        backlog += data
                    self._pump(entry)
        return len(data)

    def read_input(self):
        """Host input waiting on the serial sockets (the UART's receive side); never blocks."""
        if not self.socks:
            return b""
        data = bytearray()
        with self._lock:
            for s, _backlog in self.socks:
                try:
                    data += s.recv(4096)
                except (BlockingIOError, OSError):
                    pass
        return bytes(data)

    def flush(self):
        if self.stream is not None:
            self.stream.flush()
        if self.socks:
            with self._lock:
                for entry in list(self.socks):
                    self._pump(entry)

    def close(self):
        with self._lock:
            for entry in list(self.socks):
                self._pump(entry)
            for s, backlog in self.socks:
                self.dropped += len(backlog)
                s.close()
            self.socks.clear()


class Guest:
    """Handle on a created (or running) VMM.  See the module docstring."""

    def __init__(self, vmm=None, epitaph=None):
        self._vmm = vmm
        self._epitaph = epitaph
        self._final = {"exit_code": None, "stop_reason": None, "reset_type": None, "instructions_retired": 0,
                       "message": ""}

    # --- called by the lifecycle
    def _close(self, epitaph, final=None):
        if self._vmm is None:
            return
        if final:
            self._final.update(final)
        self._epitaph = epitaph          # before _vmm goes: a closed Guest always has its epitaph
        self._vmm = None

    def _live(self, what):
        vmm = self._vmm
        if vmm is None:
            raise GuestClosedError(self._epitaph, what)
        return vmm

    # --- state of the handle
    @property
    def closed(self) -> bool:
        return self._vmm is None

    @property
    def epitaph(self):
        """None while live; "OK", "INTERNAL" or "BAD_STATE" once closed."""
        return self._epitaph

    def close(self):
        """Drop this handle (the VMM goes on)."""
        vmm = self._vmm                  # (the lifecycle may close it meanwhile, from another thread)
        if vmm is not None:
            vmm.discard(self)
            self._close("OK")

    def _fact(self, name):
        vmm = self._vmm
        return vmm.fact(name) if vmm is not None else self._final[name]

    @property
    def exit_code(self):
        """The guest's exit code (HTIF exit), or None while it has not exited."""
        return self._fact("exit_code")

    @property
    def stop_reason(self):
        """None while running; then 'exit', 'budget', 'stopped' (forced halt) or 'fatal'."""
        return self._fact("stop_reason")

    @property
    def reset_type(self):
        """How a guest that ended with a system reset asked for it (stop_reason 'exit'): a
        devices.firmware.sbi.ResetType, SHUTDOWN, COLD_REBOOT or WARM_REBOOT (the SBI SRST
        reset types; the SiFive test device's reset is COLD_REBOOT); None otherwise."""
        return self._fact("reset_type")

    @property
    def message(self):
        return self._fact("message")

    @property
    def instructions_retired(self) -> int:
        """Instructions retired so far (while running, read without a pause: the loop publishes
        it at least every 4096 instructions); the final count once closed."""
        return self._fact("instructions_retired")

    # --- research / debugger access (consistent snapshots)
    def read_memory(self, paddr: int, size: int) -> bytes:
        """Guest physical memory [paddr, paddr+size) (RAM only; ValueError outside it)."""
        vmm = self._live("read memory")
        paddr = _int_arg("paddr", paddr, 0, M64)
        size = _int_arg("size", size, 0, M64)
        return vmm.access(lambda m: _phys(m, "read", paddr, size))

    def write_memory(self, paddr: int, data: bytes) -> None:
        vmm = self._live("write memory")
        paddr = _int_arg("paddr", paddr, 0, M64)
        data = bytes(data)
        vmm.access(lambda m: _phys(m, "write", paddr, data))

    def registers(self) -> dict:
        """A consistent snapshot: x (32 unsigned ints), pc, priv, instret, csr (dict of the non-zero CSRs)."""
        vmm = self._live("read registers")

        def snap(m):
            h = m.hart
            csr = {i: u64(v) for i, v in enumerate(h.csr) if v}
            return {"x": [u64(v) for v in h.x], "pc": u64(h.pc),
                    "priv": int(h.priv), "instret": int(h.instret), "csr": csr}
        return vmm.access(snap)

    def set_registers(self, x: dict | None = None, pc: int | None = None) -> None:
        """Write x registers ({index: value}) and/or the pc, between two slices of the loop."""
        vmm = self._live("write registers")
        values = {}
        for i, v in (x or {}).items():
            if isinstance(i, bool) or not isinstance(i, int) or not 1 <= i < 32:
                raise ValueError(f"register index {i!r}: must be 1..31 (x0 is hard-wired to 0)")
            # a 64-bit register: -2**63 .. 2**64 - 1 (a negative value is its two's complement)
            v = _int_arg(f"x{i}", v, -(1 << 63), M64) & M64
            values[i] = s64(v)
        if pc is not None:
            pc = _int_arg("pc", pc, 0, M64)
            if pc & 1:
                # with the C extension IALIGN is 16: pc bit 0 is always zero (jalr clears it)
                raise ValueError(f"pc 0x{pc:x}: odd (bit 0 of the pc is always zero on RISC-V)")

        def put(m):
            h = m.hart
            for i, v in values.items():
                h.x[i] = v
            if pc is not None:
                h.pc = pc
        vmm.access(put)

    def serve_gdb(self, port: int = 0, host: str = "127.0.0.1", wait: bool = False):
        """Serve GDB's remote serial protocol on host:port (0: any free port), for as long as the VMM lives.

        wait=True holds the guest before its next (first) instruction until a GDB connects
        and continues it.  -> a lifecycle.debug.gdbstub.GdbServer (.port, .address, .close()).
        See lifecycle/debug/gdbstub.py for what GDB can do.
        """
        vmm = self._live("serve gdb")
        from lifecycle.debug.gdbstub import GdbServer
        hooks = getattr(vmm, "hooks", None)
        if hooks is not None and hooks.hooks:
            from lifecycle.debug.hooks import DebuggerBusyError
            raise DebuggerBusyError(f"{len(hooks.hooks)} hooks are installed (Guest.hook_add): GDB and hooks share "
                                    "the hart's breakpoint and watch tables, one at a time (hook_del them first)")
        srv = GdbServer(vmm, host=host, port=int(port), wait=wait)
        vmm.gdb = srv
        return srv

    # --- hooks (lifecycle/debug/hooks.py), in the style of Unicorn's
    def hook_add(self, kind, callback, begin=None, end=None) -> int:
        """Call callback on a guest event; -> a handle for hook_del.  lifecycle/debug/hooks.py has the details.

        kind: HOOK_CODE callback(guest, pc) before each instruction at pc in [begin, end];
        HOOK_MEM_READ / HOOK_MEM_WRITE callback(guest, access, paddr, size, value) for each load
        (before it) / store (after it) touching physical [begin, end]; HOOK_TRAP
        callback(guest, cause, tval, epc) for every trap and interrupt taken.  begin alone is one
        address; begin=None is everything.  ValueError for bad arguments or too many hooks;
        DebuggerBusyError while GDB is served.  Callbacks run in the vcpu thread and may use
        this Guest (registers, memory, hook_add/hook_del, stop); current_hook is the handle
        of the hook whose callback runs (on a running guest it can fire before this returns).
        """
        from lifecycle.debug.hooks import make_hook
        vmm = self._live("add a hook")
        hook = make_hook(kind, callback, begin, end, self)

        def add(m):
            from lifecycle.debug.hooks import Hooks, DebuggerBusyError
            gdb = getattr(vmm, "gdb", None)
            if gdb is not None and not gdb.closed:
                raise DebuggerBusyError("this VMM serves GDB (Guest.serve_gdb): GDB and hooks share the hart's "
                                        "breakpoint and watch tables, one at a time (close the GDB server first)")
            if getattr(vmm, "hooks", None) is None:
                vmm.hooks = Hooks(m)
            return vmm.hooks.add(hook)
        return vmm.access(add)

    @property
    def current_hook(self):
        """Inside a hook's callback: the handle of that hook; None anywhere else.

        A hook added to a running guest is live as soon as the vcpu thread has armed it, so
        its callback may run before hook_add() has returned the handle to the thread that
        added it: a callback that deletes itself uses g.hook_del(g.current_hook), never a
        variable that hook_add() assigns."""
        vmm = self._vmm
        hooks = getattr(vmm, "hooks", None) if vmm is not None else None
        return hooks.current() if hooks is not None else None

    def hook_del(self, handle: int) -> None:
        """Remove the hook hook_add returned `handle` for (ValueError if there is none)."""
        vmm = self._live("delete a hook")

        def remove(m):
            hooks = getattr(vmm, "hooks", None)
            if hooks is None:
                raise ValueError(f"no hook with handle {handle!r}")
            hooks.remove(handle)
        vmm.access(remove)

    def stop(self) -> bool:
        """End the run, as GuestLifecycle.stop() does (Unicorn's emu_stop).  From a hook callback
        (the vcpu thread) it returns False at once and the run ends when the callback returns,
        before the hooked instruction executes; run() then raises CONTROLLER_FORCED_HALT."""
        return self._live("stop").lc.stop()

    # --- devices
    def get_serial(self) -> socket.socket:
        """A socket carrying the UART (and HTIF's console): guest output is readable
        from it, and bytes written to it are the UART's receive data.

        The caller owns (and closes) the returned socket; it reads EOF when the VMM
        goes away.
        """
        return self._live("get the serial socket").console.open_serial()

    def get_console(self) -> socket.socket:
        """With virtio_console=True: a socket carrying the console, as get_serial() does.

        The VMM has one console: the virtio-console (the guest's hvc0), the UART and HTIF
        all write to it, and host input goes to the device that reads it (docs/devices.md,
        "Console input").  DEVICE_NOT_PRESENT without virtio_console."""
        vmm = self._live("get the console")
        if not vmm.config.virtio_console:
            raise GuestLifecycleError(GuestError.DEVICE_NOT_PRESENT,
                                      "get_console: this VMM has no virtio console (create it with "
                                      "virtio_console=True; get_serial() carries the UART)")
        return vmm.console.open_serial()

    def get_balloon_controller(self):
        self._live("get the balloon controller")
        raise GuestLifecycleError(GuestError.DEVICE_NOT_PRESENT,
                                  "get_balloon_controller: no virtio balloon device in this VMM")

    def get_mem_controller(self):
        self._live("get the mem controller")
        raise GuestLifecycleError(GuestError.DEVICE_NOT_PRESENT,
                                  "get_mem_controller: no virtio mem device in this VMM")

    def get_host_vsock_endpoint(self):
        self._live("get the host vsock endpoint")
        raise GuestLifecycleError(GuestError.DEVICE_NOT_PRESENT,
                                  "get_host_vsock_endpoint: no virtio vsock device in this VMM")

    def __repr__(self):
        return f"<Guest {'closed (' + str(self._epitaph) + ')' if self.closed else 'live'}>"


def _int_arg(name, v, lo, hi):
    """v as an int in [lo, hi], or ValueError naming the argument (bool and float are refused)."""
    if isinstance(v, bool) or not hasattr(type(v), "__index__"):
        raise ValueError(f"{name} {v!r}: must be an integer")
    v = v.__index__()
    if not lo <= v <= hi:
        what = "a 64-bit register" if lo < 0 else "an address" if name in ("paddr", "pc") else "a size"
        why = "negative" if v < 0 and lo == 0 else "out of range"
        raise ValueError(f"{name} {v:#x}: {why} ({what}: {lo:#x}..{hi:#x})")
    return v


def _phys(m, op, paddr, arg):
    h = m.hart
    if op == "read":
        return h.read_phys(int(paddr), int(arg))
    h.write_phys(int(paddr), arg)
    return None
