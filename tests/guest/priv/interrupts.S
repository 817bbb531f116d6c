# Interrupts: CLINT timer (mtimecmp -> MTIP, mcause = 0x8000000000000007),
# CLINT software interrupt (msip -> MSIP, cause 3), wfi wake-up with and
# without mstatus.MIE, supervisor software interrupt via mip.SSIP (taken in
# M when not delegated, in S via mideleg with scause = 0x8000000000000001),
# M interrupts taken in U even with mstatus.MIE = 0, delegated interrupts
# not taken in M, vectored mtvec.
# Built with -DTEST_PRIORITY_ONLY (priv/irq_priority.S) it instead checks
# the priority MSI > MTI > SEI > SSI > STI, where QEMU 7.2 differs.
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"

#define CLINT_MSIP      0x02000000
#define CLINT_MTIMECMP  0x02004000
#define CLINT_MTIME     0x0200bff8
#define IRQ(c)          ((1 << 63) | (c))
#define MIP_SSIP 0x002
#define MIP_MSIP 0x008
#define MIP_STIP 0x020
#define MIP_MTIP 0x080
#define MIP_SEIP 0x200

/* s7 = number of logged traps, irq_log[i] = cause (M) or cause + 0x100 (S) */
#define WAIT_LOG(n)                     \
    li t1, 20000000;                    \
77: li t0, n;                           \
    beq s7, t0, 78f;                    \
    addi t1, t1, -1;                    \
    bnez t1, 77b;                       \
    j fail;                             \
78:
#define LOG_AT(i, reg)  la reg, irq_log; ld reg, ((i) * 8)(reg)
#define SET_TIMER_DELTA(d)              \
    li t0, CLINT_MTIME;                 \
    ld t1, 0(t0);                       \
    addi t1, t1, d;                     \
    li t0, CLINT_MTIMECMP;              \
    sd t1, 0(t0)
#define TIMER_OFF                       \
    li t0, CLINT_MTIMECMP;              \
    li t1, -1;                          \
    sd t1, 0(t0)

    .option norvc               /* QEMU 7.2 + PMP: see PMP_OPEN_ALL */
TEST_BEGIN
    PMP_OPEN_ALL
    csrw mie, zero
    csrci mstatus, 8
    TIMER_OFF
    la t0, irq_handler_m
    csrw mtvec, t0
    la t0, irq_handler_s
    csrw stvec, t0
    li s7, 0
    li s10, 0

#ifndef TEST_PRIORITY_ONLY
    # ---- 1: machine timer interrupt
    TEST_CASE(1, x14, 0, csrr x14, mip; andi x14, x14, MIP_MTIP)
    li t0, MIP_MTIP
    csrw mie, t0
    csrsi mstatus, 8
    SET_TIMER_DELTA(200)
    li gp, 2
    WAIT_LOG(1)
    TEST_CASE(3, x14, IRQ(7), LOG_AT(0, x14))
    TEST_CASE(4, x14, 0, csrr x14, mip; andi x14, x14, MIP_MTIP)   # cleared by new mtimecmp
    TEST_CASE(5, x14, 8, csrr x14, mstatus; andi x14, x14, 8)      # mret restored MIE

    # ---- 2: pending but masked by mstatus.MIE = 0; taken when enabled
    csrci mstatus, 8
    SET_TIMER_DELTA(100)
    li gp, 6
    li t1, 20000000
1:  csrr t0, mip
    andi t0, t0, MIP_MTIP
    bnez t0, 2f
    addi t1, t1, -1
    bnez t1, 1b
    j fail
2:  TEST_CASE(7, x14, 1, mv x14, s7)            # not taken yet
    csrsi mstatus, 8
    nop
    li gp, 8
    WAIT_LOG(2)
    TEST_CASE(9, x14, IRQ(7), LOG_AT(1, x14))

    # ---- 3: wfi wakes up on a pending enabled interrupt even with MIE = 0
    csrci mstatus, 8
    SET_TIMER_DELTA(300)
    li gp, 10
    li t1, 100000
1:  wfi
    csrr t0, mip
    andi t0, t0, MIP_MTIP
    bnez t0, 2f
    addi t1, t1, -1
    bnez t1, 1b
    j fail
2:  TEST_CASE(11, x14, 2, mv x14, s7)           # no trap taken
    TIMER_OFF
    # with MIE = 1: the interrupt is taken, mepc = the instruction after wfi
    # (5 ms of mtime: the hart is asleep in wfi long before that)
    csrsi mstatus, 8
    li t0, CLINT_MTIME
    ld t1, 0(t0)
    li t2, 50000
    add t1, t1, t2
    li t0, CLINT_MTIMECMP
    sd t1, 0(t0)
    li gp, 12
    li t1, 100000
    li t0, 3
1:  beq s7, t0, 2f
    wfi
wfi_next:
    addi t1, t1, -1
    bnez t1, 1b
    j fail
2:  TEST_CASE(13, x14, IRQ(7), LOG_AT(2, x14))
    la x7, wfi_next
    li gp, 14
    CHECK_EQ_REG(s3, x7)

    # ---- 4: machine software interrupt through CLINT msip
    csrw mie, MIP_MSIP
    TEST_CASE(15, x14, 0, csrr x14, mip; andi x14, x14, MIP_MSIP)
    li t0, CLINT_MSIP
    li t1, 1
    sw t1, 0(t0)
    li gp, 16
    WAIT_LOG(4)
    TEST_CASE(17, x14, IRQ(3), LOG_AT(3, x14))
    TEST_CASE(18, x14, 0, csrr x14, mip; andi x14, x14, MIP_MSIP)
    TEST_CASE(19, x14, 0, li x1, CLINT_MSIP; lw x14, 0(x1))

    # ---- 5: SSIP set by M in mip, not delegated: taken in M, cause 1
    csrw mie, MIP_SSIP
    csrsi mip, MIP_SSIP
    li gp, 20
    WAIT_LOG(5)
    TEST_CASE(21, x14, IRQ(1), LOG_AT(4, x14))
    TEST_CASE(22, x14, 0, csrr x14, mip; andi x14, x14, MIP_SSIP)

    # ---- 6: delegated SSI: not taken in M, taken in S (scause = IRQ(1))
    csrci mstatus, 8
    csrw mideleg, MIP_SSIP
    csrw mie, MIP_SSIP
    csrsi mstatus, 8
    csrsi mip, MIP_SSIP
    nop
    nop
    TEST_CASE(23, x14, 5, mv x14, s7)           # M ignores delegated interrupts
    # enter S with sstatus.SIE = 1: taken at once in S
    csrsi mstatus, 2
    li gp, 24
    la s10, 1f
    ENTER_MODE(PRIV_S)
    WAIT_LOG(6)
    ecall                                       # back to M (resumes at 1f)
    j fail
1:  TEST_CASE(25, x14, IRQ(1) + 0x100, LOG_AT(5, x14))
    TEST_CASE(26, x14, 9, mv x14, s2)           # the ecall from S
    # S-mode sets sip.SSIP itself (SIE = 0 first, then enable)
    li gp, 27
    la s10, 1f
    csrci mstatus, 2
    ENTER_MODE(PRIV_S)
    csrsi sip, MIP_SSIP
    csrr x14, sip
    andi x14, x14, MIP_SSIP
    beqz x14, fail
    csrsi sstatus, 2
    WAIT_LOG(7)
    csrci sstatus, 2
    ecall
    j fail
1:  TEST_CASE(28, x14, IRQ(1) + 0x100, LOG_AT(6, x14))
    # pending delegated SSI is taken in U even though sstatus.SIE = 0
    csrci mstatus, 2
    csrsi mip, MIP_SSIP
    li gp, 29
    la s10, 1f
    ENTER_MODE(PRIV_U)
    WAIT_LOG(8)
    ecall
    j fail
1:  TEST_CASE(30, x14, IRQ(1) + 0x100, LOG_AT(7, x14))
    TEST_CASE(31, x14, 8, mv x14, s2)
    csrw mideleg, zero

    # ---- 7: M interrupts are taken in U/S even with mstatus.MIE = 0
    csrci mstatus, 8
    li t0, MIP_MTIP
    csrw mie, t0
    SET_TIMER_DELTA(100)
    li gp, 32
    la s10, 1f
    ENTER_MODE(PRIV_U)
    WAIT_LOG(9)
    ecall
    j fail
1:  TEST_CASE(33, x14, IRQ(7), LOG_AT(8, x14))
    csrw mie, MIP_MSIP
    li t0, CLINT_MSIP
    li t1, 1
    sw t1, 0(t0)
    li gp, 34
    la s10, 1f
    ENTER_MODE(PRIV_S)
    WAIT_LOG(10)
    ecall
    j fail
1:  TEST_CASE(35, x14, IRQ(3), LOG_AT(9, x14))

    # ---- 9: vectored mtvec: interrupts to base + 4 * cause, exceptions to base
    la t0, vec_table
    ori t0, t0, 1
    csrw mtvec, t0
    TEST_CASE(43, x14, 1, csrr x14, mtvec; andi x14, x14, 3)
    li s9, 0
    li t0, MIP_MTIP
    csrw mie, t0
    csrsi mstatus, 8
    SET_TIMER_DELTA(100)
    li gp, 44
    li t1, 20000000
1:  bnez s9, 2f
    addi t1, t1, -1
    bnez t1, 1b
    j fail
2:  TEST_CASE(45, x14, 7, mv x14, s9)           # vec_table entry 7 ran
    TEST_CASE(46, x14, IRQ(7), csrr x14, mcause)
    li s9, 0
    csrw mie, MIP_MSIP
    li t0, CLINT_MSIP
    li t1, 1
    sw t1, 0(t0)
    li gp, 47
    li t1, 20000000
1:  bnez s9, 2f
    addi t1, t1, -1
    bnez t1, 1b
    j fail
2:  TEST_CASE(48, x14, 3, mv x14, s9)
    li s9, 0
    TEST_CASE(49, x14, 0x10b, ecall; mv x14, s9)    # exception -> entry 0
    csrci mstatus, 8
    csrw mie, zero

#else
    # ---- 8: priority among simultaneously pending interrupts (all to M)
    csrci mstatus, 8
    csrw mie, zero
    li t0, CLINT_MSIP
    li t1, 1
    sw t1, 0(t0)
    li t0, CLINT_MTIMECMP
    sd zero, 0(t0)
    li t0, MIP_SSIP | MIP_STIP | MIP_SEIP
    csrs mip, t0
    li t0, MIP_SSIP | MIP_MSIP | MIP_STIP | MIP_MTIP | MIP_SEIP
    li s7, 10                           # log slots 10.. are used below
    li gp, 36
    li t1, 100000
1:  csrr t2, mip
    and t2, t2, t0
    beq t2, t0, 2f
    addi t1, t1, -1
    bnez t1, 1b
    j fail
2:  csrw mie, t0
    csrsi mstatus, 8
    li gp, 37
    WAIT_LOG(15)
    TEST_CASE(38, x14, IRQ(3), LOG_AT(10, x14))
    TEST_CASE(39, x14, IRQ(7), LOG_AT(11, x14))
    TEST_CASE(40, x14, IRQ(9), LOG_AT(12, x14))
    TEST_CASE(41, x14, IRQ(1), LOG_AT(13, x14))
    TEST_CASE(42, x14, IRQ(5), LOG_AT(14, x14))
    csrci mstatus, 8
    csrw mie, zero

#endif

    TEST_PASSFAIL

# ---- M-mode handler (direct mode): logs interrupts and clears their
# source, then mret to mepc.  Synchronous traps resume in M at s10.
    .balign 4
irq_handler_m:
    csrr s2, mcause
    csrr s3, mepc
    bgez s2, 5f
    la s5, irq_log
    slli s4, s7, 3
    add s5, s5, s4
    sd s2, 0(s5)
    addi s7, s7, 1
    slli s4, s2, 1
    srli s4, s4, 1                      # cause number
    li s5, 3
    bne s4, s5, 1f
    li s5, CLINT_MSIP
    sw zero, 0(s5)
    mret
1:  li s5, 7
    bne s4, s5, 1f
    li s5, CLINT_MTIMECMP
    li s6, -1
    sd s6, 0(s5)
    mret
1:  li s5, 1
    bne s4, s5, 1f
    csrci mip, MIP_SSIP
    mret
1:  li s5, 5
    bne s4, s5, 1f
    li s5, MIP_STIP
    csrc mip, s5
    mret
1:  li s5, 9
    bne s4, s5, fail
    li s5, MIP_SEIP
    csrc mip, s5
    mret
5:  beqz s10, fail                      # unexpected exception
    csrw mepc, s10
    li s10, 0
    li s5, 0x1800
    csrs mstatus, s5
    mret

# ---- S-mode handler: logs scause + 0x100, clears sip.SSIP, sret.
    .balign 4
irq_handler_s:
    csrr s8, scause
    bgez s8, fail
    la s5, irq_log
    slli s4, s7, 3
    add s5, s5, s4
    addi s4, s8, 0x100
    sd s4, 0(s5)
    addi s7, s7, 1
    csrci sip, MIP_SSIP
    sret

# ---- vectored table: entry 0 = exceptions (ecall: s9 = 0x100 + cause,
# resume after the ecall), entry 3 = MSI, entry 7 = MTI.
    .balign 256
vec_table:
    j vec_exc
    j fail
    j fail
    j vec_msi
    j fail
    j fail
    j fail
    j vec_mti
    j fail
    j fail
    j fail
    j fail
vec_exc:
    csrr s9, mcause
    addi s9, s9, 0x100
    csrr s4, mepc
    addi s4, s4, 4
    csrw mepc, s4
    mret
vec_msi:
    li s9, 3
    li s5, CLINT_MSIP
    sw zero, 0(s5)
    mret
vec_mti:
    li s9, 7
    li s5, CLINT_MTIMECMP
    li s6, -1
    sd s6, 0(s5)
    mret

    .bss
    .balign 8
irq_log: .skip 8 * 32
