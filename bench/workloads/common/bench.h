/* numbavm bench workloads: each workload NAME.c defines
 *   const char bench_name[];          short name
 *   const uint64_t bench_expected;    checksum of a correct run
 *   uint64_t workload(void);          the measured work, returns a checksum
 * The runtime (bench_bare.c or bench_linux.c) calls workload(), prints one
 * line "NAME: ok checksum=0x..." (or "MISMATCH") and exits 0 on match, 1
 * otherwise.  No libc: only fixed-width integer arithmetic. */
#ifndef NUMBAVM_BENCH_H
#define NUMBAVM_BENCH_H
#include <stdint.h>
#include <stddef.h>

extern const char bench_name[];
extern const uint64_t bench_expected;
uint64_t workload(void);

/* the compiler may emit calls to these */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

#endif
