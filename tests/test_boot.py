"""lifecycle/cli/boot.py (`numbavm boot`): options, one-line errors, --dump-dtb, the SBI hand-off.

These use a tiny hand-made "kernel" (a valid RISC-V Image header and a few
instructions that talk to the SBI), so they need no Linux build; the real
kernel is booted by tests/test_linux_boot.py.
"""
import os
import shutil
import subprocess
import sys

import pytest

from tests.rvenc import I, ECALL, J_SELF
from devices.firmware.sbi import EXT_SRST, LEGACY_PUTCHAR, SRST_REASON_FAILURE, SRST_REASON_NONE, ResetType
from emu.spec import A0, A1, A6, A7
from lifecycle.cli.runner import EXIT_NO_REBOOT

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELLO_ELF = os.path.join(ROOT, "tests", "guest", "bin", "hello.elf")


def li(rd, v):
    """lui + addiw for a 32-bit constant."""
    hi = (v + 0x800) >> 12
    lo = v - (hi << 12)
    return I("lui", rd=rd, imm=hi & 0xFFFFF) + \
        I("addiw", rd=rd, rs1=rd, imm=lo)


def image(code, text_offset=0x200000):
    """A RISC-V Linux Image: the 64-byte header (boot-image-header.rst), then `code`."""
    body = I("jal", rd=0, imm=64) + bytes(4)                 # code0: jump over the header
    size = 64 + len(code)
    hdr = (body + text_offset.to_bytes(8, "little") + size.to_bytes(8, "little") + bytes(8)
           + (2).to_bytes(4, "little") + bytes(4) + bytes(8) + b"RISCV\0\0\0" + b"RSC\x05" + bytes(4))
    assert len(hdr) == 64
    return hdr + code


def putchar(c):
    return li(A7, LEGACY_PUTCHAR) + li(A0, ord(c)) + ECALL


def srst(reset_type, reason):
    return li(A7, EXT_SRST) + li(A6, 0) + li(A0, reset_type) + li(A1, reason) + ECALL


def boot(*args, stdin=subprocess.DEVNULL, timeout=240):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    return subprocess.run([sys.executable, "-m", "lifecycle.cli.main", "boot", *map(str, args)], cwd=ROOT,
                          stdin=stdin, capture_output=True, timeout=timeout, env=env)


@pytest.fixture
def kernel(tmp_path):
    k = tmp_path / "Image"
    k.write_bytes(image(putchar("h") + putchar("i") + putchar("\n") + srst(ResetType.SHUTDOWN, SRST_REASON_NONE)
                        + J_SELF))
    return k


def one_line_error(p, *words):
    err = p.stderr.decode()
    assert p.returncode == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, err


def test_a_tiny_kernel_talks_to_the_builtin_sbi_and_powers_off(kernel):
    p = boot("--kernel", kernel, "--stats")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout == b"hi\n"
    assert "builtin SBI" in p.stderr.decode() and "SBI calls" in p.stderr.decode()


def test_system_reset_with_a_failure_reason_is_status_1(tmp_path):
    k = tmp_path / "Image"
    k.write_bytes(image(srst(ResetType.SHUTDOWN, SRST_REASON_FAILURE) + J_SELF))
    assert boot("--kernel", k).returncode == 1


@pytest.mark.parametrize("content,words", [
    (b"", ["empty"]),
    (b"\x13" * 100, ["not a RISC-V Linux Image", "magic"]),
    (None, ["ELF file"]),
])
def test_not_a_linux_image(tmp_path, content, words):
    if content is None:
        path = HELLO_ELF
    else:
        path = tmp_path / "k"
        path.write_bytes(content)
    one_line_error(boot("--kernel", path), *words)


def test_missing_files_are_one_line_errors(tmp_path, kernel):
    one_line_error(boot("--kernel", tmp_path / "nope"), "no such file")
    one_line_error(boot("--kernel", kernel, "--initrd", tmp_path / "nope"), "--initrd", "no such file")
    one_line_error(boot("--kernel", kernel, "--disk", tmp_path / "nope.img"), "--disk", "no such file")
    one_line_error(boot("--kernel", kernel, "--bios", tmp_path / "fw.bin"), "--bios", "no such file")
    one_line_error(boot("--kernel", kernel, "--memory", "lots"), "--memory")


def test_an_initrd_too_large_for_memory(tmp_path, kernel):
    rd = tmp_path / "initrd"
    rd.write_bytes(bytes(6 << 20))
    one_line_error(boot("--kernel", kernel, "--initrd", rd, "--memory", "4M"), "initrd", "does not fit")


def test_dump_dtb_writes_the_tree_the_guest_would_get(tmp_path, kernel):
    out = tmp_path / "virt.dtb"
    rd = tmp_path / "initrd"
    rd.write_bytes(b"x" * 8192)
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(1 << 16))
    p = boot("--kernel", kernel, "--initrd", rd, "--cmdline", "console=ttyS0 quiet", "--disk", f"{disk}:ro",
             "--memory", "64M", "--dump-dtb", out)
    assert p.returncode == 0, p.stderr.decode()
    blob = out.read_bytes()
    assert blob[:4] == bytes.fromhex("d00dfeed")
    from devices.firmware.fdt import parse_dtb
    tree = parse_dtb(blob)
    text = repr(tree)
    if shutil.which("dtc"):
        text = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(out)], capture_output=True,
                              text=True, check=True).stdout
    assert "console=ttyS0 quiet" in text
    assert "linux,initrd-start" in text and "linux,initrd-end" in text
    assert "virtio,mmio" in text and "ns16550a" in text and "riscv,plic0" in text
    assert "rv64imafdc" in text


def test_dump_dtb_with_a_bad_overlay_is_refused_in_one_line(tmp_path, kernel):
    # (the overlay is a GuestConfig field; the CLI has no flag for it yet: check through the lifecycle)
    from lifecycle.control.config import GuestConfig, KernelType
    from lifecycle.control.errors import GuestError, GuestLifecycleError
    from lifecycle.control.lifecycle import GuestLifecycle
    bad = tmp_path / "bad.dtbo"
    bad.write_bytes(b"not a device tree")
    lc = GuestLifecycle()
    with pytest.raises(GuestLifecycleError) as e:
        lc.create(GuestConfig(kernel_type=KernelType.LINUX, kernel=str(kernel), dtb_overlay=str(bad)))
    assert e.value.error is GuestError.KERNEL_LOAD_FAILURE and "\n" not in e.value.message


def test_a_guest_reboot_boots_a_fresh_machine(tmp_path):
    k = tmp_path / "Image"
    k.write_bytes(image(putchar("r") + srst(ResetType.COLD_REBOOT, SRST_REASON_NONE) + J_SELF))
    p = boot("--kernel", k)
    from lifecycle.cli.boot import MAX_REBOOTS
    assert p.stdout == b"r" * (MAX_REBOOTS + 1)
    assert p.stderr.decode().count("the guest rebooted") == MAX_REBOOTS
    assert p.returncode == 0


@pytest.mark.parametrize("reset_type, word, status", [
    (ResetType.WARM_REBOOT, "restart", EXIT_NO_REBOOT),      # a reboot whatever its message says
    (ResetType.SHUTDOWN, "reboot", 0),                       # a poweroff whose message says "reboot"
])
def test_a_reboot_is_known_by_its_reset_type_not_by_its_message(tmp_path, monkeypatch, capsys, reset_type, word,
                                                                 status):
    from lifecycle.cli.main import main
    from lifecycle.machine import exits
    monkeypatch.setitem(exits._RESET_WORD, reset_type, word)    # the run's message: "... asked the SBI for <word>"
    k = tmp_path / "Image"
    k.write_bytes(image(putchar("r") + srst(reset_type, SRST_REASON_NONE) + J_SELF))
    assert main(["boot", "--kernel", str(k), "--no-reboot"]) == status
    err = capsys.readouterr().err
    assert ("the guest rebooted (--no-reboot)" in err) == (status == EXIT_NO_REBOOT), err


def _read_until(fd, marker, out=b"", timeout=240):
    """Read the pty until `marker` shows (every read waits at most `timeout` s: select first)."""
    import select
    while marker not in out:
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, f"no {marker!r} within {timeout} s: {out!r}"
        try:
            chunk = os.read(fd, 1024)
        except OSError:                 # the child closed the pty
            chunk = b""
        assert chunk, f"the console closed before {marker!r}: {out!r}"
        out += chunk
    return out


def _read_to_end(fd, out, timeout=240):
    import select
    while True:
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, f"the console stayed open {timeout} s: {out!r}"
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            return out
        if not chunk:
            return out
        out += chunk


def _reap(pid, timeout=240):
    """The child's wait status; killed (and the test failed by its status) if it has not ended in time."""
    import signal
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)            # (polling a child's exit: waitpid has no timeout)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def test_terminal_console_ctrl_a_h_lists_the_keys_and_ctrl_a_x_quits(kernel, tmp_path):
    """At a terminal: raw mode, Ctrl-A H prints the Ctrl-A keys, Ctrl-A X ends the session through
    stop() with status 0."""
    import pty
    k = tmp_path / "Spin"
    k.write_bytes(image(putchar("s") + J_SELF))
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "lifecycle.cli.main", "boot", "--kernel", str(k)])
    try:
        out = _read_until(fd, b"s")
        os.write(fd, b"\x01h")
        out = _read_until(fd, b"C-a x", out)
        os.write(fd, b"\x01x")
        out = _read_to_end(fd, out)
    finally:
        status = _reap(pid)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, out
    assert b"C-a h    print this help" in out and b"C-a C-a  send C-a" in out
    assert b"quit (Ctrl-A X)" in out


def puts(text):
    return b"".join(putchar(c) for c in text)


def test_no_reboot_ends_a_rebooting_guest_with_status_4(tmp_path):
    k = tmp_path / "Image"
    k.write_bytes(image(putchar("r") + srst(ResetType.COLD_REBOOT, SRST_REASON_NONE) + J_SELF))
    p = boot("--kernel", k, "--no-reboot")
    assert p.returncode == 4, p.stderr.decode()
    assert p.stdout == b"r"
    assert "the guest rebooted (--no-reboot)" in p.stderr.decode()


def test_no_reboot_ends_a_panicking_guest_with_status_4(tmp_path):
    k = tmp_path / "Image"
    k.write_bytes(image(puts("Kernel panic - not syncing: VFS: Unable to mount root fs\n") + J_SELF))
    p = boot("--kernel", k, "--no-reboot")
    assert p.returncode == 4, p.stderr.decode()
    err = p.stderr.decode()
    assert "the guest kernel panicked (--no-reboot): Kernel panic - not syncing: VFS" in err, err


def test_a_failed_initrd_unpack_is_a_warning_line(tmp_path):
    k = tmp_path / "Image"
    k.write_bytes(image(puts("Initramfs unpacking failed: compression method gzip not configured\n")
                        + srst(ResetType.SHUTDOWN, SRST_REASON_NONE) + J_SELF))
    p = boot("--kernel", k)
    assert p.returncode == 0, p.stderr.decode()
    assert ("numbavm: warning: the kernel could not unpack the initrd: compression method gzip not "
            "configured") in p.stderr.decode().splitlines()


def test_a_cmdline_that_is_not_text_is_refused_plainly(kernel):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    p = subprocess.run([sys.executable.encode(), b"-m", b"lifecycle.cli.main", b"boot", b"--kernel", bytes(kernel),
                        b"--cmdline", b"console=ttyS0 \xff\xfe"], cwd=ROOT, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=240, env=env)
    one_line_error(p, "--cmdline", "must be text")
    assert "Image" not in p.stderr.decode()


def test_directories_are_named_as_directories(tmp_path, kernel):
    one_line_error(boot("--kernel", kernel, "--initrd", tmp_path), "--initrd", "is a directory")
    one_line_error(boot("--kernel", kernel, "--disk", tmp_path), "--disk", "is a directory")
    one_line_error(boot("--kernel", kernel, "--dtb-overlay", tmp_path), "--dtb-overlay", "is a directory")


def test_a_bad_overlay_is_named_in_the_error(tmp_path, kernel):
    bad = tmp_path / "bad.dtbo"
    bad.write_bytes(b"not a device tree blob at all")
    p = boot("--kernel", kernel, "--dtb-overlay", bad)
    one_line_error(p, "bad.dtbo", "not a device tree blob")
    assert "Image" not in p.stderr.decode()
