# CSR behaviour that numbavm implements as the spec says and QEMU 7.2
# (the reference) does not.  This program is EXPECTED TO FAIL under
# qemu-system-riscv64 7.2 (first failure: test 10); under numbavm it must pass.
# Each group can be disabled with -DSKIP_<GROUP> to check the rest:
#  CSRRS: csrrs/csrrc with rs1 != x0 on a read-only CSR is illegal even when
#         the register holds 0 (the spec says a write is still attempted).
#         QEMU 7.2 only traps when the value is nonzero.
#  TIME : the `time` CSR (rdtime) reads the CLINT mtime and is gated by
#         mcounteren.TM / scounteren.TM.  QEMU's spike machine provides no
#         rdtime, so `time` is illegal there even in M-mode.
#  EPC  : mepc/sepc bit 0 reads as 0 (IALIGN = 16).  QEMU 7.2 keeps it.
#  TVAL : mtval = instruction bits for every illegal instruction (also the
#         privileged ones trapped late, e.g. mret in U-mode), mtval = pc for
#         ebreak.  QEMU 7.2 writes 0 in these cases.
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"

#define CLINT_MTIME 0x0200bff8

    .option norvc               /* QEMU 7.2 + PMP: see PMP_OPEN_ALL */
TEST_BEGIN
    PMP_OPEN_ALL
    INSTALL_TRAP_HANDLER_M

#ifndef SKIP_CSRRS
    EXPECT_TRAP(10, 2, li x1, 0; csrrs x14, cycle, x1)
    EXPECT_TRAP(11, 2, li x1, 0; csrrc x14, mhartid, x1)
    EXPECT_TRAP(12, 2, li x1, 0; csrrs x14, mvendorid, x1)
#endif

#ifndef SKIP_TIME
    # time follows mtime (10 MHz) and never goes backwards
    TEST_CASE(20, x14, 1, li x1, CLINT_MTIME; ld x2, 0(x1); csrr x4, time; sltu x14, x4, x2; xori x14, x14, 1)
    TEST_CASE(21, x14, 1, csrr x2, time; li x4, 1000; 1: addi x4, x4, -1; bnez x4, 1b; csrr x4, time; sltu x14, x2, x4)
    csrw mcounteren, zero
    csrw scounteren, zero
    EXPECT_TRAP_IN(22, PRIV_S, 2, csrr x14, time)
    EXPECT_TRAP_IN(23, PRIV_U, 2, csrr x14, time)
    csrwi mcounteren, 2
    EXPECT_TRAP_IN(24, PRIV_S, 9, csrr x14, time; ecall)
    EXPECT_TRAP_IN(25, PRIV_U, 2, csrr x14, time)
    csrwi scounteren, 2
    EXPECT_TRAP_IN(26, PRIV_U, 8, csrr x14, time; ecall)
    EXPECT_TRAP(27, 2, csrw time, x0)
    csrw mcounteren, zero
    csrw scounteren, zero
#endif

#ifndef SKIP_EPC
    TEST_CASE(30, x14, 0x80000002, li x1, 0x80000003; csrw mepc, x1; csrr x14, mepc)
    TEST_CASE(31, x14, 0x80000006, li x1, 0x80000007; csrw sepc, x1; csrr x14, sepc)
#endif

#ifndef SKIP_TVAL
    EXPECT_TRAP(40, 3, 1: ebreak)
    la x7, 1b
    CHECK_EQ_REG(s4, x7)
    EXPECT_TRAP_IN(41, PRIV_U, 2, mret)
    CHECK_EQ(s4, 0x30200073)
    EXPECT_TRAP_IN(42, PRIV_S, 2, mret)
    CHECK_EQ(s4, 0x30200073)
    EXPECT_TRAP_IN(43, PRIV_U, 2, sret)
    CHECK_EQ(s4, 0x10200073)
    EXPECT_TRAP_IN(44, PRIV_U, 2, wfi)
    CHECK_EQ(s4, 0x10500073)
    EXPECT_TRAP(45, 2, csrr x14, 0x123)
    CHECK_EQ(s4, 0x12302773)            # csrrs x14, 0x123, x0
    EXPECT_TRAP_IN(46, PRIV_S, 2, csrr x14, mstatus)
    CHECK_EQ(s4, 0x30002773)
    EXPECT_TRAP(47, 2, csrw cycle, x0)
    CHECK_EQ(s4, 0xc0001073)
#endif

    TEST_PASSFAIL
    TRAP_HANDLER_M
