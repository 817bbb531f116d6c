"""A real-world guest: Debian trixie's own riscv64 kernel and busybox-static, as a new user would try them.

tests/debian/fetch.py downloads linux-image-riscv64 (6.12, an EFI-stub Image) and busybox-static
from Debian's riscv64 port into the cache (not into git, nothing installed on the host) and
writes an initramfs whose /init (tests/debian/init) prints floating-point results of busybox's
awk, printf and seq, the ISA line of /proc/cpuinfo and the date between two marker lines, then
gives a shell.  The date comes from the machine's goldfish-rtc (devices/rtc.py): the kernel sets
its clock from it at boot, so the guest is not in 1970.  The test boots it with `numbavm boot`,
checks those lines, types a command at the shell and powers off.  Debian builds everything for rv64gc (lp64d): the hart must have F and D.

Without the network (or on a host without apt) the test skips, saying why; on CI it fails.
"""
import re

from tests.linux_guest import PROMPT, BootConsole, unavailable

BEGIN, END = b"numbavm-debian-checks-begin", b"numbavm-debian-checks-end"

# What busybox 1.37's awk, printf and seq print, as qemu-riscv64 runs the same binary.
EXPECTED = [
    "awk-mul: 7.853975",
    "awk-div: 0.333333 2.5 -3.5",
    "awk-sqrt2: 1.414213562373095",
    "awk-harmonic: 7.485470860550343",
    "awk-round: 0.30000000000000004 inf 0.142857",
    "awk-small: 8.67362e-19",
    "awk-int: -3 2 3.99",
    "printf: 2.7183",
    "seq: 0.00 0.25 0.50 0.75 1.00",
]


def debian_guest():
    from tests.debian.fetch import FetchError, fetch
    try:
        return fetch()
    except FetchError as e:
        unavailable(f"the Debian guest could not be fetched: {e}")


def test_debian_kernel_and_busybox_do_floating_point():
    kernel, initramfs = debian_guest()
    con = BootConsole("boot", "--kernel", kernel, "--initrd", initramfs, "--no-reboot", "--stats")
    try:
        at = con.wait_for(BEGIN)
        end = con.wait_for(END, at)
        checks = bytes(con.out[at:end - len(END)]).decode(errors="replace").replace("\r", "")
        lines = [line.strip() for line in checks.splitlines()]
        for want in EXPECTED:
            assert want in lines, f"{want!r} missing\n{con.transcript()}"
        assert "kernel: 6.12." in checks and "BusyBox v1.37" in checks, con.transcript()
        isa = re.search(r"^isa\s*:\s*(\S+)", checks, re.M)
        assert isa, con.transcript()
        assert isa.group(1).startswith("rv64imafdc"), con.transcript()
        date = re.search(r"^date: (\d{4})-\d\d-\d\dT", checks, re.M)   # the host's date (no --rtc-base)
        assert date and int(date.group(1)) >= 2026, con.transcript()
        at = con.wait_for(PROMPT, end)
        out, at = con.command("awk 'BEGIN { printf \"%.3f\\n\", 22/7 }'", at)
        assert "3.143" in out, con.transcript()
        con.p.stdin.write(b"poweroff -f\n")
        con.p.stdin.flush()
        rc = con.finish()
    finally:
        con.kill()
    assert rc == 0, con.transcript()
    log = con.out.decode(errors="replace")
    # The kernel's view of the hart, from the device tree's riscv,isa-extensions.
    assert re.search(r"riscv: base ISA extensions \S*d\S*f", log), con.transcript()
    assert re.search(r"riscv: ELF capabilities \S*d\S*f", log), con.transcript()
    # Debian's kernel found the RTC in the device tree (rtc@101000, as on QEMU virt)
    assert re.search(r"goldfish_rtc 101000\.rtc: registered as rtc0", log), con.transcript()
