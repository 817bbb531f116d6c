"""lifecycle.debug: tools on a running hart -- GDB (gdbstub; rsp: the wire; gdbtarget: the vcpu side), hooks, trace.
Imports emu/, devices/, lifecycle.machine (its debugger seat), lazily control.units; control/ and cli/ import it.
"""
