# Misaligned SC and AMO raise store/AMO address misaligned (cause 6,
# mtval = address, mepc = the instruction) and modify no memory; for SC this
# holds even without a valid reservation.  AMO/SC/LR to unmapped memory:
# AMO and SC -> store/AMO access fault (cause 7), LR -> load access fault (5).
#
# KNOWN QEMU 7.2 DIFFERENCES (this program does not pass under QEMU 7.2):
#  - a misaligned SC whose address does not match the reservation simply
#    fails (rd = 1) without an alignment check -> exit code 1;
#  - misaligned AMOs raise *load* address misaligned (cause 4) instead of
#    store/AMO address misaligned (cause 6), and AMOs to unmapped memory
#    raise *load* access fault (5) instead of store/AMO access fault (7).
# Build with -DSKIP_SC to check only the AMO part.
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"

TEST_BEGIN
    INSTALL_TRAP_HANDLER_M
    la x1, mbuf
    li x2, 0x1111111111111111
    sd x2, 0(x1)
    sd x2, 8(x1)
#ifndef SKIP_SC
    EXPECT_TRAP(1, 6, la x1, mbuf; addi x1, x1, 1; li x2, 5; sc.w x14, x2, (x1))
    CHECK_EQ_REG(s4, x1)
    EXPECT_TRAP(2, 6, la x1, mbuf; addi x1, x1, 4; li x2, 5; sc.d x14, x2, (x1))
    CHECK_EQ_REG(s4, x1)
    # with a reservation on the aligned doubleword
    EXPECT_TRAP(3, 6, la x1, mbuf; lr.d x14, (x1); addi x1, x1, 2; li x2, 5; sc.d x14, x2, (x1))
    CHECK_EQ_REG(s4, x1)
#endif

    EXPECT_TRAP(10, 6, la x1, mbuf; addi x1, x1, 2; li x2, 5; amoadd.w x14, x2, (x1))
    CHECK_EQ_REG(s4, x1)
    EXPECT_TRAP(11, 6, la x1, mbuf; addi x1, x1, 4; li x2, 5; amoswap.d x14, x2, (x1))
    CHECK_EQ_REG(s4, x1)
    EXPECT_TRAP(12, 6, la x1, mbuf; addi x1, x1, 7; li x2, 5; amomaxu.d x14, x2, (x1))
    CHECK_EQ_REG(s4, x1)
    EXPECT_TRAP(13, 6, la x1, mbuf; addi x1, x1, 3; li x2, 5; amoor.w x14, x2, (x1))
    CHECK_EQ_REG(s4, x1)
    EXPECT_TRAP(14, 6, la x1, mbuf; addi x1, x1, 1; 1: amoand.d x14, x2, (x1))
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    CHECK_EQ_REG(s4, x1)
    # access faults (nothing mapped at 0x40000000)
    EXPECT_TRAP(15, 7, li x1, 0x40000000; amoadd.d x14, x1, (x1))
    CHECK_EQ(s4, 0x40000000)
    EXPECT_TRAP(16, 7, li x1, 0x40000008; amoswap.w x14, x1, (x1))
    CHECK_EQ(s4, 0x40000008)
    EXPECT_TRAP(17, 5, li x1, 0x40000010; lr.d x14, (x1))
    CHECK_EQ(s4, 0x40000010)
    TEST_CASE(20, x14, 0x1111111111111111, la x1, mbuf; ld x14, 0(x1))
    TEST_CASE(21, x14, 0x1111111111111111, la x1, mbuf; ld x14, 8(x1))
    # an aligned AMO still works afterwards
    TEST_CASE(22, x14, 0x1111111111111111, la x1, mbuf; li x2, 1; amoadd.d x14, x2, (x1))
    TEST_CASE(23, x14, 0x1111111111111112, la x1, mbuf; ld x14, 0(x1))
    TEST_PASSFAIL
    TRAP_HANDLER_M

    .data
    .balign 16
mbuf:   .skip 32
