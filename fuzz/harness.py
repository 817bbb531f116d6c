"""What every fuzz/fuzz_*.py does to run under atheris (libFuzzer): import the code under test
instrumented for coverage, then hand libFuzzer the one-input function.  `make fuzz` runs them."""
import importlib
import sys


def fuzz(test_one_input, instrument, plain=(), warm=None):
    """instrument: the modules whose coverage guides the fuzzer; plain: modules to import first,
    uninstrumented (Numba compiles the emulator from its bytecode, which atheris would change);
    warm: an input run once before the clock starts (a JIT compile)."""
    import atheris
    for name in plain:
        importlib.import_module(name)
    with atheris.instrument_imports():
        for name in instrument:
            importlib.import_module(name)
    if warm is not None:
        test_one_input(warm)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
