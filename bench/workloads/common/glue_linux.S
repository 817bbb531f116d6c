# Linux user-level glue: _start calls main and exits with its return value
# (exit syscall, a7 = 93); bench_write uses the write syscall (a7 = 64).
# Preprocessed (.S): the F/D builds also get bench_fpu_on.
    .text
    .globl _start
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$   # the default linker script relaxes to gp
    .option pop
    call    main
    li      a7, 93
    ecall
1:  j       1b

    .globl bench_write
bench_write:                # a0 = buf, a1 = len
    mv      a2, a1
    mv      a1, a0
    li      a0, 1
    li      a7, 64
    ecall
    ret

#ifdef __riscv_flen
    .globl bench_fpu_on
bench_fpu_on:               # F/D builds: Linux gives a user process the FPU on
    ret
#endif
