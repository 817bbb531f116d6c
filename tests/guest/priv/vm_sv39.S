# Sv39 virtual memory.  Page tables are built at run time:
#   root[0] -> L1 table:  L1[0] -> L0 table (4 KiB pages at VA 0x1000..0x7fff)
#                         L1[1]  2 MiB megapage VA 0x200000 -> PA 0x80200000
#                         L1[2]  misaligned megapage (PPN[0] != 0) -> fault
#   root[2]  1 GiB gigapage identity VA 0x80000000 -> PA 0x80000000 (S, RWX)
#   root[3]  1 GiB gigapage alias    VA 0xc0000000 -> PA 0x80000000 (U, RWX)
#   root[4]  1 GiB gigapage          VA 0x100000000 -> PA 0x80000000 (RW, A=D=0)
#   L0: 0x1000 page_a RW (A=D=0) | 0x2000 page_b R | 0x3000 page_x X-only
#       0x4000 page_c U+RW       | 0x6000 invalid  | 0x7000 W without R
# S-mode code runs through the identity gigapage, U-mode code through the
# alias.  Checks: translated loads/stores/fetches, load/store/fetch page
# faults (13/15/12, mtval = VA), R/W/X permissions, reserved W-only PTE,
# misaligned superpage, non-canonical VA, U pages from S without/with
# mstatus.SUM, S pages from U, fetch from U page in S, MXR, hardware A/D
# updates (4 KiB and 1 GiB pages), sfence.vma after a PTE change,
# mstatus.MPRV with MPP = S (and = M), a misaligned load spanning two
# pages, satp = Bare again.
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"
#include "vm.h"

#define MEGA_PA 0x80200000

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
    la t2, page_c
    li t3, 0xcccc000033330000
    sd t3, 0x10(t2)
    la t2, page_d
    li t3, 0xdddd000044440000
    sd t3, 0x10(t2)
    li t2, MEGA_PA + 0x1238
    li t3, 0x3333444455556666
    sd t3, 0(t2)
    # execute-only page: "li x14, 0x77; ret"
    la t2, page_x
    li t3, 0x07700713
    sw t3, 0(t2)
    li t3, 0x00008067
    sw t3, 4(t2)
    fence.i

    # ---- page tables
    la t2, pt_l1
    SET_PTE(pt_root, 0, t2, PTE_V)
    li t2, 0x80000000
    SET_PTE(pt_root, 2, t2, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
    SET_PTE(pt_root, 3, t2, PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D)
    SET_PTE(pt_root, 4, t2, PTE_V | PTE_R | PTE_W)
    la t2, pt_l0
    SET_PTE(pt_l1, 0, t2, PTE_V)
    li t2, MEGA_PA
    SET_PTE(pt_l1, 1, t2, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
    li t2, 0x80001000
    SET_PTE(pt_l1, 2, t2, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
    la t2, page_a
    SET_PTE(pt_l0, 1, t2, PTE_V | PTE_R | PTE_W)
    la t2, page_b
    SET_PTE(pt_l0, 2, t2, PTE_V | PTE_R | PTE_A)
    la t2, page_x
    SET_PTE(pt_l0, 3, t2, PTE_V | PTE_X | PTE_A)
    la t2, page_c
    SET_PTE(pt_l0, 4, t2, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D)
    la t2, page_d
    SET_PTE(pt_l0, 7, t2, PTE_V | PTE_W | PTE_A | PTE_D)
    # satp = Sv39 | root PPN
    la t2, pt_root
    srli t2, t2, 12
    li t3, 8 << 60
    or t2, t2, t3
    csrw satp, t2
    sfence.vma
    TEST_CASE(1, x14, 0, csrr x1, satp; sub x14, x1, t2)
    # M-mode is not translated (MPRV = 0)
    TEST_CASE(2, x14, 0xaaaa000011110000, la x1, page_a; ld x14, 0x10(x1))

    # ---- S-mode loads/stores through 4 KiB pages, A/D bits
    TEST_CASE(3, x14, 0, GET_PTE(x14, pt_l0, 1); andi x14, x14, PTE_A | PTE_D)
    EXPECT_TRAP_IN(4, PRIV_S, 9, li x1, 0x1000; ld x14, 0x10(x1); ecall)
    CHECK_EQ(x14, 0xaaaa000011110000)
    TEST_CASE(5, x14, PTE_A, GET_PTE(x14, pt_l0, 1); andi x14, x14, PTE_A | PTE_D)
    EXPECT_TRAP_IN(6, PRIV_S, 9, li x1, 0x1000; li x2, 0x5555; sd x2, 0x18(x1); ecall)
    TEST_CASE(7, x14, PTE_A | PTE_D, GET_PTE(x14, pt_l0, 1); andi x14, x14, PTE_A | PTE_D)
    TEST_CASE(8, x14, 0x5555, la x1, page_a; ld x14, 0x18(x1))
    EXPECT_TRAP_IN(9, PRIV_S, 9, li x1, 0x2000; lw x14, 0x14(x1); ecall)
    CHECK_EQ(x14, 0xffffffffbbbb0000)

    # ---- page faults: mtval = faulting VA, mepc = instruction
    EXPECT_TRAP_IN(10, PRIV_S, 15, li x1, 0x2000; 1: sd x1, 0x20(x1))     # read-only page
    CHECK_EQ(s4, 0x2020)
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    EXPECT_TRAP_IN(11, PRIV_S, 13, li x1, 0x6000; ld x14, 8(x1))          # invalid PTE
    CHECK_EQ(s4, 0x6008)
    EXPECT_TRAP_IN(12, PRIV_S, 15, li x1, 0x6000; sw x1, 0(x1))
    CHECK_EQ(s4, 0x6000)
    EXPECT_TRAP_IN(13, PRIV_S, 12, li x1, 0x6000; jalr x1)                # fetch, invalid
    CHECK_EQ(s4, 0x6000)
    CHECK_EQ(s3, 0x6000)
    EXPECT_TRAP_IN(14, PRIV_S, 12, li x1, 0x1000; jalr x1)                # fetch, no X
    CHECK_EQ(s4, 0x1000)
    EXPECT_TRAP_IN(15, PRIV_S, 13, li x1, 0x7000; ld x14, 0(x1))          # W without R: reserved
    CHECK_EQ(s4, 0x7000)
    EXPECT_TRAP_IN(16, PRIV_S, 15, li x1, 0x7000; sd x14, 0(x1))
    CHECK_EQ(s4, 0x7000)
    EXPECT_TRAP_IN(17, PRIV_S, 13, li x1, 0x400000; ld x14, 0x10(x1))     # misaligned megapage
    CHECK_EQ(s4, 0x400010)
    EXPECT_TRAP_IN(18, PRIV_S, 13, li x1, 0x0000008000000000; ld x14, 0(x1))  # non-canonical
    EXPECT_TRAP_IN(19, PRIV_S, 13, li x1, 0x40000000; ld x14, 0(x1))      # root[1] invalid
    CHECK_EQ(s4, 0x40000000)
    EXPECT_TRAP_IN(20, PRIV_S, 13, li x1, 0x8000; ld x14, 0(x1))          # L0[8] invalid
    # AMO on a read-only page -> store/AMO page fault
    EXPECT_TRAP_IN(21, PRIV_S, 15, li x1, 0x2000; amoadd.d x14, x1, (x1))
    CHECK_EQ(s4, 0x2000)
    TEST_CASE(22, x14, 0xbbbb000022220000, la x1, page_b; ld x14, 0x10(x1))  # unchanged

    # ---- execute-only page; MXR
    EXPECT_TRAP_IN(23, PRIV_S, 9, li x14, 0; li x1, 0x3000; jalr ra, x1; ecall)
    CHECK_EQ(x14, 0x77)
    EXPECT_TRAP_IN(24, PRIV_S, 13, li x1, 0x3000; lw x14, 0(x1))
    CHECK_EQ(s4, 0x3000)
    li t0, MXR
    csrs mstatus, t0
    EXPECT_TRAP_IN(25, PRIV_S, 9, li x1, 0x3000; lw x14, 0(x1); ecall)
    CHECK_EQ(x14, 0x07700713)
    EXPECT_TRAP_IN(26, PRIV_S, 15, li x1, 0x3000; sw x14, 0(x1))          # MXR: still no W
    li t0, MXR
    csrc mstatus, t0

    # ---- 2 MiB megapage
    EXPECT_TRAP_IN(27, PRIV_S, 9, li x1, 0x201238; ld x14, 0(x1); ecall)
    CHECK_EQ(x14, 0x3333444455556666)
    EXPECT_TRAP_IN(28, PRIV_S, 9, li x1, 0x3ff000; li x2, 0x1234; sd x2, 0(x1); ecall)
    TEST_CASE(29, x14, 0x1234, li x1, MEGA_PA; li x2, 0x1ff000; add x1, x1, x2; ld x14, 0(x1))

    # ---- 1 GiB gigapage with A = D = 0: hardware sets them
    TEST_CASE(30, x14, 0, GET_PTE(x14, pt_root, 4); andi x14, x14, PTE_A | PTE_D)
    la s9, page_d
    li t0, 0x100000000 - 0x80000000
    add s9, s9, t0                      # VA of page_d through root[4]
    EXPECT_TRAP_IN(31, PRIV_S, 9, ld x14, 0x10(s9); ecall)
    CHECK_EQ(x14, 0xdddd000044440000)
    TEST_CASE(32, x14, PTE_A, GET_PTE(x14, pt_root, 4); andi x14, x14, PTE_A | PTE_D)
    EXPECT_TRAP_IN(33, PRIV_S, 9, li x2, 0x77; sd x2, 0x20(s9); ecall)
    TEST_CASE(34, x14, PTE_A | PTE_D, GET_PTE(x14, pt_root, 4); andi x14, x14, PTE_A | PTE_D)
    TEST_CASE(35, x14, 0x77, la x1, page_d; ld x14, 0x20(x1))

    # ---- U bit: S access to U pages needs SUM; S never executes U pages
    EXPECT_TRAP_IN(36, PRIV_S, 13, li x1, 0x4000; ld x14, 0x10(x1))
    CHECK_EQ(s4, 0x4010)
    EXPECT_TRAP_IN(37, PRIV_S, 15, li x1, 0x4000; sd x14, 0x10(x1))
    li t0, SUM
    csrs mstatus, t0
    EXPECT_TRAP_IN(38, PRIV_S, 9, li x1, 0x4000; ld x14, 0x10(x1); ecall)
    CHECK_EQ(x14, 0xcccc000033330000)
    EXPECT_TRAP_IN(39, PRIV_S, 12, la x1, 1f; li x2, ALIAS_OFF; add x1, x1, x2; jr x1; 1: ecall)
    li t0, SUM
    csrc mstatus, t0

    # ---- U-mode (code runs in the U alias gigapage)
    EXPECT_TRAP_U(40, 8, li x1, 0x4000; ld x14, 0x10(x1); ecall)
    CHECK_EQ(x14, 0xcccc000033330000)
    EXPECT_TRAP_U(41, 8, li x1, 0x4000; li x2, 0x4242; sd x2, 0x28(x1); ecall)
    TEST_CASE(42, x14, 0x4242, la x1, page_c; ld x14, 0x28(x1))
    EXPECT_TRAP_U(43, 13, li x1, 0x1000; ld x14, 0x10(x1))                # S page from U
    CHECK_EQ(s4, 0x1010)
    EXPECT_TRAP_U(44, 15, li x1, 0x1000; sd x14, 0x10(x1))
    EXPECT_TRAP_U(45, 12, li x1, 0x3000; jalr x1)                         # S-only X page
    CHECK_EQ(s4, 0x3000)
    # U-mode data access through the U alias gigapage
    EXPECT_TRAP_U(46, 8, la x1, page_c; ld x14, 0x10(x1); ecall)
    CHECK_EQ(x14, 0xcccc000033330000)

    # ---- sfence.vma after changing a PTE
    EXPECT_TRAP_IN(47, PRIV_S, 9, li x1, 0x1000; ld x14, 0x10(x1); ecall)
    CHECK_EQ(x14, 0xaaaa000011110000)
    la t2, page_b
    SET_PTE(pt_l0, 1, t2, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
    EXPECT_TRAP_IN(48, PRIV_S, 9, sfence.vma; li x1, 0x1000; ld x14, 0x10(x1); ecall)
    CHECK_EQ(x14, 0xbbbb000022220000)
    # make it invalid: access faults after sfence.vma (with address operand)
    la t1, pt_l0
    sd zero, 8(t1)
    EXPECT_TRAP_IN(49, PRIV_S, 13, li x1, 0x1000; sfence.vma x1, zero; ld x14, 0x10(x1))
    la t2, page_a
    SET_PTE(pt_l0, 1, t2, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
    sfence.vma

    # ---- misaligned load spanning two 4 KiB pages (VA 0x1ffc: page_a end +
    # page_b start); numbavm handles misaligned RAM accesses in hardware
    la t2, page_a
    li t3, 0x1122334455667788
    li t4, 0xff8
    add t2, t2, t4
    sd t3, 0(t2)
    la t2, page_b
    li t3, 0xddccbbaa
    sw t3, 0(t2)
    EXPECT_TRAP_IN(56, PRIV_S, 9, li x1, 0x1ffc; ld x14, 0(x1); ecall)
    CHECK_EQ(x14, 0xddccbbaa11223344)
    EXPECT_TRAP_IN(57, PRIV_S, 9, li x1, 0x1ffe; lw x14, 0(x1); ecall)
    CHECK_EQ(x14, 0xffffffffbbaa1122)

    # ---- MPRV: M-mode loads/stores translated with the privilege in MPP
    li t0, 0x1800
    csrc mstatus, t0
    li t0, (PRIV_S << 11) | MPRV
    csrs mstatus, t0
    li x1, 0x1000
    ld x14, 0x10(x1)
    li t0, MPRV
    csrc mstatus, t0
    li gp, 50
    CHECK_EQ(x14, 0xaaaa000011110000)
    # a faulting MPRV access reports a page fault with the VA
    li t0, MPRV
    csrs mstatus, t0
    EXPECT_TRAP(51, 13, li x1, 0x6000; ld x14, 0x30(x1))
    CHECK_EQ(s4, 0x6030)
    # mret back to M keeps MPRV = 1 (mret leaves MPP = U behind)
    csrr t0, mstatus
    li t1, MPRV
    and t0, t0, t1
    li gp, 52
    CHECK_EQ_REG(t0, t1)
    # MPRV = 1 with MPP = M: M accesses are untranslated
    li t0, 0x1800
    csrs mstatus, t0
    la x1, page_b
    ld x14, 0x10(x1)
    li gp, 53
    CHECK_EQ(x14, 0xbbbb000022220000)
    li t0, MPRV
    csrc mstatus, t0
    # instruction fetch is never affected by MPRV: we are still running

    # ---- back to Bare: S accesses are physical again
    csrw satp, zero
    sfence.vma
    EXPECT_TRAP_IN(54, PRIV_S, 9, la x1, page_c; ld x14, 0x10(x1); ecall)
    CHECK_EQ(x14, 0xcccc000033330000)
    EXPECT_TRAP_IN(55, PRIV_S, 5, li x1, 0x40000000; ld x14, 0x10(x1))   # PA 0x40000000: access fault
    CHECK_EQ(s4, 0x40000010)
    TEST_PASSFAIL
    TRAP_HANDLER_M

    .bss
    .balign 4096
pt_root: .skip 4096
pt_l1:   .skip 4096
pt_l0:   .skip 4096
page_a:  .skip 4096
page_b:  .skip 4096
page_c:  .skip 4096
page_d:  .skip 4096
page_x:  .skip 4096
