"""lifecycle.Guest: what bind() returns -- facts, memory, registers, serial, absent devices, closing."""
import os
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elf_builder as eb  # noqa: E402

from emu.spec import PRV_M, RAM_BASE  # noqa: E402
from lifecycle import (GuestClosedError, GuestConfig, GuestError, GuestLifecycle,  # noqa: E402
                       GuestLifecycleError, KernelType)
from lifecycle.control.lifecycle import LifecycleState  # noqa: E402

BASE = RAM_BASE
HANG = 120.0
T0, T1, T2 = eb.T0, eb.T1, eb.T2


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def cfg(path, **kw):
    kw.setdefault("guest_memory", 1 << 20)
    return GuestConfig(kernel_type=KernelType.ELF, kernel=str(path), **kw)


def counter_elf(tmp_path):
    """x6 counts up forever; the count is also stored at BASE + 0x800."""
    return write(tmp_path, "count.elf", eb.build_elf(
        [eb.Segment(BASE, eb.words([eb.auipc(T0, 0), eb.addi(T1, T1, 1), eb.sd(T1, T0, 0x7FF & ~7),
                                    eb.jal(0, -8)]), name=".text"),
         eb.Segment(BASE + 0x1000, bytes(16), flags=eb.PF_R | eb.PF_W, name=".tohost")],
        entry=BASE, symbols={"tohost": BASE + 0x1000, "fromhost": BASE + 0x1008}))


class Runner:
    def __init__(self, lc):
        self.lc, self.outcome = lc, "unset"
        self.t = threading.Thread(target=self._body, daemon=True)
        self.t.start()

    def _body(self):
        try:
            self.outcome = self.lc.run()
        except BaseException as e:   # noqa: BLE001
            self.outcome = e

    def join(self):
        self.t.join(HANG)
        assert not self.t.is_alive(), "run() hung"
        return self.outcome


def wait_for(pred, what):
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.001)
    raise AssertionError(f"timed out waiting for {what}")


def recv_all(s):
    s.settimeout(HANG)
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            return data
        data += chunk


def test_created_guest_memory_and_registers(tmp_path):
    lc = GuestLifecycle()
    lc.create(cfg(write(tmp_path, "e3.elf", eb.htif_elf(3))))
    g = lc.bind()
    regs = g.registers()
    assert regs["pc"] == BASE and regs["instret"] == 0 and regs["priv"] == PRV_M
    assert len(regs["x"]) == 32 and regs["x"][0] == 0
    prog = eb.htif_program(3)
    assert g.read_memory(BASE, len(prog)) == prog
    # patch the exit code the program will report: addi t1, x0, (7 << 1) | 1
    i = [prog[k:k + 4] for k in range(0, len(prog), 4)].index(eb.words([eb.addi(T1, 0, (3 << 1) | 1)]))
    g.write_memory(BASE + 4 * i, eb.words([eb.addi(T1, 0, (7 << 1) | 1)]))
    g.set_registers(x={9: -1, 10: 42})
    r = g.registers()
    assert r["x"][9] == 2**64 - 1 and r["x"][10] == 42
    assert lc.run() is None
    assert g.exit_code == 7


def test_register_and_memory_errors(tmp_path):
    lc = GuestLifecycle()
    lc.create(cfg(write(tmp_path, "e0.elf", eb.htif_elf(0))))
    g = lc.bind()
    with pytest.raises(ValueError, match="outside RAM"):
        g.read_memory(0x1000, 4)
    with pytest.raises(ValueError, match="outside RAM"):
        g.write_memory(BASE + (1 << 20) - 2, b"1234")
    with pytest.raises(ValueError, match="x0"):
        g.set_registers(x={0: 1})
    lc.stop()


def test_running_guest_snapshots_are_consistent_and_do_not_stop_it(tmp_path):
    lc = GuestLifecycle()
    lc.create(cfg(counter_elf(tmp_path)))
    g = lc.bind()
    r = Runner(lc)
    wait_for(lambda: g.instructions_retired > 1000, "the guest to run")
    last = -1
    for _ in range(50):
        # one access = one pause = one consistent snapshot: pc, instret and x6 fit the loop
        # (auipc; then per iteration addi x6 / sd / jal)
        regs = g.registers()
        count, instret, pc = regs["x"][T1], regs["instret"], regs["pc"] - BASE
        assert instret == {4: 1 + 3 * count, 8: 3 * count - 1, 12: 3 * count}[pc], regs
        # the guest runs between two accesses: what it stored can only move forward
        mem = int.from_bytes(g.read_memory(BASE + (0x7FF & ~7), 8), "little")
        assert last <= count and count - 1 <= mem, (last, count, mem)
        last = mem
    g.write_memory(BASE + 0x900, b"marker")
    assert g.read_memory(BASE + 0x900, 6) == b"marker"
    assert lc.state is LifecycleState.RUNNING
    lc.stop()
    assert r.join().error is GuestError.CONTROLLER_FORCED_HALT
    assert g.instructions_retired > 1000


def test_access_racing_the_end_of_the_guest_never_hangs(tmp_path):
    path = write(tmp_path, "e0.elf", eb.htif_elf(0, b"x" * 50))
    for _ in range(20):
        lc = GuestLifecycle()
        lc.create(cfg(path))
        g = lc.bind()
        r = Runner(lc)
        for _ in range(20):
            try:
                g.registers()
            except GuestClosedError:
                break
        assert r.join() is None
        assert g.closed and g.epitaph == "OK"


def test_serial_carries_the_console_and_reaches_eof(tmp_path):
    lc = GuestLifecycle()
    lc.create(cfg(write(tmp_path, "hi.elf", eb.htif_elf(0, b"hello, serial\n"))))
    g = lc.bind()
    a, b = g.get_serial(), g.get_serial()
    try:
        assert lc.run() is None
        assert recv_all(a) == b"hello, serial\n"
        assert recv_all(b) == b"hello, serial\n"
        with pytest.raises(BrokenPipeError):             # the VMM's end is closed: nobody takes input now
            a.sendall(b"host input")
    finally:
        a.close()
        b.close()


def test_absent_devices(tmp_path):
    lc = GuestLifecycle()
    lc.create(cfg(write(tmp_path, "e0.elf", eb.htif_elf(0))))
    g = lc.bind()
    for call in (g.get_console, g.get_balloon_controller, g.get_mem_controller, g.get_host_vsock_endpoint):
        with pytest.raises(GuestLifecycleError) as ei:
            call()
        assert ei.value.error is GuestError.DEVICE_NOT_PRESENT
    lc.stop()


def test_get_console_with_a_virtio_console_carries_the_console(tmp_path):
    """virtio_console=True is accepted, so get_console() works: a socket on the VMM's console."""
    lc = GuestLifecycle()
    lc.create(cfg(write(tmp_path, "hi.elf", eb.htif_elf(0, b"to the console\n")), virtio_console=True))
    assert any(type(d.backend).__name__ == "VirtioConsole" for d in lc.machine.virtio)
    s = lc.bind().get_console()
    try:
        assert lc.run() is None
        assert recv_all(s) == b"to the console\n"
    finally:
        s.close()


def test_memory_and_register_arguments_out_of_range_are_value_errors(tmp_path):
    lc = GuestLifecycle()
    lc.create(cfg(write(tmp_path, "e0.elf", eb.htif_elf(0))))
    g = lc.bind()
    before = g.registers()
    for bad, match in (((BASE, -5), "size -0x5: negative"), ((-8, 4), "paddr -0x8: negative"),
                       ((BASE, 2**64), "size .*out of range"), ((BASE, 4.0), "size 4.0: must be an integer"),
                       (("0x80000000", 4), "must be an integer"), ((BASE, True), "must be an integer")):
        with pytest.raises(ValueError, match=match):
            g.read_memory(*bad)
    with pytest.raises(ValueError, match="paddr -0x1: negative"):
        g.write_memory(-1, b"x")
    for pc, match in ((2**64, "pc 0x10000000000000000: out of range"), (-4, "pc -0x4: negative"),
                      (BASE + 1, "pc 0x80000001: odd"), (BASE + 0.5, "must be an integer")):
        with pytest.raises(ValueError, match=match):
            g.set_registers(pc=pc)
    for v in (2**64, -(2**63) - 1):
        with pytest.raises(ValueError, match="x5 .*out of range"):
            g.set_registers(x={5: v})
    with pytest.raises(ValueError, match="register index True"):
        g.set_registers(x={True: 1})
    with pytest.raises(ValueError, match="x6"):                # nothing is written when one value is bad
        g.set_registers(x={5: 1, 6: 2**64}, pc=BASE + 2)
    assert g.registers() == before
    g.set_registers(x={5: 2**64 - 1, 6: -(2**63)}, pc=BASE + 2)   # the limits themselves are fine
    r = g.registers()
    assert (r["x"][5], r["x"][6], r["pc"]) == (2**64 - 1, 2**63, BASE + 2)
    assert g.read_memory(BASE, 0) == b""
    lc.stop()


def test_guest_closed_error_always_has_an_epitaph_under_concurrency(tmp_path):
    """Four threads hammer a Guest (memory, registers, hooks) while its VMMs are created, run and
    stopped or exit: every GuestClosedError, and every closed Guest, has an epitaph (it was None
    when a call found the VMM already gone)."""
    from lifecycle.debug.hooks import HOOK_CODE
    spin = write(tmp_path, "spin.elf", eb.htif_elf(0, loop_forever=True))
    quick = write(tmp_path, "quick.elf", eb.htif_elf(0, b"x" * 20))
    lc = GuestLifecycle()
    current = [None]
    done = threading.Event()
    fresh = threading.Condition()
    errors, epitaphs, calls = [], [], [0]

    def hammer(k):
        ops = [lambda g: g.registers(), lambda g: g.read_memory(BASE, 64), lambda g: g.write_memory(BASE + 0x800, b"ab"),
               lambda g: g.hook_del(g.hook_add(HOOK_CODE, lambda *_: None, begin=BASE + 0x900)),
               lambda g: g.set_registers(x={7: k})]
        i, last = 0, None
        while not done.is_set():
            g = current[0]
            if g is None or (g is last and g.closed):
                with fresh:                                  # this one is over: wait for the next Guest
                    fresh.wait_for(lambda: current[0] is not g or done.is_set(), HANG)
                continue
            last = g
            i += 1
            try:
                ops[i % len(ops)](g)
            except GuestClosedError as e:
                epitaphs.append(e.epitaph)
            except BaseException as e:   # noqa: BLE001
                errors.append(e)
            calls[0] += 1
    threads = [threading.Thread(target=hammer, args=(k,), daemon=True) for k in range(4)]
    for t in threads:
        t.start()
    closed_guests = []
    try:
        for n in range(60):
            lc.create(cfg(quick if n % 3 == 0 else spin))
            with fresh:
                g = current[0] = lc.bind()
                fresh.notify_all()
            r = Runner(lc)
            if n % 3:
                wait_for(lambda: g.instructions_retired > 0 or g.closed, "the guest to run")
                lc.stop()
            r.join()
            closed_guests.append(g)
    finally:
        with fresh:
            done.set()
            fresh.notify_all()
        for t in threads:
            t.join(HANG)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors[:3]
    assert epitaphs, "no call ever found a closed Guest: the test did not race"
    assert set(epitaphs) <= {"OK", "INTERNAL", "BAD_STATE"}, {e for e in epitaphs}
    assert all(g.closed and g.epitaph in ("OK", "INTERNAL") for g in closed_guests)
    print(f"{calls[0]} calls, {len(epitaphs)} GuestClosedErrors")


def test_closed_guest_keeps_its_facts(tmp_path):
    lc = GuestLifecycle()
    lc.create(cfg(write(tmp_path, "e9.elf", eb.htif_elf(9, b"ab"))))
    g = lc.bind()
    lc.run()
    assert g.closed and g.epitaph == "OK"
    assert g.exit_code == 9 and g.stop_reason == "exit" and g.instructions_retired > 0
    with pytest.raises(GuestClosedError) as ei:
        g.read_memory(BASE, 4)
    assert ei.value.epitaph == "OK"
    assert "closed" in repr(g)


def test_closing_a_handle_leaves_the_vmm(tmp_path):
    lc = GuestLifecycle()
    lc.create(cfg(write(tmp_path, "e4.elf", eb.htif_elf(4))))
    g1, g2 = lc.bind(), lc.bind()
    g1.close()
    assert g1.closed and not g2.closed
    with pytest.raises(GuestClosedError):
        g1.registers()
    assert lc.run() is None
    assert g2.exit_code == 4 and g1.exit_code is None


def test_keep_final_state(tmp_path):
    lc = GuestLifecycle()
    lc.create(cfg(write(tmp_path, "e0.elf", eb.htif_elf(0)), keep_final_state=True))
    lc.run()
    assert lc.final_machine is not None and lc.final_machine.hart.instret > 0
    lc.create(cfg(write(tmp_path, "e0.elf", eb.htif_elf(0))))
    assert lc.final_machine is None


def test_serial_fd_closed_on_teardown(tmp_path):
    fds0 = len(os.listdir("/proc/self/fd"))
    lc = GuestLifecycle()
    lc.create(cfg(write(tmp_path, "e0.elf", eb.htif_elf(0))))
    s = lc.bind().get_serial()
    lc.stop()
    s.close()
    assert len(os.listdir("/proc/self/fd")) == fds0


def test_a_slow_serial_reader_does_not_block_the_guest(tmp_path):
    """Output for a serial socket nobody reads waits in a bounded backlog, then is dropped
    (and counted); the guest goes on."""
    import socket
    T3 = eb.T3
    words = [eb.auipc(T0, 1), eb.addi(T2, 0, 0x101), eb.slli(T2, T2, 48), eb.ori(T1, T2, 0x41),
             eb.sd(T1, T0, 0), eb.ld(T3, T0, 0), eb.bne(T3, 0, -4), eb.jal(0, -12)]   # putchar('A') forever
    path = write(tmp_path, "chatty.elf", eb.build_elf(
        [eb.Segment(BASE, eb.words(words), name=".text"),
         eb.Segment(BASE + 0x1000, bytes(16), flags=eb.PF_R | eb.PF_W, name=".tohost")],
        entry=BASE, symbols={"tohost": BASE + 0x1000, "fromhost": BASE + 0x1008}))
    lc = GuestLifecycle()
    import io
    out = io.BytesIO()
    lc.create(cfg(path, max_instructions=100_000, console=out))
    g = lc.bind()
    s = g.get_serial()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    console = lc._vmm.console
    console.socks[0][0].setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    console.cap = 1000
    try:
        assert Runner(lc).join() is None      # nobody reads s while the guest writes
        assert g.stop_reason == "budget"
        got = recv_all(s)
        assert got and set(got) == {0x41}
        assert console.dropped > 0
        assert len(got) + console.dropped == len(out.getvalue())
        print(f"serial: {len(got)} bytes delivered, {console.dropped} dropped")
    finally:
        s.close()


def test_access_while_the_guest_sleeps_in_wfi(tmp_path):
    path = write(tmp_path, "wfi.elf", eb.build_elf(
        [eb.Segment(BASE, eb.words([eb.addi(T1, 0, 77), 0x10500073, eb.jal(0, -4)]), name=".text")],
        entry=BASE))
    lc = GuestLifecycle()
    lc.create(cfg(path))
    m = lc.machine
    g = lc.bind()
    r = Runner(lc)
    wait_for(lambda: m.idling, "the guest to sleep in wfi")
    for _ in range(5):
        assert g.registers()["x"][T1] == 77          # wakes the idle loop, serves, sleeps again
        assert g.read_memory(BASE + 4, 4) == (0x10500073).to_bytes(4, "little")
        wait_for(lambda: m.idling, "the guest to sleep again")
    lc.stop()
    assert r.join().error is GuestError.CONTROLLER_FORCED_HALT
