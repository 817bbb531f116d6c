/* CLINT timer interrupts at a programmed rate (M-mode).
 *
 * Timebase 10 MHz: a 1 ms period is 10000 mtime ticks.  Arms mtimecmp
 * (0x0200_4000) = mtime (0x0200_BFF8) + period, enables mie.MTIE and waits in
 * wfi.  The machine-timer-interrupt handler records mtime, re-arms
 * mtimecmp += period (drift-free: relative to the previous deadline, not to
 * the time the interrupt arrived), and after 20 interrupts disarms the timer
 * (mtimecmp = -1, MTIE off).  Then main prints, for each interrupt, its mtime,
 * how late it was (mtime - the mtimecmp it fired for) and the interval since
 * the previous one (the first: since arming), and checks that no interrupt
 * came early: mtime >= the mtimecmp it fired for, so each one is at least a
 * period after the previous deadline.  (The interval between two interrupts
 * can be shorter than a period when the first of them was late: lateness is
 * printed, not judged here, since under a host clock it depends on the host.
 * tests/test_device_programs.py checks it under the deterministic timer.)
 * Exit code: 0 ok, 2 an early interrupt, 4 a trap that is not the machine
 * timer interrupt (mcause printed).
 * Under numbavm's deterministic timer the output (and the instruction count)
 * is the same on every run.  Needs the CLINT (QEMU spike has one too, but
 * build.sh --check skips dev_* programs); tests/test_device_programs.py runs it.
 */
#include <stdint.h>
#include "htif.h"

#define CLINT_BASE 0x02000000UL
#define MTIMECMP (*(volatile uint64_t *)(CLINT_BASE + 0x4000))
#define MTIME    (*(volatile uint64_t *)(CLINT_BASE + 0xBFF8))

#define PERIOD 10000u          /* 1 ms at 10 MHz */
#define COUNT 20

#define MSTATUS_MIE (1ul << 3)
#define MIE_MTIE (1ul << 7)
#define MCAUSE_MTI ((1ul << 63) | 7)

#define csr_read(r) ({ uint64_t v_; __asm__ volatile("csrr %0, " #r : "=r"(v_)); v_; })
#define csr_write(r, v) __asm__ volatile("csrw " #r ", %0" :: "r"((uint64_t)(v)) : "memory")
#define csr_set(r, v) __asm__ volatile("csrs " #r ", %0" :: "r"((uint64_t)(v)) : "memory")
#define csr_clear(r, v) __asm__ volatile("csrc " #r ", %0" :: "r"((uint64_t)(v)) : "memory")

static volatile unsigned count;
static volatile uint64_t deadline;
static volatile uint64_t stamp[COUNT], armed[COUNT];

__attribute__((interrupt("machine"), aligned(4)))
static void trap_handler(void)
{
    uint64_t now = MTIME;
    uint64_t cause = csr_read(mcause);
    if (cause != MCAUSE_MTI) {
        htif_puts("unexpected trap, mcause ");
        htif_put_hex(cause);
        htif_puts("\n");
        htif_exit(4);
    }
    unsigned n = count;
    stamp[n] = now;
    armed[n] = deadline;
    count = ++n;
    if (n < COUNT) {
        deadline += PERIOD;
        MTIMECMP = deadline;    /* also clears mip.MTIP */
    } else {
        MTIMECMP = ~0ull;
        csr_clear(mie, MIE_MTIE);
    }
}

int main(void)
{
    csr_write(mtvec, (uintptr_t)trap_handler);
    MTIMECMP = ~0ull;
    uint64_t start = MTIME;
    deadline = start + PERIOD;
    MTIMECMP = deadline;
    csr_set(mie, MIE_MTIE);

    /* wfi with mstatus.MIE clear, so that the last interrupt cannot come
       between the test of `count` and wfi; it is taken once MIE is set. */
    for (;;) {
        csr_clear(mstatus, MSTATUS_MIE);
        if (count >= COUNT)
            break;
        __asm__ volatile("wfi");
        csr_set(mstatus, MSTATUS_MIE);
    }

    htif_puts("timer: ");
    htif_put_udec(count);
    htif_puts(" interrupts, period ");
    htif_put_udec(PERIOD);
    htif_puts(" ticks\n");
    int rc = 0;
    uint64_t prev = start;
    for (unsigned i = 0; i < COUNT; i++) {
        int64_t late = (int64_t)(stamp[i] - armed[i]);
        htif_puts("  ");
        htif_put_udec(i);
        htif_puts(": +");
        htif_put_udec(stamp[i] - start);
        htif_puts(" late ");
        htif_put_dec(late);
        htif_puts(" interval ");
        htif_put_udec(stamp[i] - prev);
        htif_puts("\n");
        prev = stamp[i];
        if (late < 0)
            rc = 2;
    }
    htif_puts(rc ? "timer: FAIL\n" : "timer: OK\n");
    return rc;
}
