"""`numbavm image debian` (lifecycle/guests/debian/): the image builder's parts without the network
or root (cache key, manifest, module order, initramfs, scripts, the atomic build directory, the
CLI's errors), and one end-to-end build (cached) checked through the manifest and the disk's files.

The end-to-end test builds the image on first use (~10 minutes: mmdebstrap, then a first boot
under numbavm that configures the packages).  Without root, the host tools or the network it
skips, saying why; on CI it fails.
"""
import json
import lzma
import os
import re
import subprocess

import pytest

from lifecycle.cli.main import main
from lifecycle.guests.debian import image as img
from lifecycle.guests.debian import initramfs
from lifecycle.guests.debian.apt import FetchError
from tests.linux_guest import unavailable


def parse_newc(data):
    """A newc archive -> [(name, mode, data, (rdev major, minor))], the trailer left out."""
    out, at = [], 0
    while True:
        assert data[at:at + 6] == b"070701", f"no newc magic at {at}"
        fields = [int(data[at + 6 + 8 * i:at + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = fields[11], fields[6]
        at += 110
        name = data[at:at + namesize - 1].decode()
        at += namesize + (-(110 + namesize) % 4)
        body = data[at:at + filesize]
        at += filesize + (-filesize % 4)
        if name == "TRAILER!!!":
            assert at == len(data)
            return out
        out.append((name, fields[1], body, (fields[9], fields[10])))


# ---------------------------------------------------------------- cache key

def recipe_files(tmp_path, text="a"):
    paths = []
    for name in ("one", "two"):
        p = tmp_path / name
        p.write_text(f"{name} {text}")
        paths.append(str(p))
    return paths


def test_image_key_names_what_goes_into_the_image(tmp_path):
    recipe = img.recipe_hash(recipe_files(tmp_path))
    key = img.image_key("trixie", ["gcc", "make"], 2 << 30, recipe)
    assert re.fullmatch(r"[0-9a-f]{16}", key)
    # the order and repeats of --packages do not matter
    assert img.image_key("trixie", ["make", "gcc", "make"], 2 << 30, recipe) == key
    others = {img.image_key("forky", ["gcc", "make"], 2 << 30, recipe),
              img.image_key("trixie", ["gcc"], 2 << 30, recipe),
              img.image_key("trixie", ["gcc", "make"], 4 << 30, recipe)}
    changed = img.recipe_hash(recipe_files(tmp_path, "b"))         # a recipe file changed
    assert changed != recipe
    others.add(img.image_key("trixie", ["gcc", "make"], 2 << 30, changed))
    assert key not in others and len(others) == 4
    # the recipe is the builder, its initramfs code and the two scripts
    assert {os.path.basename(p) for p in img.RECIPE} == {"image.py", "initramfs.py", "init", "firstboot"}


# ---------------------------------------------------------------- manifest

STATUS = """\
Package: bash
Status: install ok installed
Architecture: riscv64
Version: 5.2.37-2+b5

Package: python3
Status: install ok unpacked
Version: 3.13.5-1

Package: gone
Status: deinstall ok config-files
Version: 1.0

Package: coreutils
Status: install ok installed
Version: 9.7-3
Description: GNU core utilities
 a continuation line
"""


def test_manifest_lists_the_installed_packages(tmp_path):
    assert img.parse_status(STATUS) == {"bash": "5.2.37-2+b5", "coreutils": "9.7-3"}
    path = str(tmp_path / "manifest.json")
    kernel = {"package": "linux-image-6.12.117+deb13-riscv64", "version": "6.12.117-1",
              "release": "6.12.117+deb13-riscv64"}
    img.write_manifest(path, release="trixie", mirror="http://deb.debian.org/debian",
                       packages=img.parse_status(STATUS), extra_packages=["make", "gcc", "make"],
                       kernel=kernel, size=2 << 30, recipe="ab" * 32, steps={"download": 10.5},
                       firstboot_instructions=20_000_000_000)
    m = json.load(open(path))
    assert m["release"] == "trixie" and m["architecture"] == "riscv64"
    assert m["packages"] == ["bash=5.2.37-2+b5", "coreutils=9.7-3"]
    assert m["extra_packages"] == ["gcc", "make"]
    assert m["kernel"] == kernel and m["size"] == 2 << 30 and m["recipe"] == "ab" * 32
    assert m["build_seconds"] == {"download": 10.5} and m["firstboot_instructions"] == 20_000_000_000
    assert not os.path.exists(path + ".tmp")


# ---------------------------------------------------------------- modules

MODULES_DEP = """\
kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko.xz kernel/fs/mbcache.ko.xz kernel/fs/jbd2/jbd2.ko.xz
kernel/fs/jbd2/jbd2.ko.xz: kernel/fs/fake-helper.ko.xz
kernel/fs/fake-helper.ko.xz:
kernel/fs/mbcache.ko.xz:
kernel/lib/crc16.ko.xz:
kernel/crypto/crc32c_generic.ko.xz:
kernel/drivers/block/virtio_blk.ko.xz:
kernel/drivers/net/unrelated.ko.xz: kernel/lib/crc16.ko.xz
"""


def test_module_order_puts_each_module_after_what_it_needs():
    order = initramfs.module_order(MODULES_DEP, initramfs.WANTED, builtin="kernel/drivers/virtio/virtio_mmio.ko\n")
    names = [initramfs.module_name(p) for p in order]
    # virtio_mmio is built in; jbd2 needs fake_helper (its own line, not ext4's), each once
    assert names == ["virtio_blk", "crc16", "mbcache", "fake_helper", "jbd2", "ext4", "crc32c_generic"]
    assert order[3] == "kernel/fs/fake-helper.ko.xz"
    with pytest.raises(ValueError, match="no module virtio_mmio"):
        initramfs.module_order(MODULES_DEP, initramfs.WANTED)
    with pytest.raises(ValueError, match="jbd2 needs fake_helper"):
        initramfs.module_order(MODULES_DEP.replace("kernel/fs/fake-helper.ko.xz:\n", ""), ["ext4"])
    with pytest.raises(ValueError, match="cycle"):
        initramfs.module_order("a.ko: b.ko\nb.ko: a.ko\n", ["a"])


def test_initramfs_holds_init_busybox_and_the_modules_in_order(tmp_path):
    version = "6.12.0-test"
    top = tmp_path / "usr" / "lib" / "modules" / version
    for path in re.findall(r"^([^:]+):", MODULES_DEP, re.M):
        (top / path).parent.mkdir(parents=True, exist_ok=True)
        (top / path).write_bytes(lzma.compress(f"ELF of {path}".encode()))
    (top / "modules.dep").write_text(MODULES_DEP)
    (top / "modules.builtin").write_text("kernel/drivers/virtio/virtio_mmio.ko\n")
    init = open(img.INIT, "rb").read()
    entries = parse_newc(initramfs.build(str(tmp_path), version, b"BUSYBOX", init))
    files = {name: (mode, data, rdev) for name, mode, data, rdev in entries}
    assert files["init"] == (0o100755, init, (0, 0))
    assert files["bin/busybox"] == (0o100755, b"BUSYBOX", (0, 0))
    assert files["dev/console"][0] == 0o020600 and files["dev/console"][2] == (5, 1)
    order = files["lib/modules/order"][1].decode().split()
    assert order == ["virtio_blk", "crc16", "mbcache", "fake_helper", "jbd2", "ext4", "crc32c_generic"]
    for name in order:        # decompressed: busybox's insmod reads plain .ko files
        assert files[f"lib/modules/{name}.ko"][1].startswith(b"ELF of kernel/")
    assert files["lib/modules/jbd2.ko"][1] == b"ELF of kernel/fs/jbd2/jbd2.ko.xz"
    assert "lib/modules/unrelated.ko" not in files
    # every directory a file is in comes before it
    names = [e[0] for e in entries]
    for name in names:
        if "/" in name:
            assert names.index(os.path.dirname(name)) < names.index(name)


# ---------------------------------------------------------------- the scripts

def test_init_loads_the_modules_and_switches_to_the_named_init():
    text = open(img.INIT).read()
    assert subprocess.run(["sh", "-n", img.INIT]).returncode == 0
    assert text.startswith("#!/bin/busybox sh\n")
    assert 'insmod "/lib/modules/$m.ko"' in text and "$(cat /lib/modules/order)" in text
    assert "mount -t ext4 -o rw /dev/vda /root" in text
    assert "next=/sbin/init" in text and 'numbavm.init=*) next="${a#numbavm.init=}"' in text
    assert text.rstrip().endswith('exec switch_root /root "$next"')


def test_firstboot_configures_the_packages_then_powers_off():
    text = open(img.FIRSTBOOT).read()
    assert subprocess.run(["sh", "-n", img.FIRSTBOOT]).returncode == 0
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    # what the host left: unpacked first, then every package configured, then checked
    assert f"for deb in /{img.GUEST_DEBS}/*.deb; do" in lines
    unpack = next(i for i, line in enumerate(lines) if "dpkg --force-depends --unpack" in line)
    configure = next(i for i, line in enumerate(lines) if "dpkg --configure -a" in line)
    check = next(i for i, line in enumerate(lines) if "dpkg-query -W" in line)
    ok = next(i for i, line in enumerate(lines) if img.FIRSTBOOT_OK.decode() in line)
    poweroff = lines.index("echo o > /proc/sysrq-trigger")
    assert unpack < configure < check < ok < poweroff
    assert "mount -o remount,rw /" in lines and "DEBIAN_FRONTEND=noninteractive" in text


def test_configure_writes_the_host_side_settings(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "shadow").write_text("root:*:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\n")
    img.configure(str(tmp_path))
    assert (tmp_path / "etc" / "hostname").read_text() == "numbavm\n"
    assert "127.0.1.1\tnumbavm" in (tmp_path / "etc" / "hosts").read_text()
    assert (tmp_path / "etc" / "fstab").read_text().split() == ["/dev/vda", "/", "ext4", "defaults", "0", "1"]
    assert (tmp_path / "etc" / "shadow").read_text().splitlines() == [
        "root::20000:0:99999:7:::", "daemon:*:20000:0:99999:7:::"]
    dropin = tmp_path / "etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf"
    assert "--autologin root" in dropin.read_text()
    firstboot = tmp_path / img.FIRSTBOOT_PATH.lstrip("/")
    assert firstboot.read_text() == open(img.FIRSTBOOT).read() and os.access(firstboot, os.X_OK)


# ---------------------------------------------------------------- the cache

@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache and a host that passes check_host (no root or tools needed)."""
    monkeypatch.setenv("NUMBAVM_CACHE", str(tmp_path))
    monkeypatch.setattr(img, "check_host", lambda: None)
    return tmp_path / "images"


def fake_build(calls, fail=None):
    def build(work, release, packages, size, recipe):
        calls.append(work)
        for name in ("vmlinux", "initrd.img", "disk.img", "build.log"):
            with open(os.path.join(work, name), "w") as f:
                f.write(name)
        if fail is not None:
            raise fail
        with open(os.path.join(work, "manifest.json"), "w") as f:
            f.write("{}")
    return build


def test_an_interrupted_build_is_never_used(cache, monkeypatch):
    calls = []
    monkeypatch.setattr(img, "build", fake_build(calls, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        img.ensure_image("trixie", [], 2 << 30)
    assert [p for p in os.listdir(cache) if not p.endswith(".lock")] == []
    # a build killed outright (no clean-up) leaves its directory: the next call starts again
    key = img.image_key("trixie", [], 2 << 30, img.recipe_hash())
    leftover = cache / f".debian-trixie-{key}.build"
    leftover.mkdir()
    (leftover / "vmlinux").write_text("half")
    (leftover / "stale").write_text("from the killed build")
    monkeypatch.setattr(img, "build", fake_build(calls))
    image = img.ensure_image("trixie", [], 2 << 30)
    assert image.directory == str(cache / f"debian-trixie-{key}") and not leftover.exists()
    assert sorted(os.listdir(image.directory)) == ["build.log", "disk.img", "initrd.img", "manifest.json", "vmlinux"]
    assert open(image.kernel).read() == "vmlinux" and os.path.isfile(image.manifest)
    assert image.disk.endswith("disk.img") and image.initrd.endswith("initrd.img")
    # the second call uses it; --rebuild builds again
    assert img.ensure_image("trixie", [], 2 << 30) == image and len(calls) == 2
    assert img.ensure_image("trixie", [], 2 << 30, rebuild=True) == image and len(calls) == 3


def test_a_failed_build_leaves_its_log_and_no_image(cache, monkeypatch):
    monkeypatch.setattr(img, "build", fake_build([], FetchError("unknown package nope")))
    with pytest.raises(FetchError) as e:
        img.ensure_image("trixie", ["nope"], 2 << 30)
    log = str(e.value).split("(log: ")[1].rstrip(")")
    assert str(e.value).startswith("unknown package nope (log: ") and "build.log" in open(log).read()
    assert [p for p in os.listdir(cache) if not p.endswith((".lock", ".failed.log"))] == []


def test_mmdebstrap_failures_are_one_clear_line():
    mirror = "http://deb.debian.org/debian"
    cases = {
        "E: Unable to locate package nopkg\nE: apt-get install failed": "unknown package nopkg: not in",
        "E: The repository 'http://deb.debian.org/debian trixy Release' does not have a Release file.":
            "unknown release trixy",
        "W: Failed to fetch http://deb.debian.org/debian/dists/trixie/InRelease  Temporary failure "
        "resolving 'deb.debian.org'": "cannot reach the package archive",
        "tar: ./usr/lib/x: Cannot write: No space left on device": "no space left",
        "I: something\nE: the hook failed\n": "mmdebstrap failed: E: the hook failed",
    }
    for output, want in cases.items():
        line = img.explain(output, "trixy" if "trixy" in output else "trixie", mirror, [], "mmdebstrap")
        assert want in line and "\n" not in line, (output, line)


# ---------------------------------------------------------------- the command line

def run_cli(capsys, *args):
    status = main(["image", "debian", *args])
    err = capsys.readouterr().err.strip().splitlines()
    return status, err


@pytest.mark.parametrize("args,message", [
    (["--size", "10M"], "at least 1 GiB"),
    (["--size", "lots"], "--size: invalid size 'lots'"),
    (["--size", "1.5M"], "invalid size"),
    (["--release", "Trixie!"], "invalid release 'Trixie!'"),
    (["--packages", "gcc,Bad_Name"], "invalid package name 'Bad_Name'"),
])
def test_cli_bad_input_is_one_line_status_2(capsys, cache, args, message):
    status, err = run_cli(capsys, *args)
    assert status == 2 and len(err) == 1 and message in err[0] and err[0].startswith("numbavm: error: ")


def never_build(*args):
    raise AssertionError("the build started")


def test_cli_missing_tool_names_the_package_status_3(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBAVM_CACHE", str(tmp_path))
    monkeypatch.setattr(img, "build", never_build)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr("shutil.which", lambda tool: None if tool == "depmod" else f"/usr/bin/{tool}")
    status, err = run_cli(capsys)
    assert status == 3 and len(err) == 1, err
    assert "depmod is missing" in err[0] and "apt-get install kmod" in err[0]


def test_cli_not_root_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBAVM_CACHE", str(tmp_path))
    monkeypatch.setattr(img, "build", never_build)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    status, err = run_cli(capsys)
    assert status == 2 and len(err) == 1 and "needs root" in err[0]


def test_cli_prints_the_image_paths(capsys, cache, monkeypatch):
    monkeypatch.setattr(img, "build", fake_build([]))
    status = main(["image", "debian", "--packages", "make,gcc", "--size", "3G"])
    out = capsys.readouterr().out.split()
    key = img.image_key("trixie", ["gcc", "make"], 3 << 30, img.recipe_hash())
    assert status == 0 and out[0] == str(cache / f"debian-trixie-{key}")
    assert [os.path.basename(p) for p in out[1:]] == ["vmlinux", "initrd.img", "disk.img", "manifest.json"]


# ---------------------------------------------------------------- end to end

def debugfs_cat(disk, path):
    p = subprocess.run(["debugfs", "-R", f"cat {path}", disk], capture_output=True)
    return p.stdout.decode(errors="replace")


@pytest.mark.timeout(3600)
def test_debian_image_end_to_end():
    try:
        image = img.ensure_image()
    except FetchError as e:
        if e.status in (2, 3) or "cannot reach" in str(e):
            unavailable(f"the Debian image could not be built here: {e}")
        raise
    m = json.load(open(image.manifest))
    assert m["release"] == "trixie" and m["size"] == 2 << 30 and m["recipe"] == img.recipe_hash()
    packages = dict(p.split("=", 1) for p in m["packages"])
    for want in ("dpkg", "apt", "bash", "coreutils", "util-linux", "procps", "python3", "systemd-sysv",
                 "udev", "kmod"):
        assert want in packages, want
    release = m["kernel"]["release"]
    assert m["kernel"]["package"] == f"linux-image-{release}"
    assert os.stat(image.disk).st_size == 2 << 30
    assert os.stat(image.disk).st_blocks * 512 < 1 << 30          # sparse
    assert debugfs_cat(image.disk, "/etc/hostname") == "numbavm\n"
    assert "virtio_blk" in debugfs_cat(image.disk, f"/usr/lib/modules/{release}/modules.dep")
    # after the first boot every package in dpkg's database is installed, with the manifest's version
    status = debugfs_cat(image.disk, "/var/lib/dpkg/status")
    stanzas = [s for s in status.split("\n\n") if s.strip()]
    assert len(stanzas) == len(packages) > 80
    assert all("\nStatus: install ok installed\n" in s + "\n" for s in stanzas)
    assert img.parse_status(status) == packages
    assert debugfs_cat(image.disk, img.FIRSTBOOT_PATH) == ""            # it removed itself
    order = [n for n, *_ in parse_newc(open(image.initrd, "rb").read()) if n.startswith("lib/modules/")]
    assert {"lib/modules/virtio_mmio.ko", "lib/modules/virtio_blk.ko", "lib/modules/ext4.ko"} <= set(order)
    # a second call is the cached image: no build
    mp = pytest.MonkeyPatch()
    mp.setattr(img, "build", never_build)
    try:
        assert img.ensure_image() == image
    finally:
        mp.undo()
