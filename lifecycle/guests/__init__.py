"""lifecycle.guests: recipes for the guests numbavm boots.

    linux/   the bundled Linux 6.1 kernel and initramfs, built by linux/build.sh (shell and C
             sources, no Python)
    debian/  `numbavm image debian`: a Debian riscv64 system from Debian's own packages
             (kernel, initramfs, ext4 disk), built once into the cache (lifecycle.guests.debian)
"""
