"""devices.firmware: what a guest finds besides devices -- the VMM's own SBI (sbi), HTIF (htif), and the flattened
device tree (fdt: the format; devicetree: the machine's tree). Imports only emu/ and devices/.
"""
