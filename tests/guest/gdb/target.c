/* numbavm GDB test target (tests/test_gdbstub.py). Built with debug info (-O0 -g), unlike
 * the other programs, so that GDB can set breakpoints by symbol and read variables.
 *
 * Without a debugger it prints "result = 4", "counter = 4", "sum = 10" and exits 0.
 * The GDB tests change x to 5 in scale() (result = counter = 16), watch `counter` (written
 * by bump), watch `table` reads (in total), and use `spin` to keep the guest busy while
 * they interrupt it.
 */
#include "htif.h"

volatile long counter;           /* written once, by bump() */
volatile long spin;              /* non-zero: main spins until it is cleared again */
long table[4] = {1, 2, 3, 4};

long scale(long x)
{
    long y = x * 3;
    return y + 1;
}

void bump(long n)
{
    counter = counter + n;
}

long total(void)
{
    long sum = 0;
    for (int i = 0; i < 4; i++)
        sum += table[i];
    return sum;
}

int main(void)
{
    long x = 1;
    long r = scale(x);
    bump(r);
    long sum = total();
    while (spin)
        ;
    htif_puts("result = ");
    htif_put_dec(r);
    htif_puts("\ncounter = ");
    htif_put_dec(counter);
    htif_puts("\nsum = ");
    htif_put_dec(sum);
    htif_puts("\n");
    return 0;
}
