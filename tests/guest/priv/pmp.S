# Physical memory protection: entries 0-15 (pmpcfg0, pmpcfg2).  Regions are whole 4 KiB pages
# (prot_a, prot_b, prot_c, the page tables), so the checks hold at any granularity up to 4 KiB;
# the ones that depend on numbavm's G = 10 come last (QEMU 7.2 has G = 0: it fails at test 90).
# Checks: with every entry OFF, M succeeds; NAPOT and TOR (with
# an OFF entry below it) grant only their R/W/X, in S and U (load 5, store 7, fetch 1, mtval =
# address); no entry matching an S access while others are active: fails; the lowest-numbered
# matching entry decides; mstatus.MPRV with MPP = S checks M's data accesses as S; the page walk's
# PTE reads are checked as S-mode loads (an access fault of the original type); PMP writes take
# effect at once (sfence.vma not needed here); the L bit: a locked entry binds M, ignores writes
# to its pmpcfg byte and pmpaddr, and a locked TOR entry also locks the pmpaddr below it.
# G = 10: pmpaddr reads bits 9:0 as 0 while OFF/TOR and bits 8:0 as 1 while NAPOT, keeping what
# was written; NA4 reads back as NAPOT.
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"
#include "vm.h"

#define PMP_R 0x01
#define PMP_W 0x02
#define PMP_X 0x04
#define TOR 0x08
#define NA4 0x10
#define NAPOT 0x18
#define PMP_L 0x80
#define CFG(i, cfg) ((cfg) << (8 * (i)))
#define OPEN_ENTRY 7                    /* NAPOT over everything, RWX: the lowest priority used */
#define OPEN_CFG CFG(OPEN_ENTRY, NAPOT | PMP_R | PMP_W | PMP_X)

/* reg = pmpaddr of the NAPOT region of `size` bytes at symbol sym */
#define NAPOT_ADDR(reg, sym, size)  la reg, sym; srli reg, reg, 2; ori reg, reg, ((size) / 8 - 1)

    .option norvc               /* QEMU 7.2 + PMP: see PMP_OPEN_ALL */
TEST_BEGIN
    INSTALL_TRAP_HANDLER_M
    la t2, prot_a
    li t3, 0xaaaa
    sd t3, 0(t2)
    la t2, prot_b                       # prot_b: "ecall" (run as code)
    li t3, 0x00000073
    sw t3, 0(t2)
    fence.i

    # ---- every entry OFF: M is not checked.  (S and U could not even fetch, but QEMU 7.2's mret
    # refuses to leave M while no entry is active: tests/test_pmp.py checks that case.)
    csrw pmpcfg0, zero
    csrw pmpcfg2, zero
    TEST_CASE(3, x14, 0xaaaa, la x1, prot_a; ld x14, 0(x1))

    # ---- the open entry (7) and a NAPOT read-only page (0) ahead of it
    li t0, -1
    csrw pmpaddr7, t0
    NAPOT_ADDR(t0, prot_a, 4096)
    csrw pmpaddr0, t0
    li t0, OPEN_CFG | CFG(0, NAPOT | PMP_R)
    csrw pmpcfg0, t0
    EXPECT_TRAP_IN(10, PRIV_S, 9, la x1, prot_a; ld x14, 0(x1); ecall)
    CHECK_EQ(x14, 0xaaaa)
    EXPECT_TRAP_IN(11, PRIV_S, 7, la x1, prot_a; 1: sd x1, 8(x1))
    la x7, prot_a + 8
    CHECK_EQ_REG(s4, x7)
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    EXPECT_TRAP_IN(12, PRIV_U, 7, la x1, prot_a + 0xff8; sd x1, 0(x1))
    la x7, prot_a + 0xff8
    CHECK_EQ_REG(s4, x7)
    EXPECT_TRAP_IN(13, PRIV_S, 1, la x1, prot_a; jalr x1)        # no X
    la x7, prot_a
    CHECK_EQ_REG(s4, x7)
    CHECK_EQ_REG(s3, x7)
    EXPECT_TRAP_IN(14, PRIV_U, 8, la x1, scratch; sd x1, 0(x1); ecall)   # the next page is open
    TEST_CASE(15, x14, 0xaaaa, la x1, prot_a; ld x14, 0(x1))    # M: not checked (no lock)
    TEST_CASE(16, x14, 0x55, la x1, prot_a; li x2, 0x55; sd x2, 16(x1); ld x14, 16(x1))

    # ---- TOR: entry 1 covers [pmpaddr0, pmpaddr1) = prot_b's two pages, execute only (entry 0 OFF)
    la t0, prot_b
    srli t0, t0, 2
    csrw pmpaddr0, t0
    la t0, prot_b + 8192
    srli t0, t0, 2
    csrw pmpaddr1, t0
    li t0, OPEN_CFG | CFG(1, TOR | PMP_X)
    csrw pmpcfg0, t0
    EXPECT_TRAP_IN(20, PRIV_S, 5, la x1, prot_b + 4096; ld x14, 8(x1))
    la x7, prot_b + 4096 + 8
    CHECK_EQ_REG(s4, x7)
    EXPECT_TRAP_IN(21, PRIV_S, 9, la x1, prot_b; jalr x1)        # X: runs the ecall there
    la x7, prot_b
    CHECK_EQ_REG(s3, x7)
    EXPECT_TRAP_IN(22, PRIV_U, 8, la x1, prot_b; jalr x1)
    EXPECT_TRAP_IN(23, PRIV_S, 9, la x1, scratch + 0xff8; ld x14, 0(x1); la x1, prot_b + 8192; ld x14, 0(x1); ecall)

    # ---- no entry matches an S access while entries are active: it fails
    li t0, CFG(0, NAPOT | PMP_R | PMP_X)
    csrw pmpcfg0, t0
    li t0, -1
    csrw pmpaddr0, t0
    EXPECT_TRAP_IN(30, PRIV_S, 9, la x1, prot_c; ld x14, 0(x1); ecall)
    NAPOT_ADDR(t0, prot_c, 4096)                 # entry 0 now covers only prot_c: code matches nothing
    csrw pmpaddr0, t0
    EXPECT_TRAP_IN(31, PRIV_S, 1, nop)
    TEST_CASE(32, x14, 0, la x1, prot_c; ld x14, 0(x1))        # M: allowed

    # ---- the lowest-numbered matching entry decides
    NAPOT_ADDR(t0, prot_c, 4096)
    csrw pmpaddr0, t0
    NAPOT_ADDR(t0, prot_c, 16384)
    csrw pmpaddr1, t0
    li t0, OPEN_CFG | CFG(0, NAPOT) | CFG(1, NAPOT | PMP_R | PMP_W)
    csrw pmpcfg0, t0
    EXPECT_TRAP_IN(40, PRIV_S, 7, la x1, prot_c; sd x1, 0(x1))
    EXPECT_TRAP_IN(41, PRIV_S, 9, la x1, prot_c + 4096; sd x1, 0(x1); ecall)
    NAPOT_ADDR(t0, prot_c, 16384)                 # the other order
    csrw pmpaddr0, t0
    NAPOT_ADDR(t0, prot_c, 4096)
    csrw pmpaddr1, t0
    li t0, OPEN_CFG | CFG(0, NAPOT | PMP_R | PMP_W) | CFG(1, NAPOT)
    csrw pmpcfg0, t0
    EXPECT_TRAP_IN(42, PRIV_S, 9, la x1, prot_c; sd x1, 0(x1); ecall)

    # ---- MPRV: M-mode data accesses with MPP = S are checked as S
    NAPOT_ADDR(t0, prot_a, 4096)
    csrw pmpaddr0, t0
    li t0, OPEN_CFG | CFG(0, NAPOT | PMP_R)
    csrw pmpcfg0, t0
    li t0, 0x1800
    csrc mstatus, t0
    li t0, (PRIV_S << 11) | MPRV
    csrs mstatus, t0
    EXPECT_TRAP(45, 7, la x1, prot_a; sd x1, 0(x1))
    li t0, MPRV
    csrc mstatus, t0
    TEST_CASE(46, x14, 0x77, la x1, prot_a; li x2, 0x77; sd x2, 0(x1); ld x14, 0(x1))

    # ---- the page walk: PTE reads are S-mode loads.  Sv39: root[2] an identity gigapage (code),
    # root[0] -> pt_l1 -> pt_l0 -> VA 0x1000 = prot_c.  Entry 0 takes R away from pt_l1 and pt_l0.
    la t2, pt_l1
    SET_PTE(pt_root, 0, t2, PTE_V)
    li t2, 0x80000000
    SET_PTE(pt_root, 2, t2, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
    la t2, pt_l0
    SET_PTE(pt_l1, 0, t2, PTE_V)
    la t2, prot_c
    SET_PTE(pt_l0, 1, t2, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
    la t0, pt_root
    srli t0, t0, 12
    li t1, 8 << 60
    or t0, t0, t1
    csrw satp, t0
    sfence.vma
    li t0, OPEN_CFG
    csrw pmpcfg0, t0
    EXPECT_TRAP_IN(50, PRIV_S, 9, li x1, 0x1000; li x2, 0x50; sd x2, 0(x1); ecall)
    TEST_CASE(51, x14, 0x50, la x1, prot_c; ld x14, 0(x1))
    NAPOT_ADDR(t0, pt_l1, 8192)
    csrw pmpaddr0, t0
    li t0, OPEN_CFG | CFG(0, NAPOT | PMP_W)                     # W without R: reads as no access
    csrw pmpcfg0, t0
    EXPECT_TRAP_IN(52, PRIV_S, 5, sfence.vma; li x1, 0x1000; ld x14, 0(x1))
    CHECK_EQ(s4, 0x1000)
    EXPECT_TRAP_IN(53, PRIV_S, 7, sfence.vma; li x1, 0x1000; sd x14, 8(x1))
    CHECK_EQ(s4, 0x1008)
    csrw satp, zero
    sfence.vma

    # ---- the L bit: entry 2, a locked read-only page, binds M too (last: only a reset unlocks it)
    NAPOT_ADDR(t0, prot_a, 4096)
    csrw pmpaddr2, t0
    li t0, OPEN_CFG | CFG(2, PMP_L | NAPOT | PMP_R)
    csrw pmpcfg0, t0
    TEST_CASE(60, x14, 0x77, la x1, prot_a; ld x14, 0(x1))
    EXPECT_TRAP(61, 7, la x1, prot_a; 1: sd x1, 8(x1))
    la x7, prot_a + 8
    CHECK_EQ_REG(s4, x7)
    EXPECT_TRAP(62, 1, la x1, prot_a; jalr x1)                 # no X for M either
    li t0, OPEN_CFG | CFG(2, NAPOT | PMP_R | PMP_W | PMP_X)
    csrw pmpcfg0, t0                                           # ignored: entry 2 is locked
    TEST_CASE(63, x14, PMP_L | NAPOT | PMP_R, csrr x1, pmpcfg0; srli x14, x1, 16; andi x14, x14, 0xff)
    csrr s9, pmpaddr2
    li t0, 0
    csrw pmpaddr2, t0                                          # ignored too
    TEST_CASE(64, x14, 0, csrr x1, pmpaddr2; sub x14, x1, s9)
    EXPECT_TRAP(65, 7, la x1, prot_a; sd x1, 8(x1))
    # a locked TOR entry (4) locks pmpaddr3 below it
    la t0, prot_c
    srli t0, t0, 2
    csrw pmpaddr3, t0
    la t0, prot_c + 4096
    srli t0, t0, 2
    csrw pmpaddr4, t0
    li t0, OPEN_CFG | CFG(4, PMP_L | TOR | PMP_R | PMP_W | PMP_X)
    csrw pmpcfg0, t0
    csrr s9, pmpaddr3
    li t0, 0x1000
    csrw pmpaddr3, t0
    TEST_CASE(66, x14, 0, csrr x1, pmpaddr3; sub x14, x1, s9)
    csrr s9, pmpaddr4
    csrw pmpaddr4, t0
    TEST_CASE(67, x14, 0, csrr x1, pmpaddr4; sub x14, x1, s9)
    TEST_CASE(68, x14, 0x50, la x1, prot_c; ld x14, 0(x1))     # M: allowed by the locked RWX entry

    # ---- numbavm's granularity, G = 10 (4 KiB)
    li t0, -1
    csrw pmpaddr8, t0
    li t0, (1 << 54) - 1 - 0x3ff
    TEST_CASE(90, x14, 0, csrr x1, pmpaddr8; sub x14, x1, t0)  # OFF: bits 9:0 read 0
    li t0, CFG(0, NAPOT)
    csrw pmpcfg2, t0
    li x1, 0x12345000
    csrw pmpaddr8, x1
    TEST_CASE(91, x14, 0x123451ff, csrr x14, pmpaddr8)         # NAPOT: bits 8:0 read 1
    li t0, CFG(0, TOR)
    csrw pmpcfg2, t0
    TEST_CASE(92, x14, 0x12345000, csrr x14, pmpaddr8)
    li t0, CFG(0, NA4 | PMP_R)
    csrw pmpcfg2, t0
    TEST_CASE(93, x14, NAPOT | PMP_R, csrr x1, pmpcfg2; andi x14, x1, 0xff)   # NA4 is not selectable
    csrw pmpcfg2, zero
    TEST_PASSFAIL
    TRAP_HANDLER_M

    .bss
    .balign 16384
prot_c: .skip 16384
pt_l1:  .skip 4096
pt_l0:  .skip 4096
pt_root: .skip 4096
prot_a: .skip 4096
scratch: .skip 4096
prot_b: .skip 8192
