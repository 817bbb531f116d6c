/* virtio-blk over virtio-mmio version 2, polled (common/virtio_mmio.h).
 *
 * Finds the first block device (DeviceID 2) in the 8 slots at 0x10001000,
 * negotiates VERSION_1 (and accepts VIRTIO_BLK_F_RO), sets up queue 0 with an
 * 8-entry split queue in .bss, then:
 *   reads sector 0 and prints its first 16 bytes in hex;
 *   writes sector 1 with a known pattern;
 *   reads sector 1 back.
 * Without VIRTIO_BLK_F_RO the write must give OK and the read-back the
 * pattern: prints "write OK".  With VIRTIO_BLK_F_RO (a READ_ONLY image) the
 * write must give IOERR: prints "ro".  Exit code 0 when that holds;
 * otherwise 2-7 (VIRTIO_E_*: no device, no VERSION_1, features refused,
 * queue setup, timeout, NEEDS_RESET), 10 a read failed, 11 capacity below
 * 2 sectors, 12 wrong write status, 13 read-back mismatch.
 * Needs the virtio-mmio devices, so build.sh --check (QEMU spike) skips it.
 */
#include "htif.h"
#include "virtio_mmio.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_F_RO (1ull << 5)
enum { VIRTIO_BLK_T_IN = 0, VIRTIO_BLK_T_OUT = 1 };
enum { VIRTIO_BLK_S_OK = 0, VIRTIO_BLK_S_IOERR = 1, VIRTIO_BLK_S_UNSUPP = 2 };

struct virtio_blk_req_hdr { uint32_t type; uint32_t reserved; uint64_t sector; };

static struct virtq vq;
static struct virtio_blk_req_hdr hdr;
static uint8_t data[512] __attribute__((aligned(16)));
static volatile uint8_t status;

/* -> the request's status byte, or 0x100 + a VIRTIO_E_* code */
static int blk_request(uint32_t type, uint64_t sector)
{
    struct vbuf b[3] = {
        { &hdr, sizeof hdr, 0 },
        { data, sizeof data, type == VIRTIO_BLK_T_IN },
        { (void *)&status, 1, 1 },
    };
    uint32_t used;
    hdr.type = type;
    hdr.reserved = 0;
    hdr.sector = sector;
    status = 0xff;
    int e = virtq_run(&vq, 0, b, 3, &used);
    return e ? 0x100 + e : status;
}

static uint8_t pattern(unsigned i)
{
    return (uint8_t)(i * 7 + 3);
}

static void put_status(int s)
{
    htif_puts(s == VIRTIO_BLK_S_OK ? "OK" : s == VIRTIO_BLK_S_IOERR ? "IOERR" :
              s == VIRTIO_BLK_S_UNSUPP ? "UNSUPP" : "?");
    htif_puts(" (");
    htif_put_udec((uint64_t)s);
    htif_puts(")");
}

int main(void)
{
    uintptr_t base = virtio_find(VIRTIO_ID_BLOCK);
    if (!base) {
        htif_puts("virtio-blk: no device\n");
        return VIRTIO_E_NODEV;
    }
    htif_puts("virtio-blk at ");
    htif_put_hex(base);
    htif_puts("\n");
    uint64_t offered;
    int e = virtio_negotiate(base, VIRTIO_BLK_F_RO, &offered);
    if (!e)
        e = virtq_setup(base, 0, &vq);
    if (e) {
        htif_puts("virtio-blk: setup failed\n");
        return e;
    }
    int ro = (offered & VIRTIO_BLK_F_RO) != 0;
    uint64_t capacity = vio_rd(base, VIRTIO_MMIO_CONFIG) |
                        (uint64_t)vio_rd(base, VIRTIO_MMIO_CONFIG + 4) << 32;
    htif_puts("capacity ");
    htif_put_udec(capacity);
    htif_puts(ro ? " sectors, read-only\n" : " sectors\n");
    if (capacity < 2)
        return 11;

    int s = blk_request(VIRTIO_BLK_T_IN, 0);
    htif_puts("sector 0: ");
    put_hex_bytes(data, 16);
    htif_puts("\n");
    if (s != VIRTIO_BLK_S_OK) {
        htif_puts("read ");
        put_status(s);
        htif_puts("\n");
        return s > 0xff ? s - 0x100 : 10;
    }

    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = pattern(i);
    s = blk_request(VIRTIO_BLK_T_OUT, 1);
    if (s > 0xff)
        return s - 0x100;
    htif_puts("write sector 1: ");
    put_status(s);
    htif_puts("\n");
    if (s != (ro ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK))
        return 12;

    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = 0;
    s = blk_request(VIRTIO_BLK_T_IN, 1);
    if (s != VIRTIO_BLK_S_OK)
        return s > 0xff ? s - 0x100 : 10;
    htif_puts("sector 1: ");
    put_hex_bytes(data, 16);
    htif_puts("\n");
    if (ro) {
        htif_puts("ro\n");
        return 0;
    }
    for (unsigned i = 0; i < sizeof data; i++)
        if (data[i] != pattern(i))
            return 13;
    htif_puts("write OK\n");
    return 0;
}
