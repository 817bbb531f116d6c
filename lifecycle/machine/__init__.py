"""lifecycle.machine: the board (board.Machine), its run loop (exits.Run: one handler per loop exit), its debugger
seat. Imports emu/ and devices/ (and lifecycle.debug's disassembler, lazily); never control/ or cli/.
"""
