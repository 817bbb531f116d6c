"""A guest cannot stall the vcpu through virtio-blk (issue 12 item 8), inside a Machine.

The hostile probe's queue, set up by a guest program through the MMIO registers: 256
chains, each one indirect descriptor to a 65,536-entry table.  Before the fix one
QueueNotify walked all of it synchronously (~7.5 min) and stop() timed out.  Now the
first chain is a device error after queue-size descriptors (VIRTIO 2.7.5.3.1) and the
guest goes on at once; the assertions are on the device's work count and outcome."""
import struct

from tests.rvenc import I, J_SELF

from devices.virtio import mmio as V
from devices.virtio.virtqueue import VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE
from emu.spec import RAM_BASE

RAM = RAM_BASE
T0, T1 = 5, 6
DESC, AVAIL, USED = RAM + 0x10_0000, RAM + 0x11_0000, RAM + 0x12_0000
HDR, BUF, TABLE, N = RAM + 0x13_0000, RAM + 0x14_0000, RAM + 0x40_0000, 65536


def li(rd, v):
    """lui + addiw: a 32-bit constant (sign-extended; sw stores its low 32 bits)."""
    v &= 0xFFFF_FFFF
    v = v - (1 << 32) if v >= 1 << 31 else v
    hi = (v + 0x800) >> 12
    lo = v - (hi << 12)
    return I("lui", rd=rd, imm=hi & 0xFFFFF) + I("addiw", rd=rd, rs1=rd, imm=lo)


def mmio_write(off, value):
    return li(T0, V.VIRTIO_BASE + off) + li(T1, value) + I("sw", rs1=T0, rs2=T1, imm=0)


def driver_program():
    """4.2.3 / 3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queue 0, DRIVER_OK, notify."""
    features = V.VIRTIO_F_VERSION_1 | V.VIRTIO_F_INDIRECT_DESC
    code = b""
    for off, value in [(V.STATUS, 0), (V.STATUS, V.ACKNOWLEDGE), (V.STATUS, V.ACKNOWLEDGE | V.DRIVER),
                       (V.DRIVER_FEATURES_SEL, 0), (V.DRIVER_FEATURES, features & 0xFFFF_FFFF),
                       (V.DRIVER_FEATURES_SEL, 1), (V.DRIVER_FEATURES, features >> 32),
                       (V.STATUS, V.ACKNOWLEDGE | V.DRIVER | V.FEATURES_OK),
                       (V.QUEUE_SEL, 0), (V.QUEUE_NUM, 256),
                       (V.QUEUE_DESC_LOW, DESC), (V.QUEUE_DESC_HIGH, 0),
                       (V.QUEUE_DRIVER_LOW, AVAIL), (V.QUEUE_DRIVER_HIGH, 0),
                       (V.QUEUE_DEVICE_LOW, USED), (V.QUEUE_DEVICE_HIGH, 0), (V.QUEUE_READY, 1),
                       (V.STATUS, V.ACKNOWLEDGE | V.DRIVER | V.FEATURES_OK | V.DRIVER_OK),
                       (V.QUEUE_NOTIFY, 0)]:
        code += mmio_write(off, value)
    return code + J_SELF


def test_hostile_indirect_tables_do_not_stall_the_vcpu(tmp_path):
    from emu.hart import jit_enabled
    from lifecycle.machine.board import Machine
    disk = tmp_path / "d.img"
    disk.write_bytes(bytes(64 * 512))
    prog = tmp_path / "prog.bin"
    prog.write_bytes(driver_program())
    m = Machine(memory=16 << 20, engine="jit" if jit_enabled() else "python",
                console=open(tmp_path / "out", "wb"), block_devices=[(str(disk), "READ_WRITE")])
    try:
        m.load(str(prog), raw_addr=RAM)
        h = m.hart
        d = struct.Struct("<QIHH")
        h.write_phys(HDR, struct.pack("<IIQ", 0, 0, 0))                     # T_IN, sector 0
        h.write_phys(TABLE, d.pack(HDR, 16, VIRTQ_DESC_F_NEXT, 1) + b"".join(
            d.pack(BUF, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, i + 1) for i in range(1, N - 1))
            + d.pack(BUF + 1, 1, VIRTQ_DESC_F_WRITE, 0))
        h.write_phys(DESC, d.pack(TABLE, 16 * N, VIRTQ_DESC_F_INDIRECT, 0) * 256)
        h.write_phys(AVAIL, struct.pack("<HH", 0, 256) + struct.pack("<256H", *range(256)))
        dev = m.virtio[0]
        r = m.run(200_000)
        assert r.reason == "budget"                      # the guest went on, spinning after its notify
        assert dev.status & V.DEVICE_NEEDS_RESET and "longer than the queue size 256" in dev.last_error
        assert dev.work_done <= 257                      # of 16.8 million descriptors offered
        assert h.read_phys(USED + 2, 2) == b"\0\0"       # nothing was completed
    finally:
        m.close()
