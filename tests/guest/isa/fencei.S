# Self-modifying code with fence.i (Zifencei): overwrite an instruction that
# has already been executed (so it may sit in a decode/translation cache),
# fence.i, execute again and check that the new instruction runs.  Done
# several times at the same address, with word stores, with two halfword
# stores, with a compressed instruction, and on a loop body.
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"

#define ADDI_A0(imm)  (((imm) << 20) | (10 << 7) | 0x13)      /* addi a0, x0, imm */
#define C_LI_A0(imm)  (0x4001 | (10 << 7) | (((imm) & 31) << 2))  /* c.li a0, imm (0..31) */

TEST_BEGIN
    # warm up: the original code returns 1
    TEST_CASE(1, a0, 1, call smc_fn)
    TEST_CASE(2, a0, 1, call smc_fn)
    # 1st rewrite
    TEST_CASE(3, a0, 2, la t0, smc_fn; li t1, ADDI_A0(2); sw t1, 0(t0); fence.i; call smc_fn)
    TEST_CASE(4, a0, 2, call smc_fn)
    # 2nd rewrite of the same address
    TEST_CASE(5, a0, 3, la t0, smc_fn; li t1, ADDI_A0(3); sw t1, 0(t0); fence.i; call smc_fn)
    # rewrite with two halfword stores (upper half first)
    TEST_CASE(6, a0, 0x7ff, la t0, smc_fn; li t1, ADDI_A0(0x7ff); srli t2, t1, 16; sh t2, 2(t0); sh t1, 0(t0); fence.i; call smc_fn)
    # rewrite with a byte store (changes only the immediate's low bits)
    TEST_CASE(7, a0, 0x7f1, la t0, smc_fn; li t1, 0x1f; sb t1, 2(t0); fence.i; call smc_fn)
#ifdef __riscv_compressed
    # a compressed instruction replaced by another compressed one (C builds only)
    TEST_CASE(8, a0, 5, call smc_cfn)
    TEST_CASE(9, a0, 9, la t0, smc_cfn; li t1, C_LI_A0(9); sh t1, 0(t0); fence.i; call smc_cfn)
    TEST_CASE(10, a0, 17, la t0, smc_cfn; li t1, C_LI_A0(17); sh t1, 0(t0); fence.i; call smc_cfn)
#endif
    # patch the body of a loop that has been executing: 10 iterations of
    # a0 += 1, then patch to a0 += 3 and run 10 more
    TEST_CASE(11, a0, 10, li a0, 0; li a1, 10; call smc_loop)
    TEST_CASE(12, a0, 40, la t0, smc_loop_body; li t1, ((3 << 20) | (10 << 15) | (10 << 7) | 0x13); sw t1, 0(t0); fence.i; li a1, 10; call smc_loop)
    # code written to a fresh buffer (never executed before) and called
    TEST_CASE(13, a0, 0x123, la t0, codebuf; li t1, ADDI_A0(0x123); sw t1, 0(t0); li t1, 0x00008067; sw t1, 4(t0); fence.i; jalr ra, 0(t0))
    TEST_CASE(14, a0, 0x456, la t0, codebuf; li t1, ADDI_A0(0x456); sw t1, 0(t0); fence.i; jalr ra, 0(t0))

    TEST_PASSFAIL

    .option push
    .option norvc
    .balign 4
smc_fn:
    addi a0, x0, 1
    ret
smc_loop:
smc_loop_body:
    addi a0, a0, 1
    addi a1, a1, -1
    bnez a1, smc_loop
    ret
    .option pop

#ifdef __riscv_compressed
    .option push
    .option rvc
    .balign 4
smc_cfn:
    c.li a0, 5
    c.jr ra
    .option pop
#endif

    .data
    .balign 64
codebuf: .skip 64
