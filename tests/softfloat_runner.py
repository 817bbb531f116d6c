"""Call emu.softfloat and tests/fpref.py the same way, and run a list of cases with whichever engine this process has.

    NUMBA_DISABLE_JIT=1 python tests/softfloat_runner.py CASES.json OUT.json

CASES.json is a list of [op, fmt, args]; OUT.json gets [engine, results] with one result per case (a list of
ints).  tests/test_softfloat.py runs its cases with the JIT in-process and with the plain-Python engine here.

The cases' convention is tests/fpref.py's (bit patterns and x register values as non-negative ints); sf_call
converts to emu.softfloat's (int64: a double's bits signed, a single's in the low half) and back, and
normalises a result only where its representation is the API's: a single result outside 0..2**32-1 or a
double outside int64 is returned as it came, so it shows up as a mismatch.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fpref as R                   # noqa: E402
from emu.spec import FMT_D, FMT_S   # noqa: E402

M64 = (1 << 64) - 1

# op -> (the fpref function, the emu.softfloat function's name, the kind of result)
OPS = {
    "add": (R.add, "f_add", "bits"), "sub": (R.sub, "f_sub", "bits"),
    "mul": (R.mul, "f_mul", "bits"), "div": (R.div, "f_div", "bits"),
    "sqrt": (R.sqrt, "f_sqrt", "bits"), "fma": (R.fma, "f_fma", "bits"),
    "min": (R.fmin, "f_min", "bits"), "max": (R.fmax, "f_max", "bits"),
    "eq": (R.feq, "f_eq", "bool"), "lt": (R.flt, "f_lt", "bool"), "le": (R.fle, "f_le", "bool"),
    "class": (R.fclass, "f_class", "class"),
    "to_int": (R.f_to_int, "f_to_int", "int"), "from_int": (R.int_to_f, "int_to_f", "bits"),
    "f_to_f": (R.f_to_f, "f_to_f", "bits"),
}
# how many leading arguments are bit patterns (of fmt, or of the other format for f_to_f) / x values
FP_ARGS = {"add": 2, "sub": 2, "mul": 2, "div": 2, "sqrt": 1, "fma": 3, "min": 2, "max": 2, "eq": 2, "lt": 2,
           "le": 2, "class": 1, "to_int": 1, "from_int": 0, "f_to_f": 1}


def s64(v):
    v &= M64
    return v - (1 << 64) if v >> 63 else v


def _to_sf_bits(fmt, bits):
    return s64(bits) if fmt == FMT_D else bits & 0xFFFF_FFFF


def _from_sf_bits(fmt, v):
    v = int(v)
    if fmt == FMT_S:
        return v                                      # 0 .. 2**32-1, or a visible mismatch
    return v & M64 if -(1 << 63) <= v < (1 << 63) else v


def ref_call(op, fmt, args):
    """The reference's result as a tuple of ints (bits as non-negative ints, to_int's value as an int64)."""
    r = OPS[op][0](fmt, *args)
    return (r,) if OPS[op][2] == "class" else tuple(r)


def sf_call(sf, op, fmt, args):
    """emu.softfloat's result, in ref_call's convention."""
    name, kind = OPS[op][1], OPS[op][2]
    args = list(args)
    src_fmt = (FMT_S if fmt == FMT_D else FMT_D) if op == "f_to_f" else fmt
    for i in range(FP_ARGS[op]):
        args[i] = _to_sf_bits(src_fmt, args[i])
    if op == "from_int":
        args[0] = s64(args[0])
    if op in ("to_int", "from_int", "fma"):
        args = args[:-2] + [bool(x) if op != "fma" else int(x) for x in args[-2:]]
    r = getattr(sf, name)(fmt, *args)
    if kind == "class":
        return (int(r),)
    v, flags = int(r[0]), int(r[1])
    if kind == "bits":
        v = _from_sf_bits(fmt, v)
    return v, flags


def main(cases_path, out_path):
    from emu import softfloat as sf
    from emu.hart import jit_enabled
    cases = json.loads(Path(cases_path).read_text())
    results = [list(sf_call(sf, op, fmt, args)) for op, fmt, args in cases]
    Path(out_path).write_text(json.dumps(["jit" if jit_enabled() else "python", results]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
