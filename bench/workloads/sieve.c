/* Sieve of Eratosthenes over [0, 2^20), repeated ROUNDS times.
 * Checksum: sum over rounds of (prime count * round + sum of the last
 * 64 primes found). */
#include "bench.h"

#define N (1u << 20)
#define ROUNDS 22

const char bench_name[] = "sieve";
const uint64_t bench_expected = 0x000000005931e2e5ull;

static uint8_t composite[N];

uint64_t workload(void)
{
    uint64_t check = 0;
    for (uint32_t r = 1; r <= ROUNDS; r++) {
        for (uint32_t i = 0; i < N; i++)
            composite[i] = 0;
        uint32_t count = 0;
        for (uint32_t i = 2; i < N; i++) {
            if (composite[i])
                continue;
            count++;
            for (uint64_t j = (uint64_t)i * i; j < N; j += i)
                composite[j] = 1;
        }
        uint64_t tail = 0;
        uint32_t found = 0;
        for (uint32_t i = N - 1; i > 1 && found < 64; i--)
            if (!composite[i]) {
                tail += i;
                found++;
            }
        check += (uint64_t)count * r + tail;
    }
    return check;
}
