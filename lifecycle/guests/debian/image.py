"""`numbavm image debian`: a bootable Debian riscv64 system built from Debian's packages, cached.

    from lifecycle.guests.debian.image import ensure_image
    image = ensure_image("trixie", packages=("gcc",), size=2 << 30)   # -> Image(kernel, initrd, disk, manifest)

The construction needs no riscv64 code on the host (no binfmt_misc, no qemu-user, no loop
mount: CI has none of them), only root, for file owners (docs/linux.md, "A Debian image"):

  1. mmdebstrap --mode=chrootless --variant=minbase: Debian's essential set, unpacked and
     configured by the host's dpkg (trixie's maintainer scripts support DPKG_ROOT).  A
     customize hook downloads the extra packages (EXTRAS + --packages, with what they
     depend on), the versioned kernel package and busybox-static.
  2. The extras are unpacked by the host's dpkg, one at a time, without their scripts
     (--force-script-chrootless): their maintainer scripts are riscv64 programs (systemd's
     sysusers and friends) and run on the first boot.  A package the host cannot unpack
     goes into the image as a .deb and the first boot unpacks it.
  3. The kernel package is extracted (dpkg-deb -x, outside dpkg's database: its maintainer
     scripts would build an initramfs with initramfs-tools in the guest) and the host's
     depmod writes its modules.dep.
  4. Host-side configuration: hostname, hosts, fstab, an empty root password, autologin on
     the serial console.
  5. The ext4 disk: mke2fs -d copies the tree into a sparse image file.
  6. The initramfs (initramfs.py): busybox-static and the kernel's own modules.
  7. The first boot, under numbavm itself: `dpkg --configure -a` (the firstboot script
     beside this file), then poweroff.
  8. manifest.json, written last: what the image holds, every package=version.

Cache: <cache>/images/debian-<release>-<key>/ (<cache>: apt.cache_root()), key = hash of the
release, the extra packages, the size and the recipe files.  The build runs in a sibling
directory (.debian-<release>-<key>.build) renamed into place when complete, under a lock
file, so an interrupted build is never used and the next call starts it again.
"""
import dataclasses
import errno
import fcntl
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import threading
import time

from lifecycle.guests.debian import initramfs
from lifecycle.guests.debian.apt import KEYRING, FetchError, cache_root, host_mirror, require_keyring, \
    require_tools, say

HERE = os.path.dirname(os.path.abspath(__file__))
INIT = os.path.join(HERE, "init")
FIRSTBOOT = os.path.join(HERE, "firstboot")
# Everything the image depends on besides its arguments: a change to any makes a new image.
RECIPE = [os.path.join(HERE, name) for name in ("image.py", "initramfs.py", "init", "firstboot")]

DEFAULT_RELEASE = "trixie"
DEFAULT_SIZE = 2 << 30
MIN_SIZE = 1 << 30
# minbase has dpkg, apt, bash, coreutils, util-linux; these make it a system one logs into.
EXTRAS = ("systemd-sysv", "udev", "kmod", "procps", "python3")
KERNEL_META = "linux-image-riscv64"
BUSYBOX = "busybox-static"
FIRSTBOOT_PATH = "/usr/local/sbin/numbavm-firstboot"
GUEST_DEBS = "var/cache/numbavm/debs"          # packages the host could not unpack
FIRSTBOOT_OK = b"numbavm-firstboot: ok"
FIRSTBOOT_MEMORY = 1 << 30
FIRSTBOOT_BUDGET = 400_000_000_000             # a hang guard: the first boot takes ~20 G instructions
BUILD_SPACE = 2 << 30                           # free space a build needs beside the image's packages
HOST_TOOLS = {"mmdebstrap": "mmdebstrap", "dpkg": "dpkg", "dpkg-deb": "dpkg", "apt-get": "apt",
              "depmod": "kmod", "mke2fs": "e2fsprogs", "debugfs": "e2fsprogs"}
RELEASE_RE = re.compile(r"[a-z][a-z0-9-]*")
PACKAGE_RE = re.compile(r"[a-z0-9][a-z0-9+.-]+")   # Debian policy 5.6.1


@dataclasses.dataclass(frozen=True)
class Image:
    """A built image: its directory and the files `numbavm boot` needs."""
    directory: str
    kernel: str         # Debian's kernel (an EFI-stub Image)
    initrd: str         # the busybox initramfs that mounts the disk
    disk: str           # the ext4 root filesystem (/dev/vda)
    manifest: str       # manifest.json

    @classmethod
    def at(cls, directory):
        return cls(directory, *(os.path.join(directory, n)
                                for n in ("vmlinux", "initrd.img", "disk.img", "manifest.json")))


def check_release(release):
    if not RELEASE_RE.fullmatch(release or ""):
        raise FetchError(f"invalid release {release!r}: a Debian codename such as trixie", 2)


def check_packages(packages):
    for p in packages:
        if not PACKAGE_RE.fullmatch(p):
            raise FetchError(f"invalid package name {p!r}: Debian names are lowercase letters, digits, "
                             "'+', '-' and '.'", 2)


def check_size(size):
    if size % (1 << 20):
        raise FetchError(f"invalid size {size} bytes: not a whole number of MiB", 2)
    if size < MIN_SIZE:
        raise FetchError(f"invalid size {size >> 20} MiB: the disk needs at least {MIN_SIZE >> 30} GiB", 2)


def recipe_hash(recipe=RECIPE):
    """-> the SHA-256 of the recipe files' contents (read once per build: the key and the
    manifest name the same files)."""
    h = hashlib.sha256()
    for path in recipe:
        with open(path, "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def image_key(release, packages, size, recipe):
    """-> 16 hex digits naming what goes into the image: release, the extra packages (sorted,
    without repeats), the disk size and the recipe's hash."""
    h = hashlib.sha256(json.dumps([release, sorted(set(packages)), size, recipe]).encode())
    return h.hexdigest()[:16]


def images_dir():
    return os.path.join(cache_root(), "images")


def parse_status(text):
    """dpkg's status file -> {package: version} of the packages installed ("install ok installed")."""
    out = {}
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"(?m)^(Package|Status|Version): (.*)$", stanza))
        if fields.get("Status") == "install ok installed" and "Package" in fields:
            out[fields["Package"]] = fields.get("Version", "")
    return out


def write_manifest(path, *, release, mirror, packages, extra_packages, kernel, size, recipe, steps,
                   firstboot_instructions):
    """manifest.json: what the image was built from (`packages`: {name: version} from the
    image's dpkg status; `kernel`: {package, version, release}) and how long each step took
    (`steps`: {step: seconds}), sorted and indented."""
    manifest = {
        "release": release,
        "mirror": mirror,
        "architecture": "riscv64",
        "extra_packages": sorted(set(extra_packages)),
        "packages": [f"{p}={v}" for p, v in sorted(packages.items())],
        "kernel": kernel,
        "size": size,
        "recipe": recipe,
        "build_seconds": steps,
        "firstboot_instructions": firstboot_instructions,
    }
    with open(path + ".tmp", "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    os.rename(path + ".tmp", path)
    return manifest


def check_host():
    """Root (file owners in the tree and in mke2fs -d), the tools and the archive keyring."""
    if os.geteuid() != 0:
        raise FetchError("building a Debian image needs root: mmdebstrap's chrootless mode and "
                         "mke2fs -d give the files their owners (run as root, e.g. with sudo)", 2)
    require_tools(HOST_TOOLS)
    require_keyring()


def ensure_image(release=DEFAULT_RELEASE, packages=(), size=DEFAULT_SIZE, rebuild=False):
    """-> the Image, built on first use (or when rebuild); FetchError (one line, .status) if not."""
    check_release(release)
    packages = sorted(set(packages))
    check_packages(packages)
    check_size(size)
    recipe = recipe_hash()
    name = f"debian-{release}-{image_key(release, packages, size, recipe)}"
    top = images_dir()
    final = os.path.join(top, name)
    if not rebuild and os.path.isfile(os.path.join(final, "manifest.json")):
        return Image.at(final)
    check_host()
    os.makedirs(top, exist_ok=True)
    with open(os.path.join(top, f".{name}.lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another build of {name}")
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not rebuild and os.path.isfile(os.path.join(final, "manifest.json")):
                return Image.at(final)
        work = os.path.join(top, f".{name}.build")
        shutil.rmtree(work, ignore_errors=True)      # an interrupted build: start again
        os.makedirs(work)
        try:
            build(work, release, packages, size, recipe)
        except FetchError as e:
            raise FetchError(f"{e} (log: {keep_logs(work, top, name)})", e.status) from None
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise FetchError(f"no space left on the device holding {top}") from None
            raise
        finally:
            if not os.path.isfile(os.path.join(work, "manifest.json")):
                shutil.rmtree(work, ignore_errors=True)
        if os.path.isdir(final):
            shutil.rmtree(final)
        os.rename(work, final)
        failed_log = os.path.join(top, f"{name}.failed.log")
        if os.path.exists(failed_log):
            os.remove(failed_log)
    say(f"image ready: {final}")
    return Image.at(final)


def keep_logs(work, top, name):
    """-> the failed build's log, moved beside the images (the build directory goes): the tools'
    output, then the first boot's console."""
    path = os.path.join(top, f"{name}.failed.log")
    with open(path, "wb") as out:
        for part in ("build.log", "firstboot.log"):
            if os.path.isfile(os.path.join(work, part)):
                out.write(f"===== {part}\n".encode() + read_bytes(os.path.join(work, part)))
    return path


class Log:
    """build.log in the build directory: every tool's output, for the error message to point at."""

    def __init__(self, path):
        self.path = path

    def run(self, argv):
        """Run a tool, its output appended to the log; -> its exit status."""
        with open(self.path, "ab") as f:
            f.write(f"\n$ {' '.join(argv)}\n".encode())
            f.flush()
            p = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT)
        return p.returncode

    def tail(self, start):
        with open(self.path, "rb") as f:
            f.seek(start)
            return f.read().decode(errors="replace")

    def size(self):
        return os.path.getsize(self.path) if os.path.exists(self.path) else 0


def explain(output, release, mirror, packages, what):
    """A failed tool's output -> one line saying why."""
    if "No space left on device" in output:
        return "no space left on the device holding the cache"
    m = re.search(r"Unable to locate package (\S+)", output)
    if m:
        return f"unknown package {m.group(1)}: not in {mirror} {release} main for riscv64"
    if re.search(rf"dists/{re.escape(release)}/\S* +(404|does not have a Release file)|"
                 r"does not have a Release file|Release' (does not|no longer)", output):
        return f"unknown release {release}: {mirror} has no dists/{release}"
    m = re.search(r"(Temporary failure resolving|Could not resolve|Could not connect|Failed to fetch|"
                  r"Network is unreachable|Connection refused|Connection timed out)[^\n]*", output)
    if m:
        return f"cannot reach the package archive {mirror}: {m.group(0).strip()}"
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    detail = next((line for line in lines if line.startswith("E:")), lines[-1] if lines else "no output")
    return f"{what} failed: {detail}"


def build(work, release, packages, size, recipe):
    """Build the image in `work` (steps 1-8 of the module's docstring)."""
    log = Log(os.path.join(work, "build.log"))
    mirror = host_mirror()
    root, debs, boot = (os.path.join(work, d) for d in ("root", "debs", "boot-debs"))
    os.makedirs(debs)
    os.makedirs(boot)
    steps = {}
    free = shutil.disk_usage(work).free
    if free < BUILD_SPACE:
        raise FetchError(f"no space for the build: {free >> 20} MiB free in {work}, "
                         f"it needs about {BUILD_SPACE >> 30} GiB")

    def step(name, msg):
        say(msg)
        steps[name] = time.monotonic()

    def done(name):
        steps[name] = round(time.monotonic() - steps[name], 1)

    extras = sorted(set(EXTRAS) | set(packages))
    step("download", f"downloading and unpacking Debian {release} riscv64 minbase (mmdebstrap, chrootless) "
                     f"from {mirror}, and {len(extras)} packages with what they need: {', '.join(extras)}")
    start = log.size()
    if log.run(mmdebstrap_argv(release, mirror, root, extras, debs, boot)) != 0:
        raise FetchError(explain(log.tail(start), release, mirror, packages, "mmdebstrap"))
    done("download")

    step("unpack", "unpacking the extra packages on the host (dpkg --force-script-chrootless)")
    installed = parse_status(read_text(os.path.join(root, "var/lib/dpkg/status")))
    left = unpack_extras(log, root, debs, installed)
    if left:
        say(f"left for the first boot to unpack: {', '.join(left)}")
    done("unpack")

    step("kernel", "extracting the kernel and its modules (depmod on the host)")
    kernel = install_kernel(log, root, boot, work)
    done("kernel")

    step("configure", "configuring: hostname numbavm, fstab, root without password, serial autologin")
    configure(root)
    done("configure")

    disk = os.path.join(work, "disk.img")
    start = log.size()
    step("disk", f"writing the ext4 disk ({size >> 20} MiB, sparse) with mke2fs -d")
    if log.run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "numbavm-root", "-d", root, disk,
                f"{size >> 10}k"]) != 0:
        out = log.tail(start)
        if "Could not allocate block" in out or "No space left" in out:
            raise FetchError(f"the system does not fit in a {size >> 20} MiB disk: give a larger --size")
        raise FetchError(explain(out, release, mirror, packages, "mke2fs"))
    done("disk")

    step("initramfs", "writing the initramfs (busybox-static and the kernel's virtio and ext4 modules)")
    busybox = deb_member(log, glob.glob(os.path.join(boot, f"{BUSYBOX}_*.deb"))[0], "usr/bin/busybox", work)
    with open(os.path.join(work, "initrd.img"), "wb") as f:
        f.write(initramfs.build(root, kernel["release"], busybox, read_bytes(INIT)))
    shutil.rmtree(root)                  # all in disk.img now
    shutil.rmtree(debs)
    shutil.rmtree(boot)
    done("initramfs")

    step("firstboot", "first boot under numbavm: dpkg --configure -a in the guest "
                      "(about 20 G instructions: several minutes)")
    instructions = first_boot(work)
    done("firstboot")

    status = debugfs_cat(disk, "/var/lib/dpkg/status")
    write_manifest(os.path.join(work, "manifest.json"), release=release, mirror=mirror,
                   packages=parse_status(status), extra_packages=packages, kernel=kernel, size=size,
                   recipe=recipe, steps=steps, firstboot_instructions=instructions)


def read_text(path):
    with open(path, errors="replace") as f:
        return f.read()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def mmdebstrap_argv(release, mirror, root, extras, debs, boot):
    """mmdebstrap's command line: minbase, chrootless; the customize hook (run with the tree as
    $1 and apt set up for it) downloads the extras, which it copies to `debs`, and the kernel
    package linux-image-riscv64 names and busybox-static into `boot`."""
    q = shlex.quote
    hook = " && ".join([
        'export APT_CONFIG="$MMDEBSTRAP_APT_CONFIG"',
        f"apt-get install -y -q --no-install-recommends --download-only {' '.join(map(q, extras))}",
        f'cp "$1"/var/cache/apt/archives/*.deb {q(debs)}/',
        f"kernel=$(apt-cache show --no-all-versions {KERNEL_META} | "
        r"sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p')",
        f"cd {q(boot)}",
        f'apt-get download -q -o APT::Sandbox::User=root "$kernel" {BUSYBOX}',
    ])
    return ["mmdebstrap", "--mode=chrootless", "--variant=minbase", "--architectures=riscv64",
            f"--customize-hook={hook}", release, root,
            f"deb [signed-by={KEYRING}] {mirror} {release} main"]


def deb_field(deb, field):
    return subprocess.run(["dpkg-deb", "-f", deb, field], capture_output=True, text=True,
                          check=True).stdout.strip()


def unpack_extras(log, root, debs, installed):
    """dpkg --unpack each downloaded package minbase does not have, on the host, without its
    maintainer scripts; -> the packages that failed, copied into the image for the first boot."""
    left = []
    for deb in sorted(glob.glob(os.path.join(debs, "*.deb"))):
        package = deb_field(deb, "Package")
        if package in installed:
            continue
        rc = log.run(["dpkg", f"--root={root}", "--force-script-chrootless", "--force-not-root",
                      "--force-depends", f"--log={root}/var/log/dpkg.log",
                      "--unpack", deb])
        if rc != 0:
            os.makedirs(os.path.join(root, GUEST_DEBS), exist_ok=True)
            shutil.copy(deb, os.path.join(root, GUEST_DEBS))
            left.append(package)
    return left


def install_kernel(log, root, boot, work):
    """Extract the kernel package into the tree (outside dpkg's database), run depmod for it and
    copy its Image beside the disk; -> {package, version, release}."""
    debs = glob.glob(os.path.join(boot, "linux-image-*.deb"))
    if len(debs) != 1:
        raise FetchError(f"the kernel package was not downloaded ({KERNEL_META} names none?)")
    deb = debs[0]
    kernel = {"package": deb_field(deb, "Package"), "version": deb_field(deb, "Version")}
    if log.run(["dpkg-deb", "-x", deb, root]) != 0:
        raise FetchError(f"dpkg-deb -x {os.path.basename(deb)} failed")
    releases = os.listdir(os.path.join(root, "usr", "lib", "modules"))
    if len(releases) != 1:
        raise FetchError(f"the kernel package has {len(releases)} module trees, not one")
    kernel["release"] = releases[0]
    if log.run(["depmod", "-b", root, kernel["release"]]) != 0:
        raise FetchError(f"depmod -b {root} {kernel['release']} failed")
    shutil.copy(os.path.join(root, "boot", f"vmlinux-{kernel['release']}"), os.path.join(work, "vmlinux"))
    return kernel


def deb_member(log, deb, member, work):
    """-> the bytes of one file of a package."""
    tmp = os.path.join(work, "extract")
    if log.run(["dpkg-deb", "-x", deb, tmp]) != 0:
        raise FetchError(f"dpkg-deb -x {os.path.basename(deb)} failed")
    data = read_bytes(os.path.join(tmp, member))
    shutil.rmtree(tmp)
    return data


AUTOLOGIN = """\
# numbavm: root logs in on the serial console without a password
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 - $TERM
"""


def configure(root):
    """What the guest would otherwise ask for, written on the host: hostname, hosts, fstab, an
    empty root password, root's autologin on ttyS0, and the first-boot script."""
    def write(path, text, mode=0o644):
        full = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
        os.chmod(full, mode)

    write("/etc/hostname", "numbavm\n")
    write("/etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tnumbavm\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    write("/etc/fstab", "/dev/vda\t/\text4\tdefaults\t0\t1\n")
    shadow = os.path.join(root, "etc", "shadow")
    text = read_text(shadow)
    text, n = re.subn(r"(?m)^root:[^:]*:", "root::", text)
    if n != 1:
        raise FetchError(f"{shadow} has no root line")
    write("/etc/shadow", text, 0o640)
    write("/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf", AUTOLOGIN)
    write(FIRSTBOOT_PATH, read_text(FIRSTBOOT), 0o755)


def first_boot(work):
    """Boot the image once under numbavm with the first-boot script as init; -> instructions.
    Anything but the script's success line and a poweroff is a FetchError."""
    from lifecycle import BlockMode, BlockSpec, GuestConfig, GuestLifecycle, GuestLifecycleError, KernelType
    from devices.firmware.sbi import ResetType
    image = Image.at(work)
    console_log = os.path.join(work, "firstboot.log")
    lc = GuestLifecycle()
    with open(console_log, "wb") as console:
        lc.create(GuestConfig(
            kernel_type=KernelType.LINUX, kernel=image.kernel, ramdisk=image.initrd,
            cmdline=f"console=ttyS0 numbavm.init={FIRSTBOOT_PATH}", guest_memory=FIRSTBOOT_MEMORY,
            virtio_rng=True, block_devices=[BlockSpec("root", image.disk, BlockMode.READ_WRITE)],
            console=console, max_instructions=FIRSTBOOT_BUDGET))
        guest = lc.bind()
        failure = []

        def vcpu():
            try:
                lc.run()
            except GuestLifecycleError as e:
                failure.append(e.message or e.error.name)

        t = threading.Thread(target=vcpu, name="firstboot", daemon=True)
        t.start()
        try:
            while t.is_alive():
                t.join(0.5)
        except BaseException:
            lc.stop()
            raise
    out = read_bytes(console_log)
    lines = [line for line in out.decode(errors="replace").splitlines() if "numbavm-firstboot:" in line]
    if failure:
        why = f"numbavm stopped: {failure[0].splitlines()[0]}"
    elif guest.stop_reason == "budget":
        why = f"no poweroff within {FIRSTBOOT_BUDGET:,} instructions"
    elif FIRSTBOOT_OK not in out or guest.reset_type is not ResetType.SHUTDOWN:
        why = lines[-1].strip() if lines else "the first-boot script did not run"
    else:
        return guest.instructions_retired
    raise FetchError(f"the first boot failed: {why}")


def debugfs_cat(disk, path):
    """A file of the ext4 disk, read with e2fsprogs' debugfs (no mount)."""
    p = subprocess.run(["debugfs", "-R", f"cat {path}", disk], capture_output=True)
    if p.returncode != 0 or not p.stdout:
        raise FetchError(f"debugfs cannot read {path} from {disk}: "
                         f"{p.stderr.decode(errors='replace').strip().splitlines()[-1:]}")
    return p.stdout.decode(errors="replace")
