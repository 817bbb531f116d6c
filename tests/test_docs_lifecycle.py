"""docs/lifecycle.md and docs/linux.md stay true: the GuestConfig table is checked against the
dataclass and every row is tried; the BAD_CONFIG row's fields are tried; the device tree the
docs describe is dumped and read.

(The docs said Linux guests, bios, the realtime timer, virtio_* and block_devices were refused
while they worked, and that the device tree had 8 virtio-mmio slots while it has a node only
for each configured device.)
"""
import ast
import dataclasses
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emu.spec import RAM_BASE
from lifecycle.control.config import DEFAULT_MEMORY, BlockMode, BlockSpec, GuestConfig, KernelType, validate
from lifecycle.control.errors import GuestError, GuestLifecycleError

ROOT = Path(__file__).resolve().parent.parent
LIFECYCLE_MD = (ROOT / "docs" / "lifecycle.md").read_text()
LINUX_MD = (ROOT / "docs" / "linux.md").read_text()
HELLO = str(ROOT / "tests" / "guest" / "bin" / "hello.elf")
HANG = 300


def config_table():
    """The rows of the table after <!-- guestconfig-table -->: [(field, default, text, implemented)]."""
    tail = LIFECYCLE_MD.split("<!-- guestconfig-table -->", 1)[1].lstrip("\n").splitlines()
    rows = []
    for line in tail[2:]:                      # after the header and the |---| line
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 4, line
        m = re.fullmatch(r"`(\w+)`", cells[0])
        assert m, f"not a `field` cell: {cells[0]!r}"
        rows.append((m.group(1), cells[1], cells[2], cells[3]))
    return rows


ROWS = config_table()
FIELDS = [f.name for f in dataclasses.fields(GuestConfig)]
KERNEL_TYPE = {"ramdisk": KernelType.LINUX, "dtb_overlay": KernelType.LINUX, "cmdline": KernelType.LINUX,
               "cmdline_add": KernelType.LINUX, "bios": KernelType.LINUX}


def disk(tmp_path):
    p = tmp_path / "disk.img"
    p.write_bytes(bytes(4096))
    return str(p)


def good(tmp_path):
    """A value other than the default that each implemented field accepts."""
    return {"kernel_type": KernelType.ELF, "kernel": HELLO, "ramdisk": "initrd.cpio", "dtb_overlay": "o.dtbo",
            "cmdline": "console=ttyS0", "cmdline_add": ["quiet"], "cpus": 1, "guest_memory": 1 << 20,
            "block_devices": [BlockSpec("root", disk(tmp_path), BlockMode.READ_ONLY)], "virtio_console": True,
            "virtio_rng": True, "engine": "python", "max_instructions": 1000, "timer": "realtime",
            "rtc_base": 1_767_225_600, "bios": "fw_dynamic.bin", "raw_addr": RAM_BASE, "wfi_idle": "fatal", "console": io.BytesIO(),
            "console_input": lambda idle: b"", "keep_final_state": True, "isa": "rv64imac_zicntr_zicsr_zihpm"}


# a non-default value for each refused field, and a bad value for each field that can have one
REFUSED = {"virtio_balloon": True, "virtio_gpu": True, "virtio_vsock": True, "virtio_sound": True,
           "virtio_mem": True, "default_net": True, "net_devices": [object()]}
BAD = {"kernel_type": KernelType.ZIRCON, "kernel": None, "ramdisk": "initrd.cpio", "dtb_overlay": "o.dtbo",
       "cmdline": "quiet", "cmdline_add": ["quiet"], "bios": "fw.bin", "cpus": 2, "guest_memory": 0,
       "block_devices": ["disk.img"], "engine": "turbo", "max_instructions": -1, "timer": "wallclock",
       "rtc_base": "yesterday", "raw_addr": -1, "wfi_idle": "spin", "console": io.StringIO(), "console_input": b"x",
       "keep_final_state": 1, "isa": "rv32gc", **REFUSED}


def elf(**kw):
    kw.setdefault("kernel_type", KernelType.ELF)
    kw.setdefault("kernel", HELLO)
    return GuestConfig(**kw)


def refused(config, field):
    with pytest.raises(GuestLifecycleError) as ei:
        validate(config)
    # the message starts with the field's name (block_devices[i].path for one of its entries)
    assert ei.value.error is GuestError.BAD_CONFIG and re.match(rf"{field}(\[\d+\](\.\w+)?)?: ", ei.value.message), \
        ei.value
    assert re.fullmatch(rf"{field}(\[\d+\](\.\w+)?)?", ei.value.field), ei.value.field   # ConfigError.field


def test_the_table_has_every_field_in_order():
    assert [r[0] for r in ROWS] == FIELDS


def test_the_table_gives_each_fields_default():
    defaults = {f.name: (f.default if f.default is not dataclasses.MISSING else f.default_factory())
                for f in dataclasses.fields(GuestConfig)}
    for name, default, _text, _impl in ROWS:
        if default == f"{DEFAULT_MEMORY >> 20} MiB":
            value = DEFAULT_MEMORY
        else:
            m = re.fullmatch(r"`([^`]*)`( \(required\))?", default)
            assert m, f"{name}: default cell {default!r}"
            value = ast.literal_eval(m.group(1))
            if m.group(2):                                        # required: the default is refused
                kw = {"kernel_type": KernelType.ELF, "kernel": HELLO, name: value}
                refused(GuestConfig(**kw), name)
        assert defaults[name] == value, name


def test_each_row_is_what_validate_does(tmp_path):
    samples = good(tmp_path)
    assert set(samples) | set(REFUSED) == set(FIELDS)            # a new field needs a row and a sample
    for name, _default, _text, impl in ROWS:
        assert impl in ("yes", "refused"), (name, impl)
        kw = {"kernel_type": KERNEL_TYPE.get(name, KernelType.ELF)}
        if impl == "refused":
            assert name not in samples
            refused(elf(**kw, **{name: REFUSED[name]}), name)
            validate(elf(**kw))                                   # the default is fine
        else:
            assert name not in REFUSED
            c = validate(elf(**{**kw, name: samples[name]}))
            if name != "cmdline_add":                             # (joined into cmdline)
                assert getattr(c, name) == samples[name], name


def test_the_bad_config_row_names_fields_validate_refuses(tmp_path):
    row = next(line for line in LIFECYCLE_MD.splitlines() if line.startswith("| `BAD_CONFIG`"))
    named = {n for n in re.findall(r"`(\w+)`", row) if n in FIELDS}
    assert named == set(BAD), (named ^ set(BAD))
    for name, value in BAD.items():
        refused(elf(**{name: value}), name)


def test_the_refused_statements_are_not_contradicted_by_the_old_wording():
    """What the old text claimed (refused or missing while it worked) is gone."""
    for stale in ("LINUX until", "any `virtio_*` True", "the only mode", "`bios`: not implemented",
                  "The UART is polled", "none of them exist yet", "arrives with virtio-blk"):
        assert stale not in LIFECYCLE_MD, stale
    assert "8 virtio-mmio slots, `/chosen`" not in LINUX_MD


# --------------------------------------------------------------------------- with the bundled Linux

def boot_dtb(tmp_path, *args):
    from devices.firmware.fdt import parse_dtb
    out = tmp_path / "dump.dtb"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    r = subprocess.run([sys.executable, "-m", "lifecycle.cli.main", "boot", "--dump-dtb", str(out), *args],
                       cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=HANG)
    assert r.returncode == 0, r.stderr.decode()
    return parse_dtb(out.read_bytes())


def virtio_nodes(tree):
    return [path for path, _node in tree.root.walk() if path.rsplit("/", 1)[-1].startswith("virtio_mmio@")]


def test_linux_md_the_device_tree_has_a_virtio_node_per_configured_device(tmp_path):
    """docs/linux.md: a virtio_mmio node for each configured virtio device, none by default."""
    from tests.linux_guest import bundled_kernel
    bundled_kernel()
    assert virtio_nodes(boot_dtb(tmp_path)) == []
    assert len(virtio_nodes(boot_dtb(tmp_path, "--virtio-rng"))) == 1
    assert len(virtio_nodes(boot_dtb(tmp_path, "--virtio-rng", "--virtio-console", "--disk", disk(tmp_path)))) == 3


def test_lifecycle_md_the_linux_example_config_is_created(tmp_path):
    """The example under the GuestConfig table: LINUX, realtime, virtio_rng and a disk are accepted
    and built (tests/test_linux_boot.py boots such guests to /dev/vda)."""
    from lifecycle import GuestLifecycle
    from tests.linux_guest import bundled_kernel
    from devices.firmware.fdt import parse_dtb
    assert 'GuestConfig(kernel_type=KernelType.LINUX, kernel=IMAGE, timer="realtime",' in LIFECYCLE_MD
    lc = GuestLifecycle()
    lc.create(GuestConfig(kernel_type=KernelType.LINUX, kernel=bundled_kernel(), timer="realtime",
                          virtio_rng=True, block_devices=[BlockSpec("root", disk(tmp_path))], virtio_console=True))
    try:
        m = lc.machine
        assert sorted(type(d.backend).__name__ for d in m.virtio) == ["VirtioBlk", "VirtioConsole", "VirtioRng"]
        assert len(virtio_nodes(parse_dtb(m.dtb))) == 3
        assert m.timer == "realtime"
        s = lc.bind().get_console()                               # virtio_console: get_console works
        s.close()
    finally:
        lc.stop()
