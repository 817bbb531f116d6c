"""bench: benchmark workloads (bench/workloads) and the harness; run with `python -m bench` or `numbavm bench`.
May import emu/, devices/, lifecycle/; nothing imports it but its own tests (tests/test_layers.py).
"""
