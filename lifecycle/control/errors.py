"""Errors of the lifecycle layer: GuestError (the seed's fifteen), GuestLifecycleError, ConfigError,
GuestClosedError.

No numba here: importable before the CLI decides NUMBA_DISABLE_JIT.
"""
from __future__ import annotations

import enum


class GuestError(enum.Enum):
    """The fifteen members of fuchsia.virtualization.GuestError, with the same meanings."""
    INTERNAL_ERROR = 1                  # catch-all: a bug in the VMM
    DEVICE_NOT_PRESENT = 2              # the requested device is not in this VMM's config
    BAD_CONFIG = 3                      # the GuestConfig is invalid or asks for what is not implemented
    GUEST_INITIALIZATION_FAILURE = 4    # the VMM could not be built (memory, hart)
    DEVICE_INITIALIZATION_FAILURE = 5   # a device could not be instantiated
    DEVICE_START_FAILURE = 6            # a device could not be started (e.g. a missing block image)
    DEVICE_MEMORY_OVERLAP = 7           # two devices (or a device and RAM) claim the same addresses
    FAILED_SERVICE_CONNECT = 8          # (Fuchsia: a device component could not be reached)
    DUPLICATE_PUBLIC_SERVICES = 9       # (Fuchsia: two devices publish the same service)
    KERNEL_LOAD_FAILURE = 10            # the kernel (or ramdisk) is unreadable or malformed
    VCPU_START_FAILURE = 11             # the primary vcpu could not start; the VMM is destroyed
    VCPU_RUNTIME_FAILURE = 12           # a vcpu hit a fatal error while running the guest
    NOT_CREATED = 13                    # run/... before create (or after a failed create)
    ALREADY_RUNNING = 14                # create/run while a VMM is running
    CONTROLLER_FORCED_HALT = 15         # stop() was called on a running VMM


class GuestLifecycleError(Exception):
    """A lifecycle call failed.  ``.error`` is a GuestError; ``str(e)`` is one line a user can act on."""

    def __init__(self, error: GuestError, message: str = ""):
        if not isinstance(error, GuestError):
            raise TypeError(f"error must be a GuestError, not {error!r}")
        self.error = error
        self.message = message or error.name.replace("_", " ").lower()
        super().__init__(f"{error.name}: {self.message}")


class ConfigError(GuestLifecycleError, ValueError):
    """A GuestConfig field is invalid: a BAD_CONFIG GuestLifecycleError that names the field.

    ``.field`` is the field ("cpus", "block_devices[0].path"), ``.reason`` what is wrong with
    it; ``.message`` is "field: reason", as users see it.  The lifecycle maps the error by
    ``.field`` and its type, never by parsing the text.
    """

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(GuestError.BAD_CONFIG, f"{field}: {reason}")


class GuestClosedError(Exception):
    """The Guest handle is closed (its VMM went away, or it was bound outside create..stop).

    ``.epitaph`` is the reason it was closed ("OK", "INTERNAL" or "BAD_STATE"): always set by the
    lifecycle and the manager.  ``.what`` is the call that was refused.
    """

    def __init__(self, epitaph: str | None, what: str = ""):
        self.epitaph = epitaph
        self.what = what
        msg = f"the Guest is closed (epitaph {epitaph})"
        if what:
            msg += f": cannot {what}"
        super().__init__(msg)
