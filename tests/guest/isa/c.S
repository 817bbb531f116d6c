# rv64uc: every RV64 compressed instruction (integer subset: no c.fld/c.fsd,
# c.ebreak is covered by priv tests), written with explicit c.* mnemonics so
# that the assembler must emit the 16-bit forms.  Also checks 32-bit
# instructions at 2-byte aligned addresses and the link value (pc + 2) of
# c.jalr.
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"

    .option rvc
TEST_BEGIN
    mv s11, sp                  # sp is used as a base by the *sp forms

    # ---- quadrant 1: immediates
    TEST_CASE(1, a4, 0x0000000000000000, c.li a4, 0)
    TEST_CASE(2, a4, 0x000000000000001f, c.li a4, 31)
    TEST_CASE(3, a4, 0xffffffffffffffe0, c.li a4, -32)
    TEST_CASE(4, a4, 0x0000000000001000, c.lui a4, 1)
    TEST_CASE(5, a4, 0x000000000001f000, c.lui a4, 0x1f)
    TEST_CASE(6, a4, 0xfffffffffffe0000, c.lui a4, 0xfffe0)    # nzimm = -32
    TEST_CASE(7, a4, 0xfffffffffffff000, c.lui a4, 0xfffff)    # nzimm = -1
    TEST_CASE(8, a4, 0x0000000000000010, c.li a4, 15; c.addi a4, 1)
    TEST_CASE(9, a4, 0xffffffffffffffe1, c.li a4, 1; c.addi a4, -32)
    TEST_CASE(10, a4, 0x000000000000001f, c.li a4, 0; c.addi a4, 31)
    TEST_CASE(11, a4, 0x0000000080000000, li a4, 0x7fffffff; c.addi a4, 1)
    # c.addiw: 32-bit add, sign-extended result
    TEST_CASE(12, a4, 0xffffffff80000000, li a4, 0x7fffffff; c.addiw a4, 1)
    TEST_CASE(13, a4, 0x000000007fffffff, li a4, 0x80000000; c.addiw a4, -1)
    TEST_CASE(14, a4, 0xffffffffffffffff, li a4, 0x12345678ffffffff; c.addiw a4, 0)   # sext.w
    TEST_CASE(15, a4, 0x0000000000000005, li a4, 0xffffffff00000000; c.addiw a4, 5)
    # c.addi16sp: sp += nzimm*16 (range -512..496)
    TEST_CASE(16, a4, 0x0000000000000010, mv sp, s11; c.addi16sp sp, 16; sub a4, sp, s11)
    TEST_CASE(17, a4, 0xfffffffffffffe00, mv sp, s11; c.addi16sp sp, -512; sub a4, sp, s11)
    TEST_CASE(18, a4, 0x00000000000001f0, mv sp, s11; c.addi16sp sp, 496; sub a4, sp, s11)
    # c.addi4spn: rd' = sp + nzuimm*4 (4..1020)
    TEST_CASE(19, a4, 0x0000000000000004, mv sp, s11; c.addi4spn a4, sp, 4; sub a4, a4, s11)
    TEST_CASE(20, a4, 0x00000000000003fc, mv sp, s11; c.addi4spn a4, sp, 1020; sub a4, a4, s11)
    TEST_CASE(21, s0, 0x0000000000000100, mv sp, s11; c.addi4spn s0, sp, 256; sub s0, s0, s11)
    mv sp, s11

    # ---- quadrant 1: shifts and logic on x8..x15
    TEST_CASE(30, a4, 0x4000000000000000, li a4, 0x8000000000000001; c.srli a4, 1)
    TEST_CASE(31, a4, 0x0000000000000001, li a4, 0x8000000000000001; c.srli a4, 63)
    TEST_CASE(32, a4, 0x0000000080000000, li a4, 0x8000000000000001; c.srli a4, 32)
    TEST_CASE(33, a4, 0xc000000000000000, li a4, 0x8000000000000001; c.srai a4, 1)
    TEST_CASE(34, a4, 0xffffffffffffffff, li a4, 0x8000000000000001; c.srai a4, 63)
    TEST_CASE(35, a4, 0xffffffff80000000, li a4, 0x8000000000000001; c.srai a4, 32)
    TEST_CASE(36, a4, 0x0000000000000000, li a4, 0x7fffffffffffffff; c.srai a4, 63)
    TEST_CASE(37, a4, 0x0000000000000010, li a4, 0xff0; c.andi a4, 31)
    TEST_CASE(38, a4, 0x0000000000000fe0, li a4, 0xff0; c.andi a4, -32)
    TEST_CASE(39, a4, 0x0000000000000000, li a4, 0xff0; c.andi a4, 0)
    TEST_CASE(40, a4, 0x0000000000000007, li a4, 10; li a5, 3; c.sub a4, a5)
    TEST_CASE(41, a4, 0xffffffffffffffff, li a4, 0; li a5, 1; c.sub a4, a5)
    TEST_CASE(42, a4, 0x00000000000000f0, li a4, 0xf0f; li a5, 0xfff; c.xor a4, a5)
    TEST_CASE(43, a4, 0x0000000000000fff, li a4, 0xf0f; li a5, 0x0f0; c.or a4, a5)
    TEST_CASE(44, a4, 0x0000000000000f00, li a4, 0xf0f; li a5, 0xff0; c.and a4, a5)
    TEST_CASE(45, a4, 0xffffffff80000000, li a4, 0x7fffffff; li a5, -1; c.subw a4, a5)
    TEST_CASE(46, a4, 0x0000000000000000, li a4, 0x1200000000; li a5, 0x3400000000; c.subw a4, a5)
    TEST_CASE(47, a4, 0xffffffff80000000, li a4, 0x7fffffff; li a5, 1; c.addw a4, a5)
    TEST_CASE(48, a4, 0x0000000000000002, li a4, 0xffffffff00000001; li a5, 0x1; c.addw a4, a5)
    TEST_CASE(49, s1, 0xfffffffffffffffe, li s1, 0xffffffff; li s0, 0xffffffff; c.addw s1, s0)

    # ---- quadrant 2: c.slli, c.mv, c.add
    TEST_CASE(50, a4, 0x0000000000000002, li a4, 1; c.slli a4, 1)
    TEST_CASE(51, a4, 0x8000000000000000, li a4, 1; c.slli a4, 63)
    TEST_CASE(52, a4, 0x0000000100000000, li a4, 1; c.slli a4, 32)
    TEST_CASE(53, t1, 0xfffffffe00000000, li t1, 0xffffffff; c.slli t1, 33)     # full register range
    TEST_CASE(54, a4, 0x123456789abcdef0, li t2, 0x123456789abcdef0; c.mv a4, t2)
    TEST_CASE(55, t5, 0x0000000000000055, li t6, 0x55; c.mv t5, t6)
    TEST_CASE(56, a4, 0x0000000000000000, li a4, -1; li t2, 1; c.add a4, t2)
    TEST_CASE(57, t5, 0x8000000000000000, li t5, 0x7fffffffffffffff; li t6, 1; c.add t5, t6)

    # ---- loads/stores: c.lw/c.ld/c.sw/c.sd (x8..x15 base, scaled offsets)
    TEST_CASE(60, a4, 0xffffffff80000001, la a5, cdat; c.lw a4, 0(a5))
    TEST_CASE(61, a4, 0x000000007ffffffe, la a5, cdat; c.lw a4, 4(a5))
    TEST_CASE(62, a4, 0x7ffffffe80000001, la a5, cdat; c.ld a4, 0(a5))
    TEST_CASE(63, a4, 0x1122334455667788, la a5, cdat; c.ld a4, 248(a5))
    TEST_CASE(64, a4, 0x0000000055667788, la a5, cdat; c.lw a4, 124(a5))
    TEST_CASE(65, a4, 0xffffffffdeadbeef, la s0, cbuf; li s1, 0x12345678deadbeef; c.sw s1, 8(s0); c.lw a4, 8(s0))
    TEST_CASE(66, a4, 0x12345678deadbeef, la s0, cbuf; c.sd s1, 16(s0); c.ld a4, 16(s0))
    TEST_CASE(67, a4, 0x00000000deadbeef, la s0, cbuf; c.sw s1, 124(s0); lwu a4, 124(s0))
    TEST_CASE(68, a4, 0x12345678deadbeef, la s0, cbuf; c.sd s1, 248(s0); ld a4, 248(s0))

    # ---- sp-relative: c.lwsp/c.ldsp/c.swsp/c.sdsp
    la sp, cbuf
    TEST_CASE(70, a4, 0xffffffffcafef00d, li t0, 0x00000000cafef00d; c.swsp t0, 0(sp); c.lwsp a4, 0(sp))
    TEST_CASE(71, a4, 0xffffffffcafef00d, c.swsp t0, 252(sp); c.lwsp a4, 252(sp))
    TEST_CASE(72, t6, 0x0123456789abcdef, li t0, 0x0123456789abcdef; c.sdsp t0, 8(sp); c.ldsp t6, 8(sp))
    TEST_CASE(73, a4, 0x0123456789abcdef, c.sdsp t0, 504(sp); ld a4, 504(sp))
    TEST_CASE(74, a4, 0xfedcba9876543210, li t0, 0xfedcba9876543210; sd t0, 496(sp); c.ldsp a4, 496(sp))
    TEST_CASE(75, a4, 0x0000000076543210, li t0, 0x76543210; sw t0, 248(sp); c.lwsp a4, 248(sp))
    mv sp, s11

    # ---- control flow: c.j, c.jr, c.jalr, c.beqz, c.bnez
    TEST_CASE(80, a4, 1, li a4, 0; c.j 1f; c.li a4, 5; 1: c.addi a4, 1)
    TEST_CASE(81, a4, 3, li a4, 0; c.j 2f; 1: c.addi a4, 2; c.j 3f; 2: c.addi a4, 1; c.j 1b; 3: )
    TEST_CASE(82, a4, 1, li a4, 0; la t0, 1f; c.jr t0; c.li a4, 5; 1: c.addi a4, 1)
    # c.jalr links ra = pc + 2
    TEST_CASE(83, a4, 0, la t0, 1f; 2: c.jalr t0; c.j fail; 1: la t1, 2b; addi t1, t1, 2; sub a4, ra, t1)
    # c.jalr with rs1 == ra: target uses the old ra
    TEST_CASE(84, a4, 0, la ra, 1f; 2: c.jalr ra; c.j fail; 1: la t1, 2b; addi t1, t1, 2; sub a4, ra, t1)
    TEST_CASE(85, a4, 1, li a4, 0; li a5, 0; c.beqz a5, 1f; c.li a4, 5; 1: c.addi a4, 1)
    TEST_CASE(86, a4, 6, li a4, 0; li a5, 1; c.beqz a5, 1f; c.li a4, 5; 1: c.addi a4, 1)
    TEST_CASE(87, a4, 1, li a4, 0; li a5, -1; c.bnez a5, 1f; c.li a4, 5; 1: c.addi a4, 1)
    TEST_CASE(88, a4, 6, li a4, 0; li a5, 0; c.bnez a5, 1f; c.li a4, 5; 1: c.addi a4, 1)
    TEST_CASE(89, a4, 0x8000000000000000, li a4, 0; li a5, 0x8000000000000000; c.bnez a5, 1f; c.j fail; 1: mv a4, a5)
    # backward c.bnez loop
    TEST_CASE(90, a4, 15, li a4, 0; li a5, 5; 1: c.add a4, a5; c.addi a5, -1; c.bnez a5, 1b)
    # c.nop
    TEST_CASE(91, a4, 7, li a4, 7; c.nop; c.nop)

    # ---- 32-bit instructions at 2-byte aligned addresses
    TEST_CASE(95, a4, 0x12345, .balign 4; c.nop; lui a4, 0x12; addi a4, a4, 0x345)
    TEST_CASE(96, a4, 0x1122334455667788, .balign 4; c.nop; la t0, cdat; ld a4, 248(t0))
    TEST_CASE(97, a4, 1, .balign 4; c.nop; li a4, 0; jal ra, 1f; c.j fail; 1: c.addi a4, 1)

    TEST_PASSFAIL

    .data
    .balign 8
cdat:   .word 0x80000001, 0x7ffffffe
        .skip 116
        .word 0x55667788           # cdat + 124
        .skip 120
        .dword 0x1122334455667788  # cdat + 248
    .balign 8
cbuf:   .skip 512
