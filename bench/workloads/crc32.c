/* Table-driven CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320) of a 64 KiB
 * pseudo-random buffer, ROUNDS times; the buffer is perturbed each round.
 * Checksum: the CRCs folded together. */
#include "bench.h"

#define LEN (64u * 1024u)
#define ROUNDS 440

const char bench_name[] = "crc32";
const uint64_t bench_expected = 0x99a5417de0591f44ull;

static uint32_t table[256];
static uint8_t buf[LEN];

static uint32_t crc32(const uint8_t *p, uint32_t n)
{
    uint32_t c = 0xffffffffu;
    while (n--)
        c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

uint64_t workload(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    uint32_t x = 12345;
    for (uint32_t i = 0; i < LEN; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    uint64_t check = 0;
    for (uint32_t r = 0; r < ROUNDS; r++) {
        buf[(r * 2654435761u) % LEN] ^= (uint8_t)r;
        uint32_t c = crc32(buf, LEN);
        check = (check << 7 | check >> 57) ^ c;
    }
    return check;
}
