"""The split virtqueue (VIRTIO 1.1 section 2.6): descriptor table, avail ring, used ring.

The driver owns three areas of guest RAM, all little-endian:
  descriptor table  size x 16 bytes:  le64 addr, le32 len, le16 flags, le16 next
  avail ring        le16 flags, le16 idx, le16 ring[size], le16 used_event
  used ring         le16 flags, le16 idx, {le32 id, le32 len} ring[size], le16 avail_event
The device takes chains from the avail ring (pop), walks them into buffers and
returns them on the used ring (push), then decides whether the driver wants an
interrupt (should_notify).

Everything here is guest input.  Every address is checked against guest RAM
before it is used, a chain is at most `size` descriptors long, counting the
descriptors of an indirect table with the others ("A driver MUST NOT create a
descriptor chain longer than the Queue Size of the device", 2.7.5.3.1), and
anything the spec forbids raises VirtqueueError;
the transport turns that (and DmaError) into DEVICE_NEEDS_RESET.  Nothing the
guest writes can make this module touch memory outside RAM or loop forever.
"""
import struct

# descriptor flags (2.6.5)
VIRTQ_DESC_F_NEXT = 1
VIRTQ_DESC_F_WRITE = 2
VIRTQ_DESC_F_INDIRECT = 4
# avail.flags (2.6.7): the driver does not want used-buffer interrupts
VIRTQ_AVAIL_F_NO_INTERRUPT = 1

DESC_SIZE = 16
QUEUE_SIZE_MAX = 32768            # 2.6: a split queue has at most 32768 entries
# next is a le16, so an indirect table entry past 65536 could never be reached
INDIRECT_MAX = 65536
# used.len is a le32: a chain longer than that cannot even be reported
CHAIN_BYTES_MAX = 0xFFFF_FFFF

_DESC = struct.Struct("<QIHH")


class VirtqueueError(Exception):
    """The driver broke a virtqueue rule (bad index, loop, address outside RAM...)."""


def is_power_of_two(n):
    return n > 0 and n & (n - 1) == 0


def area_sizes(size):
    """-> (descriptor table, avail ring, used ring) sizes in bytes for a queue of `size`.

    The trailing used_event / avail_event words are counted: they exist in
    memory whether or not VIRTIO_F_EVENT_IDX is negotiated (2.6).
    """
    return DESC_SIZE * size, 6 + 2 * size, 6 + 8 * size


class Chain:
    """One descriptor chain taken from the avail ring.

    head: the descriptor index the driver put in the avail ring (the used
    element's id); buffers: [(guest address, length, device-writable)], the
    readable ones first (2.6.4.2).
    """
    __slots__ = ("head", "buffers")

    def __init__(self, head, buffers):
        self.head = head
        self.buffers = buffers

    @property
    def readable_len(self):
        return sum(n for _, n, w in self.buffers if not w)

    @property
    def writable_len(self):
        return sum(n for _, n, w in self.buffers if w)

    def readable(self):
        return [(a, n) for a, n, w in self.buffers if not w]

    def writable(self):
        return [(a, n) for a, n, w in self.buffers if w]

    def __repr__(self):
        return f"Chain(head={self.head}, buffers={self.buffers!r})"


class ChainReader:
    """The device-readable part of a chain as one byte stream.

    The driver may split a request header anywhere (VIRTIO_F_ANY_LAYOUT is
    implied by VERSION_1), so devices read fields from the stream, not from
    particular descriptors.  read(n) returns at most n bytes; fewer at the end.
    """
    def __init__(self, mem, chain):
        self.mem = mem
        self.segments = chain.readable()
        self.seg = 0
        self.off = 0                      # offset into segments[seg]
        self.remaining = sum(n for _, n in self.segments)

    def read(self, n):
        out = bytearray()
        while n > 0 and self.seg < len(self.segments):
            addr, length = self.segments[self.seg]
            take = min(n, length - self.off)
            if take:
                out += self.mem.read(addr + self.off, take)
            self.off += take
            n -= take
            self.remaining -= take
            if self.off == length:
                self.seg += 1
                self.off = 0
        return bytes(out)


class ChainWriter:
    """The device-writable part of a chain as one byte stream, written at any offset."""
    def __init__(self, mem, chain):
        self.mem = mem
        self.segments = chain.writable()
        self.capacity = sum(n for _, n in self.segments)
        self.pos = 0
        self._seg, self._seg_base = 0, 0  # write()'s cursor: segment index, its stream offset

    def write_at(self, offset, data):
        """Write data at stream offset `offset`; -> bytes written (cut at the end)."""
        return self._write_from(0, 0, offset, data)[0]

    def _write_from(self, seg, base, offset, data):
        """Write from segment `seg` (at stream offset `base`) on; -> (written, segment, its base)."""
        data = memoryview(bytes(data))
        done = 0
        while seg < len(self.segments) and done < len(data):
            addr, length = self.segments[seg]
            end = base + length
            if offset + done < end:
                start = offset + done - base
                take = min(length - start, len(data) - done)
                self.mem.write(addr + start, data[done:done + take])
                done += take
                if start + take < length:
                    break                 # the segment has room left: the next write starts here
            seg, base = seg + 1, end
        return done, seg, base

    def write(self, data):
        """Write at the current position and move past it; -> bytes written.

        Sequential writes go on from where the last one stopped, so a request
        written in many pieces into many segments costs pieces + segments steps.
        """
        n, self._seg, self._seg_base = self._write_from(self._seg, self._seg_base, self.pos, data)
        self.pos += n
        return n


class Virtqueue:
    """One split virtqueue as the device sees it.

    Construct it when the driver sets QueueReady: the constructor checks the
    size and that the three areas lie in RAM, suitably aligned (2.6: 16, 2, 4).
    indirect / event_idx: whether VIRTIO_F_INDIRECT_DESC / VIRTIO_F_EVENT_IDX
    were negotiated.
    """
    def __init__(self, mem, size, desc, avail, used, indirect=False, event_idx=False,
                 size_max=QUEUE_SIZE_MAX):
        if not is_power_of_two(size) or size > size_max:
            raise VirtqueueError(f"queue size {size} is not a power of two in 1..{size_max}")
        dsize, asize, usize = area_sizes(size)
        for what, addr, n, align in (("descriptor table", desc, dsize, 16),
                                     ("avail ring", avail, asize, 2),
                                     ("used ring", used, usize, 4)):
            if addr % align:
                raise VirtqueueError(f"{what} at 0x{addr:x} is not {align}-byte aligned")
            if not mem.contains(addr, n):
                raise VirtqueueError(f"{what} 0x{addr:x}..0x{addr + n:x} is outside guest RAM")
        self.mem = mem
        self.size = size
        self.desc, self.avail, self.used = desc, avail, used
        self.indirect = indirect
        self.event_idx = event_idx
        self.last_avail_idx = 0           # the next avail ring entry the device will take
        self.used_idx = 0                 # the device's copy of used.idx
        self.signalled_used = 0           # used.idx when should_notify last answered
        self.descriptors_walked = 0       # work done so far, in descriptors read (never reset)

    # --- the avail ring
    def avail_idx(self):
        return self.mem.read_u16(self.avail + 2)

    def pending(self):
        """-> the number of chains the driver has made available and the device not taken."""
        n = (self.avail_idx() - self.last_avail_idx) & 0xFFFF
        if n > self.size:
            # 2.6.7: idx only ever moves by the number of heads added, at most size
            raise VirtqueueError(f"avail idx moved {n} entries ahead of the device, "
                                 f"more than the queue size {self.size}")
        return n

    def pop(self):
        """-> the next available Chain, or None when the avail ring is empty."""
        if not self.pending():
            return None
        slot = self.last_avail_idx % self.size
        head = self.mem.read_u16(self.avail + 4 + 2 * slot)
        self.last_avail_idx = (self.last_avail_idx + 1) & 0xFFFF
        if self.event_idx:
            # avail_event: "notify me once you have added past this entry" (2.6.10);
            # the device keeps it at its own position so every new chain is announced
            self.mem.write_u16(self.used + 4 + 8 * self.size, self.last_avail_idx)
        return Chain(head, self._walk(head))

    def _walk(self, head):
        mem = self.mem
        buffers = []
        total = 0
        table, table_len = self.desc, self.size   # the queue's descriptor table, then maybe an indirect one
        in_indirect = False
        # 2.7.5.3.1: the whole chain, the descriptors of an indirect table included, is at
        # most the queue size: a longer one (a loop, or a 65536-entry table) is an error,
        # found after at most size + 1 descriptors whatever the guest wrote
        budget = self.size
        idx = head
        seen_writable = False
        while True:
            if idx >= table_len:
                raise VirtqueueError(f"descriptor index {idx} is outside a table of {table_len}")
            if budget == 0:
                raise VirtqueueError(f"descriptor chain from head {head} is longer than the queue "
                                     f"size {self.size} (a loop?)")
            budget -= 1
            self.descriptors_walked += 1
            addr, length, flags, nxt = _DESC.unpack(mem.read(table + DESC_SIZE * idx, DESC_SIZE))
            if flags & VIRTQ_DESC_F_INDIRECT:
                if in_indirect:
                    raise VirtqueueError("an indirect descriptor inside an indirect table")
                if not self.indirect:
                    raise VirtqueueError("indirect descriptor without VIRTIO_F_INDIRECT_DESC")
                if flags & VIRTQ_DESC_F_NEXT:
                    raise VirtqueueError("indirect descriptor with the NEXT flag")
                if length == 0 or length % DESC_SIZE or length // DESC_SIZE > INDIRECT_MAX:
                    raise VirtqueueError(f"indirect table length {length} is not a multiple "
                                         f"of 16 in 16..{16 * INDIRECT_MAX}")
                if not mem.contains(addr, length):
                    raise VirtqueueError(f"indirect table 0x{addr:x}+{length} is outside guest RAM")
                # its descriptors are read one by one as the chain reaches them (the guest
                # is stopped while the device works): a big table costs only what is walked
                table, table_len, in_indirect = addr, length // DESC_SIZE, True
                idx = 0
                continue
            writable = bool(flags & VIRTQ_DESC_F_WRITE)
            if seen_writable and not writable:
                raise VirtqueueError("a device-readable descriptor after a device-writable one")
            seen_writable |= writable
            if length:                    # an empty buffer is never dereferenced
                if not mem.contains(addr, length):
                    raise VirtqueueError(f"buffer 0x{addr:x}+{length} is outside guest RAM")
                total += length
                if total > CHAIN_BYTES_MAX:
                    raise VirtqueueError("descriptor chain longer than 4 GiB")
                buffers.append((addr, length, writable))
            if not flags & VIRTQ_DESC_F_NEXT:
                return buffers
            idx = nxt

    # --- the used ring
    def push(self, chain, written):
        """Return `chain` to the driver: used element (head, bytes written), then used.idx."""
        slot = self.used_idx % self.size
        self.mem.write(self.used + 4 + 8 * slot,
                       struct.pack("<II", chain.head, max(0, min(written, CHAIN_BYTES_MAX))))
        self.used_idx = (self.used_idx + 1) & 0xFFFF
        self.mem.write_u16(self.used + 2, self.used_idx)   # after the element (2.6.8.2)

    def should_notify(self):
        """-> True if the driver wants an interrupt for what was pushed since the last call."""
        old, new = self.signalled_used, self.used_idx
        self.signalled_used = new
        if old == new:
            return False
        if self.event_idx:
            # 2.6.10: interrupt when used.idx passes the driver's used_event
            event = self.mem.read_u16(self.avail + 4 + 2 * self.size)
            return (new - event - 1) & 0xFFFF < (new - old) & 0xFFFF
        return not self.mem.read_u16(self.avail) & VIRTQ_AVAIL_F_NO_INTERRUPT

