# Synchronous exceptions: causes, mepc, mtval, privilege transitions
# (mret to S/U through mstatus.MPP, sret), mstatus.MPP/MPIE/MIE on trap
# entry, delegation of exceptions to S-mode through medeleg (scause, sepc,
# stval, sstatus.SPP).
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"

#define BAD_ADDR 0x40000000     /* nothing is mapped there */

    .option norvc               /* QEMU 7.2 + PMP: see PMP_OPEN_ALL */
TEST_BEGIN
    PMP_OPEN_ALL
    INSTALL_TRAP_HANDLER_M

    # ---- illegal instruction: mtval = the instruction bits
    EXPECT_TRAP(1, 2, 1: .word 0x0000000b)            # custom-0 opcode
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    CHECK_EQ(s4, 0x0000000b)
    EXPECT_TRAP(2, 2, 1: .word 0xfff0207b)            # custom-3 opcode
    CHECK_EQ(s4, 0xfff0207b)
    # 16-bit reserved encoding (c.addi4spn with nzuimm = 0): mtval = 16 bits
    EXPECT_TRAP(3, 2, 1: .half 0x0004; .half 0x0001)
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    CHECK_EQ(s4, 0x0004)
    # an all-zero halfword is the defined illegal instruction
    EXPECT_TRAP(4, 2, 1: .half 0x0000; .half 0x0001)
    CHECK_EQ(s4, 0)

    # ---- breakpoint: mepc = pc; mtval = pc (numbavm) or 0 (QEMU 7.2)
    EXPECT_TRAP(5, 3, 1: ebreak)
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    CHECK_ZERO_OR_EQ_REG(s4, x7)
    EXPECT_TRAP(6, 3, .option push; .option rvc; 1: c.ebreak; c.nop; .option pop)
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    CHECK_ZERO_OR_EQ_REG(s4, x7)

    # ---- ecall from M, S, U: causes 11, 9, 8; mtval = 0; MPP = old mode
    EXPECT_TRAP(7, 11, 1: ecall)
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    CHECK_EQ(s4, 0)
    srli t0, s6, 11
    andi t0, t0, 3
    CHECK_EQ(t0, 3)
    EXPECT_TRAP_IN(8, PRIV_S, 9, 1: ecall)
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    CHECK_EQ(s4, 0)
    srli t0, s6, 11
    andi t0, t0, 3
    CHECK_EQ(t0, 1)
    EXPECT_TRAP_IN(9, PRIV_U, 8, 1: ecall)
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    srli t0, s6, 11
    andi t0, t0, 3
    CHECK_EQ(t0, 0)

    # ---- trap entry: MPIE := MIE, MIE := 0 (mie = 0, so no interrupt)
    csrw mie, zero
    EXPECT_TRAP(10, 11, csrsi mstatus, 8; ecall)
    andi t0, s6, 0x88
    CHECK_EQ(t0, 0x80)                  # MPIE = 1, MIE = 0 in the handler
    csrr t0, mstatus
    andi t0, t0, 0x88
    CHECK_EQ(t0, 0x88)                  # mret: MIE := MPIE (=1), MPIE := 1
    csrci mstatus, 8
    EXPECT_TRAP(11, 11, csrci mstatus, 8; ecall)
    andi t0, s6, 0x88
    CHECK_EQ(t0, 0x00)

    # ---- access faults: loads 5, stores/AMOs 7, fetch 1; mtval = address
    EXPECT_TRAP(12, 5, li x1, BAD_ADDR; 1: ld x14, 0(x1))
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    CHECK_EQ(s4, BAD_ADDR)
    EXPECT_TRAP(13, 5, li x1, BAD_ADDR; lbu x14, 0x123(x1))
    CHECK_EQ(s4, BAD_ADDR + 0x123)
    EXPECT_TRAP(14, 7, li x1, BAD_ADDR; sw x1, 8(x1))
    CHECK_EQ(s4, BAD_ADDR + 8)
    EXPECT_TRAP(15, 7, li x1, BAD_ADDR; sd x1, 0(x1))
    CHECK_EQ(s4, BAD_ADDR)
    # (AMO access fault -> cause 7: in isa/amo_traps.S, QEMU 7.2 differs)
    EXPECT_TRAP(17, 1, li x1, BAD_ADDR; jalr ra, 0(x1))
    CHECK_EQ(s3, BAD_ADDR)
    CHECK_EQ(s4, BAD_ADDR)
    EXPECT_TRAP_IN(18, PRIV_U, 5, li x1, BAD_ADDR; ld x14, 16(x1))
    CHECK_EQ(s4, BAD_ADDR + 16)
    EXPECT_TRAP_IN(19, PRIV_S, 7, li x1, BAD_ADDR; sb x1, 0(x1))
    CHECK_EQ(s4, BAD_ADDR)
    EXPECT_TRAP_IN(20, PRIV_U, 1, li x1, BAD_ADDR; jr x1)
    CHECK_EQ(s3, BAD_ADDR)

    # ---- privileged instructions from lower modes are illegal
    # (mtval = instruction bits in numbavm; QEMU 7.2 writes 0 for these)
    EXPECT_TRAP_IN(21, PRIV_U, 2, 1: mret)
    CHECK_ZERO_OR_EQ(s4, 0x30200073)
    EXPECT_TRAP_IN(22, PRIV_S, 2, mret)
    EXPECT_TRAP_IN(23, PRIV_U, 2, sret)
    CHECK_ZERO_OR_EQ(s4, 0x10200073)
    EXPECT_TRAP_IN(24, PRIV_U, 2, sfence.vma)
    EXPECT_TRAP_IN(25, PRIV_U, 2, csrr x1, sstatus)

    # ---- sret: S -> U (SPP = 0), S -> S (SPP = 1), sepc honoured
    EXPECT_TRAP_IN(26, PRIV_S, 8, la t0, 1f; csrw sepc, t0; li t0, 0x100; csrc sstatus, t0; sret; j fail; 1: ecall)
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    EXPECT_TRAP_IN(27, PRIV_S, 9, la t0, 1f; csrw sepc, t0; li t0, 0x100; csrs sstatus, t0; sret; j fail; 1: ecall)
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    # sret sets SIE := SPIE, SPIE := 1, SPP := U
    EXPECT_TRAP_IN(28, PRIV_S, 9, la t0, 1f; csrw sepc, t0; li t0, 0x120; csrs sstatus, t0; csrci sstatus, 2; sret; 1: csrr x5, sstatus; ecall)
    andi t0, x5, 0x122
    CHECK_EQ(t0, 0x22)
    # sret executed in M-mode returns to SPP (here S)
    EXPECT_TRAP(29, 9, la t0, 1f; csrw sepc, t0; li t0, 0x100; csrs mstatus, t0; sret; j fail; 1: ecall)
    # mret to M with MPP = M stays in M
    EXPECT_TRAP(30, 11, li t0, 0x1800; csrs mstatus, t0; la t0, 1f; csrw mepc, t0; mret; j fail; 1: ecall)
    # after mret, MPP = U (least privileged mode)
    EXPECT_TRAP(31, 11, li t0, 0x1800; csrs mstatus, t0; la t0, 1f; csrw mepc, t0; mret; 1: csrr x5, mstatus; ecall)
    srli t0, x5, 11
    andi t0, t0, 3
    CHECK_EQ(t0, 0)

    # ---- medeleg: delegated exceptions from U/S go to stvec
    la t0, s_handler
    csrw stvec, t0
    li t0, (1 << 8) | (1 << 2) | (1 << 5) | (1 << 3)
    csrw medeleg, t0
    csrr t1, medeleg
    and t1, t1, t0
    CHECK_EQ_REG(t1, t0)
    # ecall from U -> S handler (records, then ecall from S -> M)
    EXPECT_TRAP_IN(40, PRIV_U, 9, li s7, -1; 1: ecall)
    CHECK_EQ(s7, 8)                     # scause
    la x7, 1b
    CHECK_EQ_REG(s8, x7)                # sepc
    CHECK_EQ(s9, 0)                     # stval
    andi t0, s11, 0x100
    CHECK_EQ(t0, 0)                     # sstatus.SPP = U
    # mcause/mepc untouched by the delegated trap: M saw the S ecall
    la x7, s_handler_ecall
    CHECK_EQ_REG(s3, x7)
    # illegal instruction from U -> S, stval = instruction bits
    EXPECT_TRAP_IN(41, PRIV_U, 9, li s7, -1; 1: .word 0x0000000b)
    CHECK_EQ(s7, 2)
    CHECK_EQ(s9, 0x0000000b)
    # load access fault from S -> S (delegated, same mode), stval = address
    EXPECT_TRAP_IN(42, PRIV_S, 9, li s7, -1; li x1, BAD_ADDR; ld x1, 8(x1))
    CHECK_EQ(s7, 5)
    CHECK_EQ(s9, BAD_ADDR + 8)
    andi t0, s11, 0x100
    CHECK_EQ(t0, 0x100)                 # sstatus.SPP = S
    # breakpoint from U -> S, stval = pc (or 0 under QEMU 7.2)
    EXPECT_TRAP_IN(43, PRIV_U, 9, li s7, -1; 1: ebreak)
    CHECK_EQ(s7, 3)
    la x7, 1b
    CHECK_ZERO_OR_EQ_REG(s9, x7)
    # traps taken in M are never delegated: illegal instruction in M -> M
    EXPECT_TRAP(44, 2, .word 0x0000000b)
    EXPECT_TRAP(45, 3, ebreak)
    # a non-delegated cause from U still goes to M (store access fault)
    EXPECT_TRAP_IN(46, PRIV_U, 7, li s7, -1; li x1, BAD_ADDR; sd x1, 0(x1))
    CHECK_EQ(s7, -1)
    csrw medeleg, zero
    # without delegation, ecall from U goes to M
    EXPECT_TRAP_IN(47, PRIV_U, 8, li s7, -1; ecall)
    CHECK_EQ(s7, -1)

    TEST_PASSFAIL
    TRAP_HANDLER_M

# S-mode handler: s7 = scause, s8 = sepc, s9 = stval, s11 = sstatus, then
# ecall to M (which resumes the test in M-mode at s10).
    .balign 4
s_handler:
    csrr s7, scause
    csrr s8, sepc
    csrr s9, stval
    csrr s11, sstatus
s_handler_ecall:
    ecall
    j fail
