# Sstc: stimecmp and menvcfg.STCE.  (QEMU 7.2's spike machine has no time source, so its
# stimecmp is illegal even in M: it fails at test 1.)
# Checks: M reads and writes stimecmp whatever STCE; from S it needs menvcfg.STCE and
# mcounteren.TM (illegal instruction otherwise), from U it is always illegal; with STCE, mip.STIP
# is mtime >= stimecmp (unsigned) and software writes to it are ignored; without STCE stimecmp
# drives nothing and STIP is software's again; an S-mode kernel programs its own timer: the
# interrupt (scause 0x8000000000000005, delegated) arrives once time reaches stimecmp, not before,
# also out of wfi; writing stimecmp again clears STIP.
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"

#define STCE (1 << 63)
#define STIP 0x20
#define SIE_BIT 0x2
#define TM 0x2
#define S_TIMER_IRQ 0x8000000000000005

/* In S: stimecmp = time + ticks, then spin until the S handler counted an interrupt in s11 (or
 * give up after a while).  s8 = time the handler saw, s9 = the target. */
#define S_WAIT_TIMER(ticks)             \
    li s11, 0;                          \
    csrr s9, time;                      \
    addi s9, s9, ticks;                 \
    csrw stimecmp, s9;                  \
    li t1, 2000000;                     \
81: bnez s11, 82f;                      \
    addi t1, t1, -1;                    \
    bnez t1, 81b;                       \
82: ecall

    .option norvc               /* QEMU 7.2 + PMP: see PMP_OPEN_ALL */
TEST_BEGIN
    PMP_OPEN_ALL
    INSTALL_TRAP_HANDLER_M
    la t0, s_handler
    csrw stvec, t0

    # ---- access
    csrw menvcfg, zero
    TEST_CASE(1, x14, 0x1234, li x1, 0x1234; csrw stimecmp, x1; csrr x14, stimecmp)
    csrw mcounteren, zero
    EXPECT_TRAP_IN(2, PRIV_S, 2, csrr x14, stimecmp)
    csrwi mcounteren, TM
    EXPECT_TRAP_IN(3, PRIV_S, 2, csrw stimecmp, x0)            # STCE = 0
    li t0, STCE
    csrs menvcfg, t0
    TEST_CASE(4, x14, 1, csrr x1, menvcfg; srli x14, x1, 63)
    csrw mcounteren, zero
    EXPECT_TRAP_IN(5, PRIV_S, 2, csrr x14, stimecmp)           # TM = 0
    csrwi mcounteren, TM
    EXPECT_TRAP_IN(6, PRIV_S, 9, csrr x14, stimecmp; ecall)
    CHECK_EQ(x14, 0x1234)
    EXPECT_TRAP_IN(7, PRIV_U, 2, csrr x14, stimecmp)
    csrwi scounteren, TM
    EXPECT_TRAP_IN(8, PRIV_U, 2, csrr x14, stimecmp)           # an S CSR: never from U

    # ---- mip.STIP with STCE
    TEST_CASE(10, x14, STIP, csrw stimecmp, zero; csrr x1, mip; andi x14, x1, STIP)
    TEST_CASE(11, x14, 0, li x1, -1; csrw stimecmp, x1; csrr x1, mip; andi x14, x1, STIP)
    TEST_CASE(12, x14, 0, li x1, STIP; csrs mip, x1; csrr x1, mip; andi x14, x1, STIP)   # read-only
    csrr t0, time
    addi t0, t0, -1
    TEST_CASE(13, x14, STIP, csrw stimecmp, t0; csrr x1, mip; andi x14, x1, STIP)
    # ---- without STCE: stimecmp drives nothing, STIP is software-writable
    li t0, STCE
    csrc menvcfg, t0
    TEST_CASE(14, x14, 0, csrw stimecmp, zero; li x1, STIP; csrc mip, x1; csrr x1, mip; andi x14, x1, STIP)
    TEST_CASE(15, x14, STIP, li x1, STIP; csrs mip, x1; csrr x1, mip; andi x14, x1, STIP)
    li x1, STIP
    csrc mip, x1
    li t0, STCE
    csrs menvcfg, t0
    li t0, -1
    csrw stimecmp, t0

    # ---- the S-mode timer interrupt, delegated, programmed by S itself
    li t0, STIP
    csrs mideleg, t0
    csrs mie, t0
    csrsi mstatus, SIE_BIT
    EXPECT_TRAP_IN(20, PRIV_S, 9, S_WAIT_TIMER(200))
    CHECK_EQ(s11, 1)
    CHECK_EQ(s7, S_TIMER_IRQ)
    bltu s8, s9, fail                   # not before time reached stimecmp
    TEST_CASE(21, x14, 0, csrr x1, mip; andi x14, x1, STIP)   # the handler's stimecmp write cleared it
    # out of wfi
    EXPECT_TRAP_IN(22, PRIV_S, 9, li s11, 0; csrr s9, time; addi s9, s9, 500; csrw stimecmp, s9; wfi; ecall)
    CHECK_EQ(s11, 1)
    CHECK_EQ(s7, S_TIMER_IRQ)
    bltu s8, s9, fail
    # sie.STIE off: the interrupt stays pending, and is taken once enabled
    EXPECT_TRAP_IN(23, PRIV_S, 9, li s11, 0; li x1, STIP; csrc sie, x1; csrw stimecmp, zero; nop; nop; ecall)
    CHECK_EQ(s11, 0)
    EXPECT_TRAP_IN(24, PRIV_S, 9, li x1, STIP; csrs sie, x1; nop; ecall)
    CHECK_EQ(s11, 1)
    TEST_PASSFAIL
    TRAP_HANDLER_M

    .balign 4
s_handler:                              # S timer interrupt: count it, note scause and time, disarm
    csrr s7, scause
    csrr s8, time
    li t0, -1
    csrw stimecmp, t0
    addi s11, s11, 1
    sret
