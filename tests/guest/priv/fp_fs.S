# mstatus.FS and the F/D state in the privileged architecture (priv. spec 3.1.6.6):
#   - FS Off/Initial/Clean/Dirty as mstatus and sstatus show them; SD = (FS == Dirty), read-only, bit 63
#     of both; sstatus.FS is the same field as mstatus.FS (written from M and from S).
#   - From Initial or Clean, an instruction that writes an f register (arithmetic, fmv, flw/fld, the
#     compressed loads) or a write to fflags/frm/fcsr makes FS Dirty, in M, S and U.
#   - FS Off: the trap is an illegal instruction with mtval = the instruction, in S and U too; with
#     medeleg[2] it goes to S, whose handler turns FS on and returns to the instruction, which then runs
#     (Linux's lazy FP switch).
#   - FP loads and stores under Sv39 in S and U: through 4 KiB pages, U/S permissions, SUM, read-only
#     pages, hardware A/D updates, a misaligned access spanning two pages, MPRV; faults are page faults
#     (13/15, mtval = VA) and leave the f register alone; with FS Off the same accesses are illegal
#     instructions, even on an unmapped page (illegal instruction comes first: spec 3.7, exception priority).
#   - A hot FP loop (native regions compile it while FS is Dirty) traps again once FS is Off, and its
#     dynamically rounded fadd once frm is 7.
# Exit code = number of the first failing test case, 0 = all passed.
#include "test.h"
#include "vm.h"

#define FS_MASK 0x6000
#define FS_OFF 0x0000
#define FS_INITIAL 0x2000
#define FS_CLEAN 0x4000
#define FS_DIRTY 0x6000

#define SET_FS(fs)  li t0, FS_MASK; csrc mstatus, t0; li t0, fs; csrs mstatus, t0
/* x14 = mstatus.FS >> 13 and x15 = mstatus.SD, checked against fs and sd */
#define CHECK_FS_SD(testnum, fs, sd)    \
    li TESTNUM, testnum;                \
    csrr x14, mstatus;                  \
    srli x15, x14, 63;                  \
    srli x14, x14, 13;                  \
    andi x14, x14, 3;                   \
    CHECK_EQ(x14, (fs) >> 13)           \
    CHECK_EQ(x15, sd)
#define CHECK_SSTATUS_FS_SD(testnum, fs, sd) \
    li TESTNUM, testnum;                \
    csrr x14, sstatus;                  \
    srli x15, x14, 63;                  \
    srli x14, x14, 13;                  \
    andi x14, x14, 3;                   \
    CHECK_EQ(x14, (fs) >> 13)           \
    CHECK_EQ(x15, sd)

/* mtval and mepc of the trap just taken: the instruction at label 1b (its bits), resp. a value */
#define CHECK_ILLEGAL_AT_1B             \
    la x7, 1b;                          \
    CHECK_EQ_REG(s3, x7)                \
    lwu x7, 0(x7);                      \
    CHECK_EQ_REG(s4, x7)
#define CHECK_TVAL(va)  CHECK_EQ(s4, va)

    .option norvc               /* QEMU 7.2 + PMP: see PMP_OPEN_ALL */
TEST_BEGIN
    PMP_OPEN_ALL
    INSTALL_TRAP_HANDLER_M
    la t0, s_handler
    csrw stvec, t0
    SET_FS(FS_DIRTY)            # (at reset QEMU has FS Off, numbavm Initial: the spec leaves it open)
    li x1, 0x4000000000000000   # 2.0
    fmv.d.x f2, x1

    # ---- FS and SD as mstatus and sstatus show them (M-mode)
    SET_FS(FS_OFF)
    CHECK_FS_SD(1, FS_OFF, 0)
    CHECK_SSTATUS_FS_SD(2, FS_OFF, 0)
    SET_FS(FS_INITIAL)
    CHECK_FS_SD(3, FS_INITIAL, 0)
    SET_FS(FS_CLEAN)
    CHECK_FS_SD(4, FS_CLEAN, 0)
    CHECK_SSTATUS_FS_SD(5, FS_CLEAN, 0)
    SET_FS(FS_DIRTY)
    CHECK_FS_SD(6, FS_DIRTY, 1)
    CHECK_SSTATUS_FS_SD(7, FS_DIRTY, 1)
    # SD is read-only: writing it (with FS Initial) leaves it 0
    li t0, FS_MASK
    csrc mstatus, t0
    li t0, (1 << 63) | FS_INITIAL
    csrs mstatus, t0
    CHECK_FS_SD(8, FS_INITIAL, 0)
    li t0, 1 << 63
    csrs sstatus, t0
    CHECK_FS_SD(9, FS_INITIAL, 0)
    # sstatus.FS is mstatus.FS
    li t0, FS_MASK
    csrs sstatus, t0
    CHECK_FS_SD(10, FS_DIRTY, 1)
    li t0, FS_DIRTY
    csrc sstatus, t0
    li t0, FS_CLEAN
    csrs sstatus, t0
    CHECK_FS_SD(11, FS_CLEAN, 0)

    # ---- Initial/Clean -> Dirty in M: f register writes and FP CSR writes
    SET_FS(FS_INITIAL)
    fadd.d f1, f2, f2
    CHECK_FS_SD(12, FS_DIRTY, 1)
    CHECK_SSTATUS_FS_SD(13, FS_DIRTY, 1)
    li gp, 14
    fmv.x.d x14, f1
    CHECK_EQ(x14, 0x4010000000000000)
    SET_FS(FS_CLEAN)
    fmv.d.x f1, x0
    CHECK_FS_SD(15, FS_DIRTY, 1)
    SET_FS(FS_CLEAN)
    la x1, fp_data
    flw f1, 0(x1)
    CHECK_FS_SD(16, FS_DIRTY, 1)
    SET_FS(FS_INITIAL)
    la s0, fp_data
    .option push
    .option rvc
    c.fld f9, 8(s0)
    c.nop
    .option pop
    CHECK_FS_SD(17, FS_DIRTY, 1)
    SET_FS(FS_CLEAN)
    csrw fcsr, x0
    CHECK_FS_SD(18, FS_DIRTY, 1)
    SET_FS(FS_INITIAL)
    csrwi fflags, 0
    CHECK_FS_SD(19, FS_DIRTY, 1)
    SET_FS(FS_CLEAN)
    csrw frm, x0
    CHECK_FS_SD(20, FS_DIRTY, 1)
    SET_FS(FS_CLEAN)
    li x1, 1
    csrs fflags, x1
    CHECK_FS_SD(21, FS_DIRTY, 1)
    SET_FS(FS_INITIAL)
    fcvt.d.w f1, x1
    CHECK_FS_SD(22, FS_DIRTY, 1)
    csrw fcsr, x0

    # ---- S-mode: FS through sstatus; Off traps, Initial -> Dirty
    SET_FS(FS_INITIAL)
    EXPECT_TRAP_IN(23, PRIV_S, 9, li t0, FS_MASK; csrc sstatus, t0; ecall)
    CHECK_FS_SD(24, FS_OFF, 0)
    EXPECT_TRAP_IN(25, PRIV_S, 2, 1: fadd.d f1, f2, f2)
    CHECK_ILLEGAL_AT_1B
    EXPECT_TRAP_IN(26, PRIV_S, 2, 1: csrr x14, fflags)
    CHECK_ILLEGAL_AT_1B
    EXPECT_TRAP_IN(27, PRIV_S, 9, li t0, FS_INITIAL; csrs sstatus, t0; fmul.d f1, f2, f2; csrr x13, sstatus; ecall)
    li gp, 28
    srli x13, x13, 63
    CHECK_EQ(x13, 1)                    # sstatus.SD as S read it
    CHECK_FS_SD(29, FS_DIRTY, 1)
    SET_FS(FS_CLEAN)
    EXPECT_TRAP_IN(30, PRIV_S, 9, fsgnjx.s f1, f2, f2; ecall)
    CHECK_FS_SD(31, FS_DIRTY, 1)

    # ---- U-mode: Initial/Clean -> Dirty
    SET_FS(FS_INITIAL)
    EXPECT_TRAP_IN(32, PRIV_U, 8, fsub.s f1, f2, f2; ecall)
    CHECK_FS_SD(33, FS_DIRTY, 1)
    SET_FS(FS_CLEAN)
    EXPECT_TRAP_IN(34, PRIV_U, 8, csrwi frm, 1; ecall)
    CHECK_FS_SD(35, FS_DIRTY, 1)
    SET_FS(FS_CLEAN)
    EXPECT_TRAP_IN(36, PRIV_U, 8, la x1, fp_data; fld f1, 0(x1); ecall)
    CHECK_FS_SD(37, FS_DIRTY, 1)
    csrwi frm, 0

    # ---- lazy FP: medeleg[2] sends U's and S's illegal FP instructions to S, whose handler sets
    # sstatus.FS = Initial and returns to the instruction (s7 counts, s8/s9/s11 = scause/stval/sepc)
    li t0, 1 << 2
    csrs medeleg, t0
    SET_FS(FS_OFF)
    li s7, 0
    EXPECT_TRAP_IN(38, PRIV_U, 8, 1: fmadd.d f1, f2, f2, f2; ecall)
    li gp, 39
    CHECK_EQ(s7, 1)
    CHECK_EQ(s8, 2)
    la x7, 1b
    CHECK_EQ_REG(s11, x7)
    lwu x7, 0(x7)
    CHECK_EQ_REG(s9, x7)
    CHECK_FS_SD(40, FS_DIRTY, 1)
    li gp, 41
    fmv.x.d x14, f1
    CHECK_EQ(x14, 0x4018000000000000)   # 2*2 + 2
    # a compressed FP store: stval = its 16 bits
    SET_FS(FS_OFF)
    li s7, 0
    EXPECT_TRAP_IN(42, PRIV_U, 8, la s0, fp_data; .option push; .option rvc; 1: c.fsd f9, 16(s0); c.nop;
                   .option pop; ecall)
    li gp, 43
    CHECK_EQ(s7, 1)
    CHECK_EQ(s8, 2)
    la x7, 1b
    CHECK_EQ_REG(s11, x7)
    lhu x7, 0(x7)
    CHECK_EQ_REG(s9, x7)
    la x1, fp_data
    ld x14, 16(x1)
    ld x7, 8(x1)
    CHECK_EQ_REG(x14, x7)               # it ran after the handler
    # an FP CSR read from S
    SET_FS(FS_OFF)
    li s7, 0
    EXPECT_TRAP_IN(44, PRIV_S, 9, 1: frcsr x14; ecall)
    li gp, 45
    CHECK_EQ(s7, 1)
    CHECK_EQ(s8, 2)
    la x7, 1b
    CHECK_EQ_REG(s11, x7)
    CHECK_EQ(x14, 0)
    CHECK_FS_SD(46, FS_INITIAL, 0)      # a read writes no FP state
    li t0, 1 << 2
    csrc medeleg, t0

    # ---- a hot FP loop (native regions compile it while FS is Dirty) run again with FS Off: the
    # same fadd traps; with FS Clean it runs and makes FS Dirty again.  In S, then in M.
    SET_FS(FS_DIRTY)
    EXPECT_TRAP_IN(98, PRIV_S, 9, fmv.d.x f10, x0; call hot_loop; call hot_loop; call hot_loop; ecall)
    li gp, 99
    fmv.x.d x14, f10
    CHECK_EQ(x14, 0x4078000000000000)   # 3 * 64 * 2.0
    SET_FS(FS_OFF)
    EXPECT_TRAP_IN(100, PRIV_S, 2, call hot_loop)
    la x7, hot_fadd
    CHECK_EQ_REG(s3, x7)
    lwu x7, 0(x7)
    CHECK_EQ_REG(s4, x7)
    SET_FS(FS_CLEAN)
    EXPECT_TRAP_IN(101, PRIV_S, 9, call hot_loop; ecall)
    CHECK_FS_SD(102, FS_DIRTY, 1)
    li gp, 103
    fmv.x.d x14, f10
    CHECK_EQ(x14, 0x4080000000000000)   # + 64 * 2.0
    call hot_loop
    call hot_loop
    SET_FS(FS_OFF)
    EXPECT_TRAP(104, 2, call hot_loop)
    la x7, hot_fadd
    CHECK_EQ_REG(s3, x7)
    SET_FS(FS_INITIAL)
    call hot_loop
    CHECK_FS_SD(105, FS_DIRTY, 1)
    # hot_fadd rounds dynamically: with frm = 7 (reserved) the compiled loop must trap too
    call hot_loop
    csrwi frm, 7
    EXPECT_TRAP(106, 2, call hot_loop)
    la x7, hot_fadd
    CHECK_EQ_REG(s3, x7)
    lwu x7, 0(x7)
    CHECK_EQ_REG(s4, x7)
    EXPECT_TRAP_IN(107, PRIV_S, 2, call hot_loop)
    la x7, hot_fadd
    CHECK_EQ_REG(s3, x7)
    csrwi frm, 0
    EXPECT_TRAP_IN(108, PRIV_S, 9, call hot_loop; ecall)

    # ---- Sv39 page tables
    la t2, fp_data
    li t3, 0x400921fb54442d18           # pi
    sd t3, 0x20(t2)
    la t2, page_a
    li t3, 0x3ff0000000000000           # 1.0
    sd t3, 0x10(t2)
    la t2, page_b
    li t3, 0xc000000000000000           # -2.0
    sd t3, 0x10(t2)
    la t2, page_c
    li t3, 0xffffffff40400000           # 3.0f (only the low word counts)
    sd t3, 0x10(t2)
    la t2, page_e
    li t3, 0x4014000000000000           # 5.0
    sd t3, 0x10(t2)
    la t2, pt_l1
    SET_PTE(pt_root, 0, t2, PTE_V)
    li t2, 0x80000000
    SET_PTE(pt_root, 2, t2, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
    SET_PTE(pt_root, 3, t2, PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D)
    la t2, pt_l0
    SET_PTE(pt_l1, 0, t2, PTE_V)
    la t2, page_a
    SET_PTE(pt_l0, 1, t2, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)          # 0x1000 S RW
    la t2, page_b
    SET_PTE(pt_l0, 2, t2, PTE_V | PTE_R | PTE_A)                          # 0x2000 S R
    la t2, page_c
    SET_PTE(pt_l0, 3, t2, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D)  # 0x3000 U RW
    #                                                                       0x4000 invalid
    la t2, page_d
    SET_PTE(pt_l0, 5, t2, PTE_V | PTE_R | PTE_W)                          # 0x5000 S RW, A = D = 0
    la t2, page_e
    SET_PTE(pt_l0, 6, t2, PTE_V | PTE_R | PTE_U | PTE_A)                  # 0x6000 U R
    la t2, pt_root
    srli t2, t2, 12
    li t3, 8 << 60
    or t2, t2, t3
    csrw satp, t2
    sfence.vma
    SET_FS(FS_DIRTY)

    # ---- S: FP loads and stores through 4 KiB pages
    EXPECT_TRAP_IN(50, PRIV_S, 9, li x1, 0x1000; fld f1, 0x10(x1); fsd f1, 0x18(x1); ecall)
    li gp, 51
    fmv.x.d x14, f1
    CHECK_EQ(x14, 0x3ff0000000000000)
    la x1, page_a
    ld x14, 0x18(x1)
    CHECK_EQ(x14, 0x3ff0000000000000)
    EXPECT_TRAP_IN(52, PRIV_S, 9, li x1, 0x2000; flw f1, 0x14(x1); ecall)     # a read-only page reads
    li gp, 53
    fmv.x.d x14, f1
    CHECK_EQ(x14, 0xffffffffc0000000)
    # page faults: 13 for loads, 15 for stores, mtval = VA, the f register untouched
    li x1, 0x5a5a
    fmv.d.x f1, x1
    EXPECT_TRAP_IN(54, PRIV_S, 13, li x1, 0x4000; 1: flw f1, 8(x1))
    CHECK_TVAL(0x4008)
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    li gp, 55
    fmv.x.d x14, f1
    CHECK_EQ(x14, 0x5a5a)
    EXPECT_TRAP_IN(56, PRIV_S, 13, li x1, 0x4000; fld f1, 0x7f8(x1))
    CHECK_TVAL(0x47f8)
    EXPECT_TRAP_IN(57, PRIV_S, 15, li x1, 0x4000; fsw f1, 4(x1))
    CHECK_TVAL(0x4004)
    EXPECT_TRAP_IN(58, PRIV_S, 15, li x1, 0x2000; 1: fsd f1, 0x10(x1))        # read-only page
    CHECK_TVAL(0x2010)
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    EXPECT_TRAP_IN(59, PRIV_S, 15, li s0, 0x2000; .option push; .option rvc; c.fsd f8, 0x18(s0); c.nop;
                   .option pop)
    CHECK_TVAL(0x2018)
    EXPECT_TRAP_IN(60, PRIV_S, 13, mv s1, sp; li sp, 0x4000; .option push; .option rvc; c.fldsp f3, 0x20(sp);
                   c.nop; .option pop)
    mv sp, s1
    CHECK_TVAL(0x4020)
    EXPECT_TRAP_IN(61, PRIV_S, 15, mv s1, sp; li sp, 0x2000; .option push; .option rvc; c.fsdsp f3, 0x28(sp);
                   c.nop; .option pop)
    mv sp, s1
    CHECK_TVAL(0x2028)
    li gp, 62
    la x1, page_b
    ld x14, 0x10(x1)
    CHECK_EQ(x14, 0xc000000000000000)   # no store went through
    # U pages from S: a page fault without SUM, a load with it
    EXPECT_TRAP_IN(63, PRIV_S, 13, li x1, 0x3000; flw f1, 0x10(x1))
    CHECK_TVAL(0x3010)
    EXPECT_TRAP_IN(64, PRIV_S, 15, li x1, 0x3000; fsd f1, 0x10(x1))
    li t0, SUM
    csrs mstatus, t0
    EXPECT_TRAP_IN(65, PRIV_S, 9, li x1, 0x3000; flw f1, 0x10(x1); ecall)
    li t0, SUM
    csrc mstatus, t0
    li gp, 66
    fmv.x.d x14, f1
    CHECK_EQ(x14, 0xffffffff40400000)
    # hardware A and D: an FP load sets A, an FP store D
    TEST_CASE(67, x14, 0, GET_PTE(x14, pt_l0, 5); andi x14, x14, PTE_A | PTE_D)
    EXPECT_TRAP_IN(68, PRIV_S, 9, li x1, 0x5000; fld f1, 0x10(x1); ecall)
    TEST_CASE(69, x14, PTE_A, GET_PTE(x14, pt_l0, 5); andi x14, x14, PTE_A | PTE_D)
    EXPECT_TRAP_IN(70, PRIV_S, 9, li x1, 0x5000; li x2, 0x3f800000; fmv.w.x f6, x2; fsw f6, 0x10(x1); ecall)
    TEST_CASE(71, x14, PTE_A | PTE_D, GET_PTE(x14, pt_l0, 5); andi x14, x14, PTE_A | PTE_D)
    TEST_CASE(72, x14, 0x3f800000, la x1, page_d; lwu x14, 0x10(x1))
    # a misaligned fld spanning two pages (0x1ffc: the end of page_a, the start of page_b)
    la t2, page_a
    li t3, 0x1122334455667788
    li t4, 0xff8
    add t2, t2, t4
    sd t3, 0(t2)
    la t2, page_b
    li t3, 0xddccbbaa
    sw t3, 0(t2)
    EXPECT_TRAP_IN(73, PRIV_S, 9, li x1, 0x1ffc; fld f1, 0(x1); ecall)
    li gp, 74
    fmv.x.d x14, f1
    CHECK_EQ(x14, 0xddccbbaa11223344)
    # ... and a misaligned fsd into the read-only page: a store page fault (mtval: the access's address
    # or the first byte in the faulting page: the spec allows both)
    EXPECT_TRAP_IN(75, PRIV_S, 15, li x1, 0x1ffc; fsd f1, 0(x1))
    li x7, 0x1ffc
    beq s4, x7, 1f
    CHECK_TVAL(0x2000)
1:

    # ---- FS Off: the same accesses are illegal instructions, mapped or not
    SET_FS(FS_OFF)
    EXPECT_TRAP_IN(76, PRIV_S, 2, li x1, 0x4000; 1: flw f1, 8(x1))            # unmapped
    CHECK_ILLEGAL_AT_1B
    EXPECT_TRAP_IN(77, PRIV_S, 2, li x1, 0x2000; 1: fsd f1, 0x10(x1))         # read-only
    CHECK_ILLEGAL_AT_1B
    EXPECT_TRAP_IN(78, PRIV_S, 2, li x1, 0x1000; 1: fld f1, 0x10(x1))         # mapped
    CHECK_ILLEGAL_AT_1B
    EXPECT_TRAP_IN(79, PRIV_S, 2, li x1, 0x1ffc; 1: fld f1, 0(x1))            # misaligned, two pages
    CHECK_ILLEGAL_AT_1B
    EXPECT_TRAP_U(80, 2, li x1, 0x4000; 1: fsw f1, 0(x1))
    li x7, ALIAS_OFF
    sub s3, s3, x7
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    lwu x7, 0(x7)
    CHECK_EQ_REG(s4, x7)
    EXPECT_TRAP_U(81, 2, li x1, 0x3000; fld f1, 0x10(x1))                     # a U page
    EXPECT_TRAP_U(82, 2, li x1, 0x1000; fld f1, 0x10(x1))                     # an S page
    CHECK_FS_SD(83, FS_OFF, 0)
    SET_FS(FS_DIRTY)

    # ---- U: FP loads and stores through U pages; S pages and read-only pages fault
    EXPECT_TRAP_U(84, 8, li x1, 0x3000; flw f1, 0x10(x1); fsd f1, 0x20(x1); ecall)
    TEST_CASE(85, x14, 0xffffffff40400000, la x1, page_c; ld x14, 0x20(x1))
    EXPECT_TRAP_U(86, 8, li x1, 0x6000; fld f3, 0x10(x1); ecall)
    li gp, 87
    fmv.x.d x14, f3
    CHECK_EQ(x14, 0x4014000000000000)
    EXPECT_TRAP_U(88, 15, li x1, 0x6000; fsd f3, 0x10(x1))                    # U, read-only
    CHECK_TVAL(0x6010)
    EXPECT_TRAP_U(89, 13, li x1, 0x1000; fld f3, 0x10(x1))                    # an S page
    CHECK_TVAL(0x1010)
    EXPECT_TRAP_U(90, 15, li x1, 0x1000; fsw f3, 0x10(x1))
    CHECK_TVAL(0x1010)
    EXPECT_TRAP_U(91, 13, li x1, 0x4000; 1: flw f3, 0xc(x1))                  # unmapped
    CHECK_TVAL(0x400c)
    li x7, ALIAS_OFF
    sub s3, s3, x7
    la x7, 1b
    CHECK_EQ_REG(s3, x7)
    EXPECT_TRAP_U(92, 15, li s0, 0x4000; .option push; .option rvc; c.fsd f9, 0x30(s0); c.nop; .option pop)
    CHECK_TVAL(0x4030)
    # U with FS Initial: its first FP load makes FS Dirty
    SET_FS(FS_INITIAL)
    EXPECT_TRAP_U(93, 8, li x1, 0x3000; fld f4, 0x20(x1); ecall)
    CHECK_FS_SD(94, FS_DIRTY, 1)
    li gp, 95
    fmv.x.d x14, f4
    CHECK_EQ(x14, 0xffffffff40400000)

    # ---- MPRV with MPP = S: M's FP loads and stores are translated (and fault with the VA)
    li t0, 0x1800
    csrc mstatus, t0
    li t0, (PRIV_S << 11) | MPRV
    csrs mstatus, t0
    li x1, 0x1000
    fld f5, 0x10(x1)
    li t0, MPRV
    csrc mstatus, t0
    li gp, 96
    fmv.x.d x14, f5
    CHECK_EQ(x14, 0x3ff0000000000000)
    li t0, 0x1800
    csrc mstatus, t0
    li t0, (PRIV_S << 11) | MPRV
    csrs mstatus, t0
    EXPECT_TRAP(97, 15, li x1, 0x2000; fsd f5, 0x30(x1))
    CHECK_TVAL(0x2030)
    li t0, MPRV
    csrc mstatus, t0

    csrw satp, zero
    sfence.vma
    TEST_PASSFAIL
    TRAP_HANDLER_M

/* f10 += 64 * f2, in a loop (fadd.d without an rm operand: rm = dyn) */
    .balign 4
hot_loop:
    li t3, 64
hot_fadd:
    fadd.d f10, f10, f2
    addi t3, t3, -1
    bnez t3, hot_fadd
    ret

/* S-mode handler for the lazy FP tests: count, record, FS = Initial, retry the instruction */
    .balign 4
s_handler:
    addi s7, s7, 1
    csrr s8, scause
    csrr s9, stval
    csrr s11, sepc
    li t0, 2
    bne s8, t0, fail
    li t0, FS_INITIAL
    csrs sstatus, t0
    sret

    .data
    .balign 64
fp_data:
    .dword 0x40490fdb40490fdb, 0x4005bf0a8b145769, 0, 0, 0

    .bss
    .balign 4096
pt_root: .skip 4096
pt_l1:   .skip 4096
pt_l0:   .skip 4096
page_a:  .skip 4096
page_b:  .skip 4096
page_c:  .skip 4096
page_d:  .skip 4096
page_e:  .skip 4096
