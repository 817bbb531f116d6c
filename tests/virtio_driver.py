"""Test support: a tiny virtio driver in Python that drives a VirtioMmio through its registers.

It lays out split virtqueues in the guest RAM of an emu.hart.Hart (4.2.3.2 order:
reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queues, DRIVER_OK), submits
chains (direct or through an indirect table) and collects used elements.  It
also writes raw descriptors for the malformed-queue tests, and RamWatch says
which bytes of RAM a device changed.
"""
import struct

import numpy as np

from devices.bus import GuestMemory, IrqLine
from devices.virtio import mmio as V
from devices.virtio.virtqueue import (VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE,
                               area_sizes)
from emu.hart import Hart
from emu.spec import RAM_BASE

RAM = RAM_BASE
RAM_SIZE = 1 << 20
RINGS = RAM + 0x1_0000              # queue areas are allocated from here ...
DATA = RAM + 0x4_0000               # ... and buffers from here, up to DATA_END
DATA_END = RAM + 0xF_0000


class Levels:
    """An IrqLine sink that records every level change."""
    def __init__(self):
        self.changes = []

    def __call__(self, source, level):
        self.changes.append((source, level))


def make(backend, ram_size=RAM_SIZE):
    """-> (hart, GuestMemory, VirtioMmio, IrqLine) for `backend`, IRQ line on source 1."""
    hart = Hart(ram_size)
    mem = GuestMemory(hart)
    irq = IrqLine(Levels(), 1)
    return hart, mem, V.VirtioMmio(backend, mem, irq), irq


class Queue:
    """The driver's side of one split virtqueue."""
    def __init__(self, drv, index, size, desc, avail, used):
        self.drv, self.index, self.size = drv, index, size
        self.desc, self.avail, self.used = desc, avail, used
        self.free = list(range(size))
        self.avail_idx = 0
        self.last_used = 0
        self.writable = {}            # head -> [(addr, len)] of its device-writable buffers
        self.owned = {}               # head -> descriptor indices to free when used

    # --- raw layout
    def write_desc(self, i, addr, length, flags=0, nxt=0, table=None):
        base = self.desc if table is None else table
        self.drv.mem.write(base + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))

    def make_available(self, head, notify=True):
        mem = self.drv.mem
        mem.write_u16(self.avail + 4 + 2 * (self.avail_idx % self.size), head)
        self.avail_idx = (self.avail_idx + 1) & 0xFFFF
        mem.write_u16(self.avail + 2, self.avail_idx)
        if notify:
            self.drv.notify(self.index)

    def set_avail_flags(self, flags):
        self.drv.mem.write_u16(self.avail, flags)

    def set_used_event(self, idx):
        self.drv.mem.write_u16(self.avail + 4 + 2 * self.size, idx)

    def avail_event(self):
        return self.drv.mem.read_u16(self.used + 4 + 8 * self.size)

    def used_idx(self):
        return self.drv.mem.read_u16(self.used + 2)

    # --- chains
    def _buffers(self, items):
        """items: bytes (device-readable, with that content) or int (device-writable, that long)."""
        out = []
        for it in items:
            if isinstance(it, int):
                out.append((self.drv.alloc(it), it, True))
            else:
                addr = self.drv.alloc(len(it))
                self.drv.mem.write(addr, it)
                out.append((addr, len(it), False))
        return out

    def submit(self, items, indirect=False, notify=True):
        """Make a chain of `items` available (and notify); -> its head descriptor index."""
        bufs = self._buffers(items)
        if indirect:
            table = self.drv.alloc(16 * len(bufs))
            for i, (a, n, w) in enumerate(bufs):
                flags = (VIRTQ_DESC_F_WRITE if w else 0) | (VIRTQ_DESC_F_NEXT if i + 1 < len(bufs) else 0)
                self.write_desc(i, a, n, flags, i + 1, table=table)
            head = self.free.pop(0)
            self.write_desc(head, table, 16 * len(bufs), VIRTQ_DESC_F_INDIRECT)
            used_descs = [head]
        else:
            used_descs = [self.free.pop(0) for _ in bufs]
            for k, (i, (a, n, w)) in enumerate(zip(used_descs, bufs)):
                last = k + 1 == len(bufs)
                flags = (VIRTQ_DESC_F_WRITE if w else 0) | (0 if last else VIRTQ_DESC_F_NEXT)
                self.write_desc(i, a, n, flags, 0 if last else used_descs[k + 1])
            head = used_descs[0]
        self.writable[head] = [(a, n) for a, n, w in bufs if w]
        self.owned[head] = used_descs
        self.make_available(head, notify)
        return head

    def take_used(self):
        """-> [(head, len)] the device has put on the used ring since the last call."""
        mem = self.drv.mem
        out = []
        while self.last_used != self.used_idx():
            slot = self.last_used % self.size
            head, length = struct.unpack("<II", mem.read(self.used + 4 + 8 * slot, 8))
            out.append((head, length))
            self.free.extend(self.owned.pop(head, []))
            self.last_used = (self.last_used + 1) & 0xFFFF
        return out

    def written(self, head, length):
        """-> the first `length` bytes the device wrote into chain `head`'s writable buffers."""
        data = b"".join(self.drv.mem.read(a, n) for a, n in self.writable[head])
        return data[:length]

    def request(self, items, indirect=False):
        """submit, then -> (used len, bytes written) of that chain (it must be used at once)."""
        head = self.submit(items, indirect)
        used = self.take_used()
        assert [h for h, _ in used] == [head], f"expected chain {head} on the used ring, got {used}"
        return used[0][1], self.written(head, used[0][1])


class Driver:
    def __init__(self, dev, mem):
        self.dev, self.mem = dev, mem
        self.rings = RINGS
        self.data = DATA
        self.queues = {}

    # --- registers
    def r(self, off):
        return self.dev.read(off, 4)

    def w(self, off, value):
        self.dev.write(off, 4, value)

    def notify(self, q):
        self.w(V.QUEUE_NOTIFY, q)

    def status(self):
        return self.r(V.STATUS)

    def device_features(self):
        self.w(V.DEVICE_FEATURES_SEL, 0)
        lo = self.r(V.DEVICE_FEATURES)
        self.w(V.DEVICE_FEATURES_SEL, 1)
        return lo | self.r(V.DEVICE_FEATURES) << 32

    def ack_interrupt(self):
        isr = self.r(V.INTERRUPT_STATUS)
        self.w(V.INTERRUPT_ACK, isr)
        return isr

    # --- memory
    def alloc(self, n, align=16):
        addr = (self.data + align - 1) & ~(align - 1)
        if addr + n > DATA_END:
            addr = DATA                       # wrap: tests never keep that much in flight
        self.data = addr + max(n, 1)
        return addr

    def alloc_rings(self, n, align=16):
        addr = (self.rings + align - 1) & ~(align - 1)
        self.rings = addr + n
        assert self.rings <= DATA
        self.mem.write(addr, bytes(n))
        return addr

    # --- the initialisation sequence (3.1.1)
    def init(self, features=None, queues=None, size=None, driver_ok=True):
        """Negotiate (all offered features unless `features`), set up the queues.

        -> the accepted feature bits, or None if the device refused FEATURES_OK.
        """
        self.w(V.STATUS, 0)
        self.w(V.STATUS, V.ACKNOWLEDGE)
        self.w(V.STATUS, V.ACKNOWLEDGE | V.DRIVER)
        offered = self.device_features()
        want = offered if features is None else features
        for sel in (0, 1):
            self.w(V.DRIVER_FEATURES_SEL, sel)
            self.w(V.DRIVER_FEATURES, (want >> (32 * sel)) & 0xFFFF_FFFF)
        self.w(V.STATUS, V.ACKNOWLEDGE | V.DRIVER | V.FEATURES_OK)
        if not self.status() & V.FEATURES_OK:
            self.w(V.STATUS, self.status() | V.FAILED)
            return None
        for q in (range(self.dev.backend.num_queues) if queues is None else queues):
            self.setup_queue(q, size)
        if driver_ok:
            self.w(V.STATUS, V.ACKNOWLEDGE | V.DRIVER | V.FEATURES_OK | V.DRIVER_OK)
        return want

    def setup_queue(self, q, size=None, desc=None, avail=None, used=None):
        self.w(V.QUEUE_SEL, q)
        assert self.r(V.QUEUE_READY) == 0
        qmax = self.r(V.QUEUE_NUM_MAX)
        size = size or min(qmax, 16)
        dsize, asize, usize = area_sizes(size)
        desc = self.alloc_rings(dsize, 16) if desc is None else desc
        avail = self.alloc_rings(asize, 2) if avail is None else avail
        used = self.alloc_rings(usize, 4) if used is None else used
        self.w(V.QUEUE_NUM, size)
        for low, addr in ((V.QUEUE_DESC_LOW, desc), (V.QUEUE_DRIVER_LOW, avail),
                          (V.QUEUE_DEVICE_LOW, used)):
            self.w(low, addr & 0xFFFF_FFFF)
            self.w(low + 4, addr >> 32)
        self.w(V.QUEUE_READY, 1)
        self.queues[q] = Queue(self, q, size, desc, avail, used)
        return self.queues[q]


class RamWatch:
    """Snapshot guest RAM; changed() -> the [start, end) guest ranges written since."""
    def __init__(self, hart):
        self.hart = hart
        self.before = hart.ram.copy()

    def changed(self):
        diff = np.flatnonzero(self.hart.ram != self.before)
        ranges = []
        for off in diff.tolist():
            addr = self.hart.ram_base + off
            if ranges and ranges[-1][1] == addr:
                ranges[-1][1] = addr + 1
            else:
                ranges.append([addr, addr + 1])
        return [tuple(r) for r in ranges]

    def only_within(self, *allowed):
        """True if every changed byte lies in one of the allowed (start, length) ranges."""
        return all(any(a <= s and e <= a + n for a, n in allowed) for s, e in self.changed())
