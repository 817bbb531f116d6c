"""Debian trixie's riscv64 kernel and a busybox initramfs, for tests/test_debian_busybox.py.

    python -m tests.debian.fetch [--update]   # the last two stdout lines: the kernel Image, the initramfs

Downloads two packages of Debian's riscv64 port with the host's own apt, but with a private
state of its own (sources list, lists, status; lifecycle/guests/debian/apt.py, shared with
`numbavm image debian`), so nothing is installed and the host's apt sources are left alone:

    linux-image-riscv64    (its dependency linux-image-<version>-riscv64) -> boot/vmlinux-*,
                           an EFI-stub Image whose console and initramfs drivers are built in
    busybox-static         -> usr/bin/busybox, the initramfs's whole userland

and writes the initramfs (the kernel's "newc" cpio, lifecycle/guests/debian/initramfs.py: no
cpio tool, no root) with
tests/debian/init as its /init.  The mirror is the one the host's apt sources name
(NUMBAVM_DEBIAN_MIRROR overrides it), the archive is verified with the host's
debian-archive-keyring (bookworm's 2023.3+deb12u2 has trixie's keys).  Everything goes to the cache, outside git:

    $NUMBAVM_CACHE, else $XDG_CACHE_HOME/numbavm, else ~/.cache/numbavm, then debian/
      apt/                             the private apt state (sources.list, lists, status)
      kernel/<package>_<version>/      Image (the kernel) and config
      busybox/<package>_<version>/     busybox
      initramfs-<key>.cpio             <key> hashes /init, this file and the busybox version

Once both packages are there nothing is downloaded again (no network needed): the versions come
from the private lists.  --update refreshes the lists, picking up a new Debian point release;
a download that fails (the mirror dropped the version) refreshes them once by itself.
Progress goes to stderr.  Exit status: 0 done, 1 a step failed, 3 a tool is missing (apt-get,
dpkg-deb or the keyring: not a Debian host).
"""
import fcntl
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

from lifecycle.guests.debian.apt import Apt, FetchError, cache_root, read, say
from lifecycle.guests.debian.initramfs import newc

HERE = os.path.dirname(os.path.abspath(__file__))
INIT = os.path.join(HERE, "init")
KERNEL_META = "linux-image-riscv64"
BUSYBOX = "busybox-static"


def cache_dir():
    return os.path.join(cache_root(), "debian")


def packages(apt):
    """-> {"kernel": (package, version), "busybox": (package, version)} from the lists."""
    _, depends = apt.candidate(KERNEL_META)
    m = re.match(r"(linux-image-\S+-riscv64) \(= (\S+)\)", depends)
    if not m:
        raise FetchError(f"{KERNEL_META} depends on {depends!r}, not one linux-image-*-riscv64 (= version)")
    return {"kernel": (m.group(1), m.group(2)), "busybox": (BUSYBOX, apt.candidate(BUSYBOX)[0])}


def extract(deb, members, dest):
    """Stream the .deb's data through tar and write the wanted members ({path in the package:
    name in dest}) into dest; the kernel package's 400 MB of modules never touch the disk."""
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    p = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    found = {}
    with tarfile.open(fileobj=p.stdout, mode="r|") as tar:
        for info in tar:
            for pattern, name in members.items():
                if info.isfile() and re.fullmatch(pattern, info.name.lstrip("./")):
                    with open(os.path.join(tmp, name), "wb") as f:
                        shutil.copyfileobj(tar.extractfile(info), f)
                    os.chmod(os.path.join(tmp, name), info.mode & 0o755)
                    found[name] = info.name
    p.stdout.close()
    p.wait()
    missing = set(members.values()) - set(found)
    if missing:
        raise FetchError(f"{os.path.basename(deb)} has no {' or '.join(sorted(missing))} "
                         f"(looked for {', '.join(members)})")
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(tmp, dest)
    return found


# What each package gives: {regex of the path in the package: file name in the cache}.
WANTED = {
    "kernel": {r"boot/vmlinux-.*": "Image", r"boot/config-.*": "config"},
    "busybox": {r"usr/bin/busybox": "busybox"},
}


def fetch_packages(apt, top, update=False):
    """-> {"kernel": dir, "busybox": dir}, downloading what the cache lacks.  Lists that cannot
    serve the packages (the mirror dropped a version, or the mirror changed) are refreshed once."""
    if update or not apt.has_lists():
        apt.update()
        update = True
    try:
        dirs = {role: unpacked(apt, top, role, pkg, version) for role, (pkg, version) in packages(apt).items()}
    except FetchError as e:
        if update:
            raise
        say(f"{e}: refreshing the lists (a new point release?) and retrying")
        return fetch_packages(apt, top, update=True)
    # Versions a refresh replaced are no longer used.
    for role, dest in dirs.items():
        for old in glob.glob(os.path.join(top, role, "*")):
            if old != dest:
                shutil.rmtree(old, ignore_errors=True)
    return dirs


def unpacked(apt, top, role, pkg, version):
    """-> the directory holding what WANTED[role] takes from pkg=version, downloaded if missing."""
    dest = os.path.join(top, role, f"{pkg}_{re.sub(r'[^A-Za-z0-9.+-]', '_', version)}")
    if os.path.isdir(dest):
        return dest
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=top, prefix="download-") as tmp:
        say(f"downloading {pkg} {version}")
        deb = apt.download(pkg, version, tmp)
        say(f"unpacking {', '.join(WANTED[role].values())} from {os.path.basename(deb)} "
            f"({os.path.getsize(deb) / 1e6:.0f} MB)")
        extract(deb, WANTED[role], dest)
    return dest


def build_initramfs(top, busybox_dir):
    """-> the initramfs: /bin/busybox, /init and the directories they use; /dev/console is there
    for the kernel to open before /init runs (Debian's kernel has one in its built-in
    initramfs too, but this archive does not rely on it)."""
    init, busybox, recipe = (read(p) for p in (INIT, os.path.join(busybox_dir, "busybox"), __file__))
    h = hashlib.sha256()
    for part in (init, recipe, os.path.basename(busybox_dir).encode()):
        h.update(hashlib.sha256(part).digest())
    path = os.path.join(top, f"initramfs-{h.hexdigest()[:16]}.cpio")
    if os.path.isfile(path):
        return path
    say(f"writing the initramfs (busybox {len(busybox) / 1e6:.1f} MB + tests/debian/init)")
    dirs = ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "root"]
    entries = [(d, 0o040755, b"", (0, 0)) for d in dirs]
    entries += [("dev/console", 0o020600, b"", (5, 1)),
                ("bin/busybox", 0o100755, busybox, (0, 0)),
                ("init", 0o100755, init, (0, 0))]
    with open(path + ".tmp", "wb") as f:
        f.write(newc(entries))
    os.rename(path + ".tmp", path)
    for old in glob.glob(os.path.join(top, "initramfs-*.cpio")):
        if old != path:
            os.remove(old)
    return path


def fetch(update=False):
    """-> (kernel Image, initramfs), fetched and built on first use (one process at a time)."""
    top = cache_dir()
    os.makedirs(top, exist_ok=True)
    with open(os.path.join(top, ".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("waiting for another fetch to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        apt = Apt(os.path.join(top, "apt"))
        dirs = fetch_packages(apt, top, update)
        return os.path.join(dirs["kernel"], "Image"), build_initramfs(top, dirs["busybox"])


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--update"]):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        kernel, initramfs = fetch(update=bool(args))
    except FetchError as e:
        print(f"numbavm: {e}", file=sys.stderr)
        return e.status
    print(kernel)
    print(initramfs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
