"""HTIF, the Berkeley host-target interface, as Spike and QEMU implement it.

The guest writes a command to the 64-bit `tohost` word: device (bits 63:56),
command (55:48), payload (47:0).  Handled here:
  device 0, command 0, payload odd:  exit with code payload >> 1 (riscv-tests' pass/fail)
  device 1, command 1:               write the character payload & 0xFF to the console;
                                     the host then clears tohost and answers in fromhost
The hart flags the tohost page, so a store to it makes the loop return EXIT_HTIF.
"""
from emu.state import ST_TOHOST, ST_FROMHOST


class HtifError(Exception):
    pass


class Htif:
    def __init__(self, console):
        self.console = console

    def handle(self, hart):
        """Serve the command in tohost. -> an exit code, or None to go on."""
        tohost = int(hart.st[ST_TOHOST])
        value = int.from_bytes(hart.read_phys(tohost, 8), "little")
        if value == 0:
            return None
        dev, cmd, payload = value >> 56, (value >> 48) & 0xFF, value & ((1 << 48) - 1)
        if dev == 0 and cmd == 0:
            if payload & 1:
                return payload >> 1
            raise HtifError(f"HTIF syscall proxy (tohost=0x{value:x}) is not supported: "
                            "link the program with an HTIF exit/putchar runtime instead of pk")
        if dev == 1 and cmd == 1:
            ch = payload & 0xFF
            self.console.write(bytes([ch]))
            if ch == 10:
                self.console.flush()
            hart.write_phys(tohost, bytes(8))
            fromhost = int(hart.st[ST_FROMHOST])
            if fromhost >= 0:
                hart.write_phys(fromhost, ((1 << 56) | (1 << 48) | 0x100 | ch).to_bytes(8, "little"))
            return None
        hart.write_phys(tohost, bytes(8))       # unknown device/command: acknowledge and ignore
        return None
