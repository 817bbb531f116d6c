"""An idle guest waiting for console input does not spin, and input goes in at defined points.

With the deterministic timer and host input attached (numbavm boot reading a pipe), the
loop no longer skips an idle wfi ahead to the timer by itself: it returns to the machine,
which treats that wfi as an idle point (lifecycle/machine/board.py, Machine._idle):
  * console input goes in only at idle points, one console_input(True) result (one line
    from a pipe) per idle point, at that instruction count;
  * with no input yet, the machine waits on the host clock until the guest's timer is due
    (at least INPUT_GRACE_S after the guest used its console), then skips ahead exactly as
    the loop would: same guest sequence, no spinning, and guest time cannot run ahead of the
    host's while the guest idles (it did: 350 guest seconds in 3 s of waiting at the prompt).
"""
import io
import os
import queue
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rvenc import WFI, I, csrr, csrw  # noqa: E402
import elf_builder as eb  # noqa: E402

from emu import state as S  # noqa: E402
from emu.timer import CLINT_MTIME, CLINT_MTIMECMP, mtime  # noqa: E402
from emu.spec import CLINT_BASE, MIE, MIP, MIP_MTIP, RAM_BASE  # noqa: E402
from lifecycle.machine.board import Machine, TIMEBASE  # noqa: E402

BASE = RAM_BASE
PROMPT = b"~ # "
SLEEP_TICKS = 2_000_000         # 0.2 s of guest time at the 10 MHz timebase


# ------------------------------------------------------------------ bare metal: the mechanism

def li32(rd, v):
    hi = (v + 0x800) >> 12
    return I("lui", rd=rd, imm=hi & 0xFFFFF) + I("addiw", rd=rd, rs1=rd, imm=v - (hi << 12))


def sleeper(tmp_path):
    """mtimecmp = mtime + SLEEP_TICKS, mie.MTIE on (mstatus.MIE off: the interrupt ends wfi but is
    not taken), wfi, read mtime into tohost+16, exit(0)."""
    c = I("auipc", rd=5, imm=1)                                     # t0 = &tohost
    c += li32(6, CLINT_BASE + CLINT_MTIME) + li32(7, CLINT_BASE + CLINT_MTIMECMP)
    c += I("ld", rd=28, rs1=6, imm=0)
    c += li32(29, SLEEP_TICKS)
    c += I("add", rd=28, rs1=28, rs2=29) + I("sd", rs2=28, rs1=7, imm=0)
    c += I("addi", rd=29, rs1=0, imm=MIP_MTIP) + csrw(MIE, 29)      # mie.MTIE: mip.MTIP's bit
    c += WFI
    c += I("ld", rd=28, rs1=6, imm=0) + I("sd", rs2=28, rs1=5, imm=16)
    c += csrr(30, MIP) + I("sd", rs2=30, rs1=5, imm=24)
    c += I("addi", rd=29, rs1=0, imm=1) + I("sd", rs2=29, rs1=5, imm=0) + I("jal", rd=0, imm=0)
    p = tmp_path / "sleeper.elf"
    p.write_bytes(eb.build_elf(
        [eb.Segment(BASE, c, name=".text"),
         eb.Segment(BASE + 0x1000, bytes(32), flags=eb.PF_R | eb.PF_W, name=".tohost")],
        entry=BASE, symbols={"tohost": BASE + 0x1000, "fromhost": BASE + 0x1008}))
    return p


def run_sleeper(tmp_path, console_input):
    m = Machine(memory=1 << 20, console=io.BytesIO(), idle_wait=True, console_input=console_input)
    m.load(sleeper(tmp_path))
    m.warm_up()
    r = m.run(max_instructions=100_000)
    assert (r.reason, r.exit_code) == ("exit", 0), r
    woke_at = int.from_bytes(m.hart.read_phys(BASE + 0x1010, 8), "little")
    return m, r, woke_at


def test_idle_wfi_with_host_input_waits_on_the_host_clock_and_sees_the_same_sequence(tmp_path):
    asks = []
    m, r, woke = run_sleeper(tmp_path, lambda idle: asks.append(idle) or b"")
    m0, r0, woke0 = run_sleeper(tmp_path, None)
    # the same guest-visible run either way: the host's skip is the loop's skip
    assert (r.instret, woke, int(m.hart.st[S.ST_IDLE])) == (r0.instret, woke0, int(m0.hart.st[S.ST_IDLE]))
    assert int(m.hart.st[S.ST_IDLE]) > 0
    # without host input the loop skipped ahead itself; with it, the host answered the idle wfi
    assert (m0.idle_points, m0.idle_skips) == (0, 0)
    assert (m.idle_points, m.idle_skips) == (1, 1)
    assert True in asks                                             # input was offered at the idle point
    # and guest time did not run ahead of host time while the guest slept
    idle_s = int(m.hart.st[S.ST_IDLE]) / int(m.hart.st[S.ST_TIME_DIV]) / TIMEBASE
    assert r.wall_s >= idle_s >= SLEEP_TICKS / TIMEBASE * 0.99, (r.wall_s, idle_s)


# ------------------------------------------------------------------ the Linux guest

class Session:
    """An in-process deterministic Linux boot with scripted console input.

    script(session, ask) -> bytes: called for every console_input(idle=True) after the first
    prompt; `ask` counts those calls since the last delivery.  Every delivery is logged
    with the instruction count and whether the hart was waiting in wfi."""

    def __init__(self, script, lines=()):
        from tests.linux_guest import bundled_kernel
        self.script = script
        self.lines = list(lines)
        self.out = bytearray()
        self.lock = threading.Lock()
        self.prompt_seen = threading.Event()
        self.deliveries = []        # (instret, in wfi, idle point number, data)
        self.asks = 0
        self.asked = threading.Event()
        self.ask_target = None
        self.m = Machine(memory=128 << 20, console=self, idle_wait=True, console_input=self.feed)
        self.m.boot_linux(bundled_kernel(), cmdline="console=ttyS0")
        self.m.warm_up()
        self.result = None
        self.thread = None

    def write(self, data):
        with self.lock:
            self.out += data
            if PROMPT in self.out:
                self.prompt_seen.set()
        return len(data)

    def flush(self):
        pass

    def feed(self, idle):
        if not idle:
            return b""
        self.asks += 1
        if self.ask_target is not None and self.asks >= self.ask_target:
            self.asked.set()
        data = self.script(self)
        if data:
            h = self.m.hart
            self.deliveries.append((h.instret, int(h.st[S.ST_WFI]), self.m.idle_points, data))
            self.asks = 0
        return data

    def start(self):
        self.thread = threading.Thread(target=lambda: setattr(self, "result", self.m.run()), daemon=True)
        self.thread.start()

    def finish(self, timeout=300):
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.m.stop()
            self.thread.join(60)
            pytest.fail(f"the guest did not power off\n{bytes(self.out)[-3000:].decode(errors='replace')}")
        assert self.result.reason == "exit", (self.result, bytes(self.out)[-3000:])
        return bytes(self.out)


def next_line(s):
    return s.lines.pop(0) if s.lines else b""


def test_piped_input_goes_in_at_idle_points_and_two_runs_are_identical():
    """Input written ahead (a file, a pipe): the same lines give the same run, each line going in
    when the guest is idle in wfi, at the same instruction count every time."""
    lines = [b"echo one\n", b"cat /proc/uptime\n", b"uname -a\n", b"bench 2000\n", b"poweroff\n"]
    runs = []
    for _ in range(2):
        s = Session(next_line, lines)
        s.start()
        out = s.finish()
        runs.append((out, s.deliveries, s.m.hart.instret))
    assert runs[0] == runs[1]
    out, deliveries, _ = runs[0]
    assert [d[3] for d in deliveries] == lines
    assert all(d[1] == 1 for d in deliveries), deliveries          # the hart waited in wfi each time
    assert len({d[2] for d in deliveries}) == len(lines)            # one line per idle point
    text = out.decode(errors="replace")
    assert "one" in text and "riscv64" in text and "primes below 2000 = 303" in text, text[-2000:]


def test_an_answer_to_the_prompt_goes_in_where_the_guest_waits_for_it():
    """A producer that answers the guest's prompt (here: on the 5th time it is asked, some 20 ms
    later, longer than a 10 ms timer tick) still gets its line in at the idle point right after
    the prompt: after console output the machine waits for an answer before the guest's time
    goes on (INPUT_GRACE_S)."""
    def script(s):
        if not s.prompt_seen.is_set():
            return b""
        if s.first_idle is None:
            s.first_idle = s.m.idle_points
        s.answer_asks += 1
        return next_line(s) if s.answer_asks == 5 else b""
    s = Session(script, [b"poweroff\n"])
    s.first_idle = None
    s.answer_asks = 0
    s.start()
    s.finish()
    assert len(s.deliveries) == 1
    assert s.deliveries[0][2] == s.first_idle, (s.deliveries, s.first_idle)


def test_an_idle_guest_waiting_for_input_does_not_run_ahead_of_the_host():
    """At the prompt with no input coming: the guest's timer ticks still come (its time goes on),
    but on the host clock: guest time waited <= host time waited (it was 100x more), and the
    machine sleeps between idle points instead of spinning."""
    release = threading.Event()

    def script(s):
        return b"poweroff\n" if release.is_set() else b""
    s = Session(script)
    s.ask_target = 200                  # ~1 s: the grace after the prompt, then ~0.5 s of ticks
    s.start()
    try:
        assert s.prompt_seen.wait(300), bytes(s.out)[-3000:]
        st = s.m.hart.st
        g0, w0, skips0 = int(mtime(st)), time.monotonic(), s.m.idle_skips
        s.asks = 0
        s.asked.clear()
        assert s.asked.wait(300), "the machine stopped asking for input"
        g1, w1, skips1 = int(mtime(st)), time.monotonic(), s.m.idle_skips
    finally:
        release.set()
    s.finish()
    guest_s, host_s = (g1 - g0) / TIMEBASE, w1 - w0
    assert skips1 > skips0, "the guest's timer never came while it waited for input"
    assert guest_s <= host_s * 1.02 + 0.05, (guest_s, host_s)
