"""virtio-blk (VIRTIO 1.1 section 5.2), backed by a host file.

One request queue.  A request is a chain: device-readable header
(le32 type, le32 reserved, le64 sector), then the data (readable for T_OUT,
writable for T_IN / T_GET_ID), then one device-writable status byte, the last
writable byte of the chain.  The header may be split across descriptors
(ANY_LAYOUT comes with VERSION_1), so it is read as a byte stream.

BlockMode:
  READ_WRITE      writes go to the file (flush: fsync)
  READ_ONLY       VIRTIO_BLK_F_RO is offered and every T_OUT gets IOERR (5.2.6.1)
  VOLATILE_WRITE  the file is opened read-only; written sectors live in a dict
                  overlay in host memory and are read back from there, until the
                  backend is dropped (not on a device reset: a guest that
                  reboots sees its writes, as with a disk that stays powered)

Capacity is the file size in 512-byte sectors, rounded down (a partial last
sector is not visible).  A request past the end, a data length that is not a
multiple of 512, or a host I/O error gives VIRTIO_BLK_S_IOERR; an unknown type
VIRTIO_BLK_S_UNSUPP.  A chain too short to hold the header or the status byte
cannot be answered at all: VirtqueueError (the transport sets NEEDS_RESET).
"""
import enum
import os
import stat
import struct

from devices.virtio.virtqueue import ChainReader, ChainWriter, VirtqueueError
from devices.virtio.backend import VirtioBackend

VIRTIO_ID_BLOCK = 2
SECTOR_SIZE = 512

# feature bits (5.2.3)
VIRTIO_BLK_F_SEG_MAX = 1 << 2
VIRTIO_BLK_F_RO = 1 << 5
VIRTIO_BLK_F_FLUSH = 1 << 9

# request types and status values (5.2.6)
VIRTIO_BLK_T_IN = 0
VIRTIO_BLK_T_OUT = 1
VIRTIO_BLK_T_FLUSH = 4
VIRTIO_BLK_T_GET_ID = 8
VIRTIO_BLK_S_OK = 0
VIRTIO_BLK_S_IOERR = 1
VIRTIO_BLK_S_UNSUPP = 2

VIRTIO_BLK_ID_BYTES = 20
HEADER = struct.Struct("<IIQ")
# seg_max: data segments per request.  Without it Linux sends one segment per
# request; 128 + header + status still fit a 256-entry queue without indirect tables.
SEG_MAX = 128
CHUNK = 1 << 20          # host I/O per step: a huge guest request never needs a huge host buffer


class BlockMode(enum.Enum):
    # the one definition: lifecycle.control.config imports it (GuestConfig's BlockSpec.mode, lifecycle.BlockMode)
    READ_WRITE = "read_write"
    READ_ONLY = "read_only"
    VOLATILE_WRITE = "volatile_write"


class BlockDeviceError(ValueError):
    """The block image cannot be used (missing, unreadable, not writable for READ_WRITE)."""


def block_mode(mode):
    """-> a BlockMode from a BlockMode or its name/value (what the machine gets from the control plane)."""
    if isinstance(mode, BlockMode):
        return mode
    if isinstance(mode, str):
        for m in BlockMode:
            if mode in (m.name, m.value):
                return m
    raise BlockDeviceError(f"unknown block mode {mode!r} (expected one of "
                           f"{', '.join(m.name for m in BlockMode)})")


class VirtioBlk(VirtioBackend):
    name = "blk"
    device_id = VIRTIO_ID_BLOCK
    num_queues = 1
    queue_max = 256

    def __init__(self, path, mode=BlockMode.READ_WRITE, serial=None):
        self.path = os.fspath(path)
        self.mode = block_mode(mode)
        flags = os.O_RDWR if self.mode is BlockMode.READ_WRITE else os.O_RDONLY
        self.fd = None
        try:
            fd = os.open(self.path, flags | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise BlockDeviceError(f"block image {self.path}: no such file") from None
        except OSError as e:
            raise BlockDeviceError(f"block image {self.path}: {e.strerror or e}") from None
        try:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                raise BlockDeviceError(f"block image {self.path}: is a directory")
            size = os.lseek(fd, 0, os.SEEK_END)     # also right for a host block device
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        self.capacity = size // SECTOR_SIZE
        self.overlay = {}                       # VOLATILE_WRITE: sector -> 512 bytes
        self.features = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_FLUSH | \
            (VIRTIO_BLK_F_RO if self.mode is BlockMode.READ_ONLY else 0)
        ident = serial if serial is not None else os.path.basename(self.path)
        # GET_ID: up to 20 bytes, NUL-padded (5.2.6: no terminator when exactly 20)
        self.ident = ident.encode("utf-8", "replace")[:VIRTIO_BLK_ID_BYTES]

    def close(self):
        if getattr(self, "fd", None) is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self):
        try:
            self.close()
        except OSError:
            pass

    # --- VirtioBackend (devices/virtio/backend.py)
    def config(self):
        # struct virtio_blk_config: le64 capacity, le32 size_max (no F_SIZE_MAX: 0),
        # le32 seg_max; the fields after it belong to features not offered
        return struct.pack("<QII", self.capacity, 0, SEG_MAX)

    def process(self, queue_index, chain, transport):
        mem = transport.mem
        writer = ChainWriter(mem, chain)
        if writer.capacity < 1:
            raise VirtqueueError("virtio-blk request without a status byte")
        reader = ChainReader(mem, chain)
        header = reader.read(HEADER.size)
        if len(header) < HEADER.size:
            raise VirtqueueError("virtio-blk request shorter than its 16-byte header")
        rtype, _, sector = HEADER.unpack(header)
        data_len = writer.capacity - 1          # the writable bytes before the status byte
        if rtype == VIRTIO_BLK_T_IN:
            status = self._read(writer, sector, data_len)
        elif rtype == VIRTIO_BLK_T_OUT:
            status = self._write(reader, sector)
        elif rtype == VIRTIO_BLK_T_FLUSH:
            status = self._flush()
        elif rtype == VIRTIO_BLK_T_GET_ID:
            writer.write(self.ident.ljust(VIRTIO_BLK_ID_BYTES, b"\0")[:data_len])
            status = VIRTIO_BLK_S_OK
        else:
            status = VIRTIO_BLK_S_UNSUPP
        writer.write_at(writer.capacity - 1, bytes([status]))
        # used len: the whole writable part, as QEMU reports it; drivers find the
        # status in the last byte and (Linux) do not look at len
        return writer.capacity

    # --- requests
    def _range_ok(self, sector, length):
        return length % SECTOR_SIZE == 0 and sector + length // SECTOR_SIZE <= self.capacity

    def _read(self, writer, sector, length):
        if not self._range_ok(sector, length):
            return VIRTIO_BLK_S_IOERR
        done = 0
        try:
            while done < length:
                n = min(CHUNK, length - done)
                data = self._read_sectors(sector + done // SECTOR_SIZE, n)
                writer.write(data)
                done += n
        except OSError:
            return VIRTIO_BLK_S_IOERR
        return VIRTIO_BLK_S_OK

    def _read_sectors(self, sector, length):
        off = sector * SECTOR_SIZE
        data = bytearray(os.pread(self.fd, length, off))
        if len(data) != length:
            raise OSError(f"short read from {self.path} (the file shrank?)")
        if self.overlay:
            for i in range(length // SECTOR_SIZE):
                s = self.overlay.get(sector + i)
                if s is not None:
                    data[i * SECTOR_SIZE:(i + 1) * SECTOR_SIZE] = s
        return bytes(data)

    def _write(self, reader, sector):
        length = reader.remaining
        if self.mode is BlockMode.READ_ONLY:
            return VIRTIO_BLK_S_IOERR           # 5.2.6.1: and no data is written
        if not self._range_ok(sector, length):
            return VIRTIO_BLK_S_IOERR
        done = 0
        try:
            while done < length:
                data = reader.read(min(CHUNK, length - done))
                s = sector + done // SECTOR_SIZE
                if self.mode is BlockMode.VOLATILE_WRITE:
                    for i in range(len(data) // SECTOR_SIZE):
                        self.overlay[s + i] = data[i * SECTOR_SIZE:(i + 1) * SECTOR_SIZE]
                else:
                    view = memoryview(data)
                    off = s * SECTOR_SIZE
                    while view:
                        n = os.pwrite(self.fd, view, off)
                        if n <= 0:
                            raise OSError(f"{self.path}: write made no progress")
                        view, off = view[n:], off + n
                done += len(data)
        except OSError:
            return VIRTIO_BLK_S_IOERR
        return VIRTIO_BLK_S_OK

    def _flush(self):
        if self.mode is not BlockMode.READ_WRITE:
            return VIRTIO_BLK_S_OK              # nothing of ours is on its way to the file
        try:
            os.fsync(self.fd)
        except OSError:
            return VIRTIO_BLK_S_IOERR
        return VIRTIO_BLK_S_OK
