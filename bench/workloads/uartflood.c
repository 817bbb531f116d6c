/* UART flood: BYTES bytes written to the NS16550A transmit register at
 * 0x1000_0000 (QEMU virt's UART), each after polling the line status register
 * until THRE (bit 5) is set: two MMIO accesses per byte, each of which leaves
 * numbavm's compiled loop for the Python device model.  The bytes are a
 * pattern the bench harness regenerates and compares with what the console
 * received (uartflood_expected() in bench/harness.py); the checksum is a
 * fold of the bytes sent.  Bare-metal on numbavm only (no HTIF on QEMU virt). */
#include "bench.h"

#define BYTES 100000u
#define UART ((volatile uint8_t *)0x10000000ul)
#define THR 0
#define LSR 5
#define LSR_THRE 0x20

const char bench_name[] = "uartflood";
const uint64_t bench_expected = 0x000000000077fbadull;

uint64_t workload(void)
{
    uint64_t check = 0;
    for (uint32_t i = 0; i < BYTES; i++) {
        /* 79 printable characters, then a newline */
        uint8_t c = (i % 80 == 79) ? '\n' : (uint8_t)('!' + (i * 7 + i / 80) % 94);
        while (!(UART[LSR] & LSR_THRE))
            ;
        UART[THR] = c;
        check += c;
    }
    return check;
}
