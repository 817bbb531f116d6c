"""virtio-console (VIRTIO 1.1 section 5.3), a single port: no VIRTIO_CONSOLE_F_MULTIPORT.

Queue 0 is receiveq (host -> guest), queue 1 transmitq (guest -> host).

Transmit: every chain's device-readable bytes go to console.write, then
console.flush; nothing is written back (used length 0).

Receive: host input comes from input_source() (a callable returning bytes,
possibly empty, that never blocks; asked only when nothing is pending and the
driver is up) and from feed(data) (thread-safe).  It waits in `pending` until
the guest has posted receive buffers: the receiveq's chains stay in the avail
ring while there is nothing to deliver (ready_for), and bytes leave `pending`
only once they are in guest memory, so no character is ever lost.  Delivery happens on
the machine's thread, in poll() (the machine calls the transport's poll()
between runs of the hart) and whenever the guest notifies the receiveq.
"""
import threading

from devices.virtio.virtqueue import ChainReader, ChainWriter
from devices.virtio.backend import VirtioBackend

VIRTIO_ID_CONSOLE = 3
RECEIVEQ, TRANSMITQ = 0, 1
CHUNK = 1 << 16


class VirtioConsole(VirtioBackend):
    name = "console"
    device_id = VIRTIO_ID_CONSOLE
    num_queues = 2
    queue_max = 64
    features = 0

    def __init__(self, console, input_source=None):
        self.console = console
        self.input_source = input_source
        self.pending = bytearray()
        self.lock = threading.Lock()

    def feed(self, data):
        """Host input for the guest (any thread); delivered at the next poll or receiveq notify."""
        with self.lock:
            self.pending += bytes(data)

    def _refill(self):
        if self.input_source is not None and not self.pending:
            data = self.input_source()
            if data:
                self.feed(data)

    # --- VirtioBackend (devices/virtio/backend.py)
    def config(self):
        # struct virtio_console_config (cols, rows, max_nr_ports, emerg_wr): meaningful
        # only with F_SIZE / F_MULTIPORT / F_EMERG_WRITE, none of which is offered
        return bytes(12)

    def ready_for(self, queue_index):
        if queue_index == RECEIVEQ:
            self._refill()
            with self.lock:
                return bool(self.pending)
        return True

    def poll(self, transport):
        if not transport.live:
            # no driver yet: leave the input in its source (the UART may share it)
            return
        self._refill()
        if self.pending:
            transport.service_queue(RECEIVEQ)

    def process(self, queue_index, chain, transport):
        if queue_index == RECEIVEQ:
            return self._receive(chain, transport)
        if queue_index == TRANSMITQ:
            self._transmit(chain, transport)
        return 0

    def _receive(self, chain, transport):
        writer = ChainWriter(transport.mem, chain)
        with self.lock:
            data = bytes(self.pending[:writer.capacity])
        n = writer.write(data)
        with self.lock:
            del self.pending[:n]       # feed() only appends, so the head is still `data`
        return n

    def _transmit(self, chain, transport):
        reader = ChainReader(transport.mem, chain)
        while reader.remaining:
            self.console.write(reader.read(CHUNK))
        self.console.flush()
