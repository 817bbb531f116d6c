"""devices/virtio/rng.py: virtio-rng (VIRTIO 1.1 section 5.4) fills the guest's buffers with host entropy."""
import io
import os
import re
import sys


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from virtio_driver import Driver, RamWatch, make  # noqa: E402

from devices.virtio import mmio as V  # noqa: E402
from devices.virtio.rng import RNG_MAX_PER_REQUEST, VirtioRng  # noqa: E402


class Counter:
    """A predictable entropy source: 0, 1, 2, ... (mod 256), and it records the requests."""
    def __init__(self):
        self.n = 0
        self.asked = []

    def __call__(self, n):
        self.asked.append(n)
        out = bytes((self.n + i) & 0xFF for i in range(n))
        self.n += n
        return out


def up(source=os.urandom):
    hart, mem, dev, irq = make(VirtioRng(source))
    drv = Driver(dev, mem)
    assert drv.init() is not None
    return hart, dev, drv, drv.queues[0]


def test_identity():
    hart, dev, drv, q = up()
    assert drv.r(V.DEVICE_ID) == 4 and dev.backend.num_queues == 1
    assert drv.device_features() == V.TRANSPORT_FEATURES      # no device-specific features
    assert dev.read(0x100, 4) == 0                            # no configuration space


def test_fills_every_writable_buffer():
    src = Counter()
    hart, dev, drv, q = up(src)
    used, data = q.request([5, 11, 16])                        # three writable descriptors
    assert used == 32 and data == bytes(range(32))
    used, data = q.request([32], indirect=True)
    assert used == 32 and data == bytes(range(32, 64))
    assert src.asked == [32, 32] and dev.irq.level


def test_host_entropy_by_default():
    hart, dev, drv, q = up()
    used, data = q.request([64])
    assert used == 64 and data != bytes(64)


def test_readable_only_chain_gets_nothing():
    src = Counter()
    hart, dev, drv, q = up(src)
    head = q.submit([b"not for you"])
    assert q.take_used() == [(head, 0)] and src.asked == []
    assert drv.status() == 15


def test_huge_request_is_capped_and_stays_in_its_buffer():
    hart, dev, drv, q = up(Counter())
    size = RNG_MAX_PER_REQUEST + 4096
    head = q.submit([size], notify=False)
    (addr, n), = q.writable[head]
    watch = RamWatch(hart)
    drv.notify(0)
    (h, used), = q.take_used()
    assert h == head and used == RNG_MAX_PER_REQUEST
    assert watch.only_within((addr, RNG_MAX_PER_REQUEST), (q.used, 6 + 8 * q.size))


def test_short_source():
    hart, dev, drv, q = up(lambda n: b"\x01\x02\x03")         # a source that gives less than asked
    assert q.request([16]) == (3, b"\x01\x02\x03")


def test_guest_driver():
    """tests/guest/dev/virtio_rng.c inside a Machine: 32 bytes from the host, printed in hex."""
    from lifecycle.machine.board import Machine
    from emu.hart import jit_enabled
    out = io.BytesIO()
    m = Machine(memory=16 << 20, engine="jit" if jit_enabled() else "python", console=out, virtio_rng=True)
    m.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest", "bin", "dev_virtio_rng.elf"))
    r = m.run(50_000_000)
    text = out.getvalue().decode()
    assert (r.reason, r.exit_code) == ("exit", 0), text
    assert re.fullmatch(r"virtio-rng:( [0-9a-f]{2}){32}\n", text)
