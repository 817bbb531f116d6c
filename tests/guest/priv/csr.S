# CSR access rules and machine-information CSRs:
#  csrrw/csrrs/csrrc(+i) semantics, nonexistent CSR -> illegal, writes to
#  read-only CSRs -> illegal, M CSRs from S/U and S CSRs from U -> illegal,
#  misa (RV64 + I M A C S U), mhartid = 0, writable minstret/mcycle,
#  mcounteren/scounteren gating of cycle/instret from S/U, satp Bare/Sv39/
#  Sv48/Sv57 writes stick and reserved modes are ignored, mstatus.TVM
#  (satp, sfence.vma), TW (wfi), TSR (sret), sstatus/sie as views of mstatus/mie.
# (time CSR, csrrs-with-zero-register on read-only CSRs and mepc/sepc bit 0
#  are in csr_strict.S: QEMU 7.2 differs there.)
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"

    .option norvc               /* QEMU 7.2 + PMP: see PMP_OPEN_ALL */
TEST_BEGIN
    PMP_OPEN_ALL
    INSTALL_TRAP_HANDLER_M

    # ---- Zicsr semantics on mscratch
    TEST_CASE(1, x14, 0x1234, li x1, 0x1234; csrw mscratch, x1; csrr x14, mscratch)
    TEST_CASE(2, x14, 0x1234, li x1, 0xff00; csrrw x14, mscratch, x1)
    TEST_CASE(3, x14, 0xff00, li x1, 0x00ff; csrrs x14, mscratch, x1)
    TEST_CASE(4, x14, 0xffff, csrr x14, mscratch)
    TEST_CASE(5, x14, 0xffff, li x1, 0x0ff0; csrrc x14, mscratch, x1)
    TEST_CASE(6, x14, 0xf00f, csrr x14, mscratch)
    TEST_CASE(7, x14, 0xf00f, csrrwi x14, mscratch, 0x15)
    TEST_CASE(8, x14, 0x15, csrrsi x14, mscratch, 0x0a)
    TEST_CASE(9, x14, 0x1f, csrrci x14, mscratch, 0x11)
    TEST_CASE(10, x14, 0x0e, csrr x14, mscratch)
    TEST_CASE(11, x14, 0xffffffffffffffff, li x1, -1; csrw mscratch, x1; csrr x14, mscratch)
    # rd = rs1
    TEST_CASE(12, x1, 0xffffffffffffffff, li x1, 7; csrrw x1, mscratch, x1)
    TEST_CASE(13, x14, 7, csrr x14, mscratch)
    TEST_CASE(14, x14, 0x55, li x1, 0x55; csrw sscratch, x1; csrr x14, sscratch)

    # ---- nonexistent CSRs are illegal (read and write)
    EXPECT_TRAP(20, 2, 1: csrr x14, 0x123)
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    EXPECT_TRAP(21, 2, csrw 0x3ff, x0)
    EXPECT_TRAP(22, 2, csrr x14, 0x7ff)
    # ---- read-only CSRs: any write is illegal, reads are fine
    TEST_CASE(23, x14, 0, csrr x14, mhartid)
    EXPECT_TRAP(24, 2, csrw mvendorid, x0)
    EXPECT_TRAP(25, 2, csrw mhartid, x0)
    EXPECT_TRAP(26, 2, csrwi marchid, 1)
    EXPECT_TRAP(27, 2, csrw cycle, x0)
    EXPECT_TRAP(28, 2, li x1, 1; csrrs x14, instret, x1)
    EXPECT_TRAP(29, 2, csrrsi x14, mimpid, 1)
    EXPECT_TRAP(30, 2, csrrci x14, cycle, 1)
    TEST_CASE(31, x14, 0, csrr x14, mvendorid; csrr x14, marchid; csrr x14, mimpid; li x14, 0)
    TEST_CASE(32, x14, 0, csrrsi x14, mhartid, 0)    # uimm = 0: no write, no trap

    # ---- misa: MXL = 2 (RV64), extensions I M A C S U present
    TEST_CASE(33, x14, 2, csrr x14, misa; srli x14, x14, 62)
    li x1, (1 << 8) | (1 << 12) | (1 << 0) | (1 << 2) | (1 << 18) | (1 << 20)
    TEST_CASE(34, x14, 0, csrr x2, misa; and x14, x2, x1; sub x14, x14, x1)

    # ---- minstret / mcycle are writable and keep counting
    # (window of 2^20: QEMU without -icount counts host ticks, not instructions)
    TEST_CASE(35, x14, 1, li x1, 0x10000000000; csrw minstret, x1; csrr x2, minstret; sub x2, x2, x1; li x4, 1 << 20; sltu x14, x2, x4)
    TEST_CASE(36, x14, 1, li x1, 0x20000000000; csrw minstret, x1; csrr x2, minstret; sltu x14, x2, x1; xori x14, x14, 1)
    TEST_CASE(37, x14, 1, li x1, 0x30000000000; csrw mcycle, x1; csrr x2, mcycle; sltu x14, x2, x1; xori x14, x14, 1)
    TEST_CASE(38, x14, 1, csrr x1, minstret; nop; nop; csrr x2, minstret; sltu x14, x1, x2)
    # user aliases read the same counters
    TEST_CASE(39, x14, 1, csrr x1, minstret; csrr x2, instret; sub x2, x2, x1; li x4, 1 << 20; sltu x14, x2, x4)
    TEST_CASE(40, x14, 1, csrr x1, mcycle; csrr x2, cycle; sltu x14, x2, x1; xori x14, x14, 1)

    # ---- counter gating: cycle (bit 0), instret (bit 2)
    csrw mcounteren, zero
    csrw scounteren, zero
    EXPECT_TRAP_IN(41, PRIV_S, 2, csrr x14, cycle)
    EXPECT_TRAP_IN(42, PRIV_S, 2, csrr x14, instret)
    EXPECT_TRAP_IN(43, PRIV_U, 2, csrr x14, cycle)
    EXPECT_TRAP_IN(44, PRIV_U, 2, csrr x14, instret)
    csrwi mcounteren, 5
    EXPECT_TRAP_IN(45, PRIV_S, 9, csrr x14, cycle; csrr x14, instret; ecall)
    EXPECT_TRAP_IN(46, PRIV_U, 2, csrr x14, cycle)
    EXPECT_TRAP_IN(47, PRIV_U, 2, csrr x14, instret)
    csrwi scounteren, 1
    EXPECT_TRAP_IN(48, PRIV_U, 8, csrr x14, cycle; ecall)
    EXPECT_TRAP_IN(49, PRIV_U, 2, csrr x14, instret)
    csrwi scounteren, 5
    EXPECT_TRAP_IN(50, PRIV_U, 8, csrr x14, cycle; csrr x14, instret; ecall)
    csrwi mcounteren, 4
    EXPECT_TRAP_IN(51, PRIV_U, 2, csrr x14, cycle)
    EXPECT_TRAP_IN(52, PRIV_S, 2, csrr x14, cycle)
    TEST_CASE(53, x14, 5, csrr x14, scounteren)
    TEST_CASE(54, x14, 4, csrr x14, mcounteren)
    csrwi mcounteren, 0
    csrwi scounteren, 0
    # M-mode is never gated
    TEST_CASE(55, x14, 0, csrr x1, cycle; csrr x1, instret; li x14, 0)

    # ---- privilege of CSR numbers: M CSRs from S/U, S CSRs from U
    EXPECT_TRAP_IN(60, PRIV_S, 2, 1: csrr x14, mstatus)
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    EXPECT_TRAP_IN(61, PRIV_S, 2, csrw mscratch, x0)
    EXPECT_TRAP_IN(62, PRIV_S, 2, csrr x14, mhartid)
    EXPECT_TRAP_IN(63, PRIV_S, 2, csrr x14, misa)
    EXPECT_TRAP_IN(64, PRIV_U, 2, csrr x14, sscratch)
    EXPECT_TRAP_IN(65, PRIV_U, 2, csrr x14, mepc)
    EXPECT_TRAP_IN(66, PRIV_U, 2, csrw satp, x0)
    EXPECT_TRAP_IN(67, PRIV_S, 9, csrr x14, sscratch; csrr x14, sstatus; csrw sscratch, x14; ecall)

    # ---- satp: Bare and Sv39 (mode 8) stick
    TEST_CASE(70, x14, 0, csrw satp, zero; csrr x14, satp)
    li x1, (8 << 60) | 0x80123
    TEST_CASE(71, x14, (8 << 60) | 0x80123, csrw satp, x1; csrr x14, satp)
    TEST_CASE(72, x14, 0, csrw satp, zero; csrr x14, satp)
    # Sv48 (9) and Sv57 (10) stick; a reserved MODE leaves satp as it was
    TEST_CASE(92, x14, (9 << 60) | 0x80043, li x2, (9 << 60) | 0x80043; csrw satp, x2; csrr x14, satp)
    TEST_CASE(93, x14, (10 << 60) | 0x80044, li x2, (10 << 60) | 0x80044; csrw satp, x2; csrr x14, satp)
    TEST_CASE(94, x14, (10 << 60) | 0x80044, li x2, (1 << 60) | 0x80045; csrw satp, x2; csrr x14, satp)
    TEST_CASE(95, x14, (10 << 60) | 0x80044, li x2, (15 << 60); csrw satp, x2; csrr x14, satp)
    TEST_CASE(96, x14, 0, csrw satp, zero; csrr x14, satp)

    # ---- mstatus.TVM: satp and sfence.vma from S are illegal
    li t0, 1 << 20
    csrs mstatus, t0
    EXPECT_TRAP_IN(73, PRIV_S, 2, csrr x14, satp)
    EXPECT_TRAP_IN(74, PRIV_S, 2, csrw satp, zero)
    EXPECT_TRAP_IN(75, PRIV_S, 2, sfence.vma)
    TEST_CASE(76, x14, 0, csrr x14, satp)            # M is not affected
    li t0, 1 << 20
    csrc mstatus, t0
    EXPECT_TRAP_IN(77, PRIV_S, 9, csrr x14, satp; csrw satp, zero; sfence.vma; ecall)

    # ---- mstatus.TW: wfi from S is illegal (and always from U)
    csrw mie, zero
    li t0, 1 << 21
    csrs mstatus, t0
    EXPECT_TRAP_IN(78, PRIV_S, 2, 1: wfi)
    CHECK_ZERO_OR_EQ(s4, 0x10500073)
    li t0, 1 << 21
    csrc mstatus, t0
    EXPECT_TRAP_IN(79, PRIV_U, 2, wfi)

    # ---- mstatus.TSR: sret from S is illegal
    li t0, 1 << 22
    csrs mstatus, t0
    EXPECT_TRAP_IN(80, PRIV_S, 2, la t0, 1f; csrw sepc, t0; sret; 1: ecall)
    li t0, 1 << 22
    csrc mstatus, t0
    EXPECT_TRAP_IN(81, PRIV_S, 9, la t0, 1f; csrw sepc, t0; li t0, 0x100; csrs sstatus, t0; sret; j fail; 1: ecall)

    # ---- sstatus is a restricted view of mstatus
    TEST_CASE(82, x14, 2, csrsi sstatus, 2; csrr x14, mstatus; andi x14, x14, 2)
    TEST_CASE(83, x14, 0, csrci mstatus, 2; csrr x14, sstatus; andi x14, x14, 2)
    li x1, 0x1888                       # MPP, MPIE, MIE: not visible in sstatus
    TEST_CASE(84, x14, 0, csrs mstatus, x1; csrr x14, sstatus; and x14, x14, x1; csrc mstatus, x1)
    TEST_CASE(85, x14, 2, csrr x14, sstatus; srli x14, x14, 32; andi x14, x14, 3)   # UXL = 2
    li x1, 1 << 18                      # SUM is visible through sstatus
    TEST_CASE(86, x14, 1 << 18, csrs sstatus, x1; csrr x14, mstatus; and x14, x14, x1; csrc mstatus, x1)
    # sie is mie masked by mideleg; with everything delegated it shows S bits
    li x1, 0x222
    csrw mideleg, x1
    TEST_CASE(87, x14, 0x222, li x2, 0xaaa; csrw mie, x2; csrr x14, sie)
    TEST_CASE(88, x14, 0x888, csrw sie, zero; csrr x14, mie)
    csrw mie, zero
    csrw mideleg, zero
    # mtvec: direct mode base
    TEST_CASE(91, x14, 0x80001000, li x1, 0x80001000; csrw mtvec, x1; csrr x14, mtvec)
    INSTALL_TRAP_HANDLER_M

    TEST_PASSFAIL
    TRAP_HANDLER_M
