# A signature region, as the architecture tests (riscv-arch-test) have one: stores known
# values between begin_signature and end_signature and exits 0.  tests/test_signature.py
# checks what `numbavm run --signature FILE` writes of it.  The region is 20 bytes, not a
# multiple of 8, so a granularity-8 signature ends with a line padded with zeros.
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"

TEST_BEGIN
    la      a0, begin_signature
    li      t0, 0x01234567
    sw      t0, 0(a0)
    li      t0, 0x89abcdef
    sw      t0, 4(a0)
    li      t0, 0x0011223344556677
    sd      t0, 8(a0)
    li      t0, 0x2a
    sb      t0, 16(a0)              # the low byte of the last word: 0xdeadbeef -> 0xdeadbe2a
    TEST_CASE(1, x14, 0x0011223344556677, ld x14, 8(a0))
    TEST_CASE(2, x14, 0xffffffffdeadbe2a, lw x14, 16(a0))

    TEST_PASSFAIL

    .data
    .balign 16
    .globl begin_signature, end_signature
begin_signature:
    .word 0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef
end_signature:
    .word 0xdeadbeef                # outside the region: never in the signature
