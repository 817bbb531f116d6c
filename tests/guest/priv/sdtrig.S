# Sdtrig (debug spec 1.0): the trigger module as M-mode software uses it.
# Checks: probing (tselect read back, tinfo lists type 6), mcontrol6 execute, load and store address
# triggers in M, S and U raise a breakpoint exception (mcause 3) before the instruction, with
# mepc = its pc and mtval = the pc or the access's address, nothing executed, read or written; the
# m/s/u enables gate them by privilege; in M an action-0 trigger does not fire while mstatus.MIE = 0;
# match >= and NAPOT.  (QEMU 7.2 has 2 triggers, numbavm 4: both pass the probe's "at least 2".)
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"

#define MC6   0x6000000000000000
#define TM    0x40
#define TS    0x10
#define TU    0x08
#define TX    0x04
#define TST   0x02
#define TLD   0x01
#define GE    (2 << 7)
#define NAPOT (1 << 7)
#define MIE   0x8

/* arm trigger 0: tdata1 = t1, tdata2 = t0 */
#define ARM(cfg, addr)  csrw tselect, zero; csrw tdata1, zero; la t0, addr; csrw tdata2, t0; li t1, cfg; csrw tdata1, t1
#define DISARM          csrw tselect, zero; csrw tdata1, zero

    .option norvc               /* QEMU 7.2 + PMP: see PMP_OPEN_ALL */
TEST_BEGIN
    PMP_OPEN_ALL
    INSTALL_TRAP_HANDLER_M
    csrsi mstatus, MIE          /* mie = 0: no interrupt; MIE lets action-0 triggers fire in M */

    # ---- probing, as M-mode software does: count the triggers tselect keeps
    li s7, 0
    li t2, 0
1:  csrw tselect, t2
    csrr t3, tselect
    bne t3, t2, 2f
    addi s7, s7, 1
    addi t2, t2, 1
    li t3, 16
    bltu t2, t3, 1b
2:  TEST_CASE(1, x14, 1, sltiu x14, s7, 2; xori x14, x14, 1)          # at least two
    TEST_CASE(2, x14, 1, csrw tselect, zero; csrr x1, tinfo; srli x14, x1, 6; andi x14, x14, 1)
    TEST_CASE(3, x14, 0, li x1, MC6 | TM | TX; csrw tdata1, x1; csrr x1, tdata1; srli x14, x1, 59; andi x14, x14, 1)  # no dmode from M
    DISARM

    # ---- execute, in M: the instruction does not run
    li x14, 7
    ARM(MC6 | TM | TX, 3f)
    EXPECT_TRAP(4, 3, 3: li x14, 1)
    la t0, 3b
    CHECK_EQ_REG(s3, t0)
    CHECK_EQ_REG(s4, t0)
    CHECK_EQ(x14, 7)
    DISARM

    # ---- load and store, in M: mtval = the address, no access
    la s8, data          /* (x7 = t2 is the macros' scratch) */
    li s9, 0x55
    ARM(MC6 | TM | TLD, data + 8)
    EXPECT_TRAP(5, 3, ld x14, 8(s8))
    la t0, data + 8
    CHECK_EQ_REG(s4, t0)
    CHECK_EQ(x14, 7)
    DISARM
    ARM(MC6 | TM | TST, data + 8)
    TEST_CASE(6, x14, 1234, ld x14, 8(s8))                              # a store trigger: loads pass
    EXPECT_TRAP(7, 3, sd s9, 8(s8))
    la t0, data + 8
    CHECK_EQ_REG(s4, t0)
    ld x14, 8(s8)
    CHECK_EQ(x14, 1234)
    DISARM

    # ---- in M with mstatus.MIE = 0 an action-0 trigger does not fire
    csrci mstatus, MIE
    ARM(MC6 | TM | TX, 4f)
    TEST_CASE(8, x14, 3, 4: li x14, 3)
    DISARM
    csrsi mstatus, MIE

    # ---- S and U: the enables gate by privilege
    ARM(MC6 | TU | TX, 5f)
    EXPECT_TRAP_IN(9, PRIV_U, 3, 5: li x14, 9)
    la t0, 5b
    CHECK_EQ_REG(s4, t0)
    DISARM
    ARM(MC6 | TS | TLD, data + 8)
    EXPECT_TRAP_IN(10, PRIV_S, 3, ld x14, 8(s8))
    la t0, data + 8
    CHECK_EQ_REG(s4, t0)
    DISARM
    ARM(MC6 | TU | TM | TLD, data + 8)
    EXPECT_TRAP_IN(11, PRIV_S, 9, ld x14, 8(s8); ecall)               # not for S: the load runs
    CHECK_EQ(x14, 1234)
    DISARM
    ARM(MC6 | TS | TU | TST | GE, data + 16)
    EXPECT_TRAP_IN(12, PRIV_U, 8, sd s9, 8(s8); ecall)                # below: runs
    EXPECT_TRAP_IN(13, PRIV_U, 3, sd s9, 16(s8))                      # >= data + 16: fires
    la t0, data + 16
    CHECK_EQ_REG(s4, t0)
    DISARM
    ARM(MC6 | TS | TLD | NAPOT, data + 32 + 3)                        # 8 bytes at data + 32
    EXPECT_TRAP_IN(14, PRIV_S, 9, ld x14, 24(s8); ecall)
    EXPECT_TRAP_IN(15, PRIV_S, 3, lw x14, 36(s8))
    la t0, data + 36
    CHECK_EQ_REG(s4, t0)
    DISARM

    li TESTNUM, 0
    j pass

    TRAP_HANDLER_M
TEST_PASSFAIL

TEST_DATA
data:
    .dword 0, 1234, 0, 0, 0, 0
