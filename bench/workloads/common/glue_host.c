/* host glue (only used to compute/verify expected checksums natively):
 *   cc -O2 -Icommon common/glue_host.c common/bench_main.c sieve.c */
#include <stddef.h>
#include <unistd.h>
void bench_write(const char *s, size_t n) { (void)!write(1, s, n); }
