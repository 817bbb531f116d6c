/* Pointer chasing: a random cyclic permutation (Sattolo's algorithm, xorshift
 * random numbers) of N 32-bit indices, 4 MiB in all (more than the host's L2),
 * followed STEPS times from a few starting points: every load depends on the
 * previous one, and consecutive loads land on unrelated cache lines.
 * Checksum: the sum (and an xor-rotate fold) of the indices visited, plus the
 * cycle length seen from element 0 (it must be N: one cycle). */
#include "bench.h"

#define N (1u << 20)                  /* 1 Mi entries x 4 bytes = 4 MiB */
#define STEPS 6000000u                /* per walk */
#define WALKS 4

const char bench_name[] = "ptrchase";
const uint64_t bench_expected = 0x9b026bd804431ff8ull;

static uint32_t next[N];

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rand32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

uint64_t workload(void)
{
    for (uint32_t i = 0; i < N; i++)
        next[i] = i;
    /* Sattolo: a uniformly random permutation with exactly one cycle */
    for (uint32_t i = N - 1; i > 0; i--) {
        uint32_t j = rand32() % i;          /* 0 <= j < i */
        uint32_t t = next[i];
        next[i] = next[j];
        next[j] = t;
    }
    uint64_t check = 0;
    /* one full turn from 0: the cycle length */
    uint32_t len = 0, p = 0;
    do {
        p = next[p];
        len++;
    } while (p != 0 && len <= N);
    check += len;
    for (uint32_t w = 0; w < WALKS; w++) {
        uint32_t q = rand32() % N;
        uint64_t sum = 0, fold = 0;
        for (uint32_t s = 0; s < STEPS; s++) {
            q = next[q];
            sum += q;
        }
        fold = (fold << 7 | fold >> 57) ^ q;
        check = (check << 13 | check >> 51) ^ sum ^ (fold << 32) ^ w;
    }
    return check;
}
