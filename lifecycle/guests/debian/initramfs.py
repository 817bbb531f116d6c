"""The Debian image's initramfs: busybox-static, Debian's own kernel modules and /init.

The kernel (linux-image-*-riscv64) has virtio_mmio, virtio_blk and ext4 as modules, so the
initramfs carries them, decompressed (busybox's insmod reads plain .ko files), with what they
depend on, in the order the kernel's own modules.dep (written by depmod on the host) gives:
a module after everything it needs.  /lib/modules/order lists them; /init (the data file
`init` beside this module) loads them, mounts /dev/vda and switches to the root disk.
"""
import lzma
import os

# What /init loads: the virtio-mmio transport, the disk and its filesystem.  crc32c_generic
# is ext4's metadata checksum, which ext4 asks the crypto API for by name (no symbol
# dependency in modules.dep).
WANTED = ("virtio_mmio", "virtio_blk", "ext4", "crc32c_generic")


def newc(entries):
    """A cpio archive in the kernel's "newc" format (Documentation/driver-api/early-userspace/
    buffer-format.rst), owned by root with mtime 0: entries are (name, mode, data, (rdev major,
    minor)); the TRAILER!!! entry ends it."""
    out = bytearray()
    for ino, (name, mode, data, rdev) in enumerate(list(entries) + [("TRAILER!!!", 0, b"", (0, 0))], start=1):
        name_b = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0)
        out += b"070701" + b"".join(b"%08X" % f for f in fields) + name_b
        out += bytes(-len(out) % 4)
        out += data
        out += bytes(-len(out) % 4)
    return bytes(out)


def module_name(path):
    """kernel/fs/ext4/ext4.ko.xz -> ext4 (the kernel's name: '-' is '_')."""
    return os.path.basename(path).split(".ko")[0].replace("-", "_")


def module_order(modules_dep, wanted=WANTED, builtin=""):
    """-> the paths (relative to the modules directory) to load, each after its dependencies.

    modules_dep: the text of modules.dep ("path: dep dep ..."); builtin: the text of
    modules.builtin (a wanted module built into the kernel needs no loading).  A wanted module
    in neither is a ValueError."""
    deps = {}
    for line in modules_dep.splitlines():
        path, sep, rest = line.partition(":")
        if sep:
            deps[module_name(path)] = (path.strip(), [module_name(d) for d in rest.split()])
    built_in = {module_name(line) for line in builtin.split()}
    order, seen = [], set()

    def visit(name, chain):
        if name in seen:
            return
        if name in chain:
            raise ValueError(f"modules.dep: a dependency cycle: {' -> '.join(chain + [name])}")
        path, needs = deps[name]
        for d in needs:
            if d not in deps:
                raise ValueError(f"modules.dep: {name} needs {d}, which has no line of its own")
            visit(d, chain + [name])
        seen.add(name)
        order.append(path)

    for name in wanted:
        if name in deps:
            visit(name, [])
        elif name not in built_in:
            raise ValueError(f"modules.dep: no module {name} (and it is not built in)")
    return order


def ko_bytes(path):
    """A module file's contents, decompressed (Debian ships .ko.xz)."""
    with open(path, "rb") as f:
        data = f.read()
    return lzma.decompress(data) if path.endswith(".xz") else data


def entries(busybox, init, modules):
    """-> the newc entries: busybox, /init, /dev/console (for the kernel to open before /init
    runs), the modules [(name, bytes)] in load order and /lib/modules/order naming them."""
    dirs = ["bin", "dev", "proc", "sys", "root", "lib", "lib/modules"]
    out = [(d, 0o040755, b"", (0, 0)) for d in dirs]
    out += [("dev/console", 0o020600, b"", (5, 1)),
            ("bin/busybox", 0o100755, busybox, (0, 0)),
            ("init", 0o100755, init, (0, 0))]
    out += [(f"lib/modules/{name}.ko", 0o100644, data, (0, 0)) for name, data in modules]
    out.append(("lib/modules/order", 0o100644, "".join(f"{name}\n" for name, _ in modules).encode(), (0, 0)))
    return out


def build(root, kernel_version, busybox, init):
    """-> the initramfs (bytes) for the system unpacked at `root` (its modules.dep written)."""
    top = os.path.join(root, "usr", "lib", "modules", kernel_version)
    with open(os.path.join(top, "modules.dep")) as f:
        dep = f.read()
    builtin_path = os.path.join(top, "modules.builtin")
    builtin = open(builtin_path).read() if os.path.isfile(builtin_path) else ""
    modules = [(module_name(p), ko_bytes(os.path.join(top, p))) for p in module_order(dep, WANTED, builtin)]
    return newc(entries(busybox, init, modules))
