"""devices/virtio/blk.py: virtio-blk (VIRTIO 1.1 section 5.2) on a host file, in the three BlockModes.

READ_WRITE changes the file; VOLATILE_WRITE reads back what was written but
leaves the file alone; READ_ONLY offers VIRTIO_BLK_F_RO and answers writes with
VIRTIO_BLK_S_IOERR.  Bad requests get a status, malformed chains NEEDS_RESET,
and the file is never touched outside its sectors.
"""
import io
import os
import struct
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from virtio_driver import RAM, RAM_SIZE, Driver, make  # noqa: E402

from devices.virtio import mmio as V  # noqa: E402
from devices.virtio.blk import (SECTOR_SIZE, SEG_MAX, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO,  # noqa: E402
                                VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK,
                                VIRTIO_BLK_S_UNSUPP,
                                VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN,
                                VIRTIO_BLK_T_OUT, BlockDeviceError, BlockMode, VirtioBlk,
                                block_mode)
from devices.virtio.virtqueue import VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE  # noqa: E402

SECTORS = 8


def image():
    return b"".join(bytes([s]) * 16 + bytes(i & 0xFF for i in range(16, SECTOR_SIZE)) for s in range(SECTORS))


@pytest.fixture
def disk(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(image() + b"tail")              # a partial last sector is not visible
    return path


def hdr(rtype, sector=0):
    return struct.pack("<IIQ", rtype, 0, sector)


def up(path, mode):
    hart, mem, dev, irq = make(VirtioBlk(path, mode))
    drv = Driver(dev, mem)
    assert drv.init() is not None
    return dev, drv, drv.queues[0]


def req(q, rtype, sector=0, data=None, nread=0, indirect=False):
    """One request -> (status, data read, used len)."""
    items = [hdr(rtype, sector)] + ([data] if data is not None else []) + ([nread] if nread else []) + [1]
    used, written = q.request(items, indirect)
    return written[-1] if used else None, written[:-1], used


def test_missing_file_is_a_one_line_error(tmp_path):
    missing = tmp_path / "nope.img"
    with pytest.raises(BlockDeviceError, match=str(missing)) as e:
        VirtioBlk(missing)
    assert "\n" not in str(e.value) and isinstance(e.value, ValueError)
    with pytest.raises(BlockDeviceError, match="directory"):
        VirtioBlk(tmp_path, BlockMode.READ_ONLY)


def test_block_mode_by_name():
    assert [block_mode(m) for m in BlockMode] == list(BlockMode)
    assert block_mode("READ_ONLY") is BlockMode.READ_ONLY          # the name the control plane sends
    assert block_mode("volatile_write") is BlockMode.VOLATILE_WRITE
    with pytest.raises(BlockDeviceError, match="unknown block mode"):
        block_mode("rw")


def test_lifecycle_block_mode_is_the_device_s():
    import lifecycle
    from lifecycle.control import config
    # one definition: the control plane's BlockSpec.mode is what the device takes
    assert lifecycle.BlockMode is config.BlockMode is BlockMode


@pytest.mark.parametrize("mode", list(BlockMode))
def test_config_and_features(disk, mode):
    dev, drv, q = up(disk, mode)
    assert drv.r(V.DEVICE_ID) == 2
    assert dev.read(0x100, 8) == SECTORS and dev.read(0x100, 4) == SECTORS and dev.read(0x104, 4) == 0
    assert dev.read(0x10C, 4) == SEG_MAX
    f = drv.device_features()
    assert f & VIRTIO_BLK_F_FLUSH and f & VIRTIO_BLK_F_SEG_MAX
    assert bool(f & VIRTIO_BLK_F_RO) == (mode is BlockMode.READ_ONLY)


@pytest.mark.parametrize("mode", list(BlockMode))
def test_read_write_flush_get_id(disk, mode):
    dev, drv, q = up(disk, mode)
    before = disk.read_bytes()
    status, data, used = req(q, VIRTIO_BLK_T_IN, 0, nread=SECTOR_SIZE)
    assert status == VIRTIO_BLK_S_OK and used == SECTOR_SIZE + 1 and data == image()[:SECTOR_SIZE]
    pattern = bytes((i * 7 + 3) & 0xFF for i in range(2 * SECTOR_SIZE))
    status, _, used = req(q, VIRTIO_BLK_T_OUT, 1, data=pattern)
    assert used == 1
    status_rb, data, _ = req(q, VIRTIO_BLK_T_IN, 1, nread=2 * SECTOR_SIZE)
    assert status_rb == VIRTIO_BLK_S_OK
    if mode is BlockMode.READ_ONLY:
        assert status == VIRTIO_BLK_S_IOERR
        assert data == image()[SECTOR_SIZE:3 * SECTOR_SIZE]
        assert disk.read_bytes() == before
    elif mode is BlockMode.VOLATILE_WRITE:
        assert status == VIRTIO_BLK_S_OK and data == pattern
        assert disk.read_bytes() == before
    else:
        assert status == VIRTIO_BLK_S_OK and data == pattern
        after = disk.read_bytes()
        assert after[SECTOR_SIZE:3 * SECTOR_SIZE] == pattern
        assert after[:SECTOR_SIZE] == before[:SECTOR_SIZE] and after[3 * SECTOR_SIZE:] == before[3 * SECTOR_SIZE:]
    assert req(q, VIRTIO_BLK_T_FLUSH)[0] == VIRTIO_BLK_S_OK
    status, ident, used = req(q, VIRTIO_BLK_T_GET_ID, nread=20)
    assert status == VIRTIO_BLK_S_OK and used == 21 and ident == b"disk.img".ljust(20, b"\0")


def test_volatile_writes_stay_in_memory(disk):
    blk = VirtioBlk(disk, BlockMode.VOLATILE_WRITE)
    hart, mem, dev, irq = make(blk)
    drv = Driver(dev, mem)
    drv.init()
    q = drv.queues[0]
    assert req(q, VIRTIO_BLK_T_OUT, 3, data=b"\xAA" * SECTOR_SIZE)[0] == VIRTIO_BLK_S_OK
    assert set(blk.overlay) == {3}
    _, data, _ = req(q, VIRTIO_BLK_T_IN, 2, nread=3 * SECTOR_SIZE)   # file, overlay, file
    assert data == image()[2 * SECTOR_SIZE:3 * SECTOR_SIZE] + b"\xAA" * SECTOR_SIZE + \
        image()[4 * SECTOR_SIZE:5 * SECTOR_SIZE]
    drv.w(V.STATUS, 0)                                # a device reset keeps the overlay
    drv.__init__(dev, mem)
    drv.init()
    assert req(drv.queues[0], VIRTIO_BLK_T_IN, 3, nread=SECTOR_SIZE)[1] == b"\xAA" * SECTOR_SIZE
    other = VirtioBlk(disk, BlockMode.VOLATILE_WRITE)   # another guest sees the file as it is
    sector3 = slice(3 * SECTOR_SIZE, 4 * SECTOR_SIZE)
    assert other.overlay == {} and disk.read_bytes()[sector3] == image()[sector3]


@pytest.mark.parametrize("mode", list(BlockMode))
def test_requests_past_the_end(disk, mode):
    dev, drv, q = up(disk, mode)
    before = disk.read_bytes()
    assert req(q, VIRTIO_BLK_T_IN, SECTORS, nread=SECTOR_SIZE)[0] == VIRTIO_BLK_S_IOERR
    assert req(q, VIRTIO_BLK_T_IN, SECTORS - 1, nread=2 * SECTOR_SIZE)[0] == VIRTIO_BLK_S_IOERR
    assert req(q, VIRTIO_BLK_T_IN, 2 ** 64 - 1, nread=SECTOR_SIZE)[0] == VIRTIO_BLK_S_IOERR
    assert req(q, VIRTIO_BLK_T_IN, SECTORS - 1, nread=SECTOR_SIZE)[0] == VIRTIO_BLK_S_OK
    assert req(q, VIRTIO_BLK_T_OUT, SECTORS, data=bytes(SECTOR_SIZE))[0] == VIRTIO_BLK_S_IOERR
    assert req(q, VIRTIO_BLK_T_OUT, 2 ** 63, data=bytes(SECTOR_SIZE))[0] == VIRTIO_BLK_S_IOERR
    assert disk.read_bytes() == before                # "tail" included
    assert drv.status() & V.DEVICE_NEEDS_RESET == 0


def test_bad_requests_get_a_status(disk):
    dev, drv, q = up(disk, BlockMode.READ_WRITE)
    before = disk.read_bytes()
    assert req(q, VIRTIO_BLK_T_IN, 0, nread=100)[0] == VIRTIO_BLK_S_IOERR          # not whole sectors
    assert req(q, VIRTIO_BLK_T_OUT, 0, data=b"x" * 100)[0] == VIRTIO_BLK_S_IOERR
    assert req(q, 99)[0] == VIRTIO_BLK_S_UNSUPP
    assert req(q, 11, nread=8)[0] == VIRTIO_BLK_S_UNSUPP                           # T_DISCARD: not offered
    assert req(q, VIRTIO_BLK_T_IN, 0)[0:2] == (VIRTIO_BLK_S_OK, b"")                # no data: nothing to do
    status, ident, used = req(q, VIRTIO_BLK_T_GET_ID, nread=5)                     # a short id buffer
    assert (status, ident, used) == (VIRTIO_BLK_S_OK, b"disk.", 6)
    assert disk.read_bytes() == before and drv.status() == 15


def test_any_layout_and_indirect(disk):
    dev, drv, q = up(disk, BlockMode.READ_WRITE)
    h = hdr(VIRTIO_BLK_T_IN, 2)
    # header split over three descriptors, data over three, status alone
    used, written = q.request([h[:3], h[3:11], h[11:], 100, 400, 12, 1])
    assert used == SECTOR_SIZE + 1 and written[:-1] == image()[2 * SECTOR_SIZE:3 * SECTOR_SIZE]
    assert written[-1] == VIRTIO_BLK_S_OK
    # header and data in one readable buffer, status and data... in indirect tables
    used, written = q.request([hdr(VIRTIO_BLK_T_OUT, 5) + b"\x55" * SECTOR_SIZE, 1], indirect=True)
    assert (used, written) == (1, bytes([VIRTIO_BLK_S_OK]))
    assert disk.read_bytes()[5 * SECTOR_SIZE:6 * SECTOR_SIZE] == b"\x55" * SECTOR_SIZE
    assert req(q, VIRTIO_BLK_T_IN, 5, nread=SECTOR_SIZE, indirect=True)[1] == b"\x55" * SECTOR_SIZE


@pytest.mark.parametrize("items", [
    [hdr(VIRTIO_BLK_T_IN)[:15], 1],                 # header too short
    [hdr(VIRTIO_BLK_T_IN), b"x"],                   # no status byte
    [1],                                            # nothing readable at all
])
def test_malformed_request_needs_reset(disk, items):
    dev, drv, q = up(disk, BlockMode.READ_WRITE)
    before = disk.read_bytes()
    q.submit(items)
    assert q.take_used() == []
    assert drv.status() & V.DEVICE_NEEDS_RESET and dev.irq.level
    assert disk.read_bytes() == before


def test_write_data_outside_ram_never_reaches_the_file(disk):
    dev, drv, q = up(disk, BlockMode.READ_WRITE)
    before = disk.read_bytes()
    hdr_addr = RAM + 0x8_0000
    drv.mem.write(hdr_addr, hdr(VIRTIO_BLK_T_OUT, 0))
    q.write_desc(0, hdr_addr, 16, VIRTQ_DESC_F_NEXT, 1)
    q.write_desc(1, RAM + RAM_SIZE - 256, SECTOR_SIZE, VIRTQ_DESC_F_NEXT, 2)   # runs off the end of RAM
    q.write_desc(2, hdr_addr + 16, 1, VIRTQ_DESC_F_WRITE)
    q.make_available(0)
    assert drv.status() & V.DEVICE_NEEDS_RESET
    assert disk.read_bytes() == before


def test_large_multi_chunk_transfer(tmp_path):
    path = tmp_path / "big.img"
    content = os.urandom(256 * SECTOR_SIZE)
    path.write_bytes(content)
    dev, drv, q = up(path, BlockMode.VOLATILE_WRITE)
    status, data, used = req(q, VIRTIO_BLK_T_IN, 0, nread=256 * SECTOR_SIZE)
    assert status == VIRTIO_BLK_S_OK and data == content and used == 256 * SECTOR_SIZE + 1


def test_io_errors_from_the_host_are_ioerr(disk):
    dev, drv, q = up(disk, BlockMode.READ_WRITE)
    os.truncate(disk, 2 * SECTOR_SIZE)                 # the file shrank under the guest
    assert req(q, VIRTIO_BLK_T_IN, 4, nread=SECTOR_SIZE)[0] == VIRTIO_BLK_S_IOERR
    assert drv.status() == 15


# --- a guest cannot hold the vcpu in one QueueNotify (issue 12 item 8)

BIG_RAM = 4 << 20
DESC_FMT = struct.Struct("<QIHH")


def _up_full_queue(path):
    """virtio-blk with a 256-entry queue in 4 MiB of RAM -> (dev, drv, q)."""
    hart, mem, dev, irq = make(VirtioBlk(path, BlockMode.VOLATILE_WRITE), ram_size=BIG_RAM)
    drv = Driver(dev, mem)
    assert drv.init(size=256) is not None and drv.queues[0].size == 256
    return dev, drv, drv.queues[0]


def test_hostile_indirect_tables_are_refused_after_the_queue_size(tmp_path):
    # the probe's queue: 256 chains, each one indirect descriptor to a 65,536-entry table
    # (header, 65,534 one-byte writable buffers, status); it took ~1.8 s per chain and
    # stop() timed out.  2.7.5.3.1: a chain is at most Queue Size descriptors, the
    # table's included, so the first chain is a device error after 257 descriptors.
    path = tmp_path / "d.img"
    path.write_bytes(bytes(64 * SECTOR_SIZE))
    dev, drv, q = _up_full_queue(path)
    hdr_addr, buf, table, n = RAM + 0x8_0000, RAM + 0x9_0000, RAM + 0x10_0000, 65536
    drv.mem.write(hdr_addr, hdr(VIRTIO_BLK_T_IN, 0))
    entries = [DESC_FMT.pack(hdr_addr, 16, VIRTQ_DESC_F_NEXT, 1)]
    entries += [DESC_FMT.pack(buf, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, i + 1) for i in range(1, n - 1)]
    entries += [DESC_FMT.pack(buf + 1, 1, VIRTQ_DESC_F_WRITE, 0)]
    drv.mem.write(table, b"".join(entries))
    for head in range(256):
        q.write_desc(head, table, 16 * n, VIRTQ_DESC_F_INDIRECT)
        q.make_available(head, notify=False)
    drv.notify(0)
    assert drv.status() & V.DEVICE_NEEDS_RESET and "longer than the queue size 256" in dev.last_error
    assert dev.work_done <= 257                     # descriptors read, of 16.8 million offered
    assert q.take_used() == [] and dev.backlog == set()
    dev.poll()                                      # nothing is left to do later either
    assert dev.work_done <= 257


def test_work_per_notify_is_bounded_and_the_rest_done_by_poll(tmp_path):
    # 256 legal chains of 64 descriptors (an indirect table each): header, 62 sectors
    # read into 62 segments, status.  One notify does at most SERVICE_WORK_MAX units
    # (plus the chain that crossed it); poll() does the rest, in order, all correct.
    content = bytes(range(256)) * (62 * SECTOR_SIZE // 256)
    path = tmp_path / "d.img"
    path.write_bytes(content)
    dev, drv, q = _up_full_queue(path)
    hdr_addr, data, status, tables = RAM + 0x8_0000, RAM + 0x9_0000, RAM + 0x10_0000, RAM + 0x18_0000
    drv.mem.write(hdr_addr, hdr(VIRTIO_BLK_T_IN, 0))
    for head in range(256):
        table = tables + head * 64 * 16
        entries = [DESC_FMT.pack(hdr_addr, 16, VIRTQ_DESC_F_NEXT, 1)]
        entries += [DESC_FMT.pack(data + SECTOR_SIZE * (i - 1), SECTOR_SIZE,
                                  VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, i + 1) for i in range(1, 63)]
        entries += [DESC_FMT.pack(status + head, 1, VIRTQ_DESC_F_WRITE, 0)]
        drv.mem.write(table, b"".join(entries))
        q.write_desc(head, table, 16 * 64, VIRTQ_DESC_F_INDIRECT)
        q.make_available(head, notify=False)
    drv.mem.write(status, b"\xff" * 256)
    chain_work = 65 + (16 + 62 * SECTOR_SIZE + 1) // V.WORK_BYTES
    drv.notify(0)
    done = q.take_used()
    assert 0 < len(done) < 256 and dev.backlog == {0}
    assert dev.work_done <= V.SERVICE_WORK_MAX + chain_work
    polls = 0
    while len(done) < 256:
        polls += 1
        assert polls <= 256 * chain_work // V.SERVICE_WORK_MAX + 1, "poll() made no progress"
        before = dev.work_done
        dev.poll()
        assert dev.work_done - before <= V.SERVICE_WORK_MAX + chain_work
        done += q.take_used()
    assert polls >= 1 and dev.backlog == set()
    assert [h for h, _ in done] == list(range(256))
    assert all(n == 62 * SECTOR_SIZE + 1 for _, n in done)
    assert drv.mem.read(status, 256) == bytes(256)              # every status VIRTIO_BLK_S_OK
    assert drv.mem.read(data, 62 * SECTOR_SIZE) == content
    assert drv.status() == 15


# --- the bare-metal driver tests/guest/dev/virtio_blk.c, inside a Machine

GUEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest", "bin", "dev_virtio_blk.elf")


def _machine(**kw):
    from lifecycle.machine.board import Machine
    from emu.hart import jit_enabled
    out = io.BytesIO()
    return Machine(memory=16 << 20, engine="jit" if jit_enabled() else "python", console=out, **kw), out


@pytest.mark.parametrize("mode, last_line", [(BlockMode.READ_WRITE, "write OK"),
                                             (BlockMode.READ_ONLY, "ro"),
                                             (BlockMode.VOLATILE_WRITE, "write OK")])
def test_guest_driver(disk, mode, last_line):
    m, out = _machine(block_devices=[(str(disk), mode)])
    before = disk.read_bytes()
    m.load(GUEST)
    r = m.run(50_000_000)
    text = out.getvalue().decode()
    assert (r.reason, r.exit_code) == ("exit", 0), text
    lines = text.splitlines()
    assert lines[-1] == last_line
    assert "sector 0: " + " ".join(f"{b:02x}" for b in before[:16]) in lines
    after = disk.read_bytes()
    pattern = bytes((i * 7 + 3) & 0xFF for i in range(SECTOR_SIZE))
    if mode is BlockMode.READ_WRITE:
        assert after[SECTOR_SIZE:2 * SECTOR_SIZE] == pattern
        assert after[:SECTOR_SIZE] == before[:SECTOR_SIZE] and after[2 * SECTOR_SIZE:] == before[2 * SECTOR_SIZE:]
    else:
        assert after == before
