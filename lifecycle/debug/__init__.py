"""lifecycle.debug: tools on a running hart -- the GDB stub (gdbstub), Unicorn-style hooks (hooks), the tracer (trace).
Imports emu/, devices/ and lifecycle.machine (GDB and hooks take its debugger seat); control/ and cli/ import it.
"""
