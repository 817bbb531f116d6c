"""numbavm benchmarks: guest workloads (bench/workloads) run through the machine; run with `python -m bench`."""
