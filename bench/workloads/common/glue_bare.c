/* bare-metal glue: output through HTIF (tests/guest/common/htif.c). */
#include <stddef.h>
#include "htif.h"

void bench_write(const char *s, size_t n)
{
    while (n--)
        htif_putchar(*s++);
}

#ifdef __riscv_flen
/* F/D builds: mstatus.FS is Off at reset, and with FS Off every FP instruction
 * is illegal; Initial turns the FPU on (the first FP write makes it Dirty) */
void bench_fpu_on(void)
{
    __asm__ volatile("csrs mstatus, %0" : : "r"(1ul << 13));
}
#endif

/* only used by measurement builds (-DBENCH_MEASURE): under
 * qemu-system-riscv64 -icount shift=0, minstret counts retired instructions */
uint64_t bench_instret(void)
{
    return rdinstret();
}
