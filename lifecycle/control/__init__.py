"""lifecycle.control: the control plane -- GuestLifecycle, Guest, GuestManager, GuestConfig and its validation,
the GuestError codes. Imports lifecycle.machine (lazily: no numba at import time); cli/ and debug/ may import it.
"""
