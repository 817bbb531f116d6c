/*
 * Page tables for the privileged test programs that turn on virtual memory (priv/vm_*.S, pmp.S, fp_fs.S):
 * the PTE bits (priv. spec 4.3.1), a PTE store, and a U-mode run through a user alias of the code.
 * Include after test.h.
 */
#ifndef NUMBAVM_VM_H
#define NUMBAVM_VM_H

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_U 0x10
#define PTE_G 0x20
#define PTE_A 0x40
#define PTE_D 0x80

/* mstatus bits the programs flip */
#define MPRV (1 << 17)
#define SUM (1 << 18)
#define MXR (1 << 19)

/* table[index] = PTE(pa in register `pa`, flags: a 12-bit immediate); clobbers t0, t1 */
#define SET_PTE(table, index, pa, flags) \
    srli t0, pa, 12;                    \
    slli t0, t0, 10;                    \
    ori t0, t0, flags;                  \
    la t1, table;                       \
    sd t0, ((index) * 8)(t1)
#define GET_PTE(reg, table, index)  la reg, table; ld reg, ((index) * 8)(reg)

/* the programs map a U gigapage at VA 0xc0000000 onto PA 0x80000000, where the code is */
#define ALIAS_OFF 0x40000000

/* run `code` in U-mode at the alias address of the following code; the trap's cause must be `cause` */
#define EXPECT_TRAP_U(testnum, cause, code...)  \
test_##testnum:                                 \
    li TESTNUM, testnum;                        \
    la s10, 95f;                                \
    li s2, -1;                                  \
    li t0, 0x1800;                              \
    csrc mstatus, t0;                           \
    la t0, 93f;                                 \
    li t1, ALIAS_OFF;                           \
    add t0, t0, t1;                             \
    csrw mepc, t0;                              \
    mret;                                       \
    .balign 4;                                  \
93: code;                                       \
    j fail;                                     \
    .balign 4;                                  \
95: li x7, cause;                               \
    bne s2, x7, fail;

#endif
