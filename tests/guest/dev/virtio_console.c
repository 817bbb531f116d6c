/* virtio-console over virtio-mmio version 2, polled (common/virtio_mmio.h).
 *
 * Finds the first console device (DeviceID 3) in the 8 slots at 0x10001000,
 * negotiates VERSION_1 (no console features: one port), sets up receiveq
 * (queue 0) and transmitq (queue 1), 8-entry split queues in .bss, both before
 * DRIVER_OK.  Sends "hello from virtio-console\n" on transmitq, then posts
 * four 16-byte receive buffers and echoes, upper-cased, on transmitq whatever
 * arrives, putting each buffer back on receiveq once it is used, until it
 * receives 'q' (not echoed).  Then prints "virtio-console: N bytes echoed"
 * through HTIF and exits 0.  Small buffers on purpose: a line longer than
 * 16 bytes spans several of them, and more than 64 bytes needs buffers that
 * were used and posted again.
 * Exit code: 0 ok, 2-7 a VIRTIO_E_* setup/transfer error (no device, no
 * VERSION_1, features refused, queue setup, timeout, NEEDS_RESET), 8 a used
 * element that names no posted buffer, 9 a used length above the buffer's.
 * Needs the virtio-mmio devices and input, so build.sh --check skips it;
 * tests/test_device_programs.py runs it.
 */
#include "htif.h"
#include "virtio_mmio.h"

#define VIRTIO_ID_CONSOLE 3
enum { RECEIVEQ = 0, TRANSMITQ = 1 };
#define NRX 4
#define RXLEN 16

static struct virtq rxq, txq;
static uint8_t rxbuf[NRX][RXLEN] __attribute__((aligned(16)));
static uint8_t txbuf[RXLEN] __attribute__((aligned(16)));
static const char greeting[] = "hello from virtio-console\n";

/* Make receive buffer i (descriptor i) available; the caller notifies. */
static void rx_post(unsigned i)
{
    rxq.desc[i].addr = (uintptr_t)rxbuf[i];
    rxq.desc[i].len = RXLEN;
    rxq.desc[i].flags = VIRTQ_DESC_F_WRITE;
    rxq.desc[i].next = 0;
    rxq.avail.ring[rxq.avail.idx % VQ_SIZE] = (uint16_t)i;
    __sync_synchronize();                       /* descriptor before the avail idx */
    rxq.avail.idx++;
    __sync_synchronize();
}

static int send(const void *p, uint32_t n)
{
    struct vbuf b = { (void *)p, n, 0 };
    uint32_t used;
    return virtq_run(&txq, TRANSMITQ, &b, 1, &used);
}

int main(void)
{
    uintptr_t base = virtio_find(VIRTIO_ID_CONSOLE);
    if (!base) {
        htif_puts("virtio-console: no device\n");
        return VIRTIO_E_NODEV;
    }
    uint64_t offered;
    int e = virtio_negotiate(base, 0, &offered);
    if (!e)
        e = virtq_init(base, RECEIVEQ, &rxq);
    if (!e)
        e = virtq_init(base, TRANSMITQ, &txq);
    if (!e)
        e = virtio_driver_ok(base);
    if (e) {
        htif_puts("virtio-console: setup failed\n");
        return e;
    }
    e = send(greeting, sizeof greeting - 1);
    if (e)
        return e;

    for (unsigned i = 0; i < NRX; i++)
        rx_post(i);
    vio_wr(base, VIRTIO_MMIO_QUEUE_NOTIFY, RECEIVEQ);

    uint64_t echoed = 0;
    for (;;) {
        /* no timeout: input comes when the host has some */
        while (*(volatile uint16_t *)&rxq.used.idx == rxq.last_used)
            if (vio_rd(base, VIRTIO_MMIO_STATUS) & VIRTIO_DEVICE_NEEDS_RESET)
                return VIRTIO_E_RESET;
        __sync_synchronize();
        struct virtq_used_elem u = rxq.used.ring[rxq.last_used % VQ_SIZE];
        rxq.last_used++;
        if (u.id >= NRX)
            return 8;
        if (u.len > RXLEN)
            return 9;
        unsigned n = 0;
        int quit = 0;
        for (unsigned k = 0; k < u.len; k++) {
            uint8_t c = rxbuf[u.id][k];
            if (c == 'q') {
                quit = 1;
                break;
            }
            if (c >= 'a' && c <= 'z')
                c -= 'a' - 'A';
            txbuf[n++] = c;
        }
        if (n) {
            e = send(txbuf, n);
            if (e)
                return e;
            echoed += n;
        }
        if (quit)
            break;
        rx_post(u.id);
        vio_wr(base, VIRTIO_MMIO_QUEUE_NOTIFY, RECEIVEQ);
    }
    htif_puts("virtio-console: ");
    htif_put_udec(echoed);
    htif_puts(" bytes echoed\n");
    return 0;
}
