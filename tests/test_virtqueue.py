"""devices/virtio/virtqueue.py: the split virtqueue (VIRTIO 1.1 section 2.6) as the device sees it.

Chains are walked with NEXT/WRITE/INDIRECT; everything the spec forbids, and
every address outside guest RAM, is a VirtqueueError, never another exception
and never an access outside RAM.
"""
import os
import struct
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from virtio_driver import RAM, RAM_SIZE, Driver, Queue  # noqa: E402

from devices.bus import GuestMemory  # noqa: E402
from devices.virtio.virtqueue import (VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT,  # noqa: E402
                               VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, Chain, ChainReader,
                               ChainWriter, Virtqueue, VirtqueueError, area_sizes)
from emu.hart import Hart  # noqa: E402
from emu.spec import UART_BASE  # noqa: E402

N, R, W, I = VIRTQ_DESC_F_NEXT, 0, VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_INDIRECT
SIZE = 8


@pytest.fixture(scope="module")
def hart():
    return Hart(RAM_SIZE)


@pytest.fixture
def ring(hart):
    """-> (GuestMemory, driver-side Queue, device-side Virtqueue) on fresh, zeroed rings."""
    hart.ram[:] = 0
    mem = GuestMemory(hart)
    drv = Driver(None, mem)
    dsize, asize, usize = area_sizes(SIZE)
    desc, avail, used = drv.alloc_rings(dsize), drv.alloc_rings(asize), drv.alloc_rings(usize)
    q = Queue(drv, 0, SIZE, desc, avail, used)
    return mem, q, Virtqueue(mem, SIZE, desc, avail, used, indirect=True)


def test_queue_geometry_is_checked(hart):
    mem = GuestMemory(hart)
    ok = dict(desc=RAM + 0x1000, avail=RAM + 0x2000, used=RAM + 0x3000)
    Virtqueue(mem, 256, **ok)
    for size in (0, 3, 100, 512):                        # not a power of two, or above max
        with pytest.raises(VirtqueueError, match="power of two"):
            Virtqueue(mem, size, size_max=256, **ok)
    for bad in (dict(desc=RAM + 8), dict(avail=RAM + 1), dict(used=RAM + 2)):
        with pytest.raises(VirtqueueError, match="aligned"):
            Virtqueue(mem, 8, **{**ok, **bad})
    for bad in (dict(desc=0x1000), dict(avail=RAM + RAM_SIZE - 4), dict(used=RAM + RAM_SIZE),
                dict(desc=2 ** 64 - 16)):
        with pytest.raises(VirtqueueError, match="outside guest RAM"):
            Virtqueue(mem, 8, **{**ok, **bad})


def test_direct_chain(ring):
    mem, q, vq = ring
    assert vq.pop() is None
    head = q.submit([b"header", b"more", 100, 3], notify=False)
    chain = vq.pop()
    assert chain.head == head and vq.pop() is None
    assert [(n, w) for _, n, w in chain.buffers] == [(6, False), (4, False), (100, True), (3, True)]
    assert (chain.readable_len, chain.writable_len) == (10, 103)
    assert ChainReader(mem, chain).read(100) == b"headermore"


def test_indirect_chain(ring):
    mem, q, vq = ring
    head = q.submit([b"abc", 7], indirect=True, notify=False)
    chain = vq.pop()
    assert chain.head == head
    assert [(n, w) for _, n, w in chain.buffers] == [(3, False), (7, True)]


def test_indirect_needs_the_feature(ring):
    mem, q, vq = ring
    vq.indirect = False
    q.submit([b"abc"], indirect=True, notify=False)
    with pytest.raises(VirtqueueError, match="INDIRECT_DESC"):
        vq.pop()


def test_stream_reader_and_writer_cross_descriptors(ring):
    mem, q, vq = ring
    q.submit([b"ab", b"", b"cdef", 2, 0, 5], notify=False)
    chain = vq.pop()
    assert len(chain.buffers) == 4                       # the empty buffers are dropped
    r = ChainReader(mem, chain)
    assert (r.read(3), r.remaining, r.read(10), r.read(1)) == (b"abc", 3, b"def", b"")
    w = ChainWriter(mem, chain)
    assert w.capacity == 7
    assert w.write(b"123") == 3 and w.write_at(6, b"Z") == 1 and w.write_at(5, b"xyz") == 2
    assert q.written(chain.head, 7) == b"123\0\0xy"
    assert w.write_at(7, b"!") == 0


def test_used_ring_and_notification(ring):
    mem, q, vq = ring
    for _ in range(3):
        q.submit([4], notify=False)
    chains = [vq.pop() for _ in range(3)]
    assert not vq.should_notify()                        # nothing used yet
    vq.push(chains[0], 4)
    assert q.take_used() == [(chains[0].head, 4)] and vq.should_notify()
    assert not vq.should_notify()                        # already told
    q.set_avail_flags(VIRTQ_AVAIL_F_NO_INTERRUPT)
    vq.push(chains[1], 1)
    assert not vq.should_notify()
    q.set_avail_flags(0)
    vq.push(chains[2], 0)
    assert vq.should_notify()
    assert q.take_used() == [(chains[1].head, 1), (chains[2].head, 0)]


def test_event_idx(ring):
    mem, q, vq = ring
    vq.event_idx = True
    for _ in range(4):
        q.submit([1], notify=False)
    chains = [vq.pop() for _ in range(4)]
    assert q.avail_event() == 4                          # the device asks to hear of every new chain
    q.set_used_event(2)                                  # "interrupt me once used idx passes 2"
    vq.push(chains[0], 1)
    vq.push(chains[1], 1)
    assert not vq.should_notify()                        # used idx 2: not past 2 yet
    vq.push(chains[2], 1)
    assert vq.should_notify()                            # 3 > 2
    vq.push(chains[3], 1)
    assert not vq.should_notify()                        # used_event still 2: already crossed


def test_avail_and_used_indexes_wrap(ring):
    mem, q, vq = ring
    # both 16-bit counters start just below the wrap (2.6.7: idx is free-running mod 2^16)
    q.avail_idx = vq.last_avail_idx = 0xFFFE
    q.last_used = vq.used_idx = vq.signalled_used = 0xFFFE
    mem.write_u16(q.avail + 2, 0xFFFE)
    mem.write_u16(q.used + 2, 0xFFFE)
    heads = [q.submit([1], notify=False) for _ in range(4)]
    assert vq.pending() == 4
    for _ in range(4):
        vq.push(vq.pop(), 1)
    assert vq.pop() is None and vq.last_avail_idx == 2 and q.used_idx() == 2
    assert vq.should_notify()
    assert q.take_used() == [(h, 1) for h in heads]


# --- malformed chains

def _raw(q, descs, head=0):
    for i, d in enumerate(descs):
        if d is not None:
            q.write_desc(i, *d)
    q.make_available(head, notify=False)


def test_loop_in_a_chain(ring):
    mem, q, vq = ring
    _raw(q, [(RAM, 4, N, 1), (RAM, 4, N, 0)])            # 0 -> 1 -> 0 -> ...
    with pytest.raises(VirtqueueError, match="loop"):
        vq.pop()


def test_self_loop_in_an_indirect_table(ring):
    mem, q, vq = ring
    table = RAM + 0x8_0000
    q.write_desc(0, RAM, 4, N, 0, table=table)
    _raw(q, [(table, 16, I, 0)])
    with pytest.raises(VirtqueueError, match="loop"):
        vq.pop()


def test_indirect_table_counts_toward_the_queue_size(ring):
    # 2.7.5.3.1: "A driver MUST NOT create a descriptor chain longer than the Queue Size";
    # the chain is the direct descriptors, the indirect one and the table's, all together
    mem, q, vq = ring
    table = RAM + 0x8_0000
    for fits, direct in ((True, 2), (False, 3)):        # 2 + 1 + 5 = 8 fits, 3 + 1 + 5 = 9 does not
        for i in range(5):
            q.write_desc(i, RAM + 0x100 * i, 8, N if i < 4 else 0, i + 1, table=table)
        for i in range(direct):
            q.write_desc(i, RAM + 0x1000 + 0x100 * i, 4, N, i + 1)
        q.write_desc(direct, table, 16 * 5, I)
        q.make_available(0, notify=False)
        if fits:
            assert vq.pop().buffers == [(RAM + 0x1000 + 0x100 * i, 4, False) for i in range(direct)] + \
                [(RAM + 0x100 * i, 8, False) for i in range(5)]
        else:
            with pytest.raises(VirtqueueError, match=f"longer than the queue size {SIZE}"):
                vq.pop()


def test_a_huge_indirect_table_costs_at_most_the_queue_size(ring):
    # the hostile probe's shape: a chain of 4096 descriptors through one indirect table;
    # it is refused after SIZE descriptors, without reading the rest of the table
    mem, q, vq = ring
    table, n = RAM + 0x8_0000, 4096
    mem.write(table, b"".join(struct.pack("<QIHH", RAM, 8, N, i + 1) for i in range(n - 1))
              + struct.pack("<QIHH", RAM, 8, 0, 0))
    for head in range(SIZE):
        q.write_desc(head, table, 16 * n, I)
        q.make_available(head, notify=False)
    for _ in range(SIZE):
        walked = vq.descriptors_walked
        with pytest.raises(VirtqueueError, match="longer than the queue size"):
            vq.pop()
        assert vq.descriptors_walked - walked == SIZE


def test_chain_writer_sequential_writes_cross_segments():
    # write() goes on from where the previous write stopped, across any segment layout
    class Mem:
        def __init__(self):
            self.ram = bytearray(64)

        def write(self, addr, data):
            self.ram[addr:addr + len(data)] = data

    m = Mem()
    chain = Chain(0, [(0, 3, True), (10, 1, True), (20, 5, True), (40, 4, True)])
    w = ChainWriter(m, chain)
    pieces = [b"ab", b"cde", b"", b"fghij", b"klmnop"]
    assert [w.write(p) for p in pieces] == [2, 3, 0, 5, 3]     # 13 bytes of room
    assert (m.ram[0:3], m.ram[10:11], m.ram[20:25], m.ram[40:44]) == (b"abc", b"d", b"efghi", b"jklm")
    assert w.write(b"x") == 0 and w.pos == 13
    assert w.write_at(12, b"Z") == 1 and m.ram[43:44] == b"Z"       # random access still works
    assert w.write_at(2, b"YX") == 2 and m.ram[2:3] == b"Y" and m.ram[10:11] == b"X"


def test_indirect_inside_indirect(ring):
    mem, q, vq = ring
    table = RAM + 0x8_0000
    q.write_desc(0, table, 16, I, 0, table=table)
    _raw(q, [(table, 16, I, 0)])
    with pytest.raises(VirtqueueError, match="inside an indirect"):
        vq.pop()


@pytest.mark.parametrize("desc, match", [
    ((RAM + 0x8_0000, 24, I, 0), "multiple of 16"),
    ((RAM + 0x8_0000, 0, I, 0), "multiple of 16"),
    ((RAM + 0x8_0000, 32, I | N, 1), "NEXT"),
    ((RAM + RAM_SIZE - 16, 32, I, 0), "outside guest RAM"),
    ((UART_BASE, 16, R, 0), "outside guest RAM"),            # a device, not RAM
    ((RAM + RAM_SIZE - 4, 8, W, 0), "outside guest RAM"),    # length past the end of RAM
    ((RAM, 0xFFFF_FFFF, W, 0), "outside guest RAM"),
    ((2 ** 64 - 8, 16, R, 0), "outside guest RAM"),
])
def test_bad_descriptor(ring, desc, match):
    mem, q, vq = ring
    _raw(q, [desc])
    with pytest.raises(VirtqueueError, match=match):
        vq.pop()


def test_next_index_out_of_range(ring):
    mem, q, vq = ring
    _raw(q, [(RAM, 4, N, SIZE)])
    with pytest.raises(VirtqueueError, match="outside a table"):
        vq.pop()


def test_head_index_out_of_range(ring):
    mem, q, vq = ring
    q.make_available(0xFFFF, notify=False)
    with pytest.raises(VirtqueueError, match="outside a table"):
        vq.pop()


def test_readable_after_writable(ring):
    mem, q, vq = ring
    _raw(q, [(RAM, 4, W | N, 1), (RAM, 4, R, 0)])
    with pytest.raises(VirtqueueError, match="readable descriptor after"):
        vq.pop()


def test_avail_idx_jump(ring):
    mem, q, vq = ring
    mem.write_u16(q.avail + 2, SIZE + 1)
    with pytest.raises(VirtqueueError, match="more than the queue size"):
        vq.pop()
    mem.write_u16(q.avail + 2, SIZE)                     # a full ring is fine
    assert vq.pending() == SIZE


def test_zero_length_buffer_address_is_never_used(ring):
    mem, q, vq = ring
    _raw(q, [(0xDEAD_0000_0000, 0, W, 0)])
    assert vq.pop().buffers == []


# --- fuzz: a random descriptor table never gets past the checks

_desc = st.tuples(
    st.one_of(st.integers(0, 2 ** 64 - 1), st.integers(RAM - 64, RAM + RAM_SIZE + 64)),
    st.one_of(st.integers(0, 2 ** 32 - 1), st.integers(0, 64)),
    st.integers(0, 7), st.integers(0, 2 * SIZE))


def _expected_chain(mem, head):
    """The spec's walk of a chain (2.7.5), written plainly: -> [(addr, len, writable)] or None (invalid)."""
    table, table_len, nested, idx, left, out, total, seen_w = DESC, SIZE, False, head, SIZE, [], 0, False
    while True:
        if idx >= table_len or left == 0:
            return None
        left -= 1
        a, n, f, x = struct.unpack("<QIHH", mem.read(table + 16 * idx, 16))
        if f & I:
            if nested or f & N or n == 0 or n % 16 or not mem.contains(a, n):
                return None
            table, table_len, nested, idx = a, n // 16, True, 0
            continue
        if seen_w and not f & W:
            return None
        seen_w |= bool(f & W)
        if n:
            total += n
            if not mem.contains(a, n) or total > 2 ** 32 - 1:
                return None
            out.append((a, n, bool(f & W)))
        if not f & N:
            return out
        idx = x


DESC = None     # the ring fixture's descriptor table, set by the fuzz test


def test_fuzz_random_descriptor_tables(ring):
    """Random tables: every pop gives exactly the chain the spec describes, or VirtqueueError
    when the spec forbids it; never more than SIZE descriptors read; both outcomes occur."""
    global DESC
    mem, q, vq = ring
    DESC = q.desc
    outcomes = {"chain": 0, "error": 0}

    @settings(max_examples=300, deadline=None, derandomize=True, database=None)
    @given(descs=st.lists(_desc, min_size=SIZE, max_size=SIZE),
           tables=st.lists(st.lists(_desc, min_size=1, max_size=4), max_size=2),
           heads=st.lists(st.integers(0, 2 * SIZE), min_size=1, max_size=SIZE))
    def check(descs, tables, heads):
        vq.last_avail_idx = q.avail_idx                  # the rings live across examples
        for t, table in enumerate(tables):               # indirect tables at RAM + 0x80000 + 256 t
            for i, (a, n, f, x) in enumerate(table):
                q.write_desc(i, a, n, f, x, table=RAM + 0x8_0000 + 256 * t)
        for i, (a, n, f, x) in enumerate(descs):
            if f & I and tables and a % 7 == 0:          # sometimes point at a real table
                a, n = RAM + 0x8_0000 + 256 * (a % len(tables)), 16 * len(tables[a % len(tables)])
            q.write_desc(i, a, n, f, x)
        for h in heads:
            q.make_available(h, notify=False)
        for h in heads:
            expected = _expected_chain(mem, h)
            walked = vq.descriptors_walked
            try:
                chain = vq.pop()
            except VirtqueueError:
                assert expected is None, f"head {h}: refused, but the spec allows {expected}"
                outcomes["error"] += 1
            else:
                assert chain.head == h and chain.buffers == expected
                outcomes["chain"] += 1
                vq.push(chain, 0)
            assert vq.descriptors_walked - walked <= SIZE

    check()
    assert outcomes["chain"] > 50 and outcomes["error"] > 50, outcomes


def test_descriptor_layout():
    # 2.6.5: le64 addr, le32 len, le16 flags, le16 next
    assert struct.calcsize("<QIHH") == 16
    assert area_sizes(256) == (4096, 6 + 512, 6 + 2048)
