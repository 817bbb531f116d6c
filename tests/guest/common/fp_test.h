/* numbavm guest tests: the F/D programs' harness (isa/fp_*.S, priv/fp_off.S).
 *
 * A program defines its checks between FP_BODY_BEGIN and FP_BODY_END, and FP_MAIN runs
 * that body five times, in the five configurations the issue asks for:
 *     k = 0  M-mode              k = 3  S-mode, Sv39 (identity gigapage, U = 0)
 *     k = 1  S-mode, Bare        k = 4  U-mode, Sv39 (identity gigapage, U = 1)
 *     k = 2  U-mode, Bare
 * (Identity mappings keep every address the same in all five, so the body is written once.)
 * Before each run mstatus.FS is set to FP_FS (FS_INITIAL unless the program says otherwise:
 * QEMU starts with FS Off, numbavm with Initial) and fcsr to 0.
 *
 * Exit code: the failing case's number n (1..2047, never a multiple of 256, so that QEMU's
 * 8-bit exit status is never 0) plus 2048 * k.  QEMU reports only the low 8 bits.
 *
 * Registers: gp = TESTNUM, s11 = 2048 * k, s9 = the body's privilege (the trap handler
 * returns there), s10 = where an expected trap resumes (0: a trap fails the test),
 * s8 = the runner's return address.  The handler records s2 = mcause, s3 = mepc, s4 = mtval,
 * s5 = the bits of the instruction at mepc (16 or 32), s6 = mstatus; it clobbers t0, t1.
 * Cases use a0 (their data), x1, x2 (integer operands), x7, x14, x15, f0..f3, t0 (fp_check's link).
 *
 * The body is assembled with `.option norvc`: QEMU 7.2 with a PMP entry aborts on a 4-byte
 * instruction that straddles a page (see PMP_OPEN_ALL); compressed instructions are written
 * explicitly (FP_RVC) and padded with c.nop to keep the 4-byte alignment.
 */
#ifndef NUMBAVM_FP_TEST_H
#define NUMBAVM_FP_TEST_H

#include "test.h"

#define FS_OFF      0x0000
#define FS_INITIAL  0x2000
#define FS_CLEAN    0x4000
#define FS_DIRTY    0x6000

#ifndef FP_FS
#define FP_FS FS_INITIAL
#endif

#define FFLAG_NX 0x01
#define FFLAG_UF 0x02
#define FFLAG_OF 0x04
#define FFLAG_DZ 0x08
#define FFLAG_NV 0x10

#define CAUSE_ILLEGAL 2

#define SATP_SV39 (8 << 60)
#define PTE_LEAF_RWX 0xcf               /* V R W X A D */
#define PTE_U 0x10

/* explicit compressed instructions inside the norvc body */
#define FP_RVC(code...) .option push; .option rvc; code; .option pop

/* ---- one arithmetic case ---------------------------------------------------------------
 *     FP_CASE_BEGIN(n)        a0 = the case's data
 *     flw f0, 16(a0) ...      the operands, from the data
 *     fadd.s f3, f0, f1, rne  the instruction: its result in f3 (FP_CHECK_F) or x14 (FP_CHECK_X)
 *     FP_CHECK_F
 *     FP_DATA_W(result, flags, operands...)   (.word operands; FP_DATA_D: .dword operands)
 * The data: the expected result (the whole 64-bit register) at 0, the expected fflags at 8, the
 * operands from 16.  fp_check compares both and clears fflags for the next case (FP_RUN clears
 * it before the body). */
#define FP_CASE_BEGIN(n)                \
    addi TESTNUM, s11, n;               \
    la a0, 80f

#define FP_CHECK_F jal t0, fp_check_f
#define FP_CHECK_X jal t0, fp_check_x

#define FP_DATA_W(result, flags, operands...) \
    .pushsection .data;                 \
    .balign 8;                          \
80: .dword result;                      \
    .word flags, 0;                     \
    .word operands;                     \
    .popsection

#define FP_DATA_D(result, flags, operands...) \
    .pushsection .data;                 \
    .balign 8;                          \
80: .dword result;                      \
    .word flags, 0;                     \
    .dword operands;                    \
    .popsection

#define FP_CHECK_ROUTINE                \
    .balign 4;                          \
fp_check_f:                             \
    fmv.x.d x14, f3;                    \
fp_check_x:                             \
    ld x7, 0(a0);                       \
    bne x14, x7, fail;                  \
    frflags x15;                        \
    lw x7, 8(a0);                       \
    bne x15, x7, fail;                  \
    fsflags x0;                         \
    jr t0;                              \
fp_check_trap:                          \
    bne s2, x15, fail;                  \
    bne s3, x7, fail;                   \
    bne s4, s5, fail;                   \
    jr t0;                              \
fp_poison:                              \
    li x14, 0x5a5a;                     \
    fmv.d.x f3, x14;                    \
    fsflags x0;                         \
    jr t0;                              \
fp_check_untouched:                     \
    li x7, 0x5a5a;                      \
    bne x14, x7, fail;                  \
    fmv.x.d x15, f3;                    \
    bne x15, x7, fail;                  \
    frflags x15;                        \
    bnez x15, fail;                     \
    frrm x15;                           \
    bne x15, x2, fail;                  \
    fsrmi x0, 0;                        \
    jr t0

/* ---- an expected trap ------------------------------------------------------------------
 * FP_EXPECT_TRAP(n, cause, code): the first instruction of `code` must trap with `cause`,
 * mepc = its address, mtval = its bits; execution resumes after `code`, in the body's mode.
 * FP_EXPECT_TRAP_TVAL checks mtval against a value instead. */
#define FP_EXPECT_TRAP(n, cause, code...) \
    addi TESTNUM, s11, n;               \
    la s10, 95f;                        \
79: code;                               \
    j fail;                             \
    .balign 4;                          \
95: la x7, 79b;                         \
    li x15, cause;                      \
    jal t0, fp_check_trap

#define FP_EXPECT_TRAP_TVAL(n, cause, tval, code...) \
    addi TESTNUM, s11, n;               \
    la s10, 95f;                        \
79: code;                               \
    j fail;                             \
    .balign 4;                          \
95: la x7, 79b;                         \
    li s5, tval;                        \
    li x15, cause;                      \
    jal t0, fp_check_trap

#define FP_EXPECT_ILLEGAL(n, code...) FP_EXPECT_TRAP(n, CAUSE_ILLEGAL, code)

/* An instruction that trapped wrote nothing: FP_POISON before it, FP_UNTOUCHED after it checks
 * x14 and f3 (0x5a5a), fflags (0) and frm (= x2, which the case sets; FP_UNTOUCHED sets frm to 0) */
#define FP_POISON jal t0, fp_poison
#define FP_UNTOUCHED jal t0, fp_check_untouched

/* ---- the body and the runner ----------------------------------------------------------- */
#define FP_BODY_BEGIN                   \
    .text;                              \
    .balign 4;                          \
fp_body:                                \
    .option push;                       \
    .option norvc

/* back to the runner (in M) through an ecall the handler expects */
#define FP_BODY_END                     \
    li gp, 2047;                        \
    add gp, gp, s11;                    \
    mv s10, s8;                         \
    li s9, PRIV_M;                      \
    ecall;                              \
    j fail;                             \
    .option pop

/* run the body once in configuration k: privilege `mode`, satp as `satp_code` sets it */
#define FP_SATP_BARE csrw satp, x0
#define FP_SATP_SV39(root)              \
    la t0, root;                        \
    srli t0, t0, 12;                    \
    li t1, SATP_SV39;                   \
    or t0, t0, t1;                      \
    csrw satp, t0
#define FP_RUN(k, mode, satp_code...)   \
    li s11, ((k) << 11);                \
    li s9, mode;                        \
    satp_code;                          \
    sfence.vma;                         \
    li t0, FS_DIRTY;                    \
    csrs mstatus, t0;                   \
    csrw fcsr, x0;                      \
    csrc mstatus, t0;                   \
    li t0, FP_FS;                       \
    csrs mstatus, t0;                   \
    la s8, 72f;                         \
    li t0, 0x1800;                      \
    csrc mstatus, t0;                   \
    li t0, ((mode) << 11);              \
    csrs mstatus, t0;                   \
    la t0, fp_body;                     \
    csrw mepc, t0;                      \
    mret;                               \
    .balign 4;                          \
72: li x7, (8 + (mode));                \
    bne s2, x7, fail

/* main: PMP open, the handler, the two Sv39 roots, then the five runs; exit 0 */
#define FP_MAIN                         \
    TEST_BEGIN                          \
    .option push;                       \
    .option norvc;                      \
    PMP_OPEN_ALL;                       \
    la t0, fp_trap_handler;             \
    csrw mtvec, t0;                     \
    li s10, 0;                          \
    li t0, (0x80000000 >> 12) << 10 | PTE_LEAF_RWX; \
    la t1, fp_root_s;                   \
    sd t0, 16(t1);                      \
    ori t0, t0, PTE_U;                  \
    la t1, fp_root_u;                   \
    sd t0, 16(t1);                      \
    FP_RUN(0, PRIV_M, FP_SATP_BARE);    \
    FP_RUN(1, PRIV_S, FP_SATP_BARE);    \
    FP_RUN(2, PRIV_U, FP_SATP_BARE);    \
    FP_RUN(3, PRIV_S, FP_SATP_SV39(fp_root_s)); \
    FP_RUN(4, PRIV_U, FP_SATP_SV39(fp_root_u)); \
    csrw satp, x0;                      \
    li TESTNUM, 1;                      \
    j pass;                             \
    FP_TRAP_HANDLER;                    \
    FP_CHECK_ROUTINE;                   \
    .option pop;                        \
    TEST_PASSFAIL;                      \
    .bss;                               \
    .balign 4096;                       \
fp_root_s: .skip 4096;                  \
fp_root_u: .skip 4096;                  \
    .text

/* records s2..s6 (s5: the instruction bits at mepc, read in M, where every VA used is the PA)
 * and resumes at s10 in privilege s9 */
#define FP_TRAP_HANDLER                 \
    .balign 4;                          \
fp_trap_handler:                        \
    csrr s2, mcause;                    \
    csrr s3, mepc;                      \
    csrr s4, mtval;                     \
    csrr s6, mstatus;                   \
    beqz s10, fail;                     \
    lhu s5, 0(s3);                      \
    andi t0, s5, 3;                     \
    li t1, 3;                           \
    bne t0, t1, 76f;                    \
    lhu t0, 2(s3);                      \
    slli t0, t0, 16;                    \
    or s5, s5, t0;                      \
76: csrw mepc, s10;                     \
    li s10, 0;                          \
    li t0, 0x1800;                      \
    csrc mstatus, t0;                   \
    slli t0, s9, 11;                    \
    csrs mstatus, t0;                   \
    mret

#endif
