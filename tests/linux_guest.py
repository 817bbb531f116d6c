"""Test support: the bundled Linux guest, and a console that talks to `numbavm boot` through pipes."""
import os
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "lifecycle", "guests", "linux", "build.sh")
NUMBAVM = [sys.executable, "-m", "lifecycle.cli.main"]
PROMPT = b"~ # "
OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"

_kernel = []


def unavailable(why):
    """Skip with the reason, or fail on CI (where make test installs everything)."""
    if os.environ.get("CI"):
        pytest.fail(f"{why} (CI is set: make test should have provided it)")
    pytest.skip(why)


def bundled_kernel():
    """The bundled guest's Image (built by lifecycle/guests/linux/build.sh; cached after the first time)."""
    if _kernel:
        return _kernel[0]
    p = subprocess.run(["bash", BUILD], capture_output=True, text=True, timeout=3600)
    lines = p.stdout.strip().splitlines()
    if p.returncode != 0 or not lines or not os.path.isfile(lines[-1]):
        unavailable(f"the bundled Linux guest could not be built (status {p.returncode}): "
                    f"{(p.stdout + p.stderr).strip().splitlines()[-1:] or ['no output']}")
    _kernel.append(lines[-1])
    return lines[-1]


class BootConsole:
    """`numbavm boot ARGS` with its console on pipes; wait_for() fails with the transcript."""

    def __init__(self, *args, timeout=300):
        self.timeout = timeout
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
        self.p = subprocess.Popen(NUMBAVM + list(args), cwd=ROOT, stdin=subprocess.PIPE, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = bytearray()
        self.err = b""
        self._lock = threading.Condition()      # notified on every chunk of output and at EOF
        self._eof = False
        self._pumper = threading.Thread(target=self._pump, daemon=True)
        self._pumper.start()

    def _pump(self):
        while True:
            b = self.p.stdout.read1(65536)
            with self._lock:
                if not b:
                    self._eof = True
                    self._lock.notify_all()
                    return
                self.out += b
                self._lock.notify_all()

    def transcript(self):
        with self._lock:
            text = bytes(self.out).decode(errors="replace")
        return f"--- console ---\n{text[-6000:]}\n--- stderr ---\n{self.err.decode(errors='replace')[-3000:]}"

    def wait_for(self, needle, start=0, timeout=None):
        """-> the offset just past `needle` (bytes) found at or after `start`."""
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._lock:
            while True:
                i = self.out.find(needle, start)
                if i >= 0:
                    return i + len(needle)
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    break
                self._lock.wait(left)               # woken by output or EOF
        if self._eof:                               # all the output is in: the process ended
            self.p.wait(60)
            self.err = self.p.stderr.read()
            pytest.fail(f"numbavm boot exited ({self.p.returncode}) before {needle!r}\n{self.transcript()}")
        self.kill()
        pytest.fail(f"no {needle!r} on the console within {timeout or self.timeout} s\n{self.transcript()}")

    def command(self, line, start):
        """Type a command at the prompt; -> (its output, offset past the next prompt)."""
        self.p.stdin.write(line.encode() + b"\n")
        self.p.stdin.flush()
        end = self.wait_for(PROMPT, start)
        with self._lock:
            return bytes(self.out[start:end - len(PROMPT)]).decode(errors="replace"), end

    def finish(self, timeout=300):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"numbavm boot did not exit within {timeout} s of poweroff\n{self.transcript()}")
        self.err = self.p.stderr.read()
        return rc

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        try:
            self.err += self.p.stderr.read()
        except (OSError, ValueError):
            pass
