"""The device-tree fuzz property (fuzz/fuzz_fdt.py: one_input) in CI: bounded, derandomized.

Structured overlays (fragments, __fixups__, __local_fixups__, __symbols__, phandles,
with values that are sometimes right and sometimes not), then damaged at random
bytes or cut short, must be read and applied, or refused with FdtError /
OverlayError (one line, naming the overlay, base tree untouched); never another
exception.  Every file of fuzz/corpus/fdt is a regression input and is run too.
"""
import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "fuzz"))
from fuzz_fdt import one_input, structured  # noqa: E402

from devices.firmware.fdt import FDT_MAX_DEPTH, FdtError, Tree, cells, parse_dtb, strings  # noqa: E402

CORPUS = os.path.join(ROOT, "fuzz", "corpus", "fdt")
LABELS = ["serial0", "cpu0_intc", "plic0", "nolabel"]
NODE_NAMES = ["fragment@0", "fragment@1", "__overlay__", "n", "n@1", "soc", "chosen", "__fixups__",
              "__local_fixups__", "__symbols__", "a"]
PATHS = ["/", "/soc", "/chosen", "/nowhere", "/fragment@0/__overlay__/n", "/fragment@0/__overlay__"]

_value = st.one_of(
    st.lists(st.integers(0, 2 ** 32 - 1), max_size=4).map(lambda v: cells(*v)),
    st.lists(st.integers(0, 8), min_size=1, max_size=3).map(lambda v: cells(*v)),    # small phandles
    st.sampled_from(PATHS).map(strings),
    st.tuples(st.sampled_from(PATHS), st.sampled_from(["ref", "phandle", "x"]),
              st.integers(0, 12)).map(lambda t: strings(f"{t[0]}:{t[1]}:{t[2]}")),
    st.binary(max_size=12),
)
_props = st.dictionaries(st.sampled_from(["target", "target-path", "phandle", "ref", "x"] + LABELS),
                         _value, max_size=4)


@st.composite
def trees(draw, depth=0):
    """(props, [(name, subtree)]) nested a few levels."""
    props = draw(_props)
    kids = [] if depth >= 3 else draw(st.lists(
        st.tuples(st.sampled_from(NODE_NAMES), trees(depth=depth + 1)), max_size=3))
    return props, kids


def _build(node, shape):
    props, kids = shape
    for k, v in props.items():
        node.props[k] = v
    for name, sub in kids:
        _build(node.add(name), sub)


@st.composite
def overlays(draw):
    t = Tree()
    _build(t.root, draw(trees()))
    blob = bytearray(t.to_dtb())
    damage = draw(st.lists(st.tuples(st.integers(0, len(blob) - 1), st.integers(0, 255)), max_size=3))
    for at, byte in damage:
        blob[at] = byte
    cut = draw(st.one_of(st.none(), st.integers(0, len(blob))))
    return bytes(blob if cut is None else blob[:cut])


@settings(max_examples=300, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(blob=overlays())
def test_structured_overlays(blob):
    one_input(blob)


@settings(max_examples=200, derandomize=True, deadline=None, database=None)
@given(blob=st.binary(max_size=256))
def test_raw_bytes(blob):
    one_input(b"\xd0\x0d\xfe\xed" + blob[4:] if blob[:1] == b"\xd0" else blob)


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(recipe=st.binary(min_size=1, max_size=200))
def test_atheris_structured_mode(recipe):
    # the harness' structure-aware half, as atheris runs it
    one_input(structured(recipe))


def _regression_inputs():
    return sorted(os.listdir(CORPUS))


@pytest.mark.parametrize("name", _regression_inputs())
def test_regression_inputs(name):
    with open(os.path.join(CORPUS, name), "rb") as f:
        one_input(f.read())


def test_corpus_holds_the_probes_findings():
    # the 1000-deep overlay (a RecursionError before FDT_MAX_DEPTH) stays a regression input
    with open(os.path.join(CORPUS, "regress_deep_1000.dtbo"), "rb") as f:
        blob = f.read()
    with pytest.raises(FdtError, match=f"nested more than {FDT_MAX_DEPTH} deep"):
        parse_dtb(blob)
