"""System workloads of the benchmark: Linux boot, a Linux user process, a UART flood, timer interrupts.

Every run returns a dict with "ok" (a wrong answer or a missing prompt is a failure, not
a number), "error" when not ok, and its measurements.  The harness (bench/harness.py)
interleaves them with repetitions like the compute workloads.

  linux-boot   `numbavm boot --kernel IMAGE --stats` in a subprocess, stdin "poweroff\\n":
               time from process start to the first prompt "~ # " (its --stats line), with
               the VMM's built-in SBI and with OpenSBI fw_dynamic.bin as the M-mode
               firmware; and `qemu-system-riscv64 -M virt -bios default` (OpenSBI) as the
               peer, timed from just before it is started until "~ # " is on its stdout.
  linux-user   in-process: a Machine boots the bundled guest and its shell runs
               `bench 1000000` (lifecycle/guests/linux/init.c: a byte sieve, a user process under
               Sv39) several times; instructions and host time are taken from the moment
               the command line is handed to the UART to the moment the result line has
               been written.  Compared with usersieve.elf, the same C compiled the same way,
               bare-metal (M-mode, no paging).
  uart-flood   uartflood.elf: 100,000 bytes to the UART THR, polling LSR (200,000 MMIO
               accesses, each an exit to the Python device); the console must receive
               exactly the pattern (uartflood_expected()).  Gives the cost of one access.
  timer-irq    timerirq.elf: a compute loop interrupted by the CLINT timer about every
               1000 instructions (M-mode handler re-arming mtimecmp).
"""
from __future__ import annotations

import gc
import io
import os
import re
import selectors
import subprocess
import sys
import time

from bench import common

OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
BUILD_SCRIPT = common.ROOT / "lifecycle" / "guests" / "linux" / "build.sh"
PROMPT = b"~ # "
USER_N = 1_000_000
USER_PRIMES = 78_498          # primes below 10^6
USER_RUNS = 8                 # `bench` runs per boot: the first touches the pages (cold), and while the
                              # compiler thread works on its region (emu/regions/) the next ones still
                              # run in the loop: the median of the warm runs is the steady state
UART_BYTES = 100_000


# --------------------------------------------------------------------------- the kernel

_kernel = {}


def bundled_kernel():
    """-> (Image path, None) or (None, why).  Builds it if the cache lacks it (minutes)."""
    if "k" in _kernel:
        return _kernel["k"]
    if not BUILD_SCRIPT.exists():
        _kernel["k"] = (None, f"{BUILD_SCRIPT} is missing")
        return _kernel["k"]
    try:
        p = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.SubprocessError) as e:
        _kernel["k"] = (None, f"lifecycle/guests/linux/build.sh failed: {e}")
        return _kernel["k"]
    lines = p.stdout.strip().splitlines()
    if p.returncode != 0 or not lines or not os.path.isfile(lines[-1]):
        tail = (p.stdout + p.stderr).strip().splitlines()[-1:] or ["no output"]
        _kernel["k"] = (None, f"the bundled Linux guest could not be built (lifecycle/guests/linux/build.sh "
                              f"status {p.returncode}: {tail[0]})")
    else:
        _kernel["k"] = (lines[-1], None)
    return _kernel["k"]


# --------------------------------------------------------------------------- linux-boot

_BOOT_RE = {
    "prompt": re.compile(r"first prompt\s*:\s*([0-9.]+) s after process start; ([0-9.]+) s of running, "
                         r"([0-9,]+) instructions"),
    "instret": re.compile(r"instructions retired\s*:\s*([0-9,]+)"),
    "startup_s": re.compile(r"start-up\s*:\s*([0-9.]+) s"),
    "jit_load_s": re.compile(r"JIT compile/load\s*:\s*([0-9.]+) s"),
    "devices": re.compile(r"device handlers\s*:\s*([0-9.]+) s in Python, ([0-9,]+) MMIO exits, ([0-9,]+) SBI"),
    "traps": re.compile(r"traps / interrupts\s*:\s*([0-9,]+) / ([0-9,]+)"),
    "tlb": re.compile(r"TLB misses\s*:\s*([0-9,]+)"),
}


def _num(s):
    return float(s.replace(",", "")) if "." in s else int(s.replace(",", ""))


def linux_boot_numbavm(kernel, bios=None, timeout_s=300):
    """`numbavm boot --kernel K --stats [--bios FW]` with stdin 'poweroff\\n' -> time to the prompt."""
    cmd = common.numbavm_exe() + ["boot", "--kernel", kernel, "--stats", "--timer", "deterministic"]
    if bios is not None:
        cmd += ["--bios", bios]
    from bench.peers import _children_cpu
    t0 = time.perf_counter()
    c0 = _children_cpu()
    try:
        p = subprocess.run(cmd, cwd=common.ROOT, env=common.child_env(), input=b"poweroff\n",
                           capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout_s} s"}
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - c0
    err = p.stderr.decode("utf-8", "replace")
    out = p.stdout.decode("utf-8", "replace")
    d = {"process_wall_s": wall, "process_cpu_s": cpu, "exit_status": p.returncode}
    mm = _BOOT_RE["prompt"].search(err)
    if mm:
        d.update(prompt_after_start_s=float(mm.group(1)), prompt_run_s=float(mm.group(2)),
                 prompt_instructions=_num(mm.group(3)))
        d["prompt_mips"] = d["prompt_instructions"] / d["prompt_run_s"] / 1e6 if d["prompt_run_s"] else None
    for k in ("instret", "startup_s", "jit_load_s", "tlb"):
        mm = _BOOT_RE[k].search(err)
        d[k if k != "tlb" else "tlb_misses"] = _num(mm.group(1)) if mm else None
    mm = _BOOT_RE["devices"].search(err)
    if mm:
        d.update(device_s=float(mm.group(1)), mmio_exits=_num(mm.group(2)), sbi_calls=_num(mm.group(3)))
    mm = _BOOT_RE["traps"].search(err)
    if mm:
        d.update(traps=_num(mm.group(1)), interrupts=_num(mm.group(2)))
    problems = []
    if p.returncode != 0:
        problems.append(f"exit status {p.returncode}")
    if "prompt_after_start_s" not in d:
        problems.append("no first-prompt line in --stats")
    if "Power down" not in out:
        problems.append("the guest did not power off")
    d["ok"] = not problems
    if problems:
        d["error"] = "; ".join(problems) + f": {err.strip()[-300:]!r}"
    return d


def qemu_boot_cmd(kernel):
    from bench import peers
    return [peers._which(peers.QEMU_SYSTEM), "-M", "virt", "-m", "128M", "-nographic", "-bios", "default",
            "-kernel", kernel, "-append", "console=ttyS0"]


def linux_boot_qemu(kernel, timeout_s=120):
    """qemu-system-riscv64 -M virt -bios default: wall time from just before the process starts to '~ # '."""
    from bench.peers import _children_cpu
    t0 = time.perf_counter()
    c0 = _children_cpu()
    p = subprocess.Popen(qemu_boot_cmd(kernel), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    buf = bytearray()
    t_prompt = None
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    try:
        while t_prompt is None and time.perf_counter() - t0 < timeout_s:
            if not sel.select(timeout=0.5):
                continue
            data = os.read(p.stdout.fileno(), 65536)
            if not data:
                break
            buf += data
            if PROMPT in buf[-4096 - len(data):]:
                t_prompt = time.perf_counter()
        if t_prompt is not None:
            p.stdin.write(b"poweroff\n")
            p.stdin.flush()
            try:
                rest = p.communicate(timeout=30)[0]
                buf += rest or b""
            except subprocess.TimeoutExpired:
                pass
    finally:
        sel.close()
        if p.poll() is None:
            p.kill()
            p.wait()
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - c0
    out = bytes(buf).decode("latin-1")
    if t_prompt is None:
        return {"ok": False, "process_wall_s": wall, "error": f"no prompt within {timeout_s} s: {out[-200:]!r}"}
    ok = "Power down" in out
    return {"ok": ok, "prompt_after_start_s": t_prompt - t0, "process_wall_s": wall, "process_cpu_s": cpu,
            "exit_status": p.returncode, "error": None if ok else f"the guest did not power off: {out[-200:]!r}"}


# --------------------------------------------------------------------------- linux-user

class _UserSession:
    """Console and input of an in-process Linux guest that runs `bench N` several times.

    Both callbacks run on the thread that runs the machine, with the loop stopped (a UART
    write is an MMIO exit; input is asked for between slices or while the guest idles),
    so the counters read here are exact.
    """

    def __init__(self, n, runs):
        self.cmds = [f"bench {n}\n".encode()] * runs + [b"poweroff\n"]
        self.out = bytearray()
        self.prompts = 0
        self.fed = 0
        self.m = None
        self.marks = []              # [(start snapshot, end snapshot or None)]
        self._want_end = None        # offset in out after which the result line is expected
        self._result = re.compile(rb"bench: primes below \d+ = \d+[^\n]*\n")

    def snapshot(self):
        from emu import state as S
        m = self.m
        st = m.hart.st
        return {"t": time.perf_counter(), "cpu": time.thread_time(), "instret": int(m.hart.instret),
                "mmio_exits": m.mmio_exits,
                "device_s": m.device_s, "traps": int(st[S.ST_TRAPS]), "interrupts": int(st[S.ST_IRQS]),
                "tlb_misses": int(st[S.ST_TLB_MISSES])}

    # console
    def write(self, data):
        n0 = len(self.out)
        self.out += data
        self.prompts += bytes(self.out[max(0, n0 - len(PROMPT)):]).count(PROMPT)
        if self._want_end is not None:
            mm = self._result.search(self.out, self._want_end)
            if mm:
                self.marks[-1] = (self.marks[-1][0], self.snapshot())
                self._want_end = None
        return len(data)

    def flush(self):
        pass

    # input: one command each time the guest idles at a new prompt
    def __call__(self, idle):
        if not idle or self.fed >= len(self.cmds) or self.prompts <= self.fed:
            return b""
        cmd = self.cmds[self.fed]
        self.fed += 1
        if cmd.startswith(b"bench"):
            self.marks.append((self.snapshot(), None))
            self._want_end = len(self.out)
        return cmd


def linux_user(kernel, n=USER_N, runs=USER_RUNS, expect=USER_PRIMES, timeout_s=300):
    """Boot the guest in-process and time `bench N` as a user process, `runs` times."""
    from lifecycle.machine.board import Machine
    sess = _UserSession(n, runs)
    m = Machine(memory=128 << 20, engine="jit", console=sess, idle_wait=True, console_input=sess)
    sess.m = m
    m.boot_linux(kernel, cmdline="console=ttyS0")
    m.warm_up()
    gc.collect()
    import threading
    timer = threading.Timer(timeout_s, m.stop)
    timer.start()
    try:
        r = m.run()
    finally:
        timer.cancel()
    out = bytes(sess.out).decode("latin-1")
    results = re.findall(r"bench: primes below (\d+) = (\d+)", out)
    problems = []
    if r.reason != "exit":
        problems.append(f"the run ended with {r.reason}: {r.message}")
    if len(results) != runs or any(int(a) != n or int(b) != expect for a, b in results):
        problems.append(f"expected {runs} x 'primes below {n} = {expect}', got {results}")
    if len(sess.marks) != runs or any(e is None for _, e in sess.marks):
        problems.append("not every bench run was timed")
    d = {"ok": not problems, "boot_instret": None, "runs": []}
    if problems:
        d["error"] = "; ".join(problems) + f" (console tail {out[-300:]!r})"
        return d
    for s, e in sess.marks:
        one = {k: e[k] - s[k] for k in s}
        one["wall_s"] = one.pop("t")
        one["cpu_s"] = one.pop("cpu")
        one["mips"] = one["instret"] / one["wall_s"] / 1e6
        one["mips_cpu"] = one["instret"] / one["cpu_s"] / 1e6 if one["cpu_s"] > 0 else None
        d["runs"].append(one)
    d["guest_reported_ms"] = [float(x) for x in re.findall(r"primes below \d+ = \d+ in ([0-9.]+) ms", out)]
    return d


# --------------------------------------------------------------------------- bare-metal system programs

def uartflood_expected(nbytes=UART_BYTES):
    """The bytes uartflood.c writes to the UART."""
    return bytes(10 if i % 80 == 79 else 33 + (i * 7 + i // 80) % 94 for i in range(nbytes))


def run_bare(name, check=None):
    """One in-process JIT run of a bare-metal system program, with the machine's counters."""
    from emu import state as S
    from lifecycle.machine.board import Machine
    console = io.BytesIO()
    m = Machine(memory=128 << 20, engine="jit", console=console)
    m.load(common.workload_path(name))
    m.warm_up()
    gc.collect()
    c0 = time.thread_time()
    r = m.run(max_instructions=2_000_000_000)
    cpu = time.thread_time() - c0
    out = console.getvalue()
    st = m.hart.st
    d = {"wall_s": r.wall_s, "cpu_s": cpu, "instret": r.instret, "exit_code": r.exit_code, "mips": r.mips,
         "mips_cpu": r.instret / cpu / 1e6 if cpu > 0 else None,
         "mmio_exits": m.mmio_exits, "device_s": m.device_s, "interrupts": int(st[S.ST_IRQS]),
         "traps": int(st[S.ST_TRAPS])}
    problems = []
    if r.reason != "exit" or r.exit_code != 0:
        problems.append(f"{r.reason} (exit code {r.exit_code}) {r.message}")
    if f"{name}: ok".encode() not in out:
        problems.append(f"no '{name}: ok' line")
    if check is not None:
        why = check(d, out)
        if why:
            problems.append(why)
    d["ok"] = not problems
    if problems:
        d["error"] = "; ".join(problems) + f" (output tail {out[-120:]!r})"
    return d


def _uart_check(d, out):
    exp = uartflood_expected()
    if not out.startswith(exp):
        i = next((k for k in range(min(len(out), len(exp))) if out[k] != exp[k]), min(len(out), len(exp)))
        return f"the console did not receive the pattern (first difference at byte {i} of {len(exp)})"
    if d["mmio_exits"] < 2 * len(exp):
        return f"{d['mmio_exits']} MMIO exits for {len(exp)} bytes: expected at least two per byte"
    d["bytes"] = len(exp)
    d["us_per_access"] = d["wall_s"] / d["mmio_exits"] * 1e6
    d["us_per_access_cpu"] = d["cpu_s"] / d["mmio_exits"] * 1e6
    d["handler_us_per_access"] = d["device_s"] / d["mmio_exits"] * 1e6
    return None


def _timer_check(d, out):
    if d["interrupts"] < d["instret"] // 2000:
        return f"only {d['interrupts']} timer interrupts in {d['instret']} instructions (expected ~1 per 1000)"
    d["instructions_per_interrupt"] = d["instret"] / d["interrupts"]
    return None


def run_uartflood():
    return run_bare("uartflood", _uart_check)


def run_timerirq():
    return run_bare("timerirq", _timer_check)


def run_usersieve():
    return run_bare("usersieve")


# --------------------------------------------------------------------------- what is available

SYSTEM_ITEMS = ("linux-boot", "linux-boot-opensbi", "linux-boot-qemu", "linux-user", "usersieve",
                "uart-flood", "timer-irq")


def available(items=SYSTEM_ITEMS):
    """-> {item: (ok, why)} for the system measurements."""
    from bench import peers
    out = {}
    need_kernel = [i for i in items if i.startswith("linux")]
    kernel, why = bundled_kernel() if need_kernel else (None, None)
    for i in items:
        if i.startswith("linux") and kernel is None:
            out[i] = (False, why)
        elif i == "linux-boot-opensbi" and not os.path.isfile(OPENSBI):
            out[i] = (False, f"{OPENSBI} is missing (Debian: apt-get install opensbi)")
        elif i == "linux-boot-qemu" and not peers.qemu_system_available()[0]:
            out[i] = (False, peers.qemu_system_available()[1])
        elif i in ("usersieve", "uart-flood", "timer-irq") and not os.path.exists(
                common.workload_path({"usersieve": "usersieve", "uart-flood": "uartflood",
                                       "timer-irq": "timerirq"}[i])):
            out[i] = (False, "the ELF is missing (bench/workloads/build.sh)")
        else:
            out[i] = (True, kernel if i.startswith("linux") else "")
    return out


def run_item(item):
    kernel = bundled_kernel()[0]
    if item == "linux-boot":
        return linux_boot_numbavm(kernel)
    if item == "linux-boot-opensbi":
        return linux_boot_numbavm(kernel, bios=OPENSBI)
    if item == "linux-boot-qemu":
        return linux_boot_qemu(kernel)
    if item == "linux-user":
        return linux_user(kernel)
    if item == "usersieve":
        return run_usersieve()
    if item == "uart-flood":
        return run_uartflood()
    if item == "timer-irq":
        return run_timerirq()
    raise ValueError(item)


if __name__ == "__main__":          # a quick look: python -m bench.system [ITEM...]
    common.setup_env()
    import json
    for it in sys.argv[1:] or SYSTEM_ITEMS:
        ok, why = available((it,))[it]
        print(it, json.dumps(run_item(it) if ok else {"skipped": why}, default=str)[:600])
