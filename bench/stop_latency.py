"""Stop latency of GuestLifecycle: from the stop() call to its return (loop exited, VMM torn down).

    python -m bench.stop_latency [--stops 100] [--json]

Two guests: a tight loop (`j .`: the nogil loop polls the stop flag every <=4096
instructions) and a guest asleep in wfi with nothing to wake it (the machine sleeps
on an event that stop() sets).  For each, `--stops` times: create, run in a thread,
wait until the guest is visibly running (instructions retired > 0, or idle in wfi),
then time stop().  Prints p50/p99/max in milliseconds; target p99 < 5 ms.  The
tight-loop guest also gives the time of one whole create/run/stop cycle (create()
of a 1 MiB guest, run() in a thread until it has retired instructions, stop()
returned): "cycle".

measure(stops) -> {"tight_loop": {...}, "wfi": {...}} for other tools (bench/ harness).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time

from emu.spec import RAM_BASE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WFI, J_SELF = 0x10500073, 0x0000006F       # wfi; jal x0, 0
J_BACK4 = 0xFFDFF06F                       # jal x0, -4


def _elf(path, words):
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import elf_builder as eb
    data = eb.build_elf([eb.Segment(RAM_BASE, eb.words(words), name=".text"),
                         eb.Segment(RAM_BASE + 0x1000, bytes(16), flags=eb.PF_R | eb.PF_W, name=".tohost")],
                        entry=RAM_BASE, symbols={"tohost": RAM_BASE + 0x1000, "fromhost": RAM_BASE + 0x1008})
    with open(path, "wb") as f:
        f.write(data)
    return path


def _pct(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100 * (len(xs) - 1)))))
    return xs[k]


def _one(lc, config, ready):
    """-> (stop latency, create() time, whole create/run/stop cycle) in seconds."""
    from lifecycle.control.errors import GuestError, GuestLifecycleError
    t_create = time.perf_counter()
    lc.create(config)
    create_s = time.perf_counter() - t_create
    m = lc.machine
    out = {}

    def body():
        try:
            lc.run()
        except GuestLifecycleError as e:
            out["error"] = e.error
    t = threading.Thread(target=body, daemon=True)
    t.start()
    deadline = time.monotonic() + 60
    while not ready(m):
        if time.monotonic() > deadline:
            raise RuntimeError("the guest did not start within 60 s")
        time.sleep(0.0005)
    t0 = time.perf_counter()
    lc.stop()
    t1 = time.perf_counter()
    t.join(60)
    if t.is_alive() or out.get("error") is not GuestError.CONTROLLER_FORCED_HALT:
        raise RuntimeError(f"run did not end with CONTROLLER_FORCED_HALT: {out}")
    return t1 - t0, create_s, t1 - t_create


def measure(stops: int = 100) -> dict:
    from lifecycle.control.config import GuestConfig, KernelType
    from lifecycle.control.lifecycle import GuestLifecycle
    with tempfile.TemporaryDirectory() as d:
        spin = _elf(os.path.join(d, "spin.elf"), [J_SELF])
        wfi = _elf(os.path.join(d, "wfi.elf"), [WFI, J_BACK4])
        lc = GuestLifecycle()
        cases = {"tight_loop": (spin, lambda m: m.hart.instret > 0),
                 "wfi": (wfi, lambda m: m.idling)}
        res = {}
        for name, (path, ready) in cases.items():
            config = GuestConfig(kernel_type=KernelType.ELF, kernel=path, guest_memory=1 << 20)
            _one(lc, config, ready)                        # warm-up (compile/load the loop)
            rows = [_one(lc, config, ready) for _ in range(stops)]
            xs = [r[0] for r in rows]
            res[name] = {"stops": stops, "p50_ms": _pct(xs, 50) * 1e3, "p99_ms": _pct(xs, 99) * 1e3,
                         "max_ms": max(xs) * 1e3, "mean_ms": sum(xs) / len(xs) * 1e3,
                         "latency_s": xs}
            if name == "tight_loop":
                cyc, cre = [r[2] for r in rows], [r[1] for r in rows]
                res["cycle"] = {"cycles": stops, "guest_memory": 1 << 20,
                                "p50_ms": _pct(cyc, 50) * 1e3, "p99_ms": _pct(cyc, 99) * 1e3,
                                "min_ms": min(cyc) * 1e3, "create_p50_ms": _pct(cre, 50) * 1e3,
                                "cycle_s": cyc}
        return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.stop_latency", description=__doc__.split("\n\n")[0])
    p.add_argument("--stops", type=int, default=100)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    a = p.parse_args(argv)
    res = measure(a.stops)
    if a.json:
        print(json.dumps({k: {kk: vv for kk, vv in v.items() if not isinstance(vv, list)}
                          for k, v in res.items()}, indent=2))
    else:
        print(f"stop latency over {a.stops} stops (stop() call to return; target p99 < 5 ms)")
        for name, r in res.items():
            if name == "cycle":
                print(f"  create/run/stop cycle: p50 {r['p50_ms']:7.3f} ms   p99 {r['p99_ms']:7.3f} ms "
                      f"(create {r['create_p50_ms']:.3f} ms)")
                continue
            print(f"  {name:<11} p50 {r['p50_ms']:7.3f} ms   p99 {r['p99_ms']:7.3f} ms   max {r['max_ms']:7.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
