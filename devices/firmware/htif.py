"""HTIF, the Berkeley host-target interface, as Spike and QEMU implement it.

The guest writes a command to the 64-bit `tohost` word: device (bits 63:56),
command (55:48), payload (47:0).  Handled here:
  device 0, command 0, payload odd:  exit with code payload >> 1 (riscv-tests' pass/fail)
  device 1, command 1:               write the character payload & 0xFF to the console;
                                     the host then clears tohost and answers in fromhost
The hart flags the tohost page, so a store to it makes the loop return EXIT_HTIF.

putchar is one loop exit per character, so this path is kept cheap: RAM and the
state are read through memoryviews (no numpy scalars, no Hart.write_phys unless the
tohost page also holds code or regions), and characters collect in `pending`
instead of going to the console one write (and one socket send) each.  The
machine calls flush() whenever the loop stops for anything but a putchar (another
device's output, a wait for input, the end of the run) and at least every slice
of steps while output is pending (lifecycle/machine/board.py), so output keeps its order
and shows up promptly; a full buffer (FLUSH_BYTES) is written at once.
"""
from emu.state import ST_TOHOST, ST_FROMHOST, ST_RES_ADDR, PF_HTIF

FLUSH_BYTES = 4096       # pending console output written without waiting for the loop to stop
_ZERO8 = bytes(8)


class HtifError(Exception):
    pass


class Htif:
    def __init__(self, console):
        self.console = console
        self.pending = bytearray()   # console output not yet written (flush() writes it)
        self.writes = 0              # console.write calls made (statistics, tests)
        self.chars = 0               # characters put (statistics; the machine's idle rule, lifecycle/machine/board.py)
        self._hart = None

    def _bind(self, hart):
        self._hart = hart
        self._ram = memoryview(hart.ram)
        self._st = hart.stm
        self._pflags = memoryview(hart.pflags)

    def flush(self):
        """Write the pending console output (the console's own flush included)."""
        if self.pending:
            data = bytes(self.pending)
            self.pending.clear()
            self.writes += 1
            self.console.write(data)
            self.console.flush()

    def _store(self, hart, paddr, data):
        """A host store of 8 bytes into RAM, with Hart.write_phys's effects where they matter."""
        off = paddr - hart.ram_base
        if off < 0 or off + 8 > hart.ram_size:
            raise HtifError(f"HTIF: 0x{paddr:x} is outside guest RAM")
        if self._pflags[off >> 12] & ~PF_HTIF:
            hart.write_phys(paddr, data)     # code, native regions or a reservation on the page
            return
        self._ram[off:off + 8] = data
        r = self._st[ST_RES_ADDR]
        if r >= 0 and r >> 3 == paddr >> 3:
            self._st[ST_RES_ADDR] = -1       # another agent wrote the reservation set: SC must fail

    def handle(self, hart):
        """Serve the command in tohost. -> an exit code, or None to go on."""
        if hart is not self._hart:
            self._bind(hart)
        tohost = self._st[ST_TOHOST]
        off = tohost - hart.ram_base
        if off < 0 or off + 8 > hart.ram_size:
            raise HtifError(f"HTIF: tohost at 0x{tohost:x} is outside guest RAM")
        value = int.from_bytes(self._ram[off:off + 8], "little")
        if value == 0:
            return None
        dev, cmd, payload = value >> 56, (value >> 48) & 0xFF, value & ((1 << 48) - 1)
        if dev == 1 and cmd == 1:
            ch = payload & 0xFF
            self.pending.append(ch)
            self.chars += 1
            if len(self.pending) >= FLUSH_BYTES:
                self.flush()
            self._store(hart, tohost, _ZERO8)
            fromhost = self._st[ST_FROMHOST]
            if fromhost >= 0:
                self._store(hart, fromhost, ((1 << 56) | (1 << 48) | 0x100 | ch).to_bytes(8, "little"))
            return None
        if dev == 0 and cmd == 0:
            if payload & 1:
                return payload >> 1
            raise HtifError(f"HTIF syscall proxy (tohost=0x{value:x}) is not supported: "
                            "link the program with an HTIF exit/putchar runtime instead of pk")
        self._store(hart, tohost, _ZERO8)    # unknown device/command: acknowledge and ignore
        return None
