"""numbavm hart layer: RV64 CPU state, decoder, Numba hot loop, CSRs, MMU, ELF loader.

Keep this module free of heavy imports (no numba here): the CLI imports
emu.loader to validate a program before it decides whether to disable the JIT.
"""
