#!/bin/bash
# Build the numbavm bench workloads (bench/workloads/bin/):
#   NAME.elf        bare-metal, M-mode, HTIF runtime of tests/guest (RV64IMAC)
#   NAME-nc.elf     same, without compressed instructions (RV64IMA)
#   NAME-linux.elf  Linux user-level static ELF (runs under qemu-riscv64)
# The floating-point workloads (FP below: nbody, dmatmul, firf) are built the
# same three ways for RV64GC / RV64G with the lp64d ABI, and twice more with
# -DBENCH_TINY (a few million instructions, for tests/test_bench_harness.py):
#   NAME-tiny.elf, NAME-tiny-linux.elf
# The system workloads (SYSTEM below: usersieve, uartflood, timerirq) are
# built bare-metal (NAME.elf) only: they use M-mode, the CLINT or the UART.
#
#   bench/workloads/build.sh             # build
#   bench/workloads/build.sh --check     # build, run every ELF under QEMU
#   bench/workloads/build.sh --measure   # also count retired instructions
#                                        # (qemu-system-riscv64 -icount)
#   BENCH_WORKLOADS_OUT=DIR bench/workloads/build.sh   # into DIR instead of bin/
#                                        # (tests/test_bench_harness.py: bin/ is up to date)
set -eu

HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"
GUEST="$(cd ../../tests/guest && pwd)"
CROSS="${CROSS:-riscv64-unknown-elf-}"
CC="${CROSS}gcc"
STRIP="${CROSS}strip"
OUT="${BENCH_WORKLOADS_OUT:-$HERE/bin}"
WORKLOADS=(sieve crc32 matmul divrem ptrchase memops qsort bytecode)
FP=(nbody dmatmul firf)
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
# after COMMON: the hard-float ABI, and sqrt as the fsqrt instruction alone (no errno)
FPFLAGS=(-mabi=lp64d -fno-math-errno)

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
for w in "${FP[@]}"; do
    "$CC" -march=rv64gc "${COMMON[@]}" "${FPFLAGS[@]}" -o "$OUT/$w.elf" "${BARE[@]}" "$w.c"
    finish "$OUT/$w.elf"
    "$CC" -march=rv64g "${COMMON[@]}" "${FPFLAGS[@]}" -o "$OUT/$w-nc.elf" "${BARE[@]}" "$w.c"
    finish "$OUT/$w-nc.elf"
    "$CC" -march=rv64gc "${COMMON[@]}" "${FPFLAGS[@]}" -o "$OUT/$w-linux.elf" "${LINUX[@]}" "$w.c"
    finish "$OUT/$w-linux.elf"
    "$CC" -march=rv64gc -DBENCH_TINY "${COMMON[@]}" "${FPFLAGS[@]}" -o "$OUT/$w-tiny.elf" "${BARE[@]}" "$w.c"
    finish "$OUT/$w-tiny.elf"
    "$CC" -march=rv64gc -DBENCH_TINY "${COMMON[@]}" "${FPFLAGS[@]}" -o "$OUT/$w-tiny-linux.elf" "${LINUX[@]}" "$w.c"
    finish "$OUT/$w-tiny-linux.elf"
done
for w in "${SYSTEM[@]}"; do
    # shellcheck disable=SC2086
    "$CC" -march=rv64imac_zicsr_zifencei "${COMMON[@]}" ${EXTRA[$w]:-} -o "$OUT/$w.elf" "${BARE[@]}" "$w.c"
    finish "$OUT/$w.elf"
done
echo "built ${#WORKLOADS[@]} workloads x 3 variants, ${#FP[@]} floating-point workloads x 5 and ${#SYSTEM[@]} system workloads in $OUT"

case "${1:-}" in
--check)
    for w in "${WORKLOADS[@]}" "${FP[@]}"; do
        for v in "$w" "$w-nc"; do
            printf '%-16s ' "$v.elf"
            timeout 600 qemu-system-riscv64 -M spike -bios none -nographic \
                -kernel "$OUT/$v.elf" </dev/null || { echo "FAIL $v"; exit 1; }
        done
        printf '%-16s ' "$w-linux.elf"
        timeout 600 qemu-riscv64 "$OUT/$w-linux.elf" || { echo "FAIL $w-linux"; exit 1; }
    done
    for w in "${FP[@]}"; do
        printf '%-16s ' "$w-tiny.elf"
        timeout 600 qemu-system-riscv64 -M spike -bios none -nographic \
            -kernel "$OUT/$w-tiny.elf" </dev/null || { echo "FAIL $w-tiny"; exit 1; }
        printf '%-16s ' "$w-tiny-linux.elf"
        timeout 600 qemu-riscv64 "$OUT/$w-tiny-linux.elf" || { echo "FAIL $w-tiny-linux"; exit 1; }
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
    for w in "${FP[@]}"; do
        for m in rv64gc rv64g; do
            "$CC" -march=$m -DBENCH_MEASURE "${COMMON[@]}" "${FPFLAGS[@]}" \
                -o "$tmp/$w.elf" "${BARE[@]}" "$w.c"
            printf '%-9s %-9s ' "$w" "$m"
            timeout 600 qemu-system-riscv64 -M spike -bios none -nographic \
                -icount shift=0 -kernel "$tmp/$w.elf" </dev/null
        done
    done
    rm -rf "$tmp"
    ;;
esac
