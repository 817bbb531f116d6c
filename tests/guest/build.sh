#!/bin/bash
# Rebuild the numbavm guest test programs: tests/guest/bin/*.elf
#
#   tests/guest/build.sh            # build everything
#   tests/guest/build.sh --check    # build, then run each ELF under
#                                   # qemu-system-riscv64 -M spike (reference)
#
# Needs: gcc-riscv64-unknown-elf, binutils-riscv64-unknown-elf (Debian 12).
# Output is reproducible: no debug info (but in gdb_target.elf, which GDB tests need), no
# build id, fixed source order.
set -eu

HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"
CROSS="${CROSS:-riscv64-unknown-elf-}"
CC="${CROSS}gcc"
STRIP="${CROSS}strip"
OUT="$HERE/bin"

MARCH_C="rv64imac_zicsr_zifencei"
MARCH_NC="rv64ima_zicsr_zifencei"
# F/D programs (isa/fp_*, priv/fp_*), with -mabi=lp64d; no -nc variant (their bodies are .option norvc)
MARCH_FD="rv64imafdc_zicsr_zifencei"
CFLAGS=(-mabi=lp64 -mcmodel=medany -nostdlib -nostartfiles -static -O2 -g0
        -ffreestanding -fno-builtin -fno-pic -fno-asynchronous-unwind-tables
        -Wall -Wextra -ffile-prefix-map="$HERE"=. -Icommon
        -T link.ld -Wl,--build-id=none -Wl,-n -Wl,--no-warn-rwx-segments)
RUNTIME=(common/crt0.S common/htif.c)
# Programs that need more than rv64ima(c): the extensions added to their -march (and their -nc
# variant's).  binutils 2.40 has no Zicond: isa/zicond.S writes it with .insn.
declare -A MARCH_EXT=([isa_bitmanip]=_zba_zbb_zbs [priv_cbo]=_zicbom_zicboz_zicbop_zihintpause)

mkdir -p "$OUT"
rm -f "$OUT"/*.elf
built=()

# build NAME MARCH SOURCE...
build() {
    local name="$1" march="$2"
    shift 2
    "$CC" -march="$march${MARCH_EXT[${name%-nc}]:-}" "${CFLAGS[@]}" -o "$OUT/$name.elf" "${RUNTIME[@]}" "$@"
    "$STRIP" --strip-debug --remove-section=.comment "$OUT/$name.elf"
    built+=("$name")
}

# Demo program.
build hello "$MARCH_C" hello.c

# Instruction tests: compressed build + uncompressed (-nc) build.
# isa_c tests the C extension itself, and isa_signature only gives tests/test_signature.py
# a signature region: neither has a -nc variant.
for src in $(ls isa/*.S | LC_ALL=C sort); do
    name="isa_$(basename "$src" .S)"
    case "$name" in isa_fp_*) build "$name" "$MARCH_FD" -mabi=lp64d "$src"; continue;; esac
    build "$name" "$MARCH_C" "$src"
    if [ "$name" != "isa_c" ] && [ "$name" != "isa_signature" ]; then
        build "$name-nc" "$MARCH_NC" "$src"
    fi
done

# Privileged-architecture tests.
for src in $(ls priv/*.S priv/*.c 2>/dev/null | LC_ALL=C sort); do
    name="priv_$(basename "${src%.*}")"
    case "$name" in priv_fp_*) build "$name" "$MARCH_FD" -mabi=lp64d "$src"; continue;; esac
    build "$name" "$MARCH_C" "$src"
done

# Device programs (they need the qemu-virt devices, and input: not run by --check).
# dev/testdev.c is built three times, once per -D flag, as dev_poweroff, dev_reboot, dev_fail.
for src in $(ls dev/*.c 2>/dev/null | LC_ALL=C sort); do
    name="dev_$(basename "${src%.*}")"
    if [ "$name" = "dev_testdev" ]; then
        build dev_poweroff "$MARCH_C" -DTESTDEV_POWEROFF "$src"
        build dev_reboot "$MARCH_C" -DTESTDEV_REBOOT "$src"
        build dev_fail "$MARCH_C" -DTESTDEV_FAIL "$src"
        continue
    fi
    build "$name" "$MARCH_C" "$src"
done

# The GDB test target keeps its debug info (-O0 -g, not stripped): tests/test_gdbstub.py
# sets breakpoints in it by symbol and reads its variables.
"$CC" -march="$MARCH_C" "${CFLAGS[@]}" -O0 -g -Wa,--debug-prefix-map="$HERE"=. -o "$OUT/gdb_target.elf" "${RUNTIME[@]}" gdb/target.c
"${CROSS}objcopy" --remove-section=.comment --wildcard --strip-symbol='cc*.o' "$OUT/gdb_target.elf"   # (temp file names)
built+=(gdb_target)

echo "built ${#built[@]} programs in $OUT"

# Programs that intentionally check behaviour where QEMU 7.2 (the reference)
# differs from the spec / numbavm (see README.md, "Known QEMU differences").
# Under QEMU they must fail with exactly this exit code.
declare -A QEMU_DIFF=(
    [isa_amo_traps]=1 [isa_amo_traps-nc]=1
    [priv_csr_strict]=10
    [priv_irq_priority]=38
    [isa_bitmanip]=236 [isa_bitmanip-nc]=236
    [isa_zicond]=1 [isa_zicond-nc]=1
    [priv_cbo]=1
    [priv_sstc]=1
    [priv_pmp]=90 [priv_vm_sv57]=61
    [priv_sdtrig]=4
)

if [ "${1:-}" = "--check" ]; then
    fail=0
    for name in "${built[@]}"; do
        case "$name" in dev_*) echo "SKIP $name (needs the qemu-virt UART and input)"; continue;; esac
        set +e
        timeout 10 qemu-system-riscv64 -M spike -bios none -nographic \
            -kernel "$OUT/$name.elf" </dev/null >"/tmp/qemu-$name.out" 2>&1
        rc=$?
        set -e
        if [ -n "${QEMU_DIFF[$name]:-}" ]; then
            if [ $rc -eq "${QEMU_DIFF[$name]}" ]; then
                echo "DIFF $name (exit $rc: known QEMU 7.2 difference, as expected)"
            else
                echo "FAIL $name (exit $rc, expected the known QEMU difference ${QEMU_DIFF[$name]})"
                fail=1
            fi
        elif [ $rc -eq 0 ]; then
            echo "PASS $name"
        else
            echo "FAIL $name (exit $rc)"
            fail=1
        fi
    done
    exit $fail
fi
