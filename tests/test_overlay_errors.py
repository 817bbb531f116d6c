"""A bad --dtb-overlay through the API (GuestLifecycle.create) and the CLI (numbavm boot):
one GuestLifecycleError / one `numbavm: error:` line, never a RecursionError traceback
(issue 12 items 5 and 14).  The kernel is a stand-in Image (header only): the overlay is
applied while the machine is built, before anything runs."""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_fdt import nested  # noqa: E402

from devices.firmware.fdt import FDT_MAX_DEPTH  # noqa: E402
from lifecycle.control.config import GuestConfig, KernelType  # noqa: E402
from lifecycle.control.errors import GuestError, GuestLifecycleError  # noqa: E402
from lifecycle.control.lifecycle import GuestLifecycle  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def fake_image(path):
    """A RISC-V Linux Image header (boot-image-header.rst) and a wfi loop."""
    code = (0x10500073).to_bytes(4, "little") + (0x0000006F).to_bytes(4, "little")   # wfi; j .
    jump = (0x0400006F).to_bytes(4, "little")                                       # j +64
    size = 64 + len(code)
    hdr = (jump + bytes(4) + (0x200000).to_bytes(8, "little") + size.to_bytes(8, "little") + bytes(8)
           + (2).to_bytes(4, "little") + bytes(4) + bytes(8) + b"RISCV\0\0\0" + b"RSC\x05" + bytes(4))
    path.write_bytes(hdr + code)
    return path


@pytest.mark.parametrize("blob,what", [
    (nested(1000), f"device tree nodes are nested more than {FDT_MAX_DEPTH} deep"),
    (b"garbage", "not a device tree blob"),
])
def test_create_raises_a_lifecycle_error_for_a_bad_overlay(tmp_path, blob, what):
    overlay = tmp_path / "extra.dtbo"
    overlay.write_bytes(blob)
    kernel = fake_image(tmp_path / "Image")
    lc = GuestLifecycle()
    with pytest.raises(GuestLifecycleError) as e:
        lc.create(GuestConfig(kernel_type=KernelType.LINUX, kernel=str(kernel), dtb_overlay=str(overlay),
                              guest_memory=64 << 20))
    assert e.value.error is GuestError.KERNEL_LOAD_FAILURE
    assert what in e.value.message and "\n" not in e.value.message
    # the overlay is named by its path, and the kernel is not
    assert e.value.message.startswith(f"{overlay}: "), e.value.message
    assert "Image" not in e.value.message


def test_cli_deep_overlay_is_one_line(tmp_path):
    overlay = tmp_path / "deep.dtbo"
    overlay.write_bytes(nested(1000))
    kernel = fake_image(tmp_path / "Image")
    r = subprocess.run([sys.executable, "-m", "lifecycle.cli.main", "boot", "--kernel", str(kernel),
                        "--dtb-overlay", str(overlay), "--dump-dtb", str(tmp_path / "out.dtb")],
                       cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("numbavm: error: "), r.stderr
    assert f"nested more than {FDT_MAX_DEPTH} deep" in lines[0] and "Traceback" not in r.stderr
    assert lines[0].startswith(f"numbavm: error: {overlay}: "), lines[0]
