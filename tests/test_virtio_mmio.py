"""devices/virtio/mmio.py: the virtio-mmio version 2 transport (VIRTIO 1.1/1.2 section 4.2).

Registers, feature negotiation (VERSION_1 required), the status state machine,
queue setup, used-buffer interrupts and their acknowledgement (the IrqLine
level follows InterruptStatus != 0), and DEVICE_NEEDS_RESET for everything a
guest can get wrong -- never an exception out of read/write, never a write
outside guest RAM.  The driver side is tests/virtio_driver.py.
"""
import os
import struct
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from virtio_driver import RAM, RAM_SIZE, Driver, RamWatch, make  # noqa: E402

from devices.virtio import mmio as V  # noqa: E402
from devices.bus import Device  # noqa: E402
from devices.ratelimit import FIRST  # noqa: E402
from devices.virtio.backend import VirtioBackend  # noqa: E402
from devices.virtio.blk import BlockMode, VirtioBlk  # noqa: E402
from devices.virtio.virtqueue import (VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT,  # noqa: E402
                               VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, ChainReader, ChainWriter,
                               area_sizes)
from emu.spec import UART_BASE  # noqa: E402

N, W, I = VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_INDIRECT
ALL_OK = V.ACKNOWLEDGE | V.DRIVER | V.FEATURES_OK | V.DRIVER_OK


class Reverser(VirtioBackend):
    """A test backend (device id 0x7f): writes the chain's readable bytes back, reversed."""
    name = "reverser"
    device_id = 0x7F
    num_queues = 2
    queue_max = 32
    features = 1 << 3

    def __init__(self):
        self.resets = 0
        self.config_writes = []

    def config(self):
        return bytes(range(16))

    def config_write(self, offset, data):
        self.config_writes.append((offset, data))

    def reset(self):
        self.resets += 1

    def process(self, q, chain, transport):
        data = ChainReader(transport.mem, chain).read(1 << 16)
        return ChainWriter(transport.mem, chain).write(data[::-1])


@pytest.fixture
def rig():
    hart, mem, dev, irq = make(Reverser())
    return hart, dev, irq, Driver(dev, mem)


def test_constants_and_device_tree_attributes():
    assert (V.VIRTIO_BASE, V.VIRTIO_STRIDE, V.VIRTIO_SIZE) == (0x1000_1000, 0x1000, 0x1000)
    assert (V.VIRTIO_IRQ_BASE, V.VIRTIO_MAX) == (1, 8)
    assert V.slot(0) == (0x1000_1000, 1) and V.slot(7) == (0x1000_8000, 8)
    with pytest.raises(ValueError):
        V.slot(8)
    assert issubclass(V.VirtioMmio, Device)
    hart, mem, dev, irq = make(Reverser())
    assert dev.irq_source == 1                       # a connected line: the tree gets `interrupts`
    assert V.VirtioMmio(Reverser(), mem).irq_source is None
    assert V.VirtioMmio.dt_name == "virtio_mmio" and V.VirtioMmio.dt_compatible == ("virtio,mmio",)


def test_empty_slot():
    e = V.VirtioMmioEmpty()
    assert (e.read(V.MAGIC, 4), e.read(V.VERSION_REG, 4), e.read(V.DEVICE_ID, 4)) == (0x74726976, 2, 0)
    e.write(V.STATUS, 4, 1)
    assert e.read(V.STATUS, 4) == 0 and e.dt_name is None


def test_identity_registers(rig):
    hart, dev, irq, drv = rig
    assert drv.r(V.MAGIC) == 0x74726976
    assert drv.r(V.VERSION_REG) == 2
    assert drv.r(V.DEVICE_ID) == 0x7F
    assert drv.r(V.VENDOR) == V.VENDOR_ID
    assert drv.r(V.CONFIG_GENERATION) == 0
    assert dev.name == "virtio-reverser"
    f = drv.device_features()
    assert f == (1 << 32) | (1 << 29) | (1 << 28) | (1 << 3)     # VERSION_1, EVENT_IDX, INDIRECT_DESC
    drv.w(V.DEVICE_FEATURES_SEL, 2)
    assert drv.r(V.DEVICE_FEATURES) == 0
    for off in (V.SHM_LEN_LOW, V.SHM_LEN_HIGH):
        assert drv.r(off) == 0xFFFF_FFFF                          # no shared memory region
    drv.w(V.QUEUE_SEL, 1)
    assert drv.r(V.QUEUE_NUM_MAX) == 32 and drv.r(V.QUEUE_READY) == 0
    drv.w(V.QUEUE_SEL, 2)                                         # no such queue
    assert drv.r(V.QUEUE_NUM_MAX) == 0


def test_control_registers_are_32_bit_only(rig):
    hart, dev, irq, drv = rig
    assert dev.read(V.MAGIC, 1) == 0 and dev.read(V.MAGIC, 2) == 0 and dev.read(V.MAGIC, 8) == 0
    dev.write(V.STATUS, 1, V.ACKNOWLEDGE)
    dev.write(V.STATUS, 8, V.ACKNOWLEDGE)
    assert drv.status() == 0


def test_config_space(rig):
    hart, dev, irq, drv = rig
    assert dev.read(0x100, 1) == 0 and dev.read(0x101, 1) == 1
    assert dev.read(0x102, 2) == 0x0302
    assert dev.read(0x104, 4) == 0x07060504
    assert dev.read(0x108, 8) == 0x0F0E0D0C0B0A0908
    assert dev.read(0x10E, 4) == 0x0F0E                           # past the end reads 0
    assert dev.read(0x800, 4) == 0
    dev.write(0x104, 2, 0x12345)
    assert dev.backend.config_writes == [(4, b"\x45\x23")]


def test_driver_init_sequence(rig):
    hart, dev, irq, drv = rig
    steps = []
    drv.w(V.STATUS, V.ACKNOWLEDGE)
    steps.append(drv.status())
    drv.w(V.STATUS, V.ACKNOWLEDGE | V.DRIVER)
    steps.append(drv.status())
    for sel, v in ((0, 1 << 28), (1, 1)):                        # INDIRECT_DESC, VERSION_1
        drv.w(V.DRIVER_FEATURES_SEL, sel)
        drv.w(V.DRIVER_FEATURES, v)
    drv.w(V.STATUS, V.ACKNOWLEDGE | V.DRIVER | V.FEATURES_OK)
    steps.append(drv.status())
    q = drv.setup_queue(0, 8)
    drv.w(V.QUEUE_SEL, 0)
    assert drv.r(V.QUEUE_READY) == 1
    drv.w(V.STATUS, ALL_OK)
    steps.append(drv.status())
    assert steps == [1, 3, 11, 15]
    assert dev.live and dev.negotiated(V.VIRTIO_F_INDIRECT_DESC)
    assert not dev.negotiated(V.VIRTIO_F_EVENT_IDX)
    assert q.request([b"abc", 3]) == (3, b"cba")


@pytest.mark.parametrize("features, why", [
    (1 << 28, "no VERSION_1"),
    (V.VIRTIO_F_VERSION_1 | 1 << 5, "a bit that is not offered"),
    (V.VIRTIO_F_VERSION_1 | 1 << 40, "a bit that is not offered, high word"),
])
def test_features_ok_refused(rig, features, why):
    hart, dev, irq, drv = rig
    assert drv.init(features) is None, why
    assert not drv.status() & V.FEATURES_OK


def test_features_beyond_64_bits_refused(rig):
    hart, dev, irq, drv = rig
    drv.w(V.STATUS, V.ACKNOWLEDGE | V.DRIVER)
    drv.w(V.DRIVER_FEATURES_SEL, 1)
    drv.w(V.DRIVER_FEATURES, 1)
    drv.w(V.DRIVER_FEATURES_SEL, 0xFFFF_FFFF)
    drv.w(V.DRIVER_FEATURES, 0xFFFF_FFFF)
    drv.w(V.STATUS, V.ACKNOWLEDGE | V.DRIVER | V.FEATURES_OK)
    assert not drv.status() & V.FEATURES_OK


def test_features_fixed_after_features_ok(rig):
    hart, dev, irq, drv = rig
    drv.init(V.VIRTIO_F_VERSION_1)
    drv.w(V.DRIVER_FEATURES_SEL, 0)
    drv.w(V.DRIVER_FEATURES, 1 << 28)
    assert dev.driver_features == V.VIRTIO_F_VERSION_1


def test_reset(rig):
    hart, dev, irq, drv = rig
    drv.init()
    drv.queues[0].submit([b"x", 1])
    assert drv.r(V.INTERRUPT_STATUS) == 1 and irq.level
    resets = dev.backend.resets
    drv.w(V.STATUS, 0)
    assert drv.status() == 0 and drv.r(V.INTERRUPT_STATUS) == 0 and not irq.level
    assert dev.driver_features == 0 and dev.backend.resets == resets + 1
    drv.w(V.QUEUE_SEL, 0)
    assert drv.r(V.QUEUE_READY) == 0
    drv.__init__(dev, drv.mem)                                    # a fresh driver, fresh rings
    assert drv.init() is not None
    assert drv.queues[0].request([b"xy", 2]) == (2, b"yx")


def test_nothing_is_processed_before_driver_ok(rig):
    hart, dev, irq, drv = rig
    drv.init(driver_ok=False)
    q = drv.queues[0]
    head = q.submit([b"early", 5])
    assert q.take_used() == [] and not irq.level
    drv.w(V.STATUS, ALL_OK)                                      # buffers made available earlier
    assert q.take_used() == [(head, 5)] and q.written(head, 5) == b"ylrae"


def test_interrupt_status_ack_and_irq_level(rig):
    hart, dev, irq, drv = rig
    drv.init()
    q = drv.queues[0]
    q.request([b"a", 1])
    assert drv.r(V.INTERRUPT_STATUS) == V.VIRTIO_MMIO_INT_VRING and irq.level
    drv.w(V.INTERRUPT_ACK, V.VIRTIO_MMIO_INT_CONFIG)             # the other bit: no change
    assert irq.level
    drv.w(V.INTERRUPT_ACK, V.VIRTIO_MMIO_INT_VRING)
    assert drv.r(V.INTERRUPT_STATUS) == 0 and not irq.level
    assert irq.sink.changes == [(1, True), (1, False)]
    q.set_avail_flags(VIRTQ_AVAIL_F_NO_INTERRUPT)                 # the driver polls instead
    assert q.request([b"b", 1]) == (1, b"b")
    assert drv.r(V.INTERRUPT_STATUS) == 0 and not irq.level


def test_event_idx_suppresses_interrupts(rig):
    hart, dev, irq, drv = rig
    drv.init()
    assert dev.negotiated(V.VIRTIO_F_EVENT_IDX)
    q = drv.queues[0]
    q.set_used_event(1)                                            # interrupt when used idx passes 1
    q.request([b"a", 1])
    assert not irq.level                                           # used idx 1
    assert q.avail_event() == 1
    q.request([b"b", 1])
    assert irq.level                                               # used idx 2
    drv.ack_interrupt()
    q.request([b"c", 1])
    assert not irq.level


def test_indirect_descriptors(rig):
    hart, dev, irq, drv = rig
    drv.init()
    q = drv.queues[1]
    assert q.request([b"hel", b"lo", 2, 3], indirect=True) == (5, b"olleh")
    drv.w(V.STATUS, 0)
    drv.__init__(dev, drv.mem)
    drv.init(V.VIRTIO_F_VERSION_1)                                 # without INDIRECT_DESC
    drv.queues[0].submit([b"x", 1], indirect=True)
    assert drv.status() & V.DEVICE_NEEDS_RESET


def test_queue_registers(rig):
    hart, dev, irq, drv = rig
    drv.init()
    q = drv.queues[0]
    drv.w(V.QUEUE_SEL, 0)
    drv.w(V.QUEUE_NUM, 4)                                          # ignored while the queue is ready
    drv.w(V.QUEUE_DESC_LOW, 0)
    assert dev.queues[0].vq.size == q.size and dev.queues[0].desc == q.desc
    drv.w(V.QUEUE_SEL, 5)                                          # no such queue: all ignored
    drv.w(V.QUEUE_NUM, 4)
    drv.w(V.QUEUE_READY, 1)
    drv.notify(5)
    drv.notify(0xFFFF_FFFF)
    assert drv.status() == ALL_OK
    drv.w(V.QUEUE_SEL, 0)
    drv.w(V.QUEUE_READY, 0)                                        # disabled: notify does nothing
    assert drv.r(V.QUEUE_READY) == 0
    q.submit([b"x", 1])
    assert q.take_used() == []


def test_64_bit_queue_addresses(rig):
    hart, dev, irq, drv = rig
    drv.init(queues=[])
    drv.w(V.QUEUE_SEL, 0)
    drv.w(V.QUEUE_DESC_LOW, RAM & 0xFFFF_FFFF)
    drv.w(V.QUEUE_DESC_HIGH, 1)                                    # 0x1_8000_0000: not RAM
    drv.w(V.QUEUE_DRIVER_LOW, RAM + 0x1000)
    drv.w(V.QUEUE_DEVICE_LOW, RAM + 0x2000)
    assert dev.queues[0].desc == 0x1_8000_0000
    drv.w(V.QUEUE_READY, 1)
    assert drv.status() & V.DEVICE_NEEDS_RESET and drv.r(V.QUEUE_READY) == 0


# --- malformed queues: NEEDS_RESET, a config interrupt, and nothing outside the used ring touched

def _expect_needs_reset(dev, drv, irq, watch, allowed=()):
    assert drv.status() & V.DEVICE_NEEDS_RESET
    assert drv.r(V.INTERRUPT_STATUS) & V.VIRTIO_MMIO_INT_CONFIG and irq.level
    assert dev.last_error
    assert watch.only_within(*allowed), watch.changed()
    # the device stays quiet until reset; Status writes keep NEEDS_RESET
    drv.w(V.STATUS, ALL_OK)
    assert drv.status() & V.DEVICE_NEEDS_RESET
    drv.w(V.STATUS, 0)
    assert drv.status() == 0 and not irq.level


@pytest.mark.parametrize("size", [0, 3, 24, 64, 1 << 16])
def test_bad_queue_size(rig, size):
    hart, dev, irq, drv = rig
    drv.init(queues=[], driver_ok=False)
    watch = RamWatch(hart)
    drv.w(V.QUEUE_SEL, 0)
    drv.w(V.QUEUE_NUM, size)
    drv.w(V.QUEUE_DESC_LOW, RAM + 0x1000)
    drv.w(V.QUEUE_DRIVER_LOW, RAM + 0x2000)
    drv.w(V.QUEUE_DEVICE_LOW, RAM + 0x3000)
    drv.w(V.QUEUE_READY, 1)
    assert drv.r(V.QUEUE_READY) == 0
    _expect_needs_reset(dev, drv, irq, watch)


@pytest.mark.parametrize("which", ["desc", "avail", "used"])
@pytest.mark.parametrize("where", [UART_BASE, RAM + RAM_SIZE - 8, RAM - 0x100])        # a device, past RAM, below
def test_queue_areas_outside_ram(rig, which, where):
    hart, dev, irq, drv = rig
    drv.init(queues=[], driver_ok=False)
    watch = RamWatch(hart)
    where -= where % 16
    areas = {**dict(desc=RAM + 0x1000, avail=RAM + 0x2000, used=RAM + 0x3000), which: where}
    drv.w(V.QUEUE_SEL, 0)
    drv.w(V.QUEUE_NUM, 16)
    drv.w(V.QUEUE_DESC_LOW, areas["desc"])
    drv.w(V.QUEUE_DRIVER_LOW, areas["avail"])
    drv.w(V.QUEUE_DEVICE_LOW, areas["used"])
    drv.w(V.QUEUE_READY, 1)
    _expect_needs_reset(dev, drv, irq, watch)


def _used_area(q):
    return (q.used, area_sizes(q.size)[2])


@pytest.mark.parametrize("case", ["desc outside RAM", "length past RAM", "loop", "nested indirect",
                                  "indirect outside RAM", "head out of range", "avail idx jump",
                                  "readable after writable", "huge length"])
def test_malformed_chain(rig, case):
    hart, dev, irq, drv = rig
    drv.init()
    q = drv.queues[0]
    table = RAM + 0x8_0000
    canary = RAM + 0x9_0000
    drv.mem.write(canary, b"canary!!")
    if case == "desc outside RAM":
        q.write_desc(0, UART_BASE, 8, W)                    # a device
    elif case == "length past RAM":
        q.write_desc(0, RAM + RAM_SIZE - 8, 9, W)
    elif case == "huge length":
        q.write_desc(0, canary, 0xFFFF_FFFF, W)
    elif case == "loop":
        q.write_desc(0, canary, 8, W | N, 1)
        q.write_desc(1, canary, 8, W | N, 0)
    elif case == "nested indirect":
        q.write_desc(0, table, 16, I)
        q.write_desc(0, table, 16, I, table=table)
    elif case == "indirect outside RAM":
        q.write_desc(0, RAM + RAM_SIZE - 16, 32, I)
    elif case == "readable after writable":
        q.write_desc(0, canary, 8, W | N, 1)
        q.write_desc(1, canary, 8, 0)
    if case == "head out of range":
        q.make_available(q.size, notify=False)
    elif case == "avail idx jump":
        drv.mem.write_u16(q.avail + 2, q.size + 1)
    else:
        q.make_available(0, notify=False)
    watch = RamWatch(hart)                      # from here on only the device writes
    drv.notify(0)
    assert q.take_used() == []
    _expect_needs_reset(dev, drv, irq, watch, [_used_area(q)])
    assert drv.mem.read(canary, 8) == b"canary!!"


def test_ram_canary_around_a_good_request(rig):
    hart, dev, irq, drv = rig
    drv.init()
    q = drv.queues[0]
    head = q.submit([b"abcd", 4], notify=False)
    watch = RamWatch(hart)
    drv.notify(0)
    (a, n), = q.writable[head]
    assert watch.only_within(_used_area(q), (a, n))
    assert q.take_used() == [(head, 4)] and q.written(head, 4) == b"dcba"


# --- fuzz: well-formed virtio-blk requests, then random damage to the descriptor table

@pytest.fixture(scope="module")
def disk(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "disk.img"
    path.write_bytes(bytes(range(256)) * 32)                       # 16 sectors
    return path


_value = st.one_of(st.integers(0, 40), st.integers(RAM - 32, RAM + RAM_SIZE + 32),
                   st.sampled_from([I, N, W, N | W, 0xFFFF, 2 ** 32 - 1]), st.integers(0, 2 ** 64 - 1))
_request = st.tuples(
    st.sampled_from([0, 1, 4, 8, 9]),                                      # IN OUT FLUSH GET_ID other
    st.one_of(st.integers(0, 17), st.integers(0, 2 ** 64 - 1)),            # sector
    st.lists(st.tuples(st.sampled_from([0, 1, 20, 100, 512, 1024]), st.booleans()), max_size=2),
    st.booleans(), st.booleans())                                          # status byte, indirect


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode=st.sampled_from(list(BlockMode)),
       requests=st.lists(_request, min_size=1, max_size=5),
       damage=st.lists(st.tuples(st.integers(0, 31), st.integers(0, 3), _value), max_size=4),
       avail_idx=st.one_of(st.none(), st.integers(0, 0xFFFF)),
       avail_flags=st.integers(0, 3))
def test_fuzz_device_never_raises(disk, mode, requests, damage, avail_idx, avail_flags):
    before = disk.read_bytes()
    hart, mem, dev, irq = make(VirtioBlk(disk, mode))
    drv = Driver(dev, mem)
    drv.init(size=32)
    q = drv.queues[0]
    for rtype, sector, data, status, indirect in requests:
        items = [struct.pack("<IIQ", rtype, 0, sector)]
        items += [n if writable else bytes([0x5A]) * n for n, writable in data]
        items += [1] if status else []
        q.submit(items, indirect=indirect, notify=False)
    for idx, field, value in damage:                              # overwrite addr, len, flags or next
        off, fmt = [(0, "<Q"), (8, "<I"), (12, "<H"), (14, "<H")][field]
        mem.write(q.desc + 16 * idx + off, struct.pack(fmt, value % (1 << (8 * struct.calcsize(fmt)))))
    q.set_avail_flags(avail_flags)
    if avail_idx is not None:
        mem.write_u16(q.avail + 2, avail_idx)
    for _ in range(2):
        walked = q_walked = dev.queues[0].vq.descriptors_walked
        drv.notify(0)
        q_walked = dev.queues[0].vq.descriptors_walked if dev.queues[0].vq else q_walked
        # bounded work: each chain at most the queue size, at most one pass over the ring
        assert q_walked - walked <= q.size * q.size
    status = drv.status()
    assert status == ALL_OK or status & V.DEVICE_NEEDS_RESET
    assert irq.level == (drv.r(V.INTERRUPT_STATUS) != 0)
    after = disk.read_bytes()
    assert len(after) == len(before)
    if mode is not BlockMode.READ_WRITE:
        assert after == before
    disk.write_bytes(before)
    drv.w(V.STATUS, 0)
    assert drv.status() == 0


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, 0xFFF), st.sampled_from([1, 2, 4, 8]),
                          st.integers(0, 2 ** 64 - 1)), max_size=60))
def test_fuzz_register_writes_never_raise(accesses):
    hart, mem, dev, irq = make(Reverser())
    for off, size, value in accesses:
        off -= off % size
        dev.write(off, size, value & ((1 << (8 * size)) - 1))
        dev.read(off, size)
    assert irq.level == (dev.read(V.INTERRUPT_STATUS, 4) != 0)


# --- a guest cannot flood the host's stderr (issue 12 item 13)

def test_needs_reset_warnings_are_rate_limited(rig, caplog):
    # the probe: 10,000 bad QueueNum / reset cycles printed 10,000 warning lines
    hart, dev, irq, drv = rig
    cycles = 10_000
    with caplog.at_level("WARNING", logger="numbavm.virtio"):
        for _ in range(cycles):
            drv.init(queues=[], driver_ok=False)
            drv.w(V.QUEUE_SEL, 0)
            drv.w(V.QUEUE_NUM, 0)
            drv.w(V.QUEUE_READY, 1)
            assert drv.status() & V.DEVICE_NEEDS_RESET
            drv.w(V.STATUS, 0)
        during = [r.getMessage() for r in caplog.records]
        dev.close()
        lines = [r.getMessage() for r in caplog.records]
    full = [m for m in lines if "queue size 0 is not a power of two" in m]
    summaries = [m for m in lines if "more needs-reset warnings suppressed" in m]
    assert len(full) == FIRST and all(m.startswith("virtio-reverser: queue 0: ") for m in full)
    assert len(during) <= FIRST + 4 and len(lines) == len(during) + 1      # close says the rest
    said = [int(m.split("(")[1].split()[0]) for m in summaries]
    assert said and FIRST + sum(said) == cycles                          # every one accounted for
    assert dev.warnings.suppressed("needs-reset") == 0


# --- the backend interface: a base class with defaults, not probed with getattr

class Minimal(VirtioBackend):
    """Only what a backend must give: its identity and process()."""
    name = "minimal"
    device_id = 0x7E

    def process(self, q, chain, transport):
        return 0


def test_backend_base_class_defaults():
    b = VirtioBackend()
    assert b.config() == b"" and b.ready_for(0) is True
    assert b.config_write(0, b"x") is None and b.poll(None) is None
    assert b.reset() is None and b.close() is None
    with pytest.raises(NotImplementedError):
        b.process(0, None, None)


def test_device_backends_subclass_the_base():
    from devices.virtio.console import VirtioConsole
    from devices.virtio.rng import VirtioRng
    for cls in (VirtioBlk, VirtioConsole, VirtioRng):
        assert issubclass(cls, VirtioBackend), cls
        assert cls.process is not VirtioBackend.process, cls


def test_transport_refuses_a_backend_that_does_not_subclass_the_base():
    class Duck:
        name, device_id, num_queues, queue_max, features = "duck", 1, 1, 8, 0

        def config(self):
            return b""

        def process(self, q, chain, transport):
            return 0
    with pytest.raises(TypeError, match="VirtioBackend"):
        V.VirtioMmio(Duck(), None)


def test_minimal_backend_runs_on_the_defaults():
    hart, mem, dev, irq = make(Minimal())
    assert dev.name == "virtio-minimal"
    assert dev.read(V.DEVICE_ID, 4) == 0x7E and dev.read(V.CONFIG, 4) == 0
    dev.write(V.CONFIG, 4, 0x1234)          # config_write: ignored by the default
    dev.poll()                              # poll: nothing to deliver
    dev.write(V.STATUS, 4, 0)               # reset: the default does nothing
    dev.close()                             # close: nothing to release


def test_transport_does_not_probe_the_backend():
    src = open(V.__file__).read()
    assert "getattr(self.backend" not in src and "getattr(backend" not in src
    assert "hasattr(self.backend" not in src and "hasattr(backend" not in src
