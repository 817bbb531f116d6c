"""lifecycle.guests.debian: a Debian riscv64 guest built from Debian's own packages.

    image.py      `numbavm image debian`: ensure_image() -> Image(kernel, initrd, disk, manifest),
                  built once into the cache (docs/linux.md, "A Debian image")
    initramfs.py  the initramfs: busybox-static, the kernel's virtio and ext4 modules, /init
    apt.py        the cache, the mirror, apt with a private state (also tests/debian/fetch.py)
    init          the initramfs's /init (a busybox shell script)
    firstboot     the first boot's init: dpkg --configure -a in the guest, then poweroff
"""
