"""devices.virtio: virtio 1.2 over MMIO -- the transport (mmio), split virtqueues (virtqueue), the backend
interface (backend) and the devices (blk, console, rng). Imports only emu/ and devices/.
"""
