"""GuestManager: the VMM in a child process, driven through the lifecycle protocol over a socket.

    mgr = GuestManager()
    guest = mgr.launch(GuestConfig(kernel_type=KernelType.ELF, kernel="prog.elf"))
    mgr.get_info()          # GuestInfo(guest_status=GuestStatus.RUNNING, uptime=..., ...)
    mgr.force_shutdown()    # stop() in the child, then the child exits
    mgr.connect()           # the Guest of the running VMM (GuestManagerError NOT_RUNNING otherwise)

The child is ``python -m lifecycle.control.manager --child FD`` (a fresh interpreter: it decides
NUMBA_DISABLE_JIT for itself, and nothing of the parent's state leaks into it).  Over
one AF_UNIX socketpair (multiprocessing.connection framing, pickled tuples) the
parent sends ('launch', config) and requests; the child answers 'created' /
'create_failed', 'started', replies, and at the end 'finished' with the outcome of
GuestLifecycle.run().  If the socket reaches EOF without 'finished' (the child was
killed, segfaulted, or exited), the status becomes VMM_UNEXPECTED_TERMINATION and a
new launch() works; the controlling program lives on.  If the parent dies, the
child sees EOF, stops its guest and exits.

This module does not import numba.
"""
from __future__ import annotations

import dataclasses
import enum
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle, send_handle

from lifecycle.control.config import GuestConfig, validate
from lifecycle.control.errors import GuestClosedError, GuestError, GuestLifecycleError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # the checkout


class GuestStatus(enum.Enum):
    NOT_STARTED = "not_started"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    VMM_UNEXPECTED_TERMINATION = "vmm_unexpected_termination"


class GuestManagerError(enum.Enum):
    """The seed's GuestManagerError members this manager produces."""
    BAD_CONFIG = 1
    ALREADY_RUNNING = 2
    NOT_RUNNING = 3
    START_FAILURE = 4


class GuestManagerException(Exception):
    def __init__(self, error: GuestManagerError, message: str):
        self.error = error
        self.message = message
        super().__init__(f"{error.name}: {message}")


@dataclasses.dataclass
class GuestInfo:
    guest_status: GuestStatus
    uptime: float                      # seconds the guest has run (so far, or in total once stopped)
    stop_error: GuestError | None      # the GuestError run() ended with, if any
    detected_problems: list            # human-readable findings (e.g. how the VMM process died)
    pid: int | None = None             # the VMM process


class RemoteGuest:
    """The Guest of a VMM in the child process: the same methods as lifecycle.Guest, over the socket."""

    def __init__(self, mgr, session):
        self._mgr = mgr
        self._session = session
        self._final = None            # set when the session ends
        self._epitaph = None

    def _end(self, epitaph, final):
        self._epitaph = epitaph or "INTERNAL"   # first: once closed reads True, the epitaph is there
        self._final = dict(final or {})

    @property
    def closed(self):
        return self._final is not None

    @property
    def epitaph(self):
        return self._epitaph

    def _fact(self, name):
        if self._final is not None:
            return self._final.get(name)
        try:
            return self._mgr._call(self._session, "get", (name,))
        except GuestClosedError:
            return (self._final or {}).get(name)

    exit_code = property(lambda self: self._fact("exit_code"))
    stop_reason = property(lambda self: self._fact("stop_reason"))
    message = property(lambda self: self._fact("message"))
    reset_type = property(lambda self: self._fact("reset_type"))   # a devices.firmware.sbi.ResetType, or None
    instructions_retired = property(lambda self: self._fact("instructions_retired"))

    def _method(self, name, *args):
        if self._final is not None:
            raise GuestClosedError(self._epitaph, name)
        return self._mgr._call(self._session, "call", (name, args))

    def read_memory(self, paddr, size):
        return self._method("read_memory", paddr, size)

    def write_memory(self, paddr, data):
        return self._method("write_memory", paddr, bytes(data))

    def registers(self):
        return self._method("registers")

    def set_registers(self, x=None, pc=None):
        return self._method("set_registers", x, pc)

    def get_console(self) -> socket.socket:
        if self._final is not None:
            raise GuestClosedError(self._epitaph, "get the console")
        fd = self._mgr._call(self._session, "console", ())
        return socket.socket(fileno=fd)

    def get_balloon_controller(self):
        return self._method("get_balloon_controller")

    def get_mem_controller(self):
        return self._method("get_mem_controller")

    def get_host_vsock_endpoint(self):
        return self._method("get_host_vsock_endpoint")

    def get_serial(self) -> socket.socket:
        if self._final is not None:
            raise GuestClosedError(self._epitaph, "get the serial socket")
        fd = self._mgr._call(self._session, "serial", ())
        return socket.socket(fileno=fd)

    def __repr__(self):
        return f"<RemoteGuest {'closed (' + str(self._epitaph) + ')' if self.closed else 'live'}>"


class _Session:
    """One child process and its socket."""

    def __init__(self, proc, conn):
        self.proc = proc
        self.conn = conn
        self.send_lock = threading.Lock()
        self.pending = {}             # request id -> [Event, ok, value]
        self.next_id = 0
        self.created = threading.Event()
        self.started = threading.Event()
        self.create_error = None      # (GuestError, message)
        self.finished = None          # (error name or None, message, final facts)
        self.ended = threading.Event()
        self.gone = False             # set (under the manager's lock) when the child has ended
        self.reader = None
        self.guest = None
        self.t_start = None
        self.t_end = None


class GuestManager:
    """Launch / connect / force_shutdown / get_info for one guest at a time (see the module docstring)."""

    def __init__(self, start_timeout: float = 300.0):
        self._lock = threading.Lock()
        self._status = GuestStatus.NOT_STARTED
        self._session = None
        self._stop_error = None
        self._problems = []
        self.start_timeout = start_timeout

    # ------------------------------------------------------------------ public
    def launch(self, config: GuestConfig) -> RemoteGuest:
        with self._lock:
            if self._status in (GuestStatus.STARTING, GuestStatus.RUNNING, GuestStatus.STOPPING):
                raise GuestManagerException(GuestManagerError.ALREADY_RUNNING,
                                            "a guest is running: force_shutdown() it first")
            if config is not None and getattr(config, "console", None) is not None:
                raise GuestLifecycleError(GuestError.BAD_CONFIG, "console: a stream cannot be sent to the "
                                          "VMM process; read the output from guest.get_serial()")
            config = validate(config)  # BAD_CONFIG here, before a process is started; engine resolved
            self._reap_locked()
            self._status = GuestStatus.STARTING
            self._stop_error = None
            self._problems = []
            try:
                sess = self._spawn()
            except OSError as e:
                self._status = GuestStatus.STOPPED
                raise GuestManagerException(GuestManagerError.START_FAILURE,
                                            f"cannot start the VMM process: {e}") from e
            self._session = sess
        self._send(sess, ("launch", config))
        if not sess.created.wait(self.start_timeout):
            self._kill(sess)
            sess.ended.wait(10)
            raise GuestManagerException(GuestManagerError.START_FAILURE,
                                        f"the VMM process did not answer within {self.start_timeout} s")
        if sess.create_error is not None:
            sess.ended.wait(30)
            err, msg = sess.create_error
            raise GuestLifecycleError(err, msg)
        sess.started.wait(self.start_timeout)
        with self._lock:
            if sess.guest is None or sess.t_start is None:
                raise GuestManagerException(GuestManagerError.START_FAILURE,
                                            "; ".join(self._problems) or "the VMM process ended")
            return sess.guest

    def connect(self) -> RemoteGuest:
        with self._lock:
            sess = self._session
            if self._status is not GuestStatus.RUNNING or sess is None or sess.guest is None:
                raise GuestManagerException(GuestManagerError.NOT_RUNNING,
                                            f"no guest is running (status {self._status.name})")
            return sess.guest

    def force_shutdown(self, timeout: float = 30.0) -> None:
        """Stop the guest (GuestLifecycle.stop in the child) and wait for the child to exit.

        A child that does not exit within `timeout` seconds is killed.
        """
        with self._lock:
            sess = self._session
            if sess is None or sess.ended.is_set():
                return
            self._status = GuestStatus.STOPPING
        try:
            self._send(sess, ("stop", -1, ()))
        except (OSError, GuestClosedError):
            pass
        if not sess.ended.wait(timeout):
            self._kill(sess)
            sess.ended.wait(10)
        try:
            sess.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill(sess)
            sess.proc.wait(10)

    def get_info(self) -> GuestInfo:
        with self._lock:
            sess = self._session
            uptime = 0.0
            if sess is not None and sess.t_start is not None:
                uptime = (sess.t_end or time.monotonic()) - sess.t_start
            return GuestInfo(self._status, uptime, self._stop_error, list(self._problems),
                             sess.proc.pid if sess is not None else None)

    def close(self):
        self.force_shutdown()
        with self._lock:
            self._reap_locked()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ plumbing
    def _spawn(self) -> _Session:
        parent, child = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        try:
            proc = subprocess.Popen([sys.executable, "-m", "lifecycle.control.manager", "--child", str(child.fileno())],
                                    pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
        finally:
            child.close()
        sess = _Session(proc, Connection(parent.detach()))
        sess.reader = threading.Thread(target=self._read, args=(sess,), name="guest-manager-reader", daemon=True)
        sess.reader.start()
        return sess

    def _send(self, sess, msg):
        with sess.send_lock:
            try:
                sess.conn.send(msg)
            except (OSError, ValueError) as e:
                raise GuestClosedError("INTERNAL", f"reach the VMM process ({e})") from None

    def _call(self, sess, op, args, timeout=60.0):
        with self._lock:        # _ended() fails every pending slot under the same lock
            if sess.gone:
                raise GuestClosedError("INTERNAL", f"{op}: the VMM process has ended")
            rid = sess.next_id = sess.next_id + 1
            slot = [threading.Event(), False, None]
            sess.pending[rid] = slot
        self._send(sess, (op, rid, args))
        if not slot[0].wait(timeout):
            with self._lock:
                sess.pending.pop(rid, None)
            raise GuestClosedError("INTERNAL", f"{op}: the VMM process did not answer within {timeout} s")
        ok, value = slot[1], slot[2]
        if ok:
            return value
        kind, a, b = value
        if kind == "closed":
            raise GuestClosedError(a, b)
        if kind == "lifecycle":
            raise GuestLifecycleError(GuestError[a], b)
        if kind == "value":
            raise ValueError(a)
        raise RuntimeError(f"in the VMM process: {a}")

    def _read(self, sess):
        conn = sess.conn
        try:
            while True:
                msg = conn.recv()
                kind = msg[0]
                if kind == "reply":
                    with self._lock:
                        slot = sess.pending.pop(msg[1], None)
                    if slot is not None:
                        slot[1], slot[2] = msg[2], msg[3]
                        slot[0].set()
                elif kind == "reply_fd":
                    fd = recv_handle(conn)
                    with self._lock:
                        slot = sess.pending.pop(msg[1], None)
                    if slot is None:
                        os.close(fd)
                    else:
                        slot[1], slot[2] = True, fd
                        slot[0].set()
                elif kind == "created":
                    with self._lock:
                        sess.guest = RemoteGuest(self, sess)
                    sess.created.set()
                elif kind == "create_failed":
                    with self._lock:
                        sess.create_error = (GuestError[msg[1]], msg[2])
                        self._stop_error = GuestError[msg[1]]
                        self._status = GuestStatus.STOPPED
                        self._problems.append(f"create failed: {msg[2]}")
                    sess.created.set()
                elif kind == "started":
                    with self._lock:
                        sess.t_start = time.monotonic()
                        if self._status is GuestStatus.STARTING:
                            self._status = GuestStatus.RUNNING
                    sess.started.set()
                elif kind == "finished":
                    err, text, final = msg[1], msg[2], msg[3]
                    with self._lock:
                        sess.finished = (err, text, final)
                        sess.t_end = time.monotonic()
                        self._stop_error = GuestError[err] if err else None
                        if err and err != "CONTROLLER_FORCED_HALT":
                            self._problems.append(text)
                        if sess.guest is not None:
                            sess.guest._end(final.get("epitaph"), final)
        except (EOFError, OSError):
            pass
        finally:
            self._ended(sess)

    def _ended(self, sess):
        try:
            rc = sess.proc.wait(30)
        except subprocess.TimeoutExpired:
            self._kill(sess)
            rc = sess.proc.wait(10)
        with self._lock:
            if sess.t_start is not None and sess.t_end is None:
                sess.t_end = time.monotonic()
            if sess.finished is None and sess.create_error is None:
                how = (f"killed by signal {signal.Signals(-rc).name}" if rc < 0 else f"exit status {rc}")
                self._problems.append(f"the VMM process {sess.proc.pid} ended without a shutdown ({how})")
                if sess.guest is not None:
                    sess.guest._end("INTERNAL", {"stop_reason": "vmm_terminated"})
                if self._session is sess:
                    self._status = GuestStatus.VMM_UNEXPECTED_TERMINATION
            elif self._session is sess and sess.create_error is None:
                self._status = GuestStatus.STOPPED
            sess.gone = True
            for slot in list(sess.pending.values()):
                slot[1], slot[2] = False, ("closed", "INTERNAL", "the VMM process has ended")
                slot[0].set()
            sess.pending.clear()
            try:
                sess.conn.close()
            except OSError:
                pass
        sess.created.set()
        sess.started.set()
        sess.ended.set()

    def _kill(self, sess):
        try:
            sess.proc.kill()
        except OSError:
            pass

    def _reap_locked(self):
        sess = self._session
        if sess is not None and sess.reader is not None and sess.reader is not threading.current_thread():
            sess.reader.join(30)


# ====================================================================== the child

def _child_main(fd: int) -> int:
    conn = Connection(fd)
    send_lock = threading.Lock()

    def send(msg):
        with send_lock:
            conn.send(msg)

    try:
        op, config = conn.recv()
    except EOFError:
        return 0
    # before numba is imported (in create): the engine the parent resolved, whatever we inherited
    if config.engine == "python":
        os.environ["NUMBA_DISABLE_JIT"] = "1"
    elif config.engine == "jit":
        os.environ.pop("NUMBA_DISABLE_JIT", None)
    from lifecycle.control.lifecycle import GuestLifecycle

    lc = GuestLifecycle()
    try:
        lc.create(config)
    except GuestLifecycleError as e:
        send(("create_failed", e.error.name, e.message))
        return 1
    guest = lc.bind()
    send(("created", os.getpid()))
    done = threading.Event()

    def runner():
        err, text = None, ""
        try:
            lc.run()
        except GuestLifecycleError as e:
            err, text = e.error.name, e.message
        except BaseException as e:   # noqa: BLE001
            err, text = "INTERNAL_ERROR", f"{type(e).__name__}: {e}"
        final = {"exit_code": guest.exit_code, "stop_reason": guest.stop_reason, "message": guest.message,
                 "reset_type": guest.reset_type, "instructions_retired": guest.instructions_retired, "epitaph": guest.epitaph}
        try:
            send(("finished", err, text, final))
        except OSError:
            pass
        done.set()

    t = threading.Thread(target=runner, name="vcpu", daemon=True)
    t.start()
    send(("started",))
    while not done.is_set():
        try:
            if not conn.poll(0.05):
                continue
            msg = conn.recv()
        except (EOFError, OSError):
            lc.stop()                # the controller went away: stop the guest and exit
            break
        op, rid, args = msg
        try:
            if op == "stop":
                lc.stop()
                continue
            if op == "get":
                value = getattr(guest, args[0])
            elif op == "call":
                name, a = args
                value = getattr(guest, name)(*a)
            elif op in ("serial", "console"):    # a socket: its fd crosses with SCM_RIGHTS
                s = guest.get_serial() if op == "serial" else guest.get_console()
                with send_lock:
                    conn.send(("reply_fd", rid))
                    send_handle(conn, s.fileno(), os.getppid())
                s.close()
                continue
            else:
                raise ValueError(f"unknown request {op!r}")
            send(("reply", rid, True, value))
        except GuestClosedError as e:
            send(("reply", rid, False, ("closed", e.epitaph, e.what)))
        except GuestLifecycleError as e:
            send(("reply", rid, False, ("lifecycle", e.error.name, e.message)))
        except ValueError as e:
            send(("reply", rid, False, ("value", str(e), None)))
        except Exception as e:   # noqa: BLE001
            send(("reply", rid, False, ("error", f"{type(e).__name__}: {e}", None)))
    t.join(60)
    conn.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(_child_main(int(sys.argv[2])))
    sys.stderr.write("usage: python -m lifecycle.control.manager --child FD (started by GuestManager)\n")
    sys.exit(2)
