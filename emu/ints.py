"""64-bit two's complement views of Python ints, for the host side (plain Python, not compiled).

The state arrays hold int64; registers, addresses and CSR values come in from the host as
unsigned or arbitrary Python ints. Compiled code needs none of this: it works on int64 directly.
"""

MASK64 = (1 << 64) - 1


def s64(v):
    """v (any int, or a NumPy integer) wrapped to a signed 64-bit value, as the state arrays store it."""
    v = int(v) & MASK64
    return v - (1 << 64) if v >> 63 else v


def u64(v):
    """v (any int, or a NumPy integer) wrapped to an unsigned 64-bit value, as a debugger or message shows it."""
    return int(v) & MASK64
