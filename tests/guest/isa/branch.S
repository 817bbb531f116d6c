# rv64ui control flow and upper immediates: lui, auipc, beq/bne/blt/bge/
# bltu/bgeu (taken and not taken, both signs), jal, jalr (bit 0 cleared,
# rd == rs1, rd = x0), writes to x0 ignored.
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"

TEST_BEGIN

    # ---- lui: 20-bit immediate << 12, sign-extended to 64 bits
    TEST_CASE(1, x14, 0x0000000000000000, lui x14, 0x00000)
    TEST_CASE(2, x14, 0x0000000000001000, lui x14, 0x00001)
    TEST_CASE(3, x14, 0x000000007ffff000, lui x14, 0x7ffff)
    TEST_CASE(4, x14, 0xffffffff80000000, lui x14, 0x80000)
    TEST_CASE(5, x14, 0xfffffffffffff000, lui x14, 0xfffff)
    TEST_CASE(6, x14, 0xffffffff80000000, lui x14, 0x80000; srai x14, x14, 0)
    TEST_CASE(7, x0, 0, lui x0, 0x12345)

    # ---- auipc: pc + (imm << 12)
    TEST_CASE(8, x14, 0, 1: auipc x14, 0; la x1, 1b; sub x14, x14, x1)
    TEST_CASE(9, x14, 0x1000, 1: auipc x14, 1; la x1, 1b; sub x14, x14, x1)
    TEST_CASE(10, x14, 0xfffffffffffff000, 1: auipc x14, 0xfffff; la x1, 1b; sub x14, x14, x1)
    TEST_CASE(11, x14, 0xffffffff80000000, 1: auipc x14, 0x80000; la x1, 1b; sub x14, x14, x1)
    TEST_CASE(12, x14, 0x7ffff000, 1: auipc x14, 0x7ffff; la x1, 1b; sub x14, x14, x1)

    # ---- branches
    TEST_BR2_OP_TAKEN(20, beq, 0, 0)
    TEST_BR2_OP_TAKEN(21, beq, -1, -1)
    TEST_BR2_OP_TAKEN(22, beq, 0x8000000000000000, 0x8000000000000000)
    TEST_BR2_OP_NOTTAKEN(23, beq, 0, 1)
    TEST_BR2_OP_NOTTAKEN(24, beq, 0x100000000, 0)     # differs only above bit 31
    TEST_BR2_OP_NOTTAKEN(25, beq, -1, 0xffffffff)

    TEST_BR2_OP_TAKEN(26, bne, 0, 1)
    TEST_BR2_OP_TAKEN(27, bne, 0x100000000, 0)
    TEST_BR2_OP_TAKEN(28, bne, -1, 1)
    TEST_BR2_OP_NOTTAKEN(29, bne, 0, 0)
    TEST_BR2_OP_NOTTAKEN(30, bne, -1, -1)

    TEST_BR2_OP_TAKEN(31, blt, 0, 1)
    TEST_BR2_OP_TAKEN(32, blt, -1, 1)
    TEST_BR2_OP_TAKEN(33, blt, -2, -1)
    TEST_BR2_OP_TAKEN(34, blt, 0x8000000000000000, 0x7fffffffffffffff)
    TEST_BR2_OP_TAKEN(35, blt, 0xffffffff, 0x100000000)
    TEST_BR2_OP_NOTTAKEN(36, blt, 1, 0)
    TEST_BR2_OP_NOTTAKEN(37, blt, 1, -1)
    TEST_BR2_OP_NOTTAKEN(38, blt, -1, -2)
    TEST_BR2_OP_NOTTAKEN(39, blt, 5, 5)
    TEST_BR2_OP_NOTTAKEN(40, blt, 0x7fffffffffffffff, 0x8000000000000000)

    TEST_BR2_OP_TAKEN(41, bge, 0, 0)
    TEST_BR2_OP_TAKEN(42, bge, 1, 0)
    TEST_BR2_OP_TAKEN(43, bge, 1, -1)
    TEST_BR2_OP_TAKEN(44, bge, -1, -2)
    TEST_BR2_OP_TAKEN(45, bge, 0x7fffffffffffffff, 0x8000000000000000)
    TEST_BR2_OP_NOTTAKEN(46, bge, 0, 1)
    TEST_BR2_OP_NOTTAKEN(47, bge, -1, 1)
    TEST_BR2_OP_NOTTAKEN(48, bge, -2, -1)
    TEST_BR2_OP_NOTTAKEN(49, bge, 0x8000000000000000, 0x7fffffffffffffff)

    TEST_BR2_OP_TAKEN(50, bltu, 0, 1)
    TEST_BR2_OP_TAKEN(51, bltu, 1, -1)
    TEST_BR2_OP_TAKEN(52, bltu, 0x7fffffffffffffff, 0x8000000000000000)
    TEST_BR2_OP_TAKEN(53, bltu, -2, -1)
    TEST_BR2_OP_NOTTAKEN(54, bltu, -1, 1)
    TEST_BR2_OP_NOTTAKEN(55, bltu, 1, 0)
    TEST_BR2_OP_NOTTAKEN(56, bltu, 7, 7)
    TEST_BR2_OP_NOTTAKEN(57, bltu, 0x8000000000000000, 0x7fffffffffffffff)

    TEST_BR2_OP_TAKEN(58, bgeu, 0, 0)
    TEST_BR2_OP_TAKEN(59, bgeu, -1, 1)
    TEST_BR2_OP_TAKEN(60, bgeu, 0x8000000000000000, 0x7fffffffffffffff)
    TEST_BR2_OP_TAKEN(61, bgeu, -1, -1)
    TEST_BR2_OP_NOTTAKEN(62, bgeu, 1, -1)
    TEST_BR2_OP_NOTTAKEN(63, bgeu, 0, 1)
    TEST_BR2_OP_NOTTAKEN(64, bgeu, 0xffffffff, 0x100000000)

    # branch with rs1 == rs2 (always equal)
    TEST_CASE(65, x14, 1, li x14, 0; li x1, 3; beq x1, x1, 1f; j fail; 1: li x14, 1)
    # backward branch loop: sum 1..10
    TEST_CASE(66, x14, 55, li x14, 0; li x1, 10; 1: add x14, x14, x1; addi x1, x1, -1; bnez x1, 1b)

    # ---- jal
    TEST_CASE(70, x14, 0, jal x1, 1f; 2: j fail; 1: la x2, 2b; sub x14, x1, x2)
    TEST_CASE(71, x14, 0, la x2, 2f; jal x0, 2f; j fail; 2: li x14, 0)     # jal x0 = j
    # jal backwards
    TEST_CASE(72, x14, 2, li x14, 0; j 2f; 1: addi x14, x14, 1; j 3f; 2: addi x14, x14, 1; jal x1, 1b; 3: )
    # jal with a far target (> 4 KiB away)
    TEST_CASE(73, x14, 0x77, jal x1, far_target; mv x14, x10)

    # ---- jalr
    TEST_CASE(80, x14, 0, la x2, 1f; jalr x1, x2, 0; 2: j fail; 1: la x3, 2b; sub x14, x1, x3)
    # link register value = pc + 4 of the jalr
    TEST_CASE(81, x14, 0, la x2, 2f; 1: jalr x1, 0(x2); j fail; 2: la x4, 1b; addi x4, x4, 4; sub x14, x1, x4)
    # bit 0 of the target is cleared
    TEST_CASE(82, x14, 1, li x14, 0; la x2, 1f; addi x2, x2, 1; jalr x0, 0(x2); j fail; .balign 4; 1: li x14, 1)
    # positive and negative offsets
    TEST_CASE(83, x14, 1, li x14, 0; la x2, 1f; addi x2, x2, -16; jalr x0, 16(x2); j fail; .balign 4; 1: li x14, 1)
    TEST_CASE(84, x14, 1, li x14, 0; la x2, 1f; addi x2, x2, 20; jalr x0, -20(x2); j fail; .balign 4; 1: li x14, 1)
    # odd offset: target = (rs1 + imm) & ~1
    TEST_CASE(85, x14, 1, li x14, 0; la x2, 1f; addi x2, x2, -3; jalr x0, 3(x2); j fail; .balign 4; 1: li x14, 1)
    # rd == rs1: target computed from the old value, then rd = pc + 4
    TEST_CASE(86, x14, 0, la x1, 2f; 1: jalr x1, 0(x1); j fail; 2: la x4, 1b; addi x4, x4, 4; sub x14, x1, x4)
    # call/return through a function
    TEST_CASE(87, x14, 42, li x10, 41; call inc_a0; mv x14, x10)

    # ---- writes to x0 are ignored
    TEST_CASE(90, x14, 0, li x1, 5; addi x0, x1, 1; add x0, x1, x1; mv x14, x0)
    TEST_CASE(91, x14, 0, la x1, tdat; ld x0, 0(x1); mv x14, x0)
    TEST_CASE(92, x14, 0, la x2, 1f; jalr x0, 0(x2); j fail; 1: mv x14, x0)
    TEST_CASE(93, x14, 0, auipc x0, 0x12345; mv x14, x0)

    TEST_PASSFAIL

inc_a0:
    addi a0, a0, 1
    ret

    .data
    .balign 8
tdat: .dword 0x1122334455667788

    .text
    .balign 4
    .skip 4100                  # target beyond the +-4 KiB branch range
far_target:
    li x10, 0x77
    ret
