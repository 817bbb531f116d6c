/* Quicksort of pseudo-random 32-bit ints (xorshift): median-of-three Hoare
 * partitioning, recursion on the smaller part and a loop on the larger one
 * (stack depth <= log2 N), insertion sort below 16 elements.  Data-dependent
 * branches on every comparison.  ROUNDS arrays of N ints, each checked to be
 * sorted.  Checksum: a position-weighted sum of every sorted array (a sort
 * that loses or invents an element changes it), 0 if any array is unsorted. */
#include "bench.h"

#define N (1u << 17)                  /* 128 Ki ints = 512 KiB */
#define ROUNDS 9

const char bench_name[] = "qsort";
const uint64_t bench_expected = 0xdc9e01163e1ac955ull;

static int32_t v[N];

static void insertion(int32_t *a, long n)
{
    for (long i = 1; i < n; i++) {
        int32_t x = a[i];
        long j = i - 1;
        while (j >= 0 && a[j] > x) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = x;
    }
}

static void quicksort(int32_t *a, long n)
{
    while (n > 16) {
        long m = n / 2;
        /* median of three into a[m] */
        if (a[m] < a[0]) { int32_t t = a[m]; a[m] = a[0]; a[0] = t; }
        if (a[n - 1] < a[m]) {
            int32_t t = a[m]; a[m] = a[n - 1]; a[n - 1] = t;
            if (a[m] < a[0]) { t = a[m]; a[m] = a[0]; a[0] = t; }
        }
        int32_t p = a[m];
        long i = -1, j = n;
        for (;;) {
            do i++; while (a[i] < p);
            do j--; while (a[j] > p);
            if (i >= j)
                break;
            int32_t t = a[i]; a[i] = a[j]; a[j] = t;
        }
        /* [0, j] and [j+1, n) */
        long left = j + 1;
        if (left < n - left) {
            quicksort(a, left);
            a += left;
            n -= left;
        } else {
            quicksort(a + left, n - left);
            n = left;
        }
    }
    insertion(a, n);
}

uint64_t workload(void)
{
    uint64_t x = 0x0123456789abcdefull, check = 0;
    for (uint32_t r = 0; r < ROUNDS; r++) {
        for (uint32_t i = 0; i < N; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* odd rounds: a narrow range, many equal keys */
            v[i] = (r & 1) ? (int32_t)(x % 1000) - 500 : (int32_t)(x >> 32);
        }
        quicksort(v, N);
        uint64_t s = 0;
        for (uint32_t i = 0; i < N; i++) {
            if (i && v[i - 1] > v[i])
                return 0;                     /* not sorted: a wrong answer */
            s += (uint64_t)(int64_t)v[i] * (i + 1);
        }
        check = (check << 9 | check >> 55) ^ s ^ r;
    }
    return check;
}
