/* Double-precision matrix multiply C = A * B (64 x 64), ROUNDS times, A
 * changed between rounds.  The inner product is a chain of fmadd.d (gcc
 * contracts s += a*b: -ffp-contract=fast is GNU C's default); the matrices
 * come from an LCG through fcvt.d.w and a scaling multiply, with exponents
 * spread over 2^-12..2^12 so that the sums round at every step.
 * Checksum: the bits of every element of C after each round, folded. */
#include "bench.h"

#define N 64
#ifdef BENCH_TINY
#define ROUNDS 4
const uint64_t bench_expected = 0x20534e1281b19099ull;
#else
#define ROUNDS 185
const uint64_t bench_expected = 0xb0ae125e7bcd9a03ull;
#endif

const char bench_name[] = "dmatmul";

/* page-aligned: not on the code's page (see README.md) */
static double A[N][N] __attribute__((aligned(4096))), B[N][N], C[N][N];

static uint64_t bits(double d)
{
    union { double d; uint64_t u; } v = {d};
    return v.u;
}

/* an LCG step -> a double in (-1, 1) times 2^e, e in -12..12 */
static double next(uint32_t *x)
{
    *x = *x * 1664525u + 1013904223u;
    double m = (double)(int32_t)*x * (1.0 / 2147483648.0);
    int e = (int)(*x % 25u) - 12;
    double s = 1.0;
    for (; e > 0; e--)
        s *= 2.0;
    for (; e < 0; e++)
        s *= 0.5;
    return m * s;
}

uint64_t workload(void)
{
    uint32_t x = 1;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            A[i][j] = next(&x);
            B[i][j] = next(&x);
        }
    uint64_t check = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double s = 0.0;
                for (int k = 0; k < N; k++)
                    s += A[i][k] * B[k][j];
                C[i][j] = s;
            }
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                check = (check << 5 | check >> 59) ^ bits(C[i][j]);
        A[r % N][(r * 7) % N] = A[r % N][(r * 7) % N] * -1.25 + 0.375;
    }
    return check;
}
