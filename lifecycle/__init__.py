"""lifecycle: the machine (hart + devices + loader), the control plane, the CLI and the debugging tools.
Imports emu/ and devices/, never bench/ (found by entry point); bench/ may import it (tests/test_layers.py).

    from lifecycle import (GuestLifecycle, GuestConfig, Guest, GuestError, GuestLifecycleError,
                           GuestClosedError, ConfigError, KernelType, BlockSpec, BlockMode)

The names are loaded lazily (PEP 562): importing this package imports neither numba nor
the core, so the CLI can still decide NUMBA_DISABLE_JIT; GuestLifecycle.create() imports
lifecycle.machine.board (numba) when it builds the first VMM.
"""
import importlib

_EXPORTS = {
    "GuestLifecycle": "lifecycle.control.lifecycle",
    "LifecycleState": "lifecycle.control.lifecycle",
    "GuestConfig": "lifecycle.control.config",
    "KernelType": "lifecycle.control.config",
    "BlockSpec": "lifecycle.control.config",
    "BlockMode": "lifecycle.control.config",
    "Guest": "lifecycle.control.guest",
    "GuestError": "lifecycle.control.errors",
    "GuestLifecycleError": "lifecycle.control.errors",
    "GuestClosedError": "lifecycle.control.errors",
    "ConfigError": "lifecycle.control.errors",
    "GuestManager": "lifecycle.control.manager",
    "GuestInfo": "lifecycle.control.manager",
    "GuestStatus": "lifecycle.control.manager",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'lifecycle' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
