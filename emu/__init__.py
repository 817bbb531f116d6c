"""emu: the RV64 hart (RV64GC and the extensions emu.csr.ISA_STRING names, M/S/U, Sv39): its instruction table, Numba loop, native regions.
Imports nothing of devices/, lifecycle/ or bench/; everything above may import it (tests/test_layers.py).

Numba's on-disk cache checks only the file that defines a function, not the
modules whose constants and functions it inlines (emu/loop.py freezes the op
numbers of emu/isa.py, for instance).  So the cache directory is keyed on a
hash of every source file in this package that Numba compiles or inlines: any
edit to one gets a fresh cache.  The regions/ package (LLVM IR through llvmlite) is
plain Python that no compiled function imports: only this folder's own files are
hashed, so editing it keeps the cache.  Set NUMBA_CACHE_DIR yourself to override.  This module
must not import numba.
"""
import hashlib
import os
import sys
from pathlib import Path



def _cache_dir():
    h = hashlib.sha1()
    for p in sorted(Path(__file__).parent.glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    h.update(os.environ.get("NUMBAVM_LLVM_OPTIONS", "").encode())
    h.update(os.environ.get("NUMBA_BOUNDSCHECK", "").encode())   # changes the code, not the key
    h.update(sys.version.encode())
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "numbavm", "numba-" + h.hexdigest()[:16])


if "NUMBA_CACHE_DIR" not in os.environ:
    os.environ["NUMBA_CACHE_DIR"] = _cache_dir()
    if "numba" in sys.modules:          # imported before us: make numba see the setting
        from numba.core import config as _config
        _config.reload_config()

# Benchmarks pin LLVM's code alignment (alignment alone moves a Numba loop by ~20%):
# NUMBAVM_LLVM_OPTIONS="--align-all-nofallthru-blocks=5". It is part of the cache key above.
if os.environ.get("NUMBAVM_LLVM_OPTIONS"):
    import llvmlite.binding as _llvm
    for _opt in os.environ["NUMBAVM_LLVM_OPTIONS"].split():
        _llvm.set_option("", _opt)
