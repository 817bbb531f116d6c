"""numbavm device layer: the MMIO trap table and the qemu-virt devices (docs/devices.md)."""
