/* numbavm guest runtime: HTIF console and exit. */
#ifndef NUMBAVM_HTIF_H
#define NUMBAVM_HTIF_H
#include <stdint.h>

extern volatile uint64_t tohost;
extern volatile uint64_t fromhost;

/* Exit the machine with status `code` (tohost = (code << 1) | 1). */
void htif_exit(int code) __attribute__((noreturn));
/* Console output: tohost = (1 << 56) | (1 << 48) | c, then wait for the
   host to clear tohost. */
void htif_putchar(int c);
void htif_puts(const char *s);                 /* no newline added */
void htif_put_hex(uint64_t v);                 /* 0x + 16 hex digits */
void htif_put_udec(uint64_t v);
void htif_put_dec(int64_t v);

static inline uint64_t rdinstret(void) {
    uint64_t v; __asm__ volatile("csrr %0, minstret" : "=r"(v)); return v;
}
static inline uint64_t rdcycle(void) {
    uint64_t v; __asm__ volatile("csrr %0, mcycle" : "=r"(v)); return v;
}
#endif
