# Misaligned accesses.
#  - Ordinary loads/stores to RAM at misaligned addresses must complete (no
#    trap) with the right little-endian value: numbavm handles them in
#    hardware (so does QEMU for RAM).
#  - LR to a misaligned address raise an exception: lr -> load
#    address misaligned (cause 4); mtval = the address.  Misaligned SC/AMO
#    (cause 6) are in amo_misaligned.S, because QEMU 7.2 differs there.
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"

TEST_BEGIN
    INSTALL_TRAP_HANDLER_M

    # ---- loads (mdat = 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff)
    TEST_LD_OP(1, lh,  0x0000000000002211, 1, mdat)
    TEST_LD_OP(2, lh,  0xffffffffffff8877, 7, mdat)
    TEST_LD_OP(3, lhu, 0x0000000000008877, 7, mdat)
    TEST_LD_OP(4, lw,  0x0000000044332211, 1, mdat)
    TEST_LD_OP(5, lw,  0xffffffff99887766, 6, mdat)
    TEST_LD_OP(6, lwu, 0x0000000099887766, 6, mdat)
    TEST_LD_OP(7, lw,  0x0000000066554433, 3, mdat)
    TEST_LD_OP(8, ld,  0x8877665544332211, 1, mdat)
    TEST_LD_OP(9, ld,  0xaa99887766554433, 3, mdat)
    TEST_LD_OP(10, ld, 0xeeddccbbaa998877, 7, mdat)
    TEST_LD_OP(11, lwu, 0x00000000eeddccbb, 11, mdat)
    TEST_LD_OP(12, lh, 0xffffffffffffeedd, 13, mdat)

    # ---- stores (then aligned read-back of the neighbourhood)
    TEST_CASE(20, x14, 0xffffffffffffffff, la x1, mbuf; li x2, -1; sd x2, 0(x1); sd x2, 8(x1); ld x14, 0(x1))
    TEST_CASE(21, x14, 0xffffffffff1234ff, la x1, mbuf; li x2, 0x1234; sh x2, 1(x1); ld x14, 0(x1))
    TEST_CASE(22, x14, 0xaaffffffff1234ff, la x1, mbuf; li x2, 0x12345678aabbccaa; sh x2, 7(x1); ld x14, 0(x1))
    TEST_CASE(23, x14, 0xffffffffffffffcc, la x1, mbuf; ld x14, 8(x1))
    TEST_CASE(24, x14, 0xffffffffffffff00, la x1, mbuf; li x2, 0; sw x2, 5(x1); ld x14, 8(x1))
    TEST_CASE(25, x14, 0x000000ffff1234ff, la x1, mbuf; ld x14, 0(x1))
    TEST_CASE(26, x14, 0x0807060504030201, la x1, mbuf; li x2, 0x0807060504030201; sd x2, 3(x1); ld x14, 3(x1))
    TEST_CASE(27, x14, 0x05040302011234ff, la x1, mbuf; ld x14, 0(x1))
    TEST_CASE(28, x14, 0xffffffffff080706, la x1, mbuf; ld x14, 8(x1))
    TEST_CASE(29, x14, 0x00000000011234ff, la x1, mbuf; lwu x14, 0(x1))

    # ---- LR misaligned: trap, mtval = address
    la x1, mbuf
    li x2, 0x1111111111111111
    sd x2, 0(x1)
    sd x2, 8(x1)
    EXPECT_TRAP(40, 4, la x1, mbuf; addi x1, x1, 4; lr.d x14, (x1))
    CHECK_EQ_REG(s4, x1)
    EXPECT_TRAP(41, 4, la x1, mbuf; addi x1, x1, 2; lr.w x14, (x1))
    CHECK_EQ_REG(s4, x1)
    # mepc = the faulting instruction
    EXPECT_TRAP(48, 4, la x1, mbuf; addi x1, x1, 1; 1: lr.w x14, (x1))
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    CHECK_EQ_REG(s4, x1)
    # (misaligned SC/AMO: see isa/amo_misaligned.S -- QEMU 7.2 differs)
    TEST_CASE(49, x14, 0x1111111111111111, la x1, mbuf; ld x14, 0(x1))
    TEST_CASE(50, x14, 0x1111111111111111, la x1, mbuf; ld x14, 8(x1))
    # an aligned AMO still works afterwards
    TEST_CASE(51, x14, 0x1111111111111111, la x1, mbuf; li x2, 1; amoadd.d x14, x2, (x1))

    TEST_PASSFAIL
    TRAP_HANDLER_M

    .data
    .balign 16
mdat:   .byte 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77
        .byte 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff
    .balign 16
mbuf:   .skip 32
