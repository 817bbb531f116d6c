/* numbavm guest runtime: a minimal polled virtio-mmio (version 2) driver.
 *
 * Header-only (static inline) so that each dev/ program includes it without
 * changes to build.sh.  Physical addresses only (M-mode, no paging): the
 * queue lives in the program's .bss, which the device reads as guest RAM.
 * One split virtqueue of VQ_SIZE entries, used synchronously: submit one
 * chain, notify, spin on used.idx.  VIRTQ_AVAIL_F_NO_INTERRUPT is set, as
 * nothing here takes interrupts.
 */
#ifndef NUMBAVM_VIRTIO_MMIO_H
#define NUMBAVM_VIRTIO_MMIO_H
#include <stdint.h>

#define VIRTIO_MMIO_BASE    0x10001000UL
#define VIRTIO_MMIO_STRIDE  0x1000UL
#define VIRTIO_MMIO_SLOTS   8

/* registers (VIRTIO 1.1, 4.2.2) */
enum {
    VIRTIO_MMIO_MAGIC_VALUE = 0x000, VIRTIO_MMIO_VERSION = 0x004, VIRTIO_MMIO_DEVICE_ID = 0x008,
    VIRTIO_MMIO_DEVICE_FEATURES = 0x010, VIRTIO_MMIO_DEVICE_FEATURES_SEL = 0x014,
    VIRTIO_MMIO_DRIVER_FEATURES = 0x020, VIRTIO_MMIO_DRIVER_FEATURES_SEL = 0x024,
    VIRTIO_MMIO_QUEUE_SEL = 0x030, VIRTIO_MMIO_QUEUE_NUM_MAX = 0x034, VIRTIO_MMIO_QUEUE_NUM = 0x038,
    VIRTIO_MMIO_QUEUE_READY = 0x044, VIRTIO_MMIO_QUEUE_NOTIFY = 0x050,
    VIRTIO_MMIO_INTERRUPT_STATUS = 0x060, VIRTIO_MMIO_INTERRUPT_ACK = 0x064,
    VIRTIO_MMIO_STATUS = 0x070,
    VIRTIO_MMIO_QUEUE_DESC_LOW = 0x080, VIRTIO_MMIO_QUEUE_DESC_HIGH = 0x084,
    VIRTIO_MMIO_QUEUE_DRIVER_LOW = 0x090, VIRTIO_MMIO_QUEUE_DRIVER_HIGH = 0x094,
    VIRTIO_MMIO_QUEUE_DEVICE_LOW = 0x0a0, VIRTIO_MMIO_QUEUE_DEVICE_HIGH = 0x0a4,
    VIRTIO_MMIO_CONFIG = 0x100,
};
#define VIRTIO_MMIO_MAGIC 0x74726976u       /* "virt" */

/* device status (2.1) */
enum { VIRTIO_ACKNOWLEDGE = 1, VIRTIO_DRIVER = 2, VIRTIO_DRIVER_OK = 4, VIRTIO_FEATURES_OK = 8,
       VIRTIO_DEVICE_NEEDS_RESET = 64, VIRTIO_FAILED = 128 };
#define VIRTIO_F_VERSION_1 (1ull << 32)

/* split virtqueue (2.6) */
#define VQ_SIZE 8
enum { VIRTQ_DESC_F_NEXT = 1, VIRTQ_DESC_F_WRITE = 2, VIRTQ_AVAIL_F_NO_INTERRUPT = 1 };

struct virtq_desc { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };
struct virtq_avail { uint16_t flags; uint16_t idx; uint16_t ring[VQ_SIZE]; uint16_t used_event; };
struct virtq_used_elem { uint32_t id; uint32_t len; };
struct virtq_used { uint16_t flags; uint16_t idx; struct virtq_used_elem ring[VQ_SIZE]; uint16_t avail_event; };

struct virtq {
    uintptr_t base;                 /* the device's register window */
    struct virtq_desc desc[VQ_SIZE] __attribute__((aligned(16)));
    struct virtq_avail avail __attribute__((aligned(2)));
    struct virtq_used used __attribute__((aligned(4)));
    uint16_t last_used;
};

/* error codes of the helpers (programs use them as exit codes) */
enum { VIRTIO_E_NODEV = 2, VIRTIO_E_NOVERSION1 = 3, VIRTIO_E_FEATURES = 4, VIRTIO_E_QUEUE = 5,
       VIRTIO_E_TIMEOUT = 6, VIRTIO_E_RESET = 7 };

static inline uint32_t vio_rd(uintptr_t base, unsigned off)
{
    return *(volatile uint32_t *)(base + off);
}

static inline void vio_wr(uintptr_t base, unsigned off, uint32_t v)
{
    *(volatile uint32_t *)(base + off) = v;
}

/* -> the register window of the first version-2 device with this id, or 0 */
static inline uintptr_t virtio_find(uint32_t device_id)
{
    for (unsigned i = 0; i < VIRTIO_MMIO_SLOTS; i++) {
        uintptr_t b = VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE;
        if (vio_rd(b, VIRTIO_MMIO_MAGIC_VALUE) == VIRTIO_MMIO_MAGIC && vio_rd(b, VIRTIO_MMIO_VERSION) == 2
            && vio_rd(b, VIRTIO_MMIO_DEVICE_ID) == device_id)
            return b;
    }
    return 0;
}

/* Reset, ACKNOWLEDGE, DRIVER, offer VERSION_1 | (accept & offered), FEATURES_OK (3.1.1).
   *offered gets the device's features.  -> 0 or a VIRTIO_E_* code. */
static inline int virtio_negotiate(uintptr_t base, uint64_t accept, uint64_t *offered)
{
    vio_wr(base, VIRTIO_MMIO_STATUS, 0);
    vio_wr(base, VIRTIO_MMIO_STATUS, VIRTIO_ACKNOWLEDGE);
    vio_wr(base, VIRTIO_MMIO_STATUS, VIRTIO_ACKNOWLEDGE | VIRTIO_DRIVER);
    vio_wr(base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint64_t f = vio_rd(base, VIRTIO_MMIO_DEVICE_FEATURES);
    vio_wr(base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    f |= (uint64_t)vio_rd(base, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
    *offered = f;
    if (!(f & VIRTIO_F_VERSION_1))
        return VIRTIO_E_NOVERSION1;
    uint64_t want = (accept & f) | VIRTIO_F_VERSION_1;
    vio_wr(base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    vio_wr(base, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
    vio_wr(base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    vio_wr(base, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
    vio_wr(base, VIRTIO_MMIO_STATUS, VIRTIO_ACKNOWLEDGE | VIRTIO_DRIVER | VIRTIO_FEATURES_OK);
    if (!(vio_rd(base, VIRTIO_MMIO_STATUS) & VIRTIO_FEATURES_OK)) {
        vio_wr(base, VIRTIO_MMIO_STATUS, VIRTIO_ACKNOWLEDGE | VIRTIO_DRIVER | VIRTIO_FAILED);
        return VIRTIO_E_FEATURES;
    }
    return 0;
}

/* Set up queue `index` as q (VQ_SIZE entries), without DRIVER_OK: a driver with
   several queues sets them all up first (3.1.1).  -> 0 or VIRTIO_E_QUEUE. */
static inline int virtq_init(uintptr_t base, unsigned index, struct virtq *q)
{
    q->base = base;
    q->last_used = 0;
    q->avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
    q->avail.idx = 0;
    q->used.idx = 0;
    vio_wr(base, VIRTIO_MMIO_QUEUE_SEL, index);
    if (vio_rd(base, VIRTIO_MMIO_QUEUE_READY) != 0 || vio_rd(base, VIRTIO_MMIO_QUEUE_NUM_MAX) < VQ_SIZE)
        return VIRTIO_E_QUEUE;
    vio_wr(base, VIRTIO_MMIO_QUEUE_NUM, VQ_SIZE);
    uint64_t d = (uintptr_t)q->desc, a = (uintptr_t)&q->avail, u = (uintptr_t)&q->used;
    vio_wr(base, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)d);
    vio_wr(base, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(d >> 32));
    vio_wr(base, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)a);
    vio_wr(base, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(a >> 32));
    vio_wr(base, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)u);
    vio_wr(base, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(u >> 32));
    __sync_synchronize();
    vio_wr(base, VIRTIO_MMIO_QUEUE_READY, 1);
    return vio_rd(base, VIRTIO_MMIO_QUEUE_READY) == 1 ? 0 : VIRTIO_E_QUEUE;
}

/* The driver is ready (DRIVER_OK).  -> 0, or VIRTIO_E_RESET if the device needs a reset. */
static inline int virtio_driver_ok(uintptr_t base)
{
    vio_wr(base, VIRTIO_MMIO_STATUS,
           VIRTIO_ACKNOWLEDGE | VIRTIO_DRIVER | VIRTIO_FEATURES_OK | VIRTIO_DRIVER_OK);
    return (vio_rd(base, VIRTIO_MMIO_STATUS) & VIRTIO_DEVICE_NEEDS_RESET) ? VIRTIO_E_RESET : 0;
}

/* Set up queue `index` as q, then DRIVER_OK (a one-queue driver).  -> 0 or VIRTIO_E_*. */
static inline int virtq_setup(uintptr_t base, unsigned index, struct virtq *q)
{
    int e = virtq_init(base, index, q);
    return e ? e : virtio_driver_ok(base);
}

struct vbuf { void *addr; uint32_t len; int writable; };

/* Put n buffers (readable ones first) in descriptors 0..n-1 as one chain, notify
   queue `index`, and wait for the device to use it.  *used_len: its used length.
   -> 0, VIRTIO_E_TIMEOUT or VIRTIO_E_RESET. */
static inline int virtq_run(struct virtq *q, unsigned index, const struct vbuf *b, unsigned n,
                            uint32_t *used_len)
{
    for (unsigned i = 0; i < n; i++) {
        q->desc[i].addr = (uintptr_t)b[i].addr;
        q->desc[i].len = b[i].len;
        q->desc[i].flags = (uint16_t)((b[i].writable ? VIRTQ_DESC_F_WRITE : 0) |
                                      (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
        q->desc[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
    }
    q->avail.ring[q->avail.idx % VQ_SIZE] = 0;
    __sync_synchronize();                       /* descriptors before the avail idx (2.6.13) */
    q->avail.idx++;
    __sync_synchronize();
    vio_wr(q->base, VIRTIO_MMIO_QUEUE_NOTIFY, index);
    for (uint32_t spin = 0; *(volatile uint16_t *)&q->used.idx == q->last_used; spin++) {
        if (vio_rd(q->base, VIRTIO_MMIO_STATUS) & VIRTIO_DEVICE_NEEDS_RESET)
            return VIRTIO_E_RESET;
        if (spin > 10000000u)
            return VIRTIO_E_TIMEOUT;
    }
    __sync_synchronize();
    *used_len = q->used.ring[q->last_used % VQ_SIZE].len;
    q->last_used++;
    return 0;
}

static inline void put_hex8(unsigned v)
{
    htif_putchar("0123456789abcdef"[(v >> 4) & 15]);
    htif_putchar("0123456789abcdef"[v & 15]);
}

static inline void put_hex_bytes(const uint8_t *p, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (i)
            htif_putchar(' ');
        put_hex8(p[i]);
    }
}
#endif
