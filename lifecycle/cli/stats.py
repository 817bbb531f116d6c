"""What --stats adds to `numbavm run` and `numbavm boot`: counters, MMIO per device, --mix.

stats_lines(machine) gives the lines both commands' _print_stats append:
  * traps and interrupts taken, TLB misses (the hart's st[ST_TRAPS], st[ST_IRQS],
    st[ST_TLB_MISSES]: counted by the loop at full speed);
  * MMIO accesses per device: Machine.mmio_by_device counts each Python-device access
    in the machine's MMIO exit handler (lifecycle/machine/exits.py Run.on_mmio: one list
    increment on the exit path); the CLINT is served inside the loop, so its share is
    st[ST_MMIO_COUNT] minus the Python devices' accesses;
  * the instruction mix and traps by cause: these need every instruction, so they
    are counted only with --mix, which single-steps the hart (lifecycle/debug/trace.py,
    docs/tracing.md); without it the line says how to get them.
"""
from __future__ import annotations

from lifecycle.debug.trace import IRQ_NAMES, TRAP_NAMES

TOP = 25        # instruction-mix rows shown; the rest are summed on one line


def stats_lines(m, counters=True, top=TOP) -> list[str]:
    """Lines (two-space indented, as _print_stats prints them) for machine m.

    counters=False leaves out traps / interrupts / TLB misses (numbavm boot prints its own).
    """
    st = getattr(getattr(m, "hart", None), "st", None)
    if st is None:
        return []                            # no hart state (a stand-in machine in the CLI's tests)
    from emu import state as S
    lines = []
    if counters:
        lines += [f"  traps / interrupts   : {int(st[S.ST_TRAPS]):,} / {int(st[S.ST_IRQS]):,}",
                  f"  TLB misses           : {int(st[S.ST_TLB_MISSES]):,}"]
    lines += region_lines(m)
    lines += mmio_lines(m)
    lines += mix_lines(getattr(m, "stepper", None), top)
    return lines


def region_lines(m) -> list[str]:
    """The native-region tier (emu/regions/): what it compiled and what that cost."""
    from emu import state as S
    h = getattr(m, "hart", None)
    r = getattr(h, "regions", None)
    if r is None:
        why = "off (NUMBAVM_REGIONS=0)" if getattr(h, "use_regions", True) is False else "off"
        return [f"  native regions       : {why}"]
    lines = [f"  native regions       : {r.compiled:,} compiled ({r.instructions:,} instructions) in "
             f"{r.compile_s:.3f} s, entered {int(h.st[S.ST_REGION_ENTRIES]):,} times"]
    if r.errors:
        lines.append(f"  region failures      : {r.errors:,} did not compile (a numbavm bug; the loop ran them): "
                     f"{r.last_error}")
    return lines


def mmio_lines(m) -> list[str]:
    from emu import state as S
    bus = getattr(m, "bus", None)
    counts = getattr(m, "mmio_by_device", None)
    if bus is None or counts is None:
        return []
    total = int(m.hart.st[S.ST_MMIO_COUNT])
    in_loop = total - sum(counts)            # fast-path devices (the CLINT): never leave the loop
    rows = []
    for i, (base, _size, dev) in enumerate(bus.entries):
        fast = getattr(dev, "kind", S.MMIO_PYTHON) != S.MMIO_PYTHON
        n = in_loop if fast else (counts[i] if i < len(counts) else 0)
        if fast:
            in_loop = 0                      # (one fast device on this machine: give it all)
        if n:
            rows.append(f"      {dev.name:<14} @ 0x{base:08x} {n:>14,}"
                        + ("   (served inside the loop)" if fast else ""))
    return [f"  MMIO accesses        : {total:,}" + ("" if rows else " (no device was accessed)")] + rows


def mix_lines(stepper, top=TOP) -> list[str]:
    if stepper is None or not getattr(stepper, "mix_enabled", False):
        return ["  instruction mix      : use --mix (single-steps)"]
    mix = stepper.mix
    total = sum(mix.values())
    where = ("the whole run" if stepper.start is None and stepper.end is None
             else f"the trace window ({stepper.window_state})")
    rate = stepper.steps_per_s
    lines = [f"  instruction mix      : {total:,} instructions retired in {where}; "
             f"{stepper.steps:,} single steps" + (f" at {rate:,.0f}/s" if rate else "")]
    ranked = sorted(mix.items(), key=lambda kv: (-kv[1], kv[0]))
    for name, n in ranked[:top]:
        lines.append(f"      {name:<12} {n:>14,} {100.0 * n / total:7.2f}%")
    rest = ranked[top:]
    if rest:
        n = sum(c for _k, c in rest)
        lines.append(f"      {f'({len(rest)} more)':<12} {n:>14,} {100.0 * n / total:7.2f}%")
    lines.append("  traps by cause       : " + _causes(stepper.traps, TRAP_NAMES))
    lines.append("  interrupts by cause  : " + _causes(stepper.irqs, IRQ_NAMES))
    return lines


def _causes(counts, names):
    if not counts:
        return "none"
    return ", ".join(f"{names.get(c, f'cause {c}')} ({c}) {n:,}"
                     for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
