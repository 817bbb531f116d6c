"""VirtioBackend: the interface between the virtio-mmio transport and a device (VIRTIO 1.1 section 4.2).

The transport (devices.virtio.mmio.VirtioMmio) owns feature negotiation, the device
status and the virtqueues; a backend only handles requests.  Subclass VirtioBackend,
set the class attributes and override process(); every other method has a default
that does nothing, so a backend writes only what its device needs (Firecracker's
VirtioDevice trait plays the same part).

What a backend may use of the transport it is given: .mem (GuestMemory), .live,
.service_queue(q) (new host input for queue q), .config_changed(), .needs_reset(why).
"""


class VirtioBackend:
    name = "backend"    # short name ("blk"), for messages: the transport is "virtio-<name>"
    device_id = 0       # the virtio device type (section 5: 2 blk, 3 console, 4 rng)
    num_queues = 1      # how many virtqueues
    queue_max = 64      # QueueNumMax of each of them
    features = 0        # device-specific feature bits; the transport adds VIRTIO_F_VERSION_1,
                        # VIRTIO_F_INDIRECT_DESC and VIRTIO_F_EVENT_IDX

    def config(self) -> bytes:
        """The device-specific configuration space (reads past its end are 0)."""
        return b""

    def config_write(self, offset: int, data: bytes) -> None:
        """The driver wrote `data` at `offset` of the configuration space: ignored by default."""

    def ready_for(self, queue_index: int) -> bool:
        """False leaves queue q's buffers in the avail ring for now (the console's receiveq
        while there is no input)."""
        return True

    def process(self, queue_index: int, chain, transport) -> int:
        """Handle one request -> the used length (bytes written into the chain's writable
        buffers); the transport then puts the chain on the used ring.  chain is a
        devices.virtio.virtqueue.Chain (buffers: (addr, len, writable)).  May raise VirtqueueError
        or DmaError for a malformed request (the device then NEEDS_RESET)."""
        raise NotImplementedError(f"{type(self).__name__}.process")

    def poll(self, transport) -> None:
        """Deliver pending host input (called by VirtioMmio.poll between runs of the hart)."""

    def reset(self) -> None:
        """The driver reset the device (Status 0), and once when the transport is built."""

    def close(self) -> None:
        """The machine is done with the device: release host resources (files)."""
