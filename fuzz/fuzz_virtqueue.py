"""Coverage-guided fuzzing of the split virtqueue as the device walks it (devices/virtio/virtqueue.py).

    .venv/bin/python fuzz/fuzz_virtqueue.py -max_total_time=60 fuzz/corpus/virtqueue

one_input(data) is the property, shared with tests/test_fuzz_virtqueue.py: the bytes
become a queue of SIZE entries in a small guest RAM (descriptor table, avail ring, an
indirect-table area, negotiated features); every pop() either gives a chain whose
buffers all lie in RAM, at most SIZE of them, or raises VirtqueueError, never another
exception; each pop reads at most SIZE descriptors (the chain-length rule), and a
ChainWriter filling the chain writes only inside its buffers.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

RAM, RAM_SIZE = 0x8000_0000, 1 << 16
SIZE = 16
DESC, AVAIL, USED, TABLES = RAM, RAM + 0x1000, RAM + 0x2000, RAM + 0x3000
_MEM = None


def _memory():
    global _MEM
    if _MEM is None:
        from devices.bus import GuestMemory
        from emu.hart import Hart
        _MEM = GuestMemory(Hart(RAM_SIZE, ram_base=RAM))
    return _MEM


def _tame(raw, mode, index):
    """One descriptor from the input, its fields pulled towards values that get further in
    (buffers in RAM, short lengths, next within the table) as the mode bits say."""
    addr, length, flags, nxt = struct.unpack("<QIHH", raw)
    if mode & 2:        # in RAM: a buffer, or (with INDIRECT) one of the two 24-entry tables
        addr = TABLES + 16 * 24 * (addr % 2) if flags & 4 else RAM + 0x4000 + addr % 0xB000
    if mode & 8:
        length = length % 0x400 if not flags & 4 else 16 * (1 + length % 24)
    if mode & 16:
        nxt %= SIZE + 2
    if mode & 64:       # long chains: each descriptor links to the one after it
        nxt, flags = index + 1, flags | 1 if nxt % 8 else flags
    return struct.pack("<QIHH", addr, length, flags & 0xF, nxt)


def one_input(data):
    from devices.virtio.virtqueue import Chain, ChainWriter, Virtqueue, VirtqueueError, area_sizes
    data = bytes(data)
    mem = _memory()
    mem.hart.ram[:] = 0
    mode = data[0] if data else 0
    body = data[1:]
    # descriptor table, avail ring, then two indirect tables of 24 entries, from the input in that order
    dsize, asize, _ = area_sizes(SIZE)
    desc = body[:dsize].ljust(dsize, b"\0")
    avail = bytearray(body[dsize:dsize + asize].ljust(asize, b"\0"))
    tables = body[dsize + asize:dsize + asize + 2 * 24 * 16]
    tables = tables[:len(tables) - len(tables) % 16]
    mem.write(DESC, b"".join(_tame(desc[i:i + 16], mode, i // 16) for i in range(0, dsize, 16)))
    mem.write(TABLES, b"".join(_tame(tables[i:i + 16], mode, (i // 16) % 24) for i in range(0, len(tables), 16)))
    if mode & 32:       # a plausible avail idx and heads
        avail[2:4] = struct.pack("<H", avail[2] % (SIZE + 1))
        for i in range(SIZE):
            avail[4 + 2 * i:6 + 2 * i] = struct.pack("<H", avail[4 + 2 * i] % (SIZE + 1))
    mem.write(AVAIL, bytes(avail))
    vq = Virtqueue(mem, SIZE, DESC, AVAIL, USED, indirect=bool(mode & 1), event_idx=bool(mode & 4))
    try:
        pending = vq.pending()
    except VirtqueueError:
        return
    for _ in range(pending):
        walked = vq.descriptors_walked
        try:
            chain = vq.pop()
        except VirtqueueError:
            assert vq.descriptors_walked - walked <= SIZE
            continue
        assert vq.descriptors_walked - walked <= SIZE
        assert isinstance(chain, Chain) and len(chain.buffers) <= SIZE
        for addr, n, _w in chain.buffers:
            assert n > 0 and mem.contains(addr, n)
        w = ChainWriter(mem, chain)
        before = mem.hart.ram.copy()
        w.write(b"\xA5" * min(w.capacity, 256))
        changed = (mem.hart.ram != before).nonzero()[0]
        allowed = [(a - RAM, a - RAM + n) for a, n, wr in chain.buffers if wr]
        assert all(any(lo <= off < hi for lo, hi in allowed) for off in changed.tolist())
        vq.push(chain, 0)


def TestOneInput(data):    # noqa: N802 - atheris' name
    one_input(data)


def main():
    from fuzz.harness import fuzz
    fuzz(TestOneInput, ["devices.virtio.virtqueue"])


if __name__ == "__main__":
    main()
