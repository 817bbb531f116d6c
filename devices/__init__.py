"""devices: the MMIO trap table, the qemu-virt devices, SBI/HTIF firmware, the device tree (docs/devices.md).
Imports only emu/; lifecycle/ and bench/ may import it (tests/test_layers.py).
"""
