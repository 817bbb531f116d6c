# Zicbom, Zicboz (the CMO spec): cbo.zero zeroes the 64-byte cache block holding its address (and
# nothing around it); cbo.clean, cbo.flush and cbo.inval leave memory as it is; a block outside
# memory is a store access fault.  Below M, each needs its enable: menvcfg's for S and U, senvcfg's
# too for U (CBZE, CBCFE, CBIE), else it is an illegal instruction (mtval = its bits).  Zicbop's
# prefetches and Zihintpause's pause are hints: they run, to any address, as no-ops.
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"

#define MENVCFG 0x30a
#define SENVCFG 0x10a
#define CBIE (3 << 4)                   /* 11: cbo.inval invalidates */
#define CBCFE (1 << 6)
#define CBZE (1 << 7)
#define BAD_ADDR 0x40000000             /* nothing is mapped there */
#define PATTERN 0xa5a5a5a5a5a5a5a5

/* fill buf (3 blocks) with PATTERN; clobbers t0-t2 */
#define FILL                            \
    la t0, buf; li t1, PATTERN;         \
    addi t2, t0, 192;                   \
1:  sd t1, 0(t0); addi t0, t0, 8;       \
    bltu t0, t2, 1b;

/* the block at buf + off is zero (zero = 1) or PATTERN (zero = 0); clobbers t0-t3 */
#define CHECK_BLOCK(off, zero)          \
    la t0, buf + off; li t1, PATTERN;   \
    addi t2, t0, 64;                    \
    li t3, zero; beqz t3, 2f; li t1, 0; \
2:  ld t3, 0(t0); bne t3, t1, fail;     \
    addi t0, t0, 8; bltu t0, t2, 2b;

/* `code` runs in `mode` and must retire: the ecall after it brings the hart back (cause 8 or 9) */
#define RUNS_IN(testnum, mode, code...) EXPECT_TRAP_IN(testnum, mode, 8 + (mode), code; ecall)
/* `insn` in `mode` is an illegal instruction, mtval its bits */
#define ILLEGAL_IN(testnum, mode, insn) \
    EXPECT_TRAP_IN(testnum, mode, 2, la a1, buf; 3: insn (a1)) \
    la t0, 3b; lwu t0, 0(t0); CHECK_EQ_REG(s4, t0)

    .option norvc                       /* QEMU 7.2 + PMP: see PMP_OPEN_ALL */
TEST_BEGIN
    PMP_OPEN_ALL
    INSTALL_TRAP_HANDLER_M

    # ---- M-mode: cbo.zero zeroes the middle block, from an address inside it
    FILL
test_1:
    li TESTNUM, 1
    la a1, buf + 64 + 13
    cbo.zero (a1)
    CHECK_BLOCK(0, 0)
    CHECK_BLOCK(64, 1)
    CHECK_BLOCK(128, 0)
test_2:
    li TESTNUM, 2
    la a1, buf + 191                    /* the last byte of the last block */
    cbo.zero (a1)
    CHECK_BLOCK(64, 1)
    CHECK_BLOCK(128, 1)
    CHECK_BLOCK(0, 0)
    # ---- cbo.clean, cbo.flush, cbo.inval: memory stays as it is
    FILL
test_3:
    li TESTNUM, 3
    la a1, buf + 70
    cbo.clean (a1)
    cbo.flush (a1)
    cbo.inval (a1)
    CHECK_BLOCK(0, 0)
    CHECK_BLOCK(64, 0)
    # ---- a block outside memory: store access fault, mtval = the address
    EXPECT_TRAP(4, 7, li a1, BAD_ADDR; cbo.zero (a1))
    CHECK_EQ(s4, BAD_ADDR)
    # ---- hints: prefetch.i/r/w (ori x0 forms) and pause (a fence) never fault
test_5:
    li TESTNUM, 5
    li a1, BAD_ADDR
    prefetch.i 0(a1)
    prefetch.r 64(a1)
    prefetch.w -64(a1)
    pause
    CHECK_EQ(a1, BAD_ADDR)

    # ---- S and U with the enables off: illegal instructions
    csrw MENVCFG, zero
    csrw SENVCFG, zero
    ILLEGAL_IN(6, PRIV_S, cbo.zero)
    ILLEGAL_IN(7, PRIV_S, cbo.clean)
    ILLEGAL_IN(8, PRIV_S, cbo.flush)
    ILLEGAL_IN(9, PRIV_S, cbo.inval)
    ILLEGAL_IN(10, PRIV_U, cbo.zero)
    ILLEGAL_IN(11, PRIV_U, cbo.inval)
    # ---- menvcfg's enables: S may, U not yet
    li t0, CBIE | CBCFE | CBZE
    csrw MENVCFG, t0
    csrr t1, MENVCFG
    CHECK_EQ_REG(t1, t0)
    FILL
    RUNS_IN(12, PRIV_S, la a1, buf; cbo.zero (a1); cbo.clean (a1); cbo.flush (a1); cbo.inval (a1))
    CHECK_BLOCK(0, 1)
    CHECK_BLOCK(64, 0)
    ILLEGAL_IN(13, PRIV_U, cbo.zero)
    ILLEGAL_IN(14, PRIV_U, cbo.clean)
    ILLEGAL_IN(15, PRIV_U, cbo.inval)
    # ---- and senvcfg's: U may, each instruction by its own enable
    li t0, CBZE
    csrw SENVCFG, t0
    RUNS_IN(16, PRIV_U, la a1, buf + 64; cbo.zero (a1))
    CHECK_BLOCK(64, 1)
    ILLEGAL_IN(17, PRIV_U, cbo.flush)
    li t0, CBCFE
    csrw SENVCFG, t0
    RUNS_IN(18, PRIV_U, la a1, buf; cbo.clean (a1); cbo.flush (a1))
    ILLEGAL_IN(19, PRIV_U, cbo.zero)
    ILLEGAL_IN(20, PRIV_U, cbo.inval)
    li t0, CBIE
    csrw SENVCFG, t0
    RUNS_IN(21, PRIV_U, la a1, buf; cbo.inval (a1))
    CHECK_BLOCK(128, 0)
    # ---- a disabled menvcfg enable wins over senvcfg's in U
    li t0, CBZE
    csrw MENVCFG, zero
    csrw SENVCFG, t0
    ILLEGAL_IN(22, PRIV_U, cbo.zero)
    # ---- U-mode's fault is a store access fault too
    li t0, CBZE
    csrw MENVCFG, t0
    EXPECT_TRAP_IN(23, PRIV_U, 7, li a1, BAD_ADDR + 64; cbo.zero (a1))
    CHECK_EQ(s4, BAD_ADDR + 64)

    TEST_PASSFAIL
    TRAP_HANDLER_M

    .bss
    .balign 64
buf:
    .skip 192
