/* Timer-interrupt-heavy code: a compute loop (xorshift + multiply-accumulate)
 * while the CLINT timer interrupts it every PERIOD ticks.  The M-mode handler
 * counts the interrupt and re-arms mtimecmp = mtime + PERIOD.  numbavm's
 * deterministic timer advances mtime by one tick per 10 instructions, so an
 * interrupt arrives about every 1000 instructions (the harness reports the
 * exact count).  The checksum is the compute loop's result and does not
 * depend on when the interrupts land; the run fails (checksum 0) if no
 * interrupt was taken or if the handler saw anything but a timer interrupt. */
#include "bench.h"

#define CLINT 0x02000000ul
#define MTIMECMP (*(volatile uint64_t *)(CLINT + 0x4000))
#define MTIME (*(volatile uint64_t *)(CLINT + 0xBFF8))
#define PERIOD 100
#define ITERS 8000000u

const char bench_name[] = "timerirq";
const uint64_t bench_expected = 0x2d39a2da50b30765ull;

static volatile uint64_t ticks, bad_cause;

__attribute__((interrupt("machine"), aligned(4)))
static void on_trap(void)
{
    uint64_t cause;
    __asm__ volatile("csrr %0, mcause" : "=r"(cause));
    if (cause == ((1ull << 63) | 7)) {
        ticks++;
        MTIMECMP = MTIME + PERIOD;
    } else {
        bad_cause = cause;
        MTIMECMP = ~0ull;
        uint64_t epc;                         /* skip the faulting instruction (4 bytes) */
        __asm__ volatile("csrr %0, mepc" : "=r"(epc));
        __asm__ volatile("csrw mepc, %0" : : "r"(epc + 4));
    }
}

uint64_t workload(void)
{
    __asm__ volatile("csrw mtvec, %0" : : "r"((uintptr_t)on_trap));
    MTIMECMP = MTIME + PERIOD;
    __asm__ volatile("csrs mie, %0" : : "r"(1ul << 7));      /* MTIE */
    __asm__ volatile("csrs mstatus, %0" : : "r"(1ul << 3));  /* MIE */
    uint64_t x = 0x9e3779b97f4a7c15ull, acc = 0;
    for (uint32_t i = 0; i < ITERS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc = acc * 31 + (x >> 11);
    }
    __asm__ volatile("csrc mstatus, %0" : : "r"(1ul << 3));
    MTIMECMP = ~0ull;
    if (ticks == 0 || bad_cause != 0)
        return 0;
    return acc ^ x;
}
