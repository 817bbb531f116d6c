/* The SiFive test device ("finisher") at 0x0010_0000.
 *
 * One source, three programs (build.sh builds each with its -D flag):
 *   dev_poweroff  -DTESTDEV_POWEROFF  writes 0x5555
 *   dev_reboot    -DTESTDEV_REBOOT    writes 0x7777
 *   dev_fail      -DTESTDEV_FAIL      writes 0x3333 | 7 << 16 (fail, code 7)
 * Each prints "testdev: <what>" through HTIF, makes one 32-bit write to the
 * device, and then spins forever: the write alone must end the run.  (If it
 * does not, the program never exits; a host sees its instruction budget run out.)
 * QEMU spike has no test device at this address, so build.sh --check skips them;
 * tests/test_device_programs.py runs them.
 */
#include <stdint.h>
#include "htif.h"

#define TEST_DEVICE (*(volatile uint32_t *)0x00100000UL)

#if defined(TESTDEV_POWEROFF)
#define WHAT "poweroff"
#define VALUE 0x5555u
#elif defined(TESTDEV_REBOOT)
#define WHAT "reboot"
#define VALUE 0x7777u
#elif defined(TESTDEV_FAIL)
#define WHAT "fail 7"
#define VALUE (0x3333u | 7u << 16)
#else
#error "build with -DTESTDEV_POWEROFF, -DTESTDEV_REBOOT or -DTESTDEV_FAIL"
#endif

int main(void)
{
    htif_puts("testdev: " WHAT "\n");
    TEST_DEVICE = VALUE;
    for (;;)
        __asm__ volatile("");
}
