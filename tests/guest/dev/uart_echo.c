/* The NS16550A UART at 0x1000_0000 (QEMU virt layout), polled.
 *
 * Programs the line (8N1, divisor 1), checks the scratch register and LSR,
 * prints "uart ready", then echoes what it receives, upper-cased, until it
 * reads 'q'.  Exit code: 0 ok, 2 scratch register broken, 3 LSR.THRE clear.
 * Needs input, so build.sh --check (QEMU spike has no UART) does not run it;
 * tests/test_uart.py feeds it through the lifecycle's serial socket.
 */
#define UART ((volatile unsigned char *)0x10000000UL)
enum { RBR_THR = 0, IER = 1, FCR = 2, LCR = 3, LSR = 5, SCR = 7 };

static void uputc(char c)
{
    while (!(UART[LSR] & 0x20))
        ;
    UART[RBR_THR] = (unsigned char)c;
}

static int ugetc(void)
{
    while (!(UART[LSR] & 0x01))
        ;
    return UART[RBR_THR];
}

static void uputs(const char *s)
{
    while (*s)
        uputc(*s++);
}

int main(void)
{
    UART[LCR] = 0x80;           /* DLAB: divisor latch */
    UART[RBR_THR] = 1;          /* DLL */
    UART[IER] = 0;              /* DLM */
    UART[LCR] = 0x03;           /* 8N1 */
    UART[FCR] = 0x07;           /* FIFOs on, cleared */
    UART[IER] = 0;              /* polled */
    UART[SCR] = 0x5a;
    if (UART[SCR] != 0x5a)
        return 2;
    if (!(UART[LSR] & 0x20))
        return 3;
    uputs("uart ready\n");
    for (;;) {
        int c = ugetc();
        if (c == 'q')
            break;
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        uputc((char)c);
    }
    uputs("bye\n");
    return 0;
}
