"""virtio-rng, the entropy device (VIRTIO 1.1 section 5.4): host randomness for the guest.

One queue (requestq).  The driver posts device-writable buffers; the device
fills them from `source` (os.urandom by default) and reports how many bytes it
wrote.  5.4.6.1 lets the device write less than the whole buffer, so one
request gets at most RNG_MAX_PER_REQUEST bytes: a guest asking for gigabytes
at once cannot stall the host.  No configuration space, no feature bits.
"""
import os

from devices.virtio.virtqueue import ChainWriter
from devices.virtio.backend import VirtioBackend

VIRTIO_ID_ENTROPY = 4
RNG_MAX_PER_REQUEST = 64 << 10


class VirtioRng(VirtioBackend):
    name = "rng"
    device_id = VIRTIO_ID_ENTROPY
    num_queues = 1
    queue_max = 64
    features = 0

    def __init__(self, source=os.urandom):
        self.source = source          # callable(n) -> up to n random bytes

    def config(self):
        return b""

    def process(self, queue_index, chain, transport):
        writer = ChainWriter(transport.mem, chain)
        want = min(writer.capacity, RNG_MAX_PER_REQUEST)
        return writer.write(bytes(self.source(want))[:want]) if want else 0
