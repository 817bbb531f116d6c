"""lifecycle.cli: the `numbavm` command -- main (run, subcommands), boot (Linux), runner (the vcpu thread, Ctrl-C,
exit statuses both share), stats (--stats). Imports the rest of lifecycle/; nothing in lifecycle/ imports it.
"""
