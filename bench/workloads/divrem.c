/* Division/remainder mix: signed and unsigned, 64- and 32-bit
 * (div/divu/rem/remu/divw/divuw/remw/remuw) on pseudo-random operands,
 * including negative dividends/divisors and small divisors.
 * Checksum: all quotients and remainders folded together. */
#include "bench.h"

#define ITERS 5500000u

const char bench_name[] = "divrem";
const uint64_t bench_expected = 0x1ae3ef168e454626ull;

uint64_t workload(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    uint64_t check = 0;
    for (uint32_t i = 0; i < ITERS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t a = x;
        uint64_t b = (x >> 40) | 1;             /* nonzero divisor */
        int64_t sa = (int64_t)a;
        int64_t sb = (int64_t)(b >> (i & 15)) - 3000; /* small, maybe negative */
        if (sb == 0 || sb == -1)               /* no INT64_MIN / -1 (UB in C) */
            sb = 7;
        uint32_t a32 = (uint32_t)(a >> 17);
        uint32_t b32 = (uint32_t)(b >> 3) | 1;
        int32_t sa32 = (int32_t)a32;
        int32_t sb32 = (int32_t)(b32 >> (i & 7)) - 100000;
        if (sb32 == 0 || sb32 == -1)
            sb32 = -3;
        check += a / b;
        check ^= a % b;
        check += (uint64_t)(sa / sb);
        check ^= (uint64_t)(sa % sb);
        check += a32 / b32;
        check ^= a32 % b32;
        check += (uint64_t)(int64_t)(sa32 / sb32);
        check ^= (uint64_t)(int64_t)(sa32 % sb32);
        check = check << 1 | check >> 63;
    }
    return check;
}
