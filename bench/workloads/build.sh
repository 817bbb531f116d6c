#!/bin/bash
# Build the numbavm bench workloads (bench/workloads/bin/):
#   NAME.elf        bare-metal, M-mode, HTIF runtime of tests/guest (RV64IMAC)
#   NAME-nc.elf     same, without compressed instructions (RV64IMA)
#   NAME-linux.elf  Linux user-level static ELF (runs under qemu-riscv64)
# The system workloads (SYSTEM below: usersieve, uartflood, timerirq) are
# built bare-metal (NAME.elf) only: they use M-mode, the CLINT or the UART.
#
#   bench/workloads/build.sh             # build
#   bench/workloads/build.sh --check     # build, run every ELF under QEMU
#   bench/workloads/build.sh --measure   # also count retired instructions
#                                        # (qemu-system-riscv64 -icount)
set -eu

HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"
GUEST="$(cd ../../tests/guest && pwd)"
CROSS="${CROSS:-riscv64-unknown-elf-}"
CC="${CROSS}gcc"
STRIP="${CROSS}strip"
OUT="$HERE/bin"
WORKLOADS=(sieve crc32 matmul divrem ptrchase memops qsort bytecode)
SYSTEM=(usersieve uartflood timerirq)
# per-workload compiler flags (after COMMON, so they override it): usersieve is
# the Linux guest's /init `bench`, which lifecycle/guests/linux/build.sh compiles -Os
declare -A EXTRA=([usersieve]="-Os")

COMMON=(-mabi=lp64 -mcmodel=medany -nostdlib -nostartfiles -static -O2 -g0
        -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns
        -fno-pic -fno-asynchronous-unwind-tables -Wall -Wextra
        -ffile-prefix-map="$HERE"=. -ffile-prefix-map="$GUEST"=tests/guest
        -Icommon -I"$GUEST/common" -Wl,--build-id=none
        -Wl,--no-warn-rwx-segments)
BARE=(-Wl,-n -T "$GUEST/link.ld" "$GUEST/common/crt0.S" "$GUEST/common/htif.c"
      common/glue_bare.c common/bench_main.c)
LINUX=(common/glue_linux.S common/bench_main.c)

mkdir -p "$OUT"
rm -f "$OUT"/*.elf
finish() { "$STRIP" --strip-debug --remove-section=.comment "$1"; }

for w in "${WORKLOADS[@]}"; do
    "$CC" -march=rv64imac_zicsr_zifencei "${COMMON[@]}" -o "$OUT/$w.elf" "${BARE[@]}" "$w.c"
    finish "$OUT/$w.elf"
    "$CC" -march=rv64ima_zicsr_zifencei "${COMMON[@]}" -o "$OUT/$w-nc.elf" "${BARE[@]}" "$w.c"
    finish "$OUT/$w-nc.elf"
    "$CC" -march=rv64imac_zicsr_zifencei "${COMMON[@]}" -o "$OUT/$w-linux.elf" "${LINUX[@]}" "$w.c"
    finish "$OUT/$w-linux.elf"
done
for w in "${SYSTEM[@]}"; do
    # shellcheck disable=SC2086
    "$CC" -march=rv64imac_zicsr_zifencei "${COMMON[@]}" ${EXTRA[$w]:-} -o "$OUT/$w.elf" "${BARE[@]}" "$w.c"
    finish "$OUT/$w.elf"
done
echo "built ${#WORKLOADS[@]} workloads x 3 variants and ${#SYSTEM[@]} system workloads in $OUT"

case "${1:-}" in
--check)
    for w in "${WORKLOADS[@]}"; do
        for v in "$w" "$w-nc"; do
            printf '%-16s ' "$v.elf"
            timeout 600 qemu-system-riscv64 -M spike -bios none -nographic \
                -kernel "$OUT/$v.elf" </dev/null || { echo "FAIL $v"; exit 1; }
        done
        printf '%-16s ' "$w-linux.elf"
        timeout 600 qemu-riscv64 "$OUT/$w-linux.elf" || { echo "FAIL $w-linux"; exit 1; }
    done
    # uartflood needs QEMU virt's UART, and QEMU has HTIF only on spike: numbavm only
    for w in usersieve timerirq; do
        printf '%-16s ' "$w.elf"
        timeout 600 qemu-system-riscv64 -M spike -bios none -nographic \
            -kernel "$OUT/$w.elf" </dev/null || { echo "FAIL $w"; exit 1; }
    done
    ;;
--measure)
    # minstret under -icount shift=0 counts retired instructions exactly
    # (it includes the few hundred instructions of startup and reporting).
    tmp="$(mktemp -d)"
    for w in "${WORKLOADS[@]}" usersieve; do
        for m in rv64imac rv64ima; do
            # shellcheck disable=SC2086
            "$CC" -march=${m}_zicsr_zifencei -DBENCH_MEASURE "${COMMON[@]}" ${EXTRA[$w]:-} \
                -o "$tmp/$w.elf" "${BARE[@]}" "$w.c"
            printf '%-9s %-9s ' "$w" "$m"
            timeout 600 qemu-system-riscv64 -M spike -bios none -nographic \
                -icount shift=0 -kernel "$tmp/$w.elf" </dev/null
        done
    done
    rm -rf "$tmp"
    ;;
esac
