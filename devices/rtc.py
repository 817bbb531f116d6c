"""Goldfish RTC at 0x0010_1000, IRQ 11, as on QEMU virt (`google,goldfish-rtc`).

The guest's date: a 64-bit count of nanoseconds since the Unix epoch (1970-01-01 UTC),
with one alarm.  Linux's drivers/rtc/rtc-goldfish.c (CONFIG_RTC_DRV_GOLDFISH, built into
Debian's riscv64 kernel) reads it at boot to set the system clock, and QEMU's
hw/rtc/goldfish_rtc.c is the model these semantics follow.  32-bit registers by offset:

  0x00 TIME_LOW         read: the count's low 32 bits, and latches its high 32 bits in TIME_HIGH
                        (so TIME_LOW then TIME_HIGH is one consistent 64-bit value);
                        write: sets the count's low 32 bits (the clock then runs on from there)
  0x04 TIME_HIGH        read: the latched high bits; write: sets the count's high 32 bits
  0x08 ALARM_LOW        read/write the alarm time's low bits; a write arms the alarm
                        (an alarm time already reached fires at once)
  0x0c ALARM_HIGH       read/write the alarm time's high bits (written first; does not arm)
  0x10 IRQ_ENABLED      bit 0: the alarm raises the interrupt line
  0x14 CLEAR_ALARM      write: disarm the alarm
  0x18 ALARM_STATUS     read: 1 while the alarm is armed and has not fired
  0x1c CLEAR_INTERRUPT  write: lower the interrupt (the fired alarm's pending bit)
When the alarm fires it disarms and sets its pending bit; the interrupt line is
pending AND IRQ_ENABLED (level-triggered, as the PLIC's gateways expect).  Setting the
time (`hwclock --systohc`, Linux's set_time writes TIME_HIGH then TIME_LOW) moves the
count by an offset; the clock it runs on is not touched.  Other sizes than 4 and other
offsets read 0 and are ignored, as the bus's other devices do.

The clock (`clock_ns`, nanoseconds from any origin, never going back) and where the
count starts (`base_ns`) are the machine's choice: lifecycle/machine/board.py
(rtc_clock) says which per timer mode, and docs/devices.md (Time) why.  The alarm is
looked at on every access to the device and whenever the machine polls its devices
(poll()); ns_until_alarm() tells an idle machine how long it may sleep.
"""
from datetime import datetime, timezone

from emu.spec import RTC_BASE, RTC_SIZE, RTC_IRQ  # noqa: F401 (QEMU virt's map; importable from here)
from devices.bus import Device, IrqLine

TIME_LOW, TIME_HIGH, ALARM_LOW, ALARM_HIGH = 0x00, 0x04, 0x08, 0x0C
IRQ_ENABLED, CLEAR_ALARM, ALARM_STATUS, CLEAR_INTERRUPT = 0x10, 0x14, 0x18, 0x1C
NS_PER_S = 1_000_000_000
MASK32 = 0xFFFF_FFFF
MASK64 = (1 << 64) - 1
MAX_BASE_S = MASK64 // NS_PER_S       # the last second the 64-bit count can hold (in 2554)


class RtcBaseError(ValueError):
    """A start time that is not a date the RTC can hold (one line)."""


def parse_base(value):
    """A start time for the RTC -> whole seconds since the Unix epoch.

    value: an int (seconds), a string of digits (seconds), or an ISO 8601 date or date and
    time ('2026-01-01', '2026-01-01T12:00:00', '...+02:00', '...Z'; without a zone it is UTC).
    """
    if isinstance(value, bool):
        raise RtcBaseError(f"{value!r} is not a time")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = int(value.strip())
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RtcBaseError(f"{value!r} is neither seconds since 1970 nor an ISO 8601 date "
                               "such as 2026-01-01 or 2026-01-01T12:00:00Z") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = int(when.timestamp())
    else:
        raise RtcBaseError(f"{value!r} is not a time (give seconds since 1970 or an ISO 8601 date)")
    if not 0 <= seconds <= MAX_BASE_S:
        raise RtcBaseError(f"{value!r} is outside what the RTC holds (1970 to 2554)")
    return seconds


class GoldfishRtc(Device):
    name = "rtc"
    dt_name = "rtc"
    dt_compatible = ("google,goldfish-rtc",)

    def __init__(self, clock_ns, base_ns, irq=None):
        """clock_ns: callable -> the clock the count runs on (ns, any origin); base_ns: the count now."""
        self.clock_ns = clock_ns
        self.irq = irq if irq is not None else IrqLine()
        if self.irq.sink is not None:
            self.irq_source = self.irq.source     # the device tree's `interrupts`
        self.tick_offset = (base_ns - clock_ns()) & MASK64   # count = clock + tick_offset (mod 2^64)
        self.time_high = 0                    # latched by the last TIME_LOW read
        self.alarm_next = 0
        self.alarm_running = False
        self.irq_pending = False
        self.irq_enabled = False

    def count(self):
        """The RTC's time: nanoseconds since the Unix epoch."""
        return (self.clock_ns() + self.tick_offset) & MASK64

    def _set_count(self, new):
        self.tick_offset = (self.tick_offset + new - self.count()) & MASK64

    # --- the alarm
    def poll(self):
        """Fire the alarm if its time has come (the machine calls this when it polls its devices)."""
        if self.alarm_running and self.count() >= self.alarm_next:
            self._fire()

    def ns_until_alarm(self):
        """Nanoseconds on the RTC's clock until the armed alarm fires (0: due), or None when none is armed."""
        if not self.alarm_running:
            return None
        return max(0, self.alarm_next - self.count())

    def _fire(self):
        self.alarm_running = False
        self.irq_pending = True
        self._update_irq()

    def _arm(self):
        if self.alarm_next <= self.count():
            self._fire()                      # a time already past fires at once
        else:
            self.alarm_running = True

    def _update_irq(self):
        self.irq.set(self.irq_pending and self.irq_enabled)

    # --- registers
    def read(self, offset, size):
        if size != 4:
            return 0
        self.poll()
        if offset == TIME_LOW:
            now = self.count()
            self.time_high = now >> 32
            return now & MASK32
        if offset == TIME_HIGH:
            return self.time_high
        if offset == ALARM_LOW:
            return self.alarm_next & MASK32
        if offset == ALARM_HIGH:
            return self.alarm_next >> 32
        if offset == IRQ_ENABLED:
            return int(self.irq_enabled)
        if offset == ALARM_STATUS:
            return int(self.alarm_running)
        return 0

    def write(self, offset, size, value):
        if size != 4:
            return
        self.poll()
        value &= MASK32
        if offset == TIME_LOW:
            self._set_count((self.count() & ~MASK32) | value)
        elif offset == TIME_HIGH:
            self._set_count((value << 32) | (self.count() & MASK32))
        elif offset == ALARM_LOW:
            self.alarm_next = (self.alarm_next & ~MASK32) | value
            self._arm()
        elif offset == ALARM_HIGH:
            self.alarm_next = (value << 32) | (self.alarm_next & MASK32)
        elif offset == IRQ_ENABLED:
            self.irq_enabled = bool(value & 1)
            self._update_irq()
        elif offset == CLEAR_ALARM:
            self.alarm_running = False
        elif offset == CLEAR_INTERRUPT:
            self.irq_pending = False
            self._update_irq()
