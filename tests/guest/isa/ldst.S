# rv64ui loads and stores: lb/lh/lw/ld/lbu/lhu/lwu, sb/sh/sw/sd, positive and
# negative offsets, sign/zero extension, stores touch only their bytes,
# load into x0 ignored, rd == rs1 base.
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"

TEST_BEGIN

    # ---- loads, sign/zero extension
    TEST_LD_OP(1, lb,  0xffffffffffffff88, 0, tdat)
    TEST_LD_OP(2, lb,  0x0000000000000077, 1, tdat)
    TEST_LD_OP(3, lb,  0x0000000000000011, 7, tdat)
    TEST_LD_OP(4, lbu, 0x0000000000000088, 0, tdat)
    TEST_LD_OP(5, lbu, 0x00000000000000ff, 8, tdat)
    TEST_LD_OP(6, lh,  0xffffffffffff8877, 6, tdat2)
    TEST_LD_OP(7, lh,  0x0000000000007788, 0, tdat)
    TEST_LD_OP(8, lh,  0xffffffffffffffff, 8, tdat)
    TEST_LD_OP(9, lhu, 0x000000000000ffff, 8, tdat)
    TEST_LD_OP(10, lhu, 0x0000000000008877, 6, tdat2)
    TEST_LD_OP(11, lw,  0x0000000055667788, 0, tdat)
    TEST_LD_OP(12, lw,  0xffffffff80000000, 0, tdat3)
    TEST_LD_OP(13, lw,  0xffffffffffffffff, 8, tdat)
    TEST_LD_OP(14, lwu, 0x0000000080000000, 0, tdat3)
    TEST_LD_OP(15, lwu, 0x00000000ffffffff, 8, tdat)
    TEST_LD_OP(16, lwu, 0x0000000011223344, 4, tdat)
    TEST_LD_OP(17, ld,  0x1122334455667788, 0, tdat)
    TEST_LD_OP(18, ld,  0xffffffffffffffff, 8, tdat)
    TEST_LD_OP(19, ld,  0x8877665544332211, 0, tdat2)
    # negative offsets
    TEST_LD_OP(20, ld,  0x1122334455667788, -16, tdat2)
    TEST_LD_OP(21, lbu, 0x0000000000000011, -9, tdat2)
    TEST_LD_OP(22, lw,  0x0000000011223344, -12, tdat2)
    # 12-bit offset extremes
    TEST_CASE(23, x14, 0x00000000000000a5, la x1, big; addi x1, x1, 2047; lbu x14, -2047(x1))
    TEST_CASE(24, x14, 0x000000000000005a, la x1, big; addi x1, x1, -2048; lbu x14, 2047(x1))
    # rd == base register
    TEST_CASE(25, x1, 0x1122334455667788, la x1, tdat; ld x1, 0(x1))
    # load into x0 is ignored (but still performed)
    TEST_CASE(26, x14, 0, la x1, tdat; lw x0, 0(x1); mv x14, x0)

    # ---- stores, read back
    TEST_ST_OP(30, lb,  sb, 0xffffffffffffffaa, 0, sbuf)
    TEST_ST_OP(31, lbu, sb, 0x0000000000000055, 1, sbuf)
    TEST_ST_OP(32, lh,  sh, 0xffffffffffffaa55, 2, sbuf)
    TEST_ST_OP(33, lhu, sh, 0x000000000000beef, 6, sbuf)
    TEST_ST_OP(34, lw,  sw, 0xffffffffdeadbeef, 8, sbuf)
    TEST_ST_OP(35, lwu, sw, 0x00000000cafef00d, 12, sbuf)
    TEST_ST_OP(36, ld,  sd, 0x0123456789abcdef, 16, sbuf)
    TEST_ST_OP(37, ld,  sd, 0xfedcba9876543210, -8, sbuf_end)
    TEST_ST_OP(38, lw,  sw, 0x0000000012345678, -12, sbuf_end)

    # stores only modify their own bytes
    TEST_CASE(40, x14, 0x1111111111111111, la x1, sbuf; li x2, 0x1111111111111111; sd x2, 0(x1); ld x14, 0(x1))
    TEST_CASE(41, x14, 0x11111111111199aa, la x1, sbuf; li x2, 0x12345678ffff99aa; sh x2, 0(x1); ld x14, 0(x1))
    TEST_CASE(42, x14, 0x11111111117799aa, la x1, sbuf; li x2, 0x77; sb x2, 2(x1); ld x14, 0(x1))
    TEST_CASE(43, x14, 0x89abcdef117799aa, la x1, sbuf; li x2, 0x0123456789abcdef; sw x2, 4(x1); ld x14, 0(x1))
    TEST_CASE(44, x14, 0x89abcdef107799aa, la x1, sbuf; li x2, 0x10; sb x2, 3(x1); ld x14, 0(x1))
    # store of x0 writes zero
    TEST_CASE(45, x14, 0x0000000000000000, la x1, sbuf; sd x0, 0(x1); ld x14, 0(x1))
    # a store followed by a load of a different width (little-endian layout)
    TEST_CASE(46, x14, 0x0000000000000004, la x1, sbuf; li x2, 0x0102030405060708; sd x2, 0(x1); lbu x14, 4(x1))
    TEST_CASE(47, x14, 0x0000000000000506, la x1, sbuf; lhu x14, 2(x1))
    TEST_CASE(48, x14, 0x0000000001020304, la x1, sbuf; lwu x14, 4(x1))

    TEST_PASSFAIL

    .data
    .balign 8
tdat:  .dword 0x1122334455667788
       .dword 0xffffffffffffffff
tdat2: .dword 0x8877665544332211
tdat3: .dword 0x0000000080000000
    .balign 8
sbuf:  .skip 32
sbuf_end:
       .skip 16
    .balign 16
       .skip 2000
       .byte 0x5a              # big - 1
big:   .byte 0xa5
       .skip 2100
