"""How tests run a hart with its native regions forced on or off (emu/regions/).

On: every hot window is compiled at its first sample, synchronously, so a run gets the same regions
whatever the host's speed (the tests compare them with the loop bit for bit). Off: the loop alone.
"""
from emu import state as S


def force_regions(h, on, poll=None):
    """Regions on (compiled at once, at the first sample) or off; poll: the chunk length, st[ST_POLL]."""
    if on:
        h.start_regions()
        h.regions.sync = True
        h.st[S.ST_REGION_HOT] = 1
    else:
        h.stop_regions()
    if poll is not None:
        h.st[S.ST_POLL] = poll
