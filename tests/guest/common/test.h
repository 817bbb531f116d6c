/* numbavm guest tests: riscv-tests-style macros for assembly tests.
 *
 * Conventions
 *   - A test program defines `main` (called by common/crt0.S in M-mode) and
 *     ends with TEST_PASSFAIL.
 *   - TESTNUM (gp, x3) holds the number of the running test case.  On the
 *     first mismatch the program jumps to `fail`, which exits through HTIF
 *     with code = TESTNUM (always nonzero).  Reaching `pass` exits with 0.
 *   - Registers used by the macros: x1, x2, x4 (operands), x14 (result),
 *     x7 (expected value), gp.  Trap-test helpers additionally use s2..s6
 *     (x18..x22) and s10 (x26): see TRAP_HANDLER_M / EXPECT_TRAP.
 *   - pass/fail write tohost directly (no stack, no C), so they also work
 *     after a test has corrupted sp or switched privilege back to M.
 */
#ifndef NUMBAVM_TEST_H
#define NUMBAVM_TEST_H

#define TESTNUM gp

#define TEST_BEGIN            \
    .text;                    \
    .globl main;              \
    .balign 4;                \
main:

/* The result of `code` is in `testreg`; compare against `correctval`. */
#define TEST_CASE(testnum, testreg, correctval, code...) \
test_##testnum:                                          \
    li TESTNUM, testnum;                                 \
    code;                                                \
    li x7, correctval;                                   \
    bne testreg, x7, fail;

/* rd = rs1 op rs2 */
#define TEST_RR_OP(testnum, inst, result, val1, val2)   \
    TEST_CASE(testnum, x14, result,                     \
        li x1, val1; li x2, val2; inst x14, x1, x2)
/* rd == rs1 */
#define TEST_RR_SRC1_EQ_DEST(testnum, inst, result, val1, val2) \
    TEST_CASE(testnum, x1, result,                      \
        li x1, val1; li x2, val2; inst x1, x1, x2)
/* rd == rs2 */
#define TEST_RR_SRC2_EQ_DEST(testnum, inst, result, val1, val2) \
    TEST_CASE(testnum, x2, result,                      \
        li x1, val1; li x2, val2; inst x2, x1, x2)
/* rd == rs1 == rs2 */
#define TEST_RR_SRC12_EQ_DEST(testnum, inst, result, val1) \
    TEST_CASE(testnum, x1, result, li x1, val1; inst x1, x1, x1)
/* rd = x0: the write must be ignored */
#define TEST_RR_ZERODEST(testnum, inst, val1, val2)     \
    TEST_CASE(testnum, x0, 0,                           \
        li x1, val1; li x2, val2; inst x0, x1, x2)
/* rs1 = x0 / rs2 = x0 */
#define TEST_RR_ZEROSRC1(testnum, inst, result, val)    \
    TEST_CASE(testnum, x14, result, li x2, val; inst x14, x0, x2)
#define TEST_RR_ZEROSRC2(testnum, inst, result, val)    \
    TEST_CASE(testnum, x14, result, li x1, val; inst x14, x1, x0)

/* rd = rs1 op imm */
#define TEST_IMM_OP(testnum, inst, result, val1, imm)   \
    TEST_CASE(testnum, x14, result,                     \
        li x1, val1; inst x14, x1, imm)
#define TEST_IMM_SRC1_EQ_DEST(testnum, inst, result, val1, imm) \
    TEST_CASE(testnum, x1, result, li x1, val1; inst x1, x1, imm)
#define TEST_IMM_ZERODEST(testnum, inst, val1, imm)     \
    TEST_CASE(testnum, x0, 0, li x1, val1; inst x0, x1, imm)
#define TEST_IMM_ZEROSRC1(testnum, inst, result, imm)   \
    TEST_CASE(testnum, x14, result, inst x14, x0, imm)

/* load: x14 = *(base + offset) */
#define TEST_LD_OP(testnum, inst, result, offset, base) \
    TEST_CASE(testnum, x14, result,                     \
        la x1, base; inst x14, offset(x1))
/* store then load back */
#define TEST_ST_OP(testnum, load_inst, store_inst, result, offset, base) \
    TEST_CASE(testnum, x14, result,                     \
        la x1, base; li x2, result;                     \
        store_inst x2, offset(x1); load_inst x14, offset(x1))

/* branches */
#define TEST_BR2_OP_TAKEN(testnum, inst, val1, val2)    \
test_##testnum:                                         \
    li TESTNUM, testnum;                                \
    li x1, val1; li x2, val2;                           \
    inst x1, x2, 92f;                                   \
    j fail;                                             \
91: bne x0, TESTNUM, 93f;                               \
92: inst x1, x2, 91b;                                   \
    j fail;                                             \
93:
#define TEST_BR2_OP_NOTTAKEN(testnum, inst, val1, val2) \
test_##testnum:                                         \
    li TESTNUM, testnum;                                \
    li x1, val1; li x2, val2;                           \
    inst x1, x2, 91f;                                   \
    bne x0, TESTNUM, 92f;                               \
91: j fail;                                             \
92: inst x1, x2, 91b;                                   \
93:

/* ---- Trap testing (M-mode handler) ------------------------------------
 * TRAP_HANDLER_M defines `trap_handler_m` (4-byte aligned).  It records
 *   s2 = mcause, s3 = mepc, s4 = mtval
 * s6 = mstatus (as seen by the handler)
 * and resumes in M-mode at the address in s10 (mstatus.MPP := M).
 * Install with INSTALL_TRAP_HANDLER_M.  A trap with s10 == 0 fails the test
 * (unexpected trap).
 */
#define TRAP_HANDLER_M                  \
    .balign 4;                          \
trap_handler_m:                         \
    csrr s2, mcause;                    \
    csrr s3, mepc;                      \
    csrr s4, mtval;                     \
    csrr s6, mstatus;                   \
    beqz s10, fail;                     \
    csrw mepc, s10;                     \
    li s10, 0;                          \
    li s5, 0x1800;                      \
    csrs mstatus, s5;                   \
    mret

#define INSTALL_TRAP_HANDLER_M          \
    la t0, trap_handler_m;              \
    csrw mtvec, t0;                     \
    li s10, 0

/* Run `code`, which must trap with mcause == `cause`; resumes after it.
 * The check on mepc/mtval is left to the caller (s3/s4). */
#define EXPECT_TRAP(testnum, cause, code...)    \
test_##testnum:                                 \
    li TESTNUM, testnum;                        \
    la s10, 95f;                                \
    li s2, -1;                                  \
    code;                                       \
    j fail;                                     \
    .balign 4;                                  \
95: li x7, cause;                               \
    bne s2, x7, fail;

/* Switch from M-mode to `mode` (0 = U, 1 = S, 3 = M) at the next
 * instruction, via mstatus.MPP + mret.  Clobbers t0. */
#define PRIV_U 0
#define PRIV_S 1
#define PRIV_M 3
#define ENTER_MODE(mode)                \
    li t0, 0x1800;                      \
    csrc mstatus, t0;                   \
    li t0, ((mode) << 11);              \
    csrs mstatus, t0;                   \
    la t0, 93f;                         \
    csrw mepc, t0;                      \
    mret;                               \
    .balign 4;                          \
93:

/* Like EXPECT_TRAP, but `code` runs in privilege `mode`; the trap handler
 * brings the hart back to M-mode. */
#define EXPECT_TRAP_IN(testnum, mode, cause, code...) \
test_##testnum:                                 \
    li TESTNUM, testnum;                        \
    la s10, 95f;                                \
    li s2, -1;                                  \
    ENTER_MODE(mode)                            \
    code;                                       \
    j fail;                                     \
    .balign 4;                                  \
95: li x7, cause;                               \
    bne s2, x7, fail;

/* Compare a register with a value (without touching TESTNUM). */
#define CHECK_EQ(reg, val)  li x7, val; bne reg, x7, fail;
/* reg must be 0 or equal to reg2 (e.g. mtval of ebreak: numbavm writes the
 * pc, QEMU 7.2 writes 0; both are allowed by the spec). */
#define CHECK_ZERO_OR_EQ_REG(reg, reg2)  beqz reg, 89f; bne reg, reg2, fail; 89:
#define CHECK_ZERO_OR_EQ(reg, val)  beqz reg, 88f; li x7, val; bne reg, x7, fail; 88:
/* Compare two registers. */
#define CHECK_EQ_REG(reg1, reg2)  bne reg1, reg2, fail;

/* Exit paths: must be placed once, at the end of the program. */
#define TEST_PASSFAIL                   \
    bne x0, TESTNUM, pass;              \
fail:                                   \
    bnez TESTNUM, 96f;                  \
    li TESTNUM, 999;                    \
96: slli a0, TESTNUM, 1;                \
    ori a0, a0, 1;                      \
    la t0, tohost;                      \
97: sd a0, 0(t0);                       \
    j 97b;                              \
pass:                                   \
    li a0, 1;                           \
    la t0, tohost;                      \
98: sd a0, 0(t0);                       \
    j 98b;

/* Open PMP entry 0 to all of memory (NAPOT, RWX) so that S/U code may run
 * under QEMU (QEMU denies S/U accesses while no PMP entry exists).  numbavm
 * has no PMP: if the CSR write traps, the temporary mtvec skips it.
 * Clobbers t0 and mtvec (re-install the handler afterwards).
 * QEMU 7.2 caveat: with any PMP entry active, QEMU 7.2 aborts
 * ("translator_access: Assertion `phys_page != -1'") on a 4-byte
 * instruction that straddles a page boundary, so the programs using this
 * are assembled with `.option norvc` (every instruction 4-byte aligned). */
#define PMP_OPEN_ALL                    \
    la t0, 94f;                         \
    csrw mtvec, t0;                     \
    li t0, -1;                          \
    csrw pmpaddr0, t0;                  \
    li t0, 0x1f;                        \
    csrw pmpcfg0, t0;                   \
    .balign 4;                          \
94: csrw mtvec, zero;

#define TEST_DATA .data; .balign 64;

#endif
