# F/D: loads and stores (flw fld fsw fsd and the compressed c.fld c.fsd c.fldsp c.fsdsp), the transfer
# rules of NaN-boxing, the 32 f registers, fcsr/frm/fflags, accrued flags, x0 destinations, rd = rs.
#   - flw NaN-boxes; flw/fld/fsw/fsd/fmv move bits unchanged (a signalling NaN stays signalling, no flag);
#     fsw of an improperly boxed register stores its low 32 bits (spec 12.2: a narrower transfer out of an
#     f register ignores the upper bits); stores touch only their own bytes; offsets -2048..2047;
#     misaligned FP loads and stores in RAM complete (as integer ones do, in numbavm and QEMU).
#   - c.fld/c.fsd with every rs1'/rd' register and the largest offset (248), c.fldsp/c.fsdsp with f0/f31
#     and 504.
#   - fcsr = frm << 5 | fflags, the rest reads 0; fflags/frm writes keep the other field; csrrw/s/c and the
#     immediates return the old value; fsrm/fsflags/fscsr swap.
#   - flags accrue until written; an exact operation leaves them; rd = x0 writes nothing but flags.
# Runs in M, S and U, Bare and Sv39 (common/fp_test.h).  Exit code: see common/fp_test.h.
#include "fp_test.h"

/* x14 = the value `code` leaves there, compared with `expect` */
#define TC(n, expect, code...)          \
    addi TESTNUM, s11, n;               \
    code;                               \
    li x7, expect;                      \
    bne x14, x7, fail
/* the flags now */
#define FLAGS_ARE(flags)                \
    frflags x15;                        \
    li x7, flags;                       \
    bne x15, x7, fail

FP_MAIN

FP_BODY_BEGIN
    la s0, fp_buf

    # ---- flw boxes; loads and moves keep the bits of NaNs and raise no flag
    TC(1, 0xffffffff3f800000, jal t0, init_buf; li x1, 0x3f800000; sw x1, 0(s0); flw f3, 0(s0); fmv.x.d x14, f3)
    TC(2, 0xffffffff7f800001, li x1, 0x7f800001; sw x1, 4(s0); flw f3, 4(s0); fmv.x.d x14, f3)
    FLAGS_ARE(0)
    TC(3, 0x7ff0000000000001, li x1, 0x7ff0000000000001; sd x1, 8(s0); fld f3, 8(s0); fmv.x.d x14, f3)
    TC(4, 0x7ff0000000000001, fsd f3, 16(s0); ld x14, 16(s0))
    FLAGS_ARE(0)
    # fsw: the low 32 bits of any register, the word above untouched
    TC(5, 0xffffffff9abcdef0, li x1, -1; sd x1, 24(s0); li x1, 0x123456789abcdef0; fmv.d.x f3, x1;
       fsw f3, 24(s0); ld x14, 24(s0))
    TC(6, 0x7f800001ffffffff, li x1, -1; sd x1, 24(s0); li x1, 0x000000007f800001; fmv.d.x f3, x1;
       fsw f3, 28(s0); lwu x14, 24(s0); lwu x7, 28(s0); slli x7, x7, 32; or x14, x14, x7)
    FLAGS_ARE(0)
    # a stored single reloaded is boxed again
    TC(7, 0xffffffff7f800001, flw f4, 28(s0); fmv.x.d x14, f4)
    # fsd touches only its 8 bytes
    TC(8, 0x1122334455667788, jal t0, init_buf; li x1, 0x1122334455667788; fmv.d.x f3, x1; fsd f3, 8(s0);
       ld x14, 8(s0))
    TC(9, 0x0706050403020100, ld x14, 0(s0))
    TC(10, 0x1716151413121110, ld x14, 16(s0))

    # ---- offsets: -2048 and 2047 (and 2040 for an aligned fld/fsd)
    TC(11, 0x0f0e0d0c0b0a0908, jal t0, init_buf; addi a1, s0, 2047; addi a1, a1, 9; fld f3, -2048(a1);
       fmv.x.d x14, f3)
    TC(12, 0xffffffff0b0a0908, addi a1, s0, -2039; flw f3, 2047(a1); fmv.x.d x14, f3)
    TC(13, 0x0706050403020100, addi a1, s0, -2040; fld f5, 2040(a1); fmv.x.d x14, f5)
    TC(14, 0x171615141f1e1d1c, addi a1, s0, 2047; addi a1, a1, 17; flw f3, 28(s0); fsw f3, -2048(a1);
       ld x14, 16(s0))
    TC(15, 0x171615141f1e1d1c, fld f6, -2048(a1); addi a2, s0, -2032; fsd f6, 2040(a2); ld x14, 8(s0))
    TC(114, 0x1f1e1d1c03020100, addi a2, s0, -2043; fsw f6, 2047(a2); ld x14, 0(s0))

    # ---- misaligned FP loads and stores (in RAM: they complete)
    TC(16, 0xffffffff04030201, jal t0, init_buf; flw f3, 1(s0); fmv.x.d x14, f3)
    TC(17, 0x0a09080706050403, fld f3, 3(s0); fmv.x.d x14, f3)
    TC(18, 0xffffffff0e0d0c0b, flw f3, 11(s0); fmv.x.d x14, f3)
    TC(19, 0xbbccdd0403020100, li x1, 0xffffffffaabbccdd; fmv.d.x f3, x1; fsw f3, 5(s0); ld x14, 0(s0))
    TC(20, 0x0f0e0d0c0b0a09aa, ld x14, 8(s0))
    TC(21, 0x8806050403020100, jal t0, init_buf; li x1, 0x1122334455667788; fmv.d.x f3, x1; fsd f3, 7(s0);
       ld x14, 0(s0))
    TC(22, 0x0f11223344556677, ld x14, 8(s0))
    TC(23, 0x1122334455667788, fld f4, 7(s0); fmv.x.d x14, f4)

    # ---- compressed: c.fld / c.fsd with every rs1' and rd', offsets 0..248
    jal t0, init_cbuf
    la a6, fp_cbuf
    mv s1, a6
    mv a0, a6
    mv a1, a6
    mv a2, a6
    mv a3, a6
    mv a4, a6
    mv a5, a6
    mv s0, a6
    FP_RVC(c.fld f8, 0(s0); c.fld f9, 8(s1); c.fld f10, 16(a0); c.fld f11, 24(a1))
    FP_RVC(c.fld f12, 32(a2); c.fld f13, 40(a3); c.fld f14, 48(a4); c.fld f15, 248(a5))
    TC(24, 0x1000000000000000, fmv.x.d x14, f8)
    TC(25, 0x1000000000000001, fmv.x.d x14, f9)
    TC(26, 0x1000000000000002, fmv.x.d x14, f10)
    TC(27, 0x1000000000000003, fmv.x.d x14, f11)
    TC(28, 0x1000000000000004, fmv.x.d x14, f12)
    TC(29, 0x1000000000000005, fmv.x.d x14, f13)
    TC(30, 0x1000000000000006, fmv.x.d x14, f14)
    TC(31, 0x100000000000001f, fmv.x.d x14, f15)
    mv a0, a6                           # (x14 = a4 holds the results above)
    mv a4, a6
    FP_RVC(c.fsd f15, 0(s0); c.fsd f14, 8(s1); c.fsd f13, 16(a0); c.fsd f12, 24(a1))
    FP_RVC(c.fsd f11, 32(a2); c.fsd f10, 40(a3); c.fsd f9, 48(a4); c.fsd f8, 248(a5))
    TC(32, 0x100000000000001f, ld x14, 0(a6))
    TC(33, 0x1000000000000006, ld x14, 8(a6))
    TC(34, 0x1000000000000005, ld x14, 16(a6))
    TC(35, 0x1000000000000004, ld x14, 24(a6))
    TC(36, 0x1000000000000003, ld x14, 32(a6))
    TC(37, 0x1000000000000002, ld x14, 40(a6))
    TC(38, 0x1000000000000001, ld x14, 48(a6))
    TC(39, 0x1000000000000000, ld x14, 248(a6))
    # c.fldsp / c.fsdsp: sp-relative, offsets 0..504, any f register
    jal t0, init_cbuf
    mv a7, sp
    mv sp, a6
    FP_RVC(c.fldsp f0, 0(sp); c.fldsp f31, 504(sp); c.fldsp f17, 8(sp); c.nop)
    mv sp, a7
    TC(40, 0x1000000000000000, fmv.x.d x14, f0)
    TC(41, 0x100000000000003f, fmv.x.d x14, f31)
    TC(42, 0x1000000000000001, fmv.x.d x14, f17)
    mv sp, a6
    FP_RVC(c.fsdsp f31, 0(sp); c.fsdsp f0, 504(sp); c.fsdsp f17, 256(sp); c.nop)
    mv sp, a7
    TC(43, 0x100000000000003f, ld x14, 0(a6))
    TC(44, 0x1000000000000000, ld x14, 504(a6))
    TC(45, 0x1000000000000001, ld x14, 256(a6))
    la s0, fp_buf

    # ---- the 32 f registers are 32 registers, apart from the x registers
    li x28, 0x28
    li x29, 0x29
    li x30, 0x30
    li x31, 0x31
    li x5, 0x0101010101010101
    li x6, 0
    .irp r, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    add x6, x6, x5
    fmv.d.x f\r, x6
    .endr
    addi TESTNUM, s11, 46
    li x6, 0
    .irp r, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    add x6, x6, x5
    fmv.x.d x14, f\r
    bne x14, x6, fail
    .endr
    TC(47, 0x28, mv x14, x28)
    TC(48, 0x29, mv x14, x29)
    TC(49, 0x30, mv x14, x30)
    TC(50, 0x31, mv x14, x31)
    TC(51, 0x1f1f1f1f1f1f1f1f, fmv.d.x f31, x0; fmv.x.d x14, f30)
    TC(115, 0x0, fmv.x.d x14, f31)

    # ---- fcsr, frm, fflags
    TC(52, 0xff, li x1, -1; csrw fcsr, x1; csrr x14, fcsr)
    TC(53, 0x7, csrr x14, frm)
    TC(54, 0x1f, csrr x14, fflags)
    TC(55, 0xe0, csrw fflags, x0; csrr x14, fcsr)
    TC(56, 0x1f, csrw frm, x0; li x1, 0x3ff; csrw fflags, x1; csrr x14, fcsr)
    TC(57, 0x9f, li x1, 0xfc; csrw frm, x1; csrr x14, fcsr)
    TC(58, 0x4, csrr x14, frm)
    TC(59, 0x9f, csrrw x14, fcsr, x0)
    TC(60, 0x0, csrr x14, fcsr)
    TC(61, 0x0, li x1, 0x1ff; csrrw x14, fcsr, x1)
    TC(62, 0xff, csrr x14, fcsr)
    TC(63, 0x1f, li x1, 0x11; csrrc x14, fflags, x1)
    TC(64, 0xee, csrr x14, fcsr)
    TC(65, 0x0e, li x1, 0x10; csrrs x14, fflags, x1)
    TC(66, 0xfe, csrr x14, fcsr)
    TC(67, 0x7, csrrci x14, frm, 5)
    TC(68, 0x5e, csrr x14, fcsr)
    TC(69, 0x2, csrrsi x14, frm, 1)
    TC(70, 0x7e, csrr x14, fcsr)
    TC(71, 0x1e, csrrwi x14, fflags, 0x1)
    TC(72, 0x3, fsrmi x14, 2)
    TC(73, 0x41, frcsr x14)
    TC(74, 0x2, li x1, 4; fsrm x14, x1)
    TC(75, 0x1, li x1, 0x8; fsflags x14, x1)
    TC(76, 0x88, li x1, 0x0; fscsr x14, x1)
    TC(77, 0x1f, fsflagsi 0x1f; frflags x14)
    TC(78, 0x1f, fsflagsi x14, 0x3)
    TC(79, 0x3, frflags x14)
    TC(80, 0x5, fsrmi 5; frrm x14)
    TC(81, 0xa3, frcsr x14)
    TC(82, 0x0, fscsr x0; frcsr x14)

    # ---- flags accrue until written; exact operations and moves leave them
    li x1, 0x3ff0000000000000
    fmv.d.x f1, x1
    fmv.d.x f2, x0
    li x1, 0x3ca0000000000000
    fmv.d.x f4, x1
    TC(83, 0x7ff0000000000000, fdiv.d f3, f1, f2; fmv.x.d x14, f3)
    FLAGS_ARE(FFLAG_DZ)
    TC(84, 0x3ff0000000000000, fadd.d f3, f1, f4; fmv.x.d x14, f3)
    FLAGS_ARE(FFLAG_DZ | FFLAG_NX)
    TC(85, 0x4000000000000000, fadd.d f3, f1, f1; fld f5, 0(s0); fsd f5, 0(s0); fsgnjn.d f6, f1, f1;
       fmv.x.d x14, f3)
    FLAGS_ARE(FFLAG_DZ | FFLAG_NX)
    TC(86, 0x0, li x1, 0x7ff0000000000001; fmv.d.x f7, x1; fsgnj.d f6, f7, f7; fclass.d x14, f7; fmin.d f6, f1, f1;
       feq.d x14, f1, f2)
    FLAGS_ARE(FFLAG_DZ | FFLAG_NX)
    TC(87, 0x0, fsflags x0; frflags x14)

    # ---- rd = x0: no write, but the flags
    TC(88, 0x0, li x1, 0x7ff0000000000001; fmv.d.x f7, x1; fcvt.l.d x0, f7, rtz; mv x14, x0)
    FLAGS_ARE(FFLAG_NV)
    TC(89, 0x0, fsflags x0; flt.d x0, f7, f1; mv x14, x0)
    FLAGS_ARE(FFLAG_NV)
    TC(90, 0x0, fsflags x0; feq.d x0, f1, f1; fclass.d x0, f1; fmv.x.d x0, f1; fmv.x.w x0, f1; mv x14, x0)
    FLAGS_ARE(0)
    # rs1 = x0: the value 0
    TC(91, 0x0, fcvt.d.w f3, x0; fmv.x.d x14, f3)
    TC(92, 0xffffffff00000000, fmv.w.x f3, x0; fmv.x.d x14, f3)
    TC(93, 0x0, fcvt.s.lu f3, x0, rne; fmv.x.w x14, f3)

    # ---- rd = rs1 = rs2 (= rs3)
    li x1, 0x4000000000000000
    fmv.d.x f5, x1
    TC(94, 0x4010000000000000, fadd.d f5, f5, f5; fmv.x.d x14, f5)
    TC(95, 0x4034000000000000, fmadd.d f5, f5, f5, f5; fmv.x.d x14, f5)
    li x1, 0xffffffff40000000
    fmv.d.x f6, x1
    TC(96, 0xffffffff40800000, fmul.s f6, f6, f6; fmv.x.d x14, f6)
    TC(97, 0xffffffff40000000, fsqrt.s f6, f6; fmv.x.d x14, f6)
    TC(98, 0xffffffffc0000000, fsgnjn.s f6, f6, f6; fmv.x.d x14, f6)
    TC(99, 0x1, fle.s x14, f6, f6)
    FLAGS_ARE(0)
FP_BODY_END

/* fp_buf[i] = 0x00, 0x01, ..., 0x1f (32 bytes); clobbers x1, x7 */
init_buf:
    li x1, 0x0706050403020100
    li x7, 0x0808080808080808
    sd x1, 0(s0)
    add x1, x1, x7
    sd x1, 8(s0)
    add x1, x1, x7
    sd x1, 16(s0)
    add x1, x1, x7
    sd x1, 24(s0)
    jr t0
/* fp_cbuf[i] = 0x1000000000000000 + i (64 doublewords); clobbers x1, x7, x15 */
init_cbuf:
    la x15, fp_cbuf
    li x1, 0x1000000000000000
    li x7, 0x1000000000000040
1:  sd x1, 0(x15)
    addi x15, x15, 8
    addi x1, x1, 1
    bne x1, x7, 1b
    jr t0

    .data
    .balign 64
fp_buf: .skip 64
    .balign 64
fp_cbuf: .skip 512
