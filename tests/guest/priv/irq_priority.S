# Interrupt priority: with MSI, MTI, SEI, SSI and STI all pending and
# enabled (none delegated), M-mode takes them in the order
# MSI (3) > MTI (7) > SEI (9) > SSI (1) > STI (5)  (MEI is not generated:
# there is no PLIC).  The handler clears each source as it is taken.
# KNOWN QEMU 7.2 DIFFERENCE: without AIA, QEMU 7.2 picks the lowest-numbered
# pending interrupt (1, 3, 5, 7, 9), so this program exits with code 38
# under QEMU.  numbavm follows the privileged spec order.
# The code is shared with interrupts.S.
#define TEST_PRIORITY_ONLY
#include "interrupts.S"
