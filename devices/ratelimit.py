"""Rate-limited device warnings: a guest must not be able to flood the host's stderr.

Every warning a device prints because of something the guest did goes through
one DeviceWarnings per device.  Warnings are counted per kind (a short key such
as "needs-reset", not the message, which carries guest values):

  - the first FIRST of a kind are logged as they come;
  - after that they are counted, and one line "<device>: ... (N more <kind>
    warnings suppressed)" is logged when the count reaches 10 * FIRST, then 10x
    that, and so on (so 10,000 bad requests give about ten lines, not 10,000);
  - flush() (the device's close) logs what is still counted and not yet said.

Counts, not clocks: what is printed depends only on what the guest did, so a run
is reproducible and the tests need no timing.  The counts live as long as the
device (a device reset does not clear them: reset cycles are the flood).
"""
import logging
import threading

FIRST = 5            # warnings of one kind logged in full before counting starts


class DeviceWarnings:
    def __init__(self, logger, device, first=FIRST):
        self.log = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
        self.device = device          # the device's name, the start of every line
        self.first = first
        self._seen = {}               # kind -> warnings of that kind so far
        self._said = {}               # kind -> how many of them have been logged or summarised
        self._next_summary = {}       # kind -> the count at which the next summary line is due
        self._lock = threading.Lock()  # devices run on the vcpu thread; close may come from another

    def warn(self, kind, message):
        """Log `<device>: message` unless this kind has been said too often; -> True if logged."""
        with self._lock:
            n = self._seen.get(kind, 0) + 1
            self._seen[kind] = n
            if n <= self.first:
                self._said[kind] = n
                line = f"{self.device}: {message}"
            elif n >= self._next_summary.setdefault(kind, 10 * self.first):
                self._next_summary[kind] *= 10
                line = self._summary(kind, n)
            else:
                return False
        self.log.warning("%s", line)
        return True

    def _summary(self, kind, n):
        more = n - self._said.get(kind, 0)
        self._said[kind] = n
        return f"{self.device}: ... ({more} more {kind} warnings suppressed)"

    def suppressed(self, kind):
        """-> how many warnings of this kind have been counted but not yet said."""
        with self._lock:
            return self._seen.get(kind, 0) - self._said.get(kind, 0)

    def flush(self):
        """Log one summary line per kind with warnings not yet said (call when the device closes)."""
        with self._lock:
            lines = [self._summary(k, n) for k, n in self._seen.items() if n > self._said.get(k, 0)]
        for line in lines:
            self.log.warning("%s", line)
