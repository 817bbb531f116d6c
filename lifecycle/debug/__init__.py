"""lifecycle.debug: tools on a running hart -- GDB (gdbstub; its wire rsp, its vcpu side gdbtarget), hooks, trace.
Imports emu/, devices/ and lifecycle.machine (GDB and hooks take its debugger seat); control/ and cli/ import it.
"""
