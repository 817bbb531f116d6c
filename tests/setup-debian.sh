#!/bin/bash
# Install the Debian packages the test suite uses (make test runs this first).
#
#   device-tree-compiler  dtc round-trips the generated device tree (tests/test_devicetree.py)
#   opensbi               the Linux boot test through real M-mode firmware (tests/test_linux_boot.py)
#   qemu-system-misc      reference runs of the guest programs (tests/guest/build.sh --check)
#   gdb-multiarch         the real GDB client against the stub (tests/test_gdbstub.py)
#   zstd                  a zstd-compressed initrd (tests/test_initrd.py)
#   qemu-user             qemu-riscv64 on the F/D bench workloads (tests/test_bench_harness.py; make bench)
#   gcc-riscv64-unknown-elf  bench/workloads/build.sh rebuilds bench/workloads/bin (tests/test_bench_harness.py)
#   mmdebstrap, kmod, e2fsprogs  `numbavm image debian`: the chrootless bootstrap, depmod for Debian's
#                         kernel, mke2fs -d and debugfs (tests/test_debian_image.py)
# The bundled Linux guest's own packages are installed by lifecycle/guests/linux/build.sh.
#
# As root the missing packages are installed; otherwise the one apt-get line to run
# is printed and the script exits 0 (the tests that need them then skip, saying why;
# on CI, where CI is set, they fail instead).
set -eu
PKGS=(device-tree-compiler opensbi gdb-multiarch zstd qemu-user gcc-riscv64-unknown-elf mmdebstrap kmod e2fsprogs)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "numbavm: some tests need Debian packages: sudo apt-get install -y ${missing[*]}"
    exit 0
fi
echo "[setup] installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q "${missing[@]}" >/tmp/numbavm-apt.log 2>&1; then
    apt-get update -q >>/tmp/numbavm-apt.log 2>&1
    apt-get install -y -q "${missing[@]}" >>/tmp/numbavm-apt.log 2>&1 || {
        echo "numbavm: apt-get install ${missing[*]} failed; see /tmp/numbavm-apt.log"; tail -20 /tmp/numbavm-apt.log; exit 1; }
fi
