/* memcpy/memset of large buffers: word-at-a-time (8-byte loads and stores,
 * unrolled four times, as a libc does for aligned blocks) over two 2 MiB
 * buffers (4 MiB in all, more than the host's L2), with byte-wise heads and
 * tails at varying misalignments.  Each round fills A (memset), copies A to B
 * at an offset (memcpy), patches a few words, copies B back to A, and copies
 * 64 KiB between differently aligned addresses (a byte loop).
 * Checksum: sampled words each round plus a full hash of both buffers at the
 * end. */
#include "bench.h"

#define LEN (2u << 20)                /* bytes per buffer */
#define ROUNDS 80
#define SMALL (64u << 10)        /* bytes of the misaligned (byte-wise) copy */

const char bench_name[] = "memops";
const uint64_t bench_expected = 0xf102085f3e63bc68ull;

static uint64_t a_words[LEN / 8 + 8];
static uint64_t b_words[LEN / 8 + 8];

/* byte-wise head up to 8-byte alignment of d, then 32 bytes per iteration */
static void set_block(uint8_t *d, uint8_t c, size_t n)
{
    while (n && ((uintptr_t)d & 7)) {
        *d++ = c;
        n--;
    }
    uint64_t v = c * 0x0101010101010101ull;
    uint64_t *w = (uint64_t *)d;
    while (n >= 32) {
        w[0] = v;
        w[1] = v;
        w[2] = v;
        w[3] = v;
        w += 4;
        n -= 32;
    }
    d = (uint8_t *)w;
    while (n--)
        *d++ = c;
}

/* word copy when d and s are equally aligned, else a byte copy (as simple libcs do) */
static void copy_block(uint8_t *d, const uint8_t *s, size_t n)
{
    if ((((uintptr_t)d ^ (uintptr_t)s) & 7) == 0) {
        while (n && ((uintptr_t)d & 7)) {
            *d++ = *s++;
            n--;
        }
        uint64_t *w = (uint64_t *)d;
        const uint64_t *r = (const uint64_t *)s;
        while (n >= 32) {
            uint64_t x0 = r[0], x1 = r[1], x2 = r[2], x3 = r[3];
            w[0] = x0;
            w[1] = x1;
            w[2] = x2;
            w[3] = x3;
            w += 4;
            r += 4;
            n -= 32;
        }
        d = (uint8_t *)w;
        s = (const uint8_t *)r;
    }
    while (n--)
        *d++ = *s++;
}

uint64_t workload(void)
{
    uint8_t *a = (uint8_t *)a_words, *b = (uint8_t *)b_words;
    uint64_t check = 0, x = 0x9e3779b97f4a7c15ull;
    for (uint32_t r = 0; r < ROUNDS; r++) {
        uint32_t off = (r * 8) % 64;          /* equally aligned: word copies */
        uint32_t mis = r % 8;                 /* head/tail lengths vary */
        set_block(a + mis, (uint8_t)(r * 37 + 11), LEN - 64);
        copy_block(b + off + mis, a + mis, LEN - 64);
        for (int k = 0; k < 16; k++) {        /* patch a few words of B */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b_words[(x >> 20) % (LEN / 8)] ^= x;
        }
        copy_block(a, b + off, LEN - 64);     /* and back */
        copy_block(a + 1 + mis, b + 64, SMALL); /* misaligned: the byte loop */
        for (int k = 0; k < 64; k++) {        /* sample */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            uint32_t i = (uint32_t)(x >> 24) % (LEN - 64);
            check = (check << 5 | check >> 59) ^ a[i] ^ ((uint64_t)b[i] << 8);
        }
    }
    uint64_t h = 0;
    for (uint32_t i = 0; i < LEN / 8; i++)
        h = (h ^ a_words[i]) * 0x100000001b3ull + b_words[i];
    return check ^ h;
}
