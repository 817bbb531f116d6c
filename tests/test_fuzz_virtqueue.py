"""The virtqueue fuzz property (fuzz/fuzz_virtqueue.py: one_input) in CI: bounded, derandomized.

Random descriptor tables, avail rings and indirect tables in guest RAM: every pop is a
chain inside RAM of at most SIZE buffers, or VirtqueueError (nothing else); at most SIZE
descriptors are read per pop; a device writing the chain stays inside its writable buffers.
Both outcomes must occur, or the property proves nothing.
"""
import os
import sys

from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz"))
import fuzz_virtqueue  # noqa: E402

from devices.virtio.virtqueue import Virtqueue  # noqa: E402


def test_random_queues():
    counts = {"chains": 0, "errors": 0}
    pop = Virtqueue.pop

    def counting_pop(self):
        try:
            chain = pop(self)
        except Exception:
            counts["errors"] += 1
            raise
        counts["chains"] += chain is not None
        return chain

    @settings(max_examples=300, derandomize=True, deadline=None, database=None)
    @given(mode=st.integers(0, 255).map(lambda m: m | 0x3A if m & 0x80 else m),   # often tamed
           body=st.binary(min_size=0, max_size=800) | st.binary(min_size=600, max_size=800))
    def check(mode, body):
        fuzz_virtqueue.one_input(bytes([mode]) + body)

    Virtqueue.pop = counting_pop
    try:
        check()
    finally:
        Virtqueue.pop = pop
    assert counts["chains"] > 30 and counts["errors"] > 30, counts
