"""--initrd with a compressed cpio: the bundled kernel unpacks gzip and zstd initramfs archives.

The kernel recipe (lifecycle/guests/linux/numbavm.config) enables CONFIG_RD_GZIP and CONFIG_RD_ZSTD;
without them the kernel prints "Initramfs unpacking failed: compression method gzip not
configured" and boots on with its built-in initramfs alone.  Each test writes a tiny cpio (the
kernel's "newc" format, written here) holding a marker file, compresses it, boots with it, and
reads the marker back through the guest's shell.
"""
import gzip
import shutil
import subprocess

import pytest

from tests.linux_guest import PROMPT, BootConsole, bundled_kernel, unavailable

MARKER_PATH = "/etc/initrd-marker.txt"
MARKER = b"numbavm initrd marker 7d41\n"


def newc(entries):
    """A cpio archive in the "newc" format the kernel reads (Documentation/driver-api/early-userspace/
    buffer-format.rst): entries are (name, mode, data); the TRAILER!!! entry ends it."""
    out = bytearray()
    for ino, (name, mode, data) in enumerate(list(entries) + [("TRAILER!!!", 0, b"")], start=1):
        name_b = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0)
        out += b"070701" + b"".join(b"%08X" % f for f in fields) + name_b
        out += bytes(-len(out) % 4)
        out += data
        out += bytes(-len(out) % 4)
    return bytes(out)


def archive():
    return newc([("etc", 0o040755, b""), (MARKER_PATH.lstrip("/"), 0o100644, MARKER)])


def zstd(data, tmp_path):
    exe = shutil.which("zstd")
    if exe is None:
        unavailable("the zstd command is missing (Debian package zstd)")
    return subprocess.run([exe, "-q", "-c", "-19"], input=data, capture_output=True, check=True, timeout=60).stdout


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_boot_with_an_initrd_sees_its_files(tmp_path, compression):
    data = archive()
    if compression == "gzip":
        data = gzip.compress(data, mtime=0)
    elif compression == "zstd":
        data = zstd(data, tmp_path)
    rd = tmp_path / f"initrd.cpio.{compression}"
    rd.write_bytes(data)
    con = BootConsole("boot", "--kernel", bundled_kernel(), "--initrd", str(rd))
    try:
        at = con.wait_for(PROMPT)
        out, at = con.command(f"cat {MARKER_PATH}", at)
        assert MARKER.decode().strip() in out, con.transcript()
        out, at = con.command("cat /etc/hello.txt", at)          # the built-in initramfs is still there
        assert "Hello from the numbavm Linux guest." in out, con.transcript()
        con.p.stdin.write(b"poweroff\n")
        con.p.stdin.flush()
        assert con.finish() == 0, con.transcript()
    finally:
        con.kill()
    text = con.out.decode(errors="replace") + con.err.decode(errors="replace")
    assert "Initramfs unpacking failed" not in text, con.transcript()


def test_the_bundled_kernel_config_has_gzip_and_zstd_initrds():
    """build.sh checks every numbavm.config line against the built .config; this checks the copy it keeps."""
    import os
    config = os.path.join(os.path.dirname(bundled_kernel()), "config")
    with open(config) as f:
        lines = set(f.read().splitlines())
    assert {"CONFIG_BLK_DEV_INITRD=y", "CONFIG_RD_GZIP=y", "CONFIG_RD_ZSTD=y"} <= lines
