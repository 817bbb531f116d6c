"""GuestManager: the VMM in a child process; launch / connect / get_info / force_shutdown; kill -9."""
import os
import signal
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elf_builder as eb  # noqa: E402

from lifecycle import GuestClosedError, GuestConfig, GuestError, GuestLifecycleError, KernelType  # noqa: E402
from lifecycle.control.manager import (GuestManager, GuestManagerError, GuestManagerException,  # noqa: E402
                               GuestStatus)

BASE = eb.RAM_BASE
HANG = 120.0


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def cfg(path, **kw):
    kw.setdefault("guest_memory", 1 << 20)
    return GuestConfig(kernel_type=KernelType.ELF, kernel=str(path), **kw)


def wait_status(mgr, *statuses):
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        info = mgr.get_info()
        if info.guest_status in statuses:
            return info
        time.sleep(0.01)
    raise AssertionError(f"status stayed {mgr.get_info().guest_status}, expected {statuses}")


def _fds():
    return set(os.listdir("/proc/self/fd"))


def _open_fds_since(fds0):
    """fds open now that were not open at the baseline, with what they are (an fd that closed
    meanwhile, like the one listdir used, is not counted)."""
    out = {}
    for fd in _fds() - fds0:
        try:
            out[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    return out


@pytest.fixture
def mgr():
    """A GuestManager; after the test it is closed, and what this test made must be gone: the
    threads started since the baseline end, and no fd opened since then stays open.  Threads
    and fds that earlier tests left behind are in the baseline and not counted (their daemons
    may end or close fds at any time)."""
    threads0, fds0 = set(threading.enumerate()), _fds()
    m = GuestManager()
    yield m
    m.close()
    for t in [t for t in threading.enumerate() if t not in threads0]:
        t.join(HANG)
        assert not t.is_alive(), f"thread {t.name!r} still runs after GuestManager.close()"
    assert _open_fds_since(fds0) == {}


def test_launch_connect_info_and_force_shutdown(tmp_path, mgr):
    assert mgr.get_info().guest_status is GuestStatus.NOT_STARTED
    with pytest.raises(GuestManagerException) as ei:
        mgr.connect()
    assert ei.value.error is GuestManagerError.NOT_RUNNING
    g = mgr.launch(cfg(write(tmp_path, "go.elf", eb.htif_elf(0, b"go\n", loop_forever=True))))
    info = mgr.get_info()
    assert info.guest_status is GuestStatus.RUNNING and info.pid and info.pid != os.getpid()
    assert mgr.connect() is g
    s = g.get_serial()
    try:
        s.settimeout(HANG)
        got = b""
        while len(got) < 3:
            chunk = s.recv(16)
            assert chunk, got                           # EOF before the output: fail, not spin
            got += chunk
        assert got == b"go\n"
        assert g.read_memory(BASE, 4) == eb.htif_program(0, b"go\n", loop_forever=True)[:4]
        assert g.registers()["pc"] >= BASE and g.instructions_retired > 0
        with pytest.raises(GuestLifecycleError) as ei:
            g.get_console()
        assert ei.value.error is GuestError.DEVICE_NOT_PRESENT
        with pytest.raises(ValueError, match="outside RAM"):
            g.read_memory(0, 4)
        with pytest.raises(GuestManagerException) as ei:
            mgr.launch(cfg(write(tmp_path, "e0.elf", eb.htif_elf(0))))
        assert ei.value.error is GuestManagerError.ALREADY_RUNNING
        mgr.force_shutdown()
    finally:
        s.close()
    info = mgr.get_info()
    assert info.guest_status is GuestStatus.STOPPED
    assert info.stop_error is GuestError.CONTROLLER_FORCED_HALT
    assert info.uptime > 0
    assert g.closed and g.epitaph == "INTERNAL" and g.stop_reason == "stopped"
    with pytest.raises(GuestClosedError):
        g.registers()


def test_remote_get_console_with_a_virtio_console(tmp_path, mgr):
    """get_console() returns a socket (its fd crosses with SCM_RIGHTS, as get_serial's) carrying
    the console; the argument checks of Guest reach the caller as ValueError."""
    g = mgr.launch(cfg(write(tmp_path, "go.elf", eb.htif_elf(0, b"go\n", loop_forever=True)), virtio_console=True))
    s = g.get_console()
    try:
        s.settimeout(HANG)
        got = b""
        while len(got) < 3:
            chunk = s.recv(16)
            assert chunk, got
            got += chunk
        assert got == b"go\n"
        with pytest.raises(ValueError, match="size -0x5: negative"):
            g.read_memory(BASE, -5)
        with pytest.raises(ValueError, match="odd"):
            g.set_registers(pc=BASE + 1)
        mgr.force_shutdown()
    finally:
        s.close()
    assert g.closed and g.epitaph == "INTERNAL"
    with pytest.raises(GuestClosedError) as ei:
        g.get_console()
    assert ei.value.epitaph == "INTERNAL"


def test_kill_9_is_an_unexpected_termination_and_a_new_launch_works(tmp_path, mgr):
    spin = write(tmp_path, "spin.elf", eb.htif_elf(0, loop_forever=True))
    g = mgr.launch(cfg(spin))
    pid = mgr.get_info().pid
    os.kill(pid, signal.SIGKILL)
    info = wait_status(mgr, GuestStatus.VMM_UNEXPECTED_TERMINATION)
    assert any("SIGKILL" in p for p in info.detected_problems), info
    assert g.closed and g.epitaph == "INTERNAL"
    with pytest.raises(GuestClosedError):
        g.read_memory(BASE, 4)
    # the controlling program lives on, and a new launch works
    g2 = mgr.launch(cfg(write(tmp_path, "e6.elf", eb.htif_elf(6))))
    wait_status(mgr, GuestStatus.STOPPED)
    assert g2.exit_code == 6 and g2.epitaph == "OK"
    info = mgr.get_info()
    assert info.stop_error is None and info.detected_problems == []
    assert info.pid != pid


def test_guest_that_exits_by_itself(tmp_path, mgr):
    g = mgr.launch(cfg(write(tmp_path, "e3.elf", eb.htif_elf(3))))
    wait_status(mgr, GuestStatus.STOPPED)
    assert (g.exit_code, g.stop_reason, g.epitaph) == (3, "exit", "OK")
    with pytest.raises(GuestManagerException):
        mgr.connect()
    mgr.force_shutdown()             # nothing to do: returns
    assert mgr.get_info().guest_status is GuestStatus.STOPPED


def test_config_errors(tmp_path, mgr):
    with pytest.raises(GuestLifecycleError) as ei:     # checked in the parent: no process
        mgr.launch(GuestConfig(kernel_type=KernelType.ELF, kernel=str(tmp_path / "x.elf"), cpus=4))
    assert ei.value.error is GuestError.BAD_CONFIG and "cpus" in ei.value.message
    assert mgr.get_info().guest_status is GuestStatus.NOT_STARTED
    with pytest.raises(GuestLifecycleError) as ei:     # found by the child's create()
        mgr.launch(cfg(tmp_path / "missing.elf"))
    assert ei.value.error is GuestError.KERNEL_LOAD_FAILURE and "missing.elf" in ei.value.message
    info = mgr.get_info()
    assert info.guest_status is GuestStatus.STOPPED and info.stop_error is GuestError.KERNEL_LOAD_FAILURE
    import io
    with pytest.raises(GuestLifecycleError) as ei:
        mgr.launch(cfg(tmp_path / "x.elf", console=io.BytesIO()))
    assert ei.value.error is GuestError.BAD_CONFIG and "console" in ei.value.message


def test_guest_fatal_is_the_stop_error(tmp_path, mgr):
    wfi = write(tmp_path, "wfi.elf", eb.build_elf(
        [eb.Segment(BASE, eb.words([0x10500073, eb.jal(0, -4)]), name=".text")], entry=BASE))
    mgr.launch(cfg(wfi, wfi_idle="fatal"))
    info = wait_status(mgr, GuestStatus.STOPPED)
    assert info.stop_error is GuestError.VCPU_RUNTIME_FAILURE
    assert any("wfi" in p for p in info.detected_problems)


def test_kill_9_with_requests_in_flight(tmp_path, mgr):
    """Three threads call registers() in a loop while the child is killed: each one's loop ends
    with a GuestClosedError(INTERNAL), none hangs and nothing else is raised."""
    g = mgr.launch(cfg(write(tmp_path, "spin.elf", eb.htif_elf(0, loop_forever=True))))
    lock = threading.Lock()
    results = {"ok": 0, "closed": [], "other": []}
    twenty = threading.Event()

    def spam():
        while True:                                     # until the kill closes the Guest
            try:
                g.registers()
            except GuestClosedError as e:
                results["closed"].append(e.epitaph)
                return
            except BaseException as e:   # noqa: BLE001
                results["other"].append(e)
                return
            with lock:
                results["ok"] += 1
                if results["ok"] >= 20:
                    twenty.set()
    ts = [threading.Thread(target=spam, daemon=True) for _ in range(3)]
    for t in ts:
        t.start()
    try:
        assert twenty.wait(HANG), results
    finally:
        os.kill(mgr.get_info().pid, signal.SIGKILL)
    for t in ts:
        t.join(HANG)
        assert not t.is_alive(), "a request hung after kill -9"
    assert results["other"] == [] and results["closed"] == ["INTERNAL"] * 3, results
    wait_status(mgr, GuestStatus.VMM_UNEXPECTED_TERMINATION)


def test_the_child_uses_the_engine_of_the_config(tmp_path, mgr, monkeypatch):
    # whatever NUMBA_DISABLE_JIT the controller has, the child picks the configured engine
    monkeypatch.setenv("NUMBA_DISABLE_JIT", "1")
    g = mgr.launch(cfg(write(tmp_path, "e2.elf", eb.htif_elf(2, b"py")), engine="python"))
    wait_status(mgr, GuestStatus.STOPPED)
    assert g.exit_code == 2
    g = mgr.launch(cfg(write(tmp_path, "e4.elf", eb.htif_elf(4)), engine="jit"))
    wait_status(mgr, GuestStatus.STOPPED)
    assert g.exit_code == 4 and mgr.get_info().stop_error is None


ORPHAN = """
import os, sys
sys.path.insert(0, 'tests')
import elf_builder as eb
from lifecycle import GuestConfig, KernelType
from lifecycle.control.manager import GuestManager
open(sys.argv[1], 'wb').write(eb.htif_elf(0, loop_forever=True))
mgr = GuestManager()
mgr.launch(GuestConfig(kernel_type=KernelType.ELF, kernel=sys.argv[1], guest_memory=1 << 20))
print(mgr.get_info().pid, flush=True)
os._exit(0)          # the controller dies without force_shutdown
"""


def test_the_vmm_exits_when_its_controller_dies(tmp_path):
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, "-c", ORPHAN, str(tmp_path / "spin.elf")], cwd=root, env=env,
                       capture_output=True, timeout=HANG)
    assert r.returncode == 0, r.stderr.decode()
    pid = int(r.stdout.split()[0])
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:
            with open(f"/proc/{pid}/stat") as f:  # a zombie (exited, not yet reaped by init) counts
                if f.read().rsplit(") ", 1)[1].startswith("Z"):
                    return
        except FileNotFoundError:
            return
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError("the orphaned VMM process kept running")


def test_a_system_reset_crosses_to_the_controlling_process(mgr):
    """Guest.reset_type reaches the remote Guest typed (the VMM child's final facts)."""
    from pathlib import Path
    from devices.firmware.sbi import ResetType
    g = mgr.launch(cfg(str(Path(__file__).parent / "guest" / "bin" / "dev_reboot.elf"), guest_memory=16 << 20))
    wait_status(mgr, GuestStatus.STOPPED)
    assert (g.exit_code, g.stop_reason, g.epitaph) == (0, "exit", "OK")
    assert type(g.reset_type) is ResetType and g.reset_type is ResetType.COLD_REBOOT
