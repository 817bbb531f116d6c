/* The NS16550A UART at 0x1000_0000 with receive interrupts through the PLIC.
 *
 * M-mode.  Programs the line (8N1, divisor 1, FIFOs on with a 1-byte trigger),
 * IER = ERBFI only, the PLIC (priority of source 10 = 1, source 10 enabled in
 * context 0 = hart 0 M-mode, threshold 0), mie.MEIE, and then waits in wfi.
 * The main loop never looks at the UART: every input byte is read by the
 * machine-external-interrupt handler, which claims from context 0, reads RBR
 * while LSR.DR, echoes each byte upper-cased to THR, and completes the claim.
 * After 'q' (not echoed) it switches the receive interrupt off; main then
 * prints "interrupts N claims C spurious S lines L" and exits 0 through HTIF.
 *
 * Output (all through the UART): "uart irq ready\n", the echo, then the count line.
 * Exit code: 0 ok, 2 scratch register broken, 3 LSR.THRE clear, 4 a trap that
 * is not the machine external interrupt (mcause printed), 5 a claim of a
 * source other than 10.
 * Needs input and the qemu-virt UART/PLIC, so build.sh --check skips it;
 * tests/test_device_programs.py runs it.
 */
#include <stdint.h>
#include "htif.h"

#define UART ((volatile uint8_t *)0x10000000UL)
enum { RBR_THR = 0, IER = 1, FCR = 2, LCR = 3, LSR = 5, SCR = 7 };
enum { LSR_DR = 0x01, LSR_THRE = 0x20, IER_ERBFI = 0x01 };

#define UART_IRQ 10
#define PLIC_BASE 0x0C000000UL
#define PLIC_PRIORITY(s)   (*(volatile uint32_t *)(PLIC_BASE + 4 * (s)))
#define PLIC_ENABLE(c, w)  (*(volatile uint32_t *)(PLIC_BASE + 0x2000 + 0x80 * (c) + 4 * (w)))
#define PLIC_THRESHOLD(c)  (*(volatile uint32_t *)(PLIC_BASE + 0x200000 + 0x1000 * (c)))
#define PLIC_CLAIM(c)      (*(volatile uint32_t *)(PLIC_BASE + 0x200004 + 0x1000 * (c)))

#define MSTATUS_MIE (1ul << 3)
#define MIE_MEIE (1ul << 11)
#define MCAUSE_MEI ((1ul << 63) | 11)

#define csr_read(r) ({ uint64_t v_; __asm__ volatile("csrr %0, " #r : "=r"(v_)); v_; })
#define csr_write(r, v) __asm__ volatile("csrw " #r ", %0" :: "r"((uint64_t)(v)) : "memory")
#define csr_set(r, v) __asm__ volatile("csrs " #r ", %0" :: "r"((uint64_t)(v)) : "memory")
#define csr_clear(r, v) __asm__ volatile("csrc " #r ", %0" :: "r"((uint64_t)(v)) : "memory")

static volatile int done;
static volatile uint64_t interrupts, claims, spurious, lines;

/* Transmit is immediate on this UART (THRE always 1), so no wait here: the
   only LSR reads of the program are in the interrupt handler (and the one
   THRE check at start-up). */
static void uputc(char c)
{
    UART[RBR_THR] = (uint8_t)c;
}

static void uputs(const char *s)
{
    while (*s)
        uputc(*s++);
}

static void uput_udec(uint64_t v)
{
    char buf[21];
    int i = 20;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    uputs(&buf[i]);
}

__attribute__((interrupt("machine"), aligned(4)))
static void trap_handler(void)
{
    uint64_t cause = csr_read(mcause);
    if (cause != MCAUSE_MEI) {
        htif_puts("unexpected trap, mcause ");
        htif_put_hex(cause);
        htif_puts("\n");
        htif_exit(4);
    }
    interrupts++;
    uint32_t id = PLIC_CLAIM(0);
    if (id == 0) {
        spurious++;             /* nothing pending any more (allowed by the PLIC spec) */
        return;
    }
    if (id != UART_IRQ)
        htif_exit(5);
    claims++;
    while (UART[LSR] & LSR_DR) {
        int c = UART[RBR_THR];
        if (c == 'q') {
            UART[IER] = 0;      /* done: the line drops, whatever else is in the FIFO */
            done = 1;
            break;
        }
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        uputc((char)c);
        if (c == '\n')
            lines++;
    }
    PLIC_CLAIM(0) = id;         /* complete */
}

int main(void)
{
    UART[LCR] = 0x80;           /* DLAB: divisor latch */
    UART[RBR_THR] = 1;          /* DLL */
    UART[IER] = 0;              /* DLM */
    UART[LCR] = 0x03;           /* 8N1 */
    UART[FCR] = 0x07;           /* FIFOs on, cleared, RX trigger 1 byte */
    UART[IER] = 0;
    UART[SCR] = 0x5a;
    if (UART[SCR] != 0x5a)
        return 2;
    if (!(UART[LSR] & LSR_THRE))
        return 3;

    csr_write(mtvec, (uintptr_t)trap_handler);
    PLIC_PRIORITY(UART_IRQ) = 1;
    PLIC_ENABLE(0, UART_IRQ / 32) = 1u << (UART_IRQ % 32);
    PLIC_THRESHOLD(0) = 0;
    UART[IER] = IER_ERBFI;
    csr_set(mie, MIE_MEIE);
    uputs("uart irq ready\n");

    /* Wait with mstatus.MIE clear, so that an interrupt cannot slip in between
       the test of `done` and wfi (wfi wakes up on a pending interrupt even with
       MIE = 0); the interrupt is taken when MIE is set again. */
    for (;;) {
        csr_clear(mstatus, MSTATUS_MIE);
        if (done)
            break;
        __asm__ volatile("wfi");
        csr_set(mstatus, MSTATUS_MIE);
    }
    csr_clear(mie, MIE_MEIE);
    uputs("interrupts ");
    uput_udec(interrupts);
    uputs(" claims ");
    uput_udec(claims);
    uputs(" spurious ");
    uput_udec(spurious);
    uputs(" lines ");
    uput_udec(lines);
    uputs("\n");
    return 0;
}
