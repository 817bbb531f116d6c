/* virtio-rng over virtio-mmio version 2, polled (common/virtio_mmio.h).
 *
 * Finds the first entropy device (DeviceID 4) in the 8 slots at 0x10001000,
 * negotiates VERSION_1, sets up queue 0 (8 entries), and collects 32 random
 * bytes (the device may fill less than a buffer per request, so it asks
 * again for the rest).  Prints them in hex.  Exit code 0 if they are not all
 * zero, 1 if they are, 2-7 a VIRTIO_E_* setup/transfer error, 8 the device
 * returned nothing 16 times in a row.
 * Needs the virtio-mmio devices, so build.sh --check (QEMU spike) skips it.
 */
#include "htif.h"
#include "virtio_mmio.h"

#define VIRTIO_ID_ENTROPY 4
#define NBYTES 32

static struct virtq vq;
static uint8_t buf[NBYTES] __attribute__((aligned(16)));

int main(void)
{
    uintptr_t base = virtio_find(VIRTIO_ID_ENTROPY);
    if (!base) {
        htif_puts("virtio-rng: no device\n");
        return VIRTIO_E_NODEV;
    }
    uint64_t offered;
    int e = virtio_negotiate(base, 0, &offered);
    if (!e)
        e = virtq_setup(base, 0, &vq);
    if (e) {
        htif_puts("virtio-rng: setup failed\n");
        return e;
    }
    unsigned got = 0, empty = 0;
    while (got < NBYTES) {
        struct vbuf b = { buf + got, NBYTES - got, 1 };
        uint32_t used;
        e = virtq_run(&vq, 0, &b, 1, &used);
        if (e)
            return e;
        if (used > NBYTES - got)
            used = NBYTES - got;
        if (used == 0 && ++empty == 16)
            return 8;
        got += used;
    }
    htif_puts("virtio-rng: ");
    put_hex_bytes(buf, NBYTES);
    htif_puts("\n");
    for (unsigned i = 0; i < NBYTES; i++)
        if (buf[i])
            return 0;
    return 1;
}
