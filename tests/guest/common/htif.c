/* numbavm guest runtime: HTIF console and exit. */
#include "htif.h"

void htif_exit(int code)
{
    tohost = ((uint64_t)(uint32_t)code << 1) | 1;
    for (;;)
        tohost = ((uint64_t)(uint32_t)code << 1) | 1;
}

void htif_putchar(int c)
{
    tohost = (1ull << 56) | (1ull << 48) | (uint8_t)c;
    while (tohost != 0)
        ;
    fromhost = 0;
}

void htif_puts(const char *s)
{
    while (*s)
        htif_putchar(*s++);
}

void htif_put_hex(uint64_t v)
{
    htif_puts("0x");
    for (int i = 60; i >= 0; i -= 4)
        htif_putchar("0123456789abcdef"[(v >> i) & 15]);
}

void htif_put_udec(uint64_t v)
{
    char buf[21];
    int i = 20;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    htif_puts(&buf[i]);
}

void htif_put_dec(int64_t v)
{
    if (v < 0) {
        htif_putchar('-');
        htif_put_udec(-(uint64_t)v);
    } else {
        htif_put_udec((uint64_t)v);
    }
}
