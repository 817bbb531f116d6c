"""lifecycle: the machine (hart + devices + loader), the control plane, the CLI and the debugging tools.
Imports emu/ and devices/, never bench/ (found by entry point); bench/ may import it (tests/test_layers.py).

    from lifecycle import (GuestLifecycle, GuestConfig, Guest, GuestError, GuestLifecycleError,
                           GuestClosedError, ConfigError, KernelType, BlockSpec, BlockMode)

The names are loaded lazily (PEP 562): importing this package imports neither numba nor
the core, so the CLI can still decide NUMBA_DISABLE_JIT; GuestLifecycle.create() imports
lifecycle.machine (numba) when it builds the first VMM.
"""
import importlib

_EXPORTS = {
    "GuestLifecycle": "lifecycle.lifecycle",
    "LifecycleState": "lifecycle.lifecycle",
    "GuestConfig": "lifecycle.config",
    "KernelType": "lifecycle.config",
    "BlockSpec": "lifecycle.config",
    "BlockMode": "lifecycle.config",
    "Guest": "lifecycle.guest",
    "GuestError": "lifecycle.errors",
    "GuestLifecycleError": "lifecycle.errors",
    "GuestClosedError": "lifecycle.errors",
    "ConfigError": "lifecycle.errors",
    "GuestManager": "lifecycle.manager",
    "GuestInfo": "lifecycle.manager",
    "GuestStatus": "lifecycle.manager",
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
