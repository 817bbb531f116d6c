/* numbavm demo: prints a greeting and a few computed lines through HTIF. */
#include "htif.h"

static uint64_t fib(unsigned n)
{
    uint64_t a = 0, b = 1;
    while (n--) {
        uint64_t t = a + b;
        a = b;
        b = t;
    }
    return a;
}

static unsigned count_primes(unsigned limit)
{
    unsigned count = 0;
    for (unsigned n = 2; n < limit; n++) {
        unsigned d = 2;
        while (d * d <= n && n % d)
            d++;
        if (d * d > n)
            count++;
    }
    return count;
}

int main(void)
{
    htif_puts("Hello from numbavm!\n");
    htif_puts("fib(90)            = ");
    htif_put_udec(fib(90));
    htif_puts("\nprimes below 10000 = ");
    htif_put_udec(count_primes(10000));
    htif_puts("\n-123456789 * 1000  = ");
    htif_put_dec(-123456789LL * 1000);
    uint64_t misa;
    __asm__ volatile("csrr %0, misa" : "=r"(misa));
    htif_puts("\nmisa               = ");
    htif_put_hex(misa);
    htif_puts(" (RV64");
    for (int i = 0; i < 26; i++)
        if (misa & (1ull << i))
            htif_putchar('A' + i);
    htif_puts(")\n");
    htif_puts("Bye.\n");
    return (fib(90) == 2880067194370816120ull && count_primes(10000) == 1229) ? 0 : 1;
}
