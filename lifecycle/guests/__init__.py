"""lifecycle.guests: recipes for the guests numbavm ships (linux/: the bundled Linux 6.1 kernel and initramfs,
built by linux/build.sh). Shell and C sources, no Python imports.
"""
