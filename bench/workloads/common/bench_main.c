/* numbavm bench runtime: calls workload(), reports, returns the exit code.
 * Output goes through bench_write(), provided by the bare-metal (HTIF) or
 * the Linux (write syscall) glue. */
#include "bench.h"

void bench_write(const char *s, size_t n);
#ifdef __riscv_flen
void bench_fpu_on(void);    /* the F/D builds: the glue turns the FPU on before workload() */
#endif

static void put(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    bench_write(s, n);
}

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

#ifdef BENCH_MEASURE
uint64_t bench_instret(void);

static void put_udec(uint64_t v)
{
    char b[21];
    int i = 20;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(&b[i]);
}
#endif

int main(void)
{
#ifdef __riscv_flen
    bench_fpu_on();
#endif
    uint64_t sum = workload();
    int ok = sum == bench_expected;
    char hex[19];
    hex[0] = '0';
    hex[1] = 'x';
    for (int i = 0; i < 16; i++)
        hex[2 + i] = "0123456789abcdef"[(sum >> (60 - 4 * i)) & 15];
    hex[18] = 0;
    put(bench_name);
    put(ok ? ": ok checksum=" : ": MISMATCH checksum=");
    put(hex);
#ifdef BENCH_MEASURE
    put(" minstret=");
    put_udec(bench_instret());
#endif
    put("\n");
    return ok ? 0 : 1;
}
