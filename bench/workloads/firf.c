/* A single-precision filter: a 32-tap FIR (flw + fmadd.s per tap) followed by
 * a biquad IIR section (its feedback makes every output depend on the rounding
 * of all earlier ones) over an 8192-sample signal, ROUNDS times; after each
 * round the output is normalised to a fixed RMS (fsqrt.s, fdiv.s), quantised
 * to 16 bits (fcvt.w.s) and fed back as the next round's input with a little
 * LCG noise (fcvt.s.w).  Checksum: the bits of each round's RMS and every
 * 512th sample, and the sum of the quantised samples, folded. */
#include "bench.h"

#define TAPS 32
#define LEN 8192
#ifdef BENCH_TINY
#define ROUNDS 2
const uint64_t bench_expected = 0x77634c58c8a50b74ull;
#else
#define ROUNDS 150
const uint64_t bench_expected = 0xd0d181364d9ccf5dull;
#endif

const char bench_name[] = "firf";

/* page-aligned: not on the code's page (see README.md) */
static float h[TAPS] __attribute__((aligned(4096))), sig[LEN + TAPS], out[LEN];

static uint32_t fbits(float f)
{
    union { float f; uint32_t u; } v = {f};
    return v.u;
}

uint64_t workload(void)
{
    uint32_t x = 12345;
    /* a low-pass: a triangular window, normalised to unit DC gain */
    float sum = 0.0f;
    for (int k = 0; k < TAPS; k++) {
        h[k] = (float)((k + 1) * (TAPS - k));
        sum += h[k];
    }
    for (int k = 0; k < TAPS; k++)
        h[k] = h[k] / sum;
    for (int n = 0; n < LEN + TAPS; n++) {
        x = x * 1103515245u + 12345u;
        sig[n] = (float)(int16_t)(x >> 16) * (1.0f / 32768.0f) + (float)(n % 97) * 0.01f;
    }
    const float b0 = 0.2929f, b1 = 0.5858f, b2 = 0.2929f, a1 = -0.1716f, a2 = 0.1716f;
    uint64_t check = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (int n = 0; n < LEN; n++) {
            float acc = 0.0f;
            for (int k = 0; k < TAPS; k++)
                acc += h[k] * sig[n + k];
            out[n] = acc;
        }
        float x1 = 0.0f, x2 = 0.0f, y1 = 0.0f, y2 = 0.0f, e = 0.0f;
        for (int n = 0; n < LEN; n++) {
            float x0 = out[n];
            float y0 = b0 * x0 + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
            x2 = x1;
            x1 = x0;
            y2 = y1;
            y1 = y0;
            out[n] = y0;
            e += y0 * y0;
        }
        float rms = __builtin_sqrtf(e / (float)LEN);
        float gain = 0.25f / rms;
        int64_t q = 0;
        for (int n = 0; n < LEN; n++) {
            int32_t s = (int32_t)(out[n] * gain * 32767.0f);
            q += s;
            x = x * 1103515245u + 12345u;
            sig[n + TAPS] = (float)s * (1.0f / 32768.0f) + (float)(int16_t)(x >> 16) * (1.0f / 1048576.0f);
        }
        for (int k = 0; k < TAPS; k++)
            sig[k] = sig[LEN + k];
        check = (check << 9 | check >> 55) ^ fbits(rms) ^ ((uint64_t)q << 32);
        for (int n = 0; n < LEN; n += 512)
            check = (check << 3 | check >> 61) ^ fbits(out[n]);
    }
    return check;
}
