"""Process-age clock: seconds since this process started (for start-up measurements).

Import-light on purpose.  ``seconds_since_process_start()`` uses the kernel's record of
the process start time (/proc/self/stat field 22, clock ticks since boot) against
CLOCK_BOOTTIME, so it includes the interpreter's own start-up before any of our code
ran.  Where that is not available it falls back to the time since this module was
first imported.
"""
from __future__ import annotations

import os
import time

_T_IMPORT = time.perf_counter()


def _age_at_import() -> float | None:
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
        # comm (field 2) may contain spaces/parens: split after the last ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        start_ticks = int(fields[19])          # field 22 overall = index 19 after 'state'
        hz = os.sysconf("SC_CLK_TCK")
        now = time.clock_gettime(time.CLOCK_BOOTTIME)
        age = now - start_ticks / hz
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    # Containers/sandboxes may report odd values; distrust anything implausible.
    if not 0.0 <= age < 3600.0:
        return None
    return age


_AGE_AT_IMPORT = _age_at_import()


def seconds_since_process_start() -> float:
    """Seconds since process start (or since this module's import where unknown)."""
    return (_AGE_AT_IMPORT or 0.0) + (time.perf_counter() - _T_IMPORT)


def process_start_known() -> bool:
    return _AGE_AT_IMPORT is not None
