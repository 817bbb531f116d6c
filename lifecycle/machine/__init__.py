"""lifecycle.machine: the board (board.Machine: one hart, the qemu-virt devices, the loop's exits) and its debugger
seat. Imports emu/ and devices/ (and lifecycle.debug's disassembler, lazily); never control/ or cli/.
"""
