/* Integer matrix multiply C = A * B (N x N, 32-bit wrapping arithmetic),
 * ROUNDS times with A perturbed between rounds.
 * Checksum: a position-weighted sum of C after each round. */
#include "bench.h"

#define N 64
#define ROUNDS 150

const char bench_name[] = "matmul";
const uint64_t bench_expected = 0x24d6de9498e2b129ull;

static int32_t A[N][N], B[N][N], C[N][N];

uint64_t workload(void)
{
    uint32_t x = 1;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            x = x * 1664525u + 1013904223u;
            A[i][j] = (int32_t)(x >> 8) % 1000 - 500;
            x = x * 1664525u + 1013904223u;
            B[i][j] = (int32_t)(x >> 8) % 1000 - 500;
        }
    uint64_t check = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                uint32_t s = 0;
                for (int k = 0; k < N; k++)
                    s += (uint32_t)A[i][k] * (uint32_t)B[k][j];
                C[i][j] = (int32_t)s;
            }
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                check += (uint64_t)(uint32_t)C[i][j] * (uint64_t)(i * N + j + 1);
        A[r % N][(r * 7) % N] += 1;
    }
    return check;
}
