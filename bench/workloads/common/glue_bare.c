/* bare-metal glue: output through HTIF (tests/guest/common/htif.c). */
#include <stddef.h>
#include "htif.h"

void bench_write(const char *s, size_t n)
{
    while (n--)
        htif_putchar(*s++);
}

/* only used by measurement builds (-DBENCH_MEASURE): under
 * qemu-system-riscv64 -icount shift=0, minstret counts retired instructions */
uint64_t bench_instret(void)
{
    return rdinstret();
}
