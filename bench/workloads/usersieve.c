/* The Linux guest's `bench` built-in (lifecycle/guests/linux/init.c, cmd_bench) as a
 * bare-metal program: count the primes below N = 10^6 with a byte sieve,
 * ROUNDS times.  The same C, the same compiler flags as /init (-Os, see
 * build.sh) and nolibc's byte-loop memset, so that its instruction mix matches
 * `bench 1000000` run as a Linux user process: the bench's linux-user row
 * compares the two.  Checksum: the prime counts of every round (78498 each). */
#include "bench.h"

#define SIEVE_MAX (1 << 22)
#define ROUNDS 10

const char bench_name[] = "usersieve";
const uint64_t bench_expected = 10ull * 78498ull;

static char sieve[SIEVE_MAX];
static volatile long bench_n = 1000000;  /* init.c reads N with atol(): not a constant */

/* nolibc (tools/include/nolibc/string.h, 6.1); noipa: no constant propagation of
 * dst into it (in /init it is a separate, weak function), so the loop compiles to
 * the same four instructions per byte as there */
__attribute__((noipa))
static void *nolibc_memset(void *dst, int b, size_t len)
{
    char *p = dst;

    while (len--) {
        /* prevent gcc from recognizing memset() here */
        __asm__ volatile("");
        *(p++) = b;
    }
    return dst;
}

__attribute__((noipa))
static long cmd_bench(long n)
{
    long count = 0;

    nolibc_memset(sieve, 1, n);
    for (long i = 2; i * i < n; i++)
        if (sieve[i])
            for (long j = i * i; j < n; j += i)
                sieve[j] = 0;
    for (long i = 2; i < n; i++)
        count += sieve[i];
    return count;
}

uint64_t workload(void)
{
    uint64_t sum = 0;
    for (int r = 0; r < ROUNDS; r++)
        sum += (uint64_t)cmd_bench(bench_n);
    return sum;
}
