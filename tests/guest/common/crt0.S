# numbavm guest runtime: entry point.
# M-mode, pc = 0x80000000.  Sets up sp, zeroes .bss, calls main(), and
# exits through HTIF with main's return value.  PMP is NOT touched here
# (see PMP_OPEN_ALL in test.h: only the programs that enter S/U need it).
    .section .text.init, "ax", @progbits
    .globl _start
_start:
    .option push
    .option norelax
    la      sp, _stack_top
    .option pop
    la      t0, __bss_start
    la      t1, __bss_end
2:  bgeu    t0, t1, 3f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       2b
3:  li      a0, 0
    li      a1, 0
    call    main
    tail    htif_exit

# HTIF mailbox (the host finds it through the ELF symbols).  NOBITS: its
# page is placed last by link.ld; RAM is zero at reset.
    .section .tohost, "aw", @nobits
    .balign 64
    .globl tohost
    .globl fromhost
    .type tohost, @object
    .size tohost, 8
    .type fromhost, @object
    .size fromhost, 8
tohost:   .skip 8
fromhost: .skip 8
