"""devices/ratelimit.py: DeviceWarnings, the one rate limiter every device's guest-caused
warnings go through (issue 12 item 13): the first FIRST of a kind in full, then one
summary line at 10x, 100x ... FIRST, and the rest when the device closes."""
import logging

from devices.ratelimit import FIRST, DeviceWarnings


def messages(caplog):
    return [r.getMessage() for r in caplog.records]


def test_first_in_full_then_summaries_then_the_rest_at_close(caplog):
    w = DeviceWarnings("numbavm.test", "dev0")
    with caplog.at_level(logging.WARNING, logger="numbavm.test"):
        logged = [w.warn("bad", f"bad thing {i}") for i in range(1, 1001)]
        assert logged.count(True) == FIRST + 2                       # at 10 * FIRST and 100 * FIRST
        assert messages(caplog) == [f"dev0: bad thing {i}" for i in range(1, FIRST + 1)] + [
            f"dev0: ... ({10 * FIRST - FIRST} more bad warnings suppressed)",
            f"dev0: ... ({100 * FIRST - 10 * FIRST} more bad warnings suppressed)"]
        assert w.suppressed("bad") == 1000 - 100 * FIRST
        w.flush()
        assert messages(caplog)[-1] == f"dev0: ... ({1000 - 100 * FIRST} more bad warnings suppressed)"
        assert w.suppressed("bad") == 0
        w.flush()                                                    # nothing new: nothing said
        assert len(caplog.records) == FIRST + 3


def test_kinds_are_counted_apart(caplog):
    w = DeviceWarnings(logging.getLogger("numbavm.test"), "dev1")
    with caplog.at_level(logging.WARNING, logger="numbavm.test"):
        for _ in range(FIRST + 3):
            w.warn("a", "a happened")
        assert w.warn("b", "b happened")                             # another kind: in full
        assert w.suppressed("a") == 3 and w.suppressed("b") == 0
        w.flush()
        assert messages(caplog)[-1] == "dev1: ... (3 more a warnings suppressed)"


def test_a_flood_costs_a_logarithmic_number_of_lines(caplog):
    w = DeviceWarnings("numbavm.test", "dev2")
    with caplog.at_level(logging.WARNING, logger="numbavm.test"):
        for _ in range(100_000):
            w.warn("flood", "x")
        w.flush()
    lines = messages(caplog)
    assert len(lines) <= FIRST + 6
    counted = FIRST + sum(int(m.split("(")[1].split()[0]) for m in lines if "suppressed" in m)
    assert counted == 100_000
