# Sv48 and Sv57 virtual memory, and Svpbmt.  Page tables are built at run time.
# Sv48 (satp mode 9, 4 levels, VA bits 47:0):
#   root48[0] -> l2_48: l2_48[2] 1 GiB identity gigapage VA 0x80000000 (S code, RWX)
#   root48[1]    512 GiB terapage VA 0x8000000000 -> PA 0 (RW, A = D = 0)
#   root48[2]    misaligned terapage (PA 0x80000000) -> fault
#   root48[3] -> l2b_48 -> l1b_48 -> l0b_48: l0b_48[1] 4 KiB page VA 0x18000001000 -> page_a
#   root48[256]  terapage VA 0xffff800000000000 -> PA 0 (the upper canonical half)
# Sv57 (satp mode 10, 5 levels, VA bits 56:0):
#   root57[0] -> l3_57: l3_57[0] -> l2_57: l2_57[2] identity gigapage (S code)
#                       l3_57[1]  512 GiB terapage VA 0x8000000000 -> PA 0
#                       l3_57[256] terapage VA 0x800000000000 -> PA 0 (bit 47 is just an index bit)
#   root57[1]    256 TiB petapage VA 0x1000000000000 -> PA 0
#   root57[2]    misaligned petapage (PA 0x80000000) -> fault
#   root57[3] -> a57 -> b57 -> c57 -> d57: d57[1] 4 KiB page VA 0x3000000001000 -> page_b
#   root57[256]  petapage VA 0xff00000000000000 -> PA 0
# Checks: satp modes 9 and 10 stick; loads/stores/fetches through 4 and 5 levels; superpages at
# the top levels; misaligned superpages (13); non-canonical VAs of each mode (13, mtval = VA) and
# canonical ones that Sv39 would reject; hardware A/D on a terapage; then Svpbmt (QEMU 7.2's spike
# machine has no Svpbmt: it fails at test 61): menvcfg.PBMTE writable, leaf PBMT NC and IO work,
# PBMT = 3 faults, PBMT in a non-leaf PTE faults, without PBMTE a nonzero PBMT faults.
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"
#include "vm.h"

#define RWXAD (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define RWAD (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
#define PBMT_NC (1 << 61)
#define PBMT_IO (2 << 61)
#define PBMT_RSV (3 << 61)
#define PBMTE (1 << 62)
#define SV48 (9 << 60)
#define SV57 (10 << 60)

/* table[index] = PTE(pa in register `pa`, flags: any 64-bit value); clobbers t0, t1, t3 */
#define SET_PTE_ANY(table, index, pa, flags) \
    srli t0, pa, 12;                    \
    slli t0, t0, 10;                    \
    li t3, flags;                       \
    or t0, t0, t3;                      \
    la t1, table;                       \
    li t3, (index) * 8;                 \
    add t1, t1, t3;                     \
    sd t0, 0(t1)
#define GET_PTE(reg, table, index)  la reg, table; li t3, (index) * 8; add reg, reg, t3; ld reg, 0(reg)
/* satp = mode | PPN(table); clobbers t0, t1 */
#define SET_SATP(mode, table)  la t0, table; srli t0, t0, 12; li t1, mode; or t0, t0, t1; csrw satp, t0; sfence.vma

    .option norvc               /* QEMU 7.2 + PMP: see PMP_OPEN_ALL */
TEST_BEGIN
    PMP_OPEN_ALL
    INSTALL_TRAP_HANDLER_M

    # ---- data
    la t2, page_a
    li t3, 0xaaaa000011110000
    sd t3, 0x10(t2)
    la t2, page_b
    li t3, 0xbbbb000022220000
    sd t3, 0x10(t2)

    # ---- Sv48 tables
    la t2, l2_48
    SET_PTE_ANY(root48, 0, t2, PTE_V)
    li t2, 0x80000000
    SET_PTE_ANY(l2_48, 2, t2, RWXAD)
    li t2, 0
    SET_PTE_ANY(root48, 1, t2, PTE_V | PTE_R | PTE_W)
    li t2, 0x80000000
    SET_PTE_ANY(root48, 2, t2, RWAD)
    la t2, l2b_48
    SET_PTE_ANY(root48, 3, t2, PTE_V)
    la t2, l1b_48
    SET_PTE_ANY(l2b_48, 0, t2, PTE_V)
    la t2, l0b_48
    SET_PTE_ANY(l1b_48, 0, t2, PTE_V)
    la t2, page_a
    SET_PTE_ANY(l0b_48, 1, t2, RWAD)
    li t2, 0
    SET_PTE_ANY(root48, 256, t2, RWAD)

    # ---- Sv57 tables
    la t2, l3_57
    SET_PTE_ANY(root57, 0, t2, PTE_V)
    la t2, l2_57
    SET_PTE_ANY(l3_57, 0, t2, PTE_V)
    li t2, 0x80000000
    SET_PTE_ANY(l2_57, 2, t2, RWXAD)
    li t2, 0
    SET_PTE_ANY(l3_57, 1, t2, RWAD)
    SET_PTE_ANY(l3_57, 256, t2, RWAD)
    SET_PTE_ANY(root57, 1, t2, RWAD)
    li t2, 0x80000000
    SET_PTE_ANY(root57, 2, t2, RWAD)
    la t2, a57
    SET_PTE_ANY(root57, 3, t2, PTE_V)
    la t2, b57
    SET_PTE_ANY(a57, 0, t2, PTE_V)
    la t2, c57
    SET_PTE_ANY(b57, 0, t2, PTE_V)
    la t2, d57
    SET_PTE_ANY(c57, 0, t2, PTE_V)
    la t2, page_b
    SET_PTE_ANY(d57, 1, t2, RWAD)
    li t2, 0
    SET_PTE_ANY(root57, 256, t2, RWAD)

    # ---- Sv48
    SET_SATP(SV48, root48)
    TEST_CASE(1, x14, 9, csrr x1, satp; srli x14, x1, 60)
    # 4 KiB page through four levels
    EXPECT_TRAP_IN(2, PRIV_S, 9, li x1, 0x18000001000; ld x14, 0x10(x1); ecall)
    CHECK_EQ(x14, 0xaaaa000011110000)
    EXPECT_TRAP_IN(3, PRIV_S, 9, li x1, 0x18000001000; li x2, 0x4848; sd x2, 0x18(x1); ecall)
    TEST_CASE(4, x14, 0x4848, la x1, page_a; ld x14, 0x18(x1))
    # terapage (a VA that is not canonical under Sv39), A and D set by the hardware
    TEST_CASE(5, x14, 0, GET_PTE(x14, root48, 1); andi x14, x14, PTE_A | PTE_D)
    la s9, page_b
    li t0, 0x8000000000
    add s9, s9, t0                      # VA of page_b through root48[1]
    EXPECT_TRAP_IN(6, PRIV_S, 9, ld x14, 0x10(s9); ecall)
    CHECK_EQ(x14, 0xbbbb000022220000)
    TEST_CASE(7, x14, PTE_A, GET_PTE(x14, root48, 1); andi x14, x14, PTE_A | PTE_D)
    EXPECT_TRAP_IN(8, PRIV_S, 9, li x2, 0x77; sd x2, 0x20(s9); ecall)
    TEST_CASE(9, x14, PTE_A | PTE_D, GET_PTE(x14, root48, 1); andi x14, x14, PTE_A | PTE_D)
    TEST_CASE(10, x14, 0x77, la x1, page_b; ld x14, 0x20(x1))
    # the upper canonical half
    la s9, page_a
    li t0, 0xffff800000000000
    add s9, s9, t0
    EXPECT_TRAP_IN(11, PRIV_S, 9, ld x14, 0x10(s9); ecall)
    CHECK_EQ(x14, 0xaaaa000011110000)
    # misaligned terapage
    EXPECT_TRAP_IN(12, PRIV_S, 13, li x1, 0x10000000000; ld x14, 0x10(x1))
    CHECK_EQ(s4, 0x10000000010)
    # non-canonical: bits 63:48 must equal bit 47
    EXPECT_TRAP_IN(13, PRIV_S, 13, li x1, 0x800000000000; ld x14, 0(x1))
    CHECK_EQ(s4, 0x800000000000)
    EXPECT_TRAP_IN(14, PRIV_S, 15, li x1, 0x0001000000001000; sd x14, 0(x1))
    CHECK_EQ(s4, 0x0001000000001000)
    EXPECT_TRAP_IN(15, PRIV_S, 12, li x1, 0xffff000000000000; jalr x1)
    CHECK_EQ(s4, 0xffff000000000000)
    # code: fetch through the 4 KiB page of page_a's alias would be RW only: no X
    EXPECT_TRAP_IN(16, PRIV_S, 12, li x1, 0x18000001000; jalr x1)
    CHECK_EQ(s4, 0x18000001000)

    # ---- Sv57
    SET_SATP(SV57, root57)
    TEST_CASE(20, x14, 10, csrr x1, satp; srli x14, x1, 60)
    # 4 KiB page through five levels
    EXPECT_TRAP_IN(21, PRIV_S, 9, li x1, 0x3000000001000; ld x14, 0x10(x1); ecall)
    CHECK_EQ(x14, 0xbbbb000022220000)
    # petapage
    la s9, page_a
    li t0, 0x1000000000000
    add s9, s9, t0
    EXPECT_TRAP_IN(22, PRIV_S, 9, ld x14, 0x10(s9); li x2, 0x5757; sd x2, 0x28(s9); ecall)
    CHECK_EQ(x14, 0xaaaa000011110000)
    TEST_CASE(23, x14, 0x5757, la x1, page_a; ld x14, 0x28(x1))
    # terapages at level 3 of Sv57, one at a VA with bit 47 set (non-canonical under Sv48)
    la s9, page_a
    li t0, 0x800000000000
    add s9, s9, t0
    EXPECT_TRAP_IN(24, PRIV_S, 9, ld x14, 0x10(s9); ecall)
    CHECK_EQ(x14, 0xaaaa000011110000)
    la s9, page_a
    li t0, 0x8000000000
    add s9, s9, t0
    EXPECT_TRAP_IN(25, PRIV_S, 9, ld x14, 0x10(s9); ecall)
    CHECK_EQ(x14, 0xaaaa000011110000)
    # the upper canonical half
    la s9, page_b
    li t0, 0xff00000000000000
    add s9, s9, t0
    EXPECT_TRAP_IN(26, PRIV_S, 9, ld x14, 0x10(s9); ecall)
    CHECK_EQ(x14, 0xbbbb000022220000)
    # misaligned petapage
    EXPECT_TRAP_IN(27, PRIV_S, 13, li x1, 0x2000000000000; ld x14, 0(x1))
    CHECK_EQ(s4, 0x2000000000000)
    # non-canonical: bits 63:57 must equal bit 56
    EXPECT_TRAP_IN(28, PRIV_S, 13, li x1, 0x0100000000000000; ld x14, 0(x1))
    CHECK_EQ(s4, 0x0100000000000000)
    EXPECT_TRAP_IN(29, PRIV_S, 15, li x1, 0xfe00000000000000; sd x14, 0(x1))
    CHECK_EQ(s4, 0xfe00000000000000)

    # ---- back to Bare
    csrw satp, zero
    sfence.vma
    TEST_CASE(30, x14, 0, csrr x14, satp)

    # ---- Svpbmt (Sv48 tables; the 4 KiB page VA 0x18000001000 -> page_a)
    li t0, PBMTE
    csrs menvcfg, t0
    TEST_CASE(60, x14, PBMTE, csrr x1, menvcfg; li x2, PBMTE; and x14, x1, x2)
    SET_SATP(SV48, root48)
    la t2, page_a
    SET_PTE_ANY(l0b_48, 1, t2, RWAD | PBMT_NC)
    EXPECT_TRAP_IN(61, PRIV_S, 9, sfence.vma; li x1, 0x18000001000; ld x14, 0x10(x1); ecall)
    CHECK_EQ(x14, 0xaaaa000011110000)
    la t2, page_a
    SET_PTE_ANY(l0b_48, 1, t2, RWAD | PBMT_IO)
    EXPECT_TRAP_IN(62, PRIV_S, 9, sfence.vma; li x1, 0x18000001000; li x2, 0x10; sd x2, 0x30(x1); ecall)
    TEST_CASE(63, x14, 0x10, la x1, page_a; ld x14, 0x30(x1))
    la t2, page_a
    SET_PTE_ANY(l0b_48, 1, t2, RWAD | PBMT_RSV)
    EXPECT_TRAP_IN(64, PRIV_S, 13, sfence.vma; li x1, 0x18000001000; ld x14, 0x10(x1))
    CHECK_EQ(s4, 0x18000001010)
    la t2, page_a
    SET_PTE_ANY(l0b_48, 1, t2, RWAD)
    la t2, l0b_48
    SET_PTE_ANY(l1b_48, 0, t2, PTE_V | PBMT_NC)     # PBMT in a non-leaf PTE: reserved
    EXPECT_TRAP_IN(65, PRIV_S, 13, sfence.vma; li x1, 0x18000001000; ld x14, 0x10(x1))
    la t2, l0b_48
    SET_PTE_ANY(l1b_48, 0, t2, PTE_V)
    li t0, PBMTE
    csrc menvcfg, t0
    la t2, page_a
    SET_PTE_ANY(l0b_48, 1, t2, RWAD | PBMT_NC)      # without PBMTE: PBMT bits are reserved
    EXPECT_TRAP_IN(66, PRIV_S, 13, sfence.vma; li x1, 0x18000001000; ld x14, 0x10(x1))
    la t2, page_a
    SET_PTE_ANY(l0b_48, 1, t2, RWAD)
    EXPECT_TRAP_IN(67, PRIV_S, 9, sfence.vma; li x1, 0x18000001000; ld x14, 0x10(x1); ecall)
    CHECK_EQ(x14, 0xaaaa000011110000)
    csrw satp, zero
    sfence.vma
    TEST_PASSFAIL
    TRAP_HANDLER_M

    .bss
    .balign 4096
root48: .skip 4096
l2_48:  .skip 4096
l2b_48: .skip 4096
l1b_48: .skip 4096
l0b_48: .skip 4096
root57: .skip 4096
l3_57:  .skip 4096
l2_57:  .skip 4096
a57:    .skip 4096
b57:    .skip 4096
c57:    .skip 4096
d57:    .skip 4096
page_a: .skip 4096
page_b: .skip 4096
