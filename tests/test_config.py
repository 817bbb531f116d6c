"""lifecycle.control.config / lifecycle.control.errors: GuestConfig validation (BAD_CONFIG naming the field), the error types."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dataclasses  # noqa: E402

from lifecycle.control.config import (DEFAULT_MEMORY, BlockMode, BlockSpec, GuestConfig, KernelType, check_engine,
                              validate)
from lifecycle.control.errors import ConfigError, GuestClosedError, GuestError, GuestLifecycleError

ROOT = Path(__file__).resolve().parent.parent
HELLO = str(ROOT / "tests" / "guest" / "bin" / "hello.elf")

SEED_ERRORS = ("INTERNAL_ERROR DEVICE_NOT_PRESENT BAD_CONFIG GUEST_INITIALIZATION_FAILURE "
               "DEVICE_INITIALIZATION_FAILURE DEVICE_START_FAILURE DEVICE_MEMORY_OVERLAP "
               "FAILED_SERVICE_CONNECT DUPLICATE_PUBLIC_SERVICES KERNEL_LOAD_FAILURE VCPU_START_FAILURE "
               "VCPU_RUNTIME_FAILURE NOT_CREATED ALREADY_RUNNING CONTROLLER_FORCED_HALT").split()


def elf(**kw):
    kw.setdefault("kernel_type", KernelType.ELF)
    kw.setdefault("kernel", HELLO)
    return GuestConfig(**kw)


def bad(config, field, *words):
    with pytest.raises(GuestLifecycleError) as ei:
        validate(config)
    e = ei.value
    assert e.error is GuestError.BAD_CONFIG
    assert isinstance(e, ConfigError) and e.field == field, (e.field, field)   # the field, not the text
    assert e.message.startswith(f"{field}:"), e.message
    assert "\n" not in e.message
    for w in words:
        assert w.lower() in e.message.lower(), e.message
    return e.message


def test_guest_error_has_the_seeds_fifteen_members():
    assert [m.name for m in GuestError] == SEED_ERRORS
    assert len(set(m.value for m in GuestError)) == 15


def test_lifecycle_error_and_closed_error():
    e = GuestLifecycleError(GuestError.NOT_CREATED, "call create first")
    assert e.error is GuestError.NOT_CREATED and e.message == "call create first"
    assert str(e) == "NOT_CREATED: call create first"
    assert GuestLifecycleError(GuestError.BAD_CONFIG).message == "bad config"
    with pytest.raises(TypeError):
        GuestLifecycleError("BAD_CONFIG", "x")
    c = GuestClosedError("OK", "read memory")
    assert c.epitaph == "OK" and "closed" in str(c) and "read memory" in str(c)
    # what the manager sends across the process boundary rebuilds the same one-line message
    assert c.what == "read memory" and str(GuestClosedError(c.epitaph, c.what)) == str(c)


def test_package_exports_the_api():
    import lifecycle
    from lifecycle import (BlockMode, BlockSpec, Guest, GuestClosedError, GuestConfig,  # noqa: F401
                           GuestError, GuestLifecycle, GuestLifecycleError, KernelType)
    assert lifecycle.GuestError is GuestError
    with pytest.raises(AttributeError):
        lifecycle.NoSuchThing  # noqa: B018


def test_importing_the_api_does_not_import_numba():
    code = ("import sys\nfrom lifecycle import GuestLifecycle, GuestConfig, Guest, GuestError, "
            "GuestLifecycleError, GuestClosedError, KernelType, BlockSpec, BlockMode, GuestManager\n"
            "lc = GuestLifecycle(); g = lc.bind(); assert g.closed\n"
            "sys.exit(10 if 'numba' in sys.modules else 0)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()


def test_defaults_and_normalisation():
    c = validate(elf())
    assert c.cpus == 1 and c.guest_memory == DEFAULT_MEMORY == 128 << 20
    assert c.kernel == HELLO and c.block_devices == [] and c.net_devices == []
    assert c.engine in ("jit", "python") and c.timer == "deterministic" and c.wfi_idle == "wait"
    assert validate(elf(guest_memory=5000)).guest_memory == 8192
    assert validate(elf(guest_memory=4096)).guest_memory == 4096
    assert validate(elf(kernel=Path(HELLO))).kernel == HELLO
    assert validate(elf(engine="python")).engine == "python"
    assert validate(elf(max_instructions=0)).max_instructions == 0
    # validate() copies: the caller's object is untouched
    orig = elf(guest_memory=5000)
    validate(orig)
    assert orig.guest_memory == 5000


def test_kernel_type():
    bad(GuestConfig(kernel=HELLO), "kernel_type", "required")
    bad(elf(kernel_type="elf"), "kernel_type", "KernelType")
    bad(elf(kernel_type=KernelType.ZIRCON), "kernel_type", "ZIRCON")
    linux = validate(elf(kernel_type=KernelType.LINUX, kernel="Image", ramdisk="initrd", cmdline="quiet",
                         bios="fw_dynamic.bin", dtb_overlay="x.dtbo"))
    assert linux.cmdline == "quiet" and linux.ramdisk == "initrd" and linux.bios == "fw_dynamic.bin"


def test_kernel_and_paths():
    bad(elf(kernel=None), "kernel", "required")
    bad(elf(kernel=""), "kernel", "empty")
    bad(elf(kernel=42), "kernel", "path")
    bad(elf(ramdisk="initrd.img"), "ramdisk", "ELF")
    bad(elf(dtb_overlay="x.dtbo"), "dtb_overlay", "Linux")
    bad(elf(bios="opensbi.bin"), "bios", "ELF")


def test_cmdline():
    bad(elf(cmdline="console=ttyS0"), "cmdline", "ELF")
    # cmdline_add is joined into cmdline for LINUX; refused for ELF, naming the field that was set
    bad(elf(cmdline_add=["quiet"]), "cmdline_add", "ELF")
    assert validate(elf(kernel_type=KernelType.LINUX, cmdline="a", cmdline_add=["b", "c"])).cmdline == "a b c"
    bad(elf(cmdline_add="quiet"), "cmdline_add", "list")
    bad(elf(cmdline=3), "cmdline", "string")
    assert validate(elf(cmdline="", cmdline_add=[])).cmdline is None


@pytest.mark.parametrize("v", [0, -1, 1.0, True, "1"])
def test_cpus_invalid(v):
    bad(elf(cpus=v), "cpus", "positive")


def test_cpus_unimplemented():
    bad(elf(cpus=2), "cpus", "only 1")


@pytest.mark.parametrize("v", [0, -4096, 1.5, "128M", None, True])
def test_guest_memory_invalid(v):
    bad(elf(guest_memory=v), "guest_memory")


def test_guest_memory_too_large():
    bad(elf(guest_memory=1 << 41), "guest_memory", "1 TiB")


@pytest.mark.parametrize("name", ["virtio_balloon", "virtio_gpu",
                                  "virtio_vsock", "virtio_sound", "virtio_mem", "default_net"])
def test_unimplemented_devices_are_refused_by_name(name):
    bad(elf(**{name: True}), name, "not implemented")
    bad(elf(**{name: 1}), name, "True or False")
    validate(elf(**{name: False}))


@pytest.mark.parametrize("name", ["virtio_console", "virtio_rng"])
def test_implemented_virtio_flags(name):
    assert getattr(validate(elf(**{name: True})), name) is True
    bad(elf(**{name: 1}), name, "True or False")


def test_block_and_net_devices(tmp_path):
    bad(elf(block_devices=[BlockSpec("root", str(tmp_path / "none.img"))]), "block_devices[0].path", "no such file")
    bad(elf(block_devices=[BlockSpec("root", str(tmp_path))]), "block_devices[0].path", "is a directory")
    bad(elf(block_devices=[BlockSpec("root", 3)]), "block_devices[0].path", "file path")
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(4096))
    spec = BlockSpec("root", str(disk), BlockMode.READ_ONLY)
    assert validate(elf(block_devices=[spec])).block_devices == [spec]
    bad(elf(block_devices=[spec] * 9), "block_devices", "8 virtio-mmio slots")
    assert spec.mode is BlockMode.READ_ONLY and BlockSpec("a", "b").mode is BlockMode.READ_WRITE
    assert {m.name for m in BlockMode} == {"READ_WRITE", "READ_ONLY", "VOLATILE_WRITE"}
    bad(elf(block_devices=["disk.img"]), "block_devices[0]", "BlockSpec")
    bad(elf(block_devices=[BlockSpec("a", "b", "rw")]), "block_devices[0].mode", "BlockMode")
    bad(elf(block_devices="disk.img"), "block_devices", "list")
    bad(elf(net_devices=[object()]), "net_devices", "not implemented")
    assert validate(elf(block_devices=None)).block_devices == []


def test_research_extras():
    bad(elf(engine="turbo"), "engine", "jit")
    bad(elf(max_instructions=-1), "max_instructions")
    bad(elf(max_instructions=1.5), "max_instructions")
    bad(elf(timer="wallclock"), "timer", "deterministic")
    assert validate(elf(timer="realtime")).timer == "realtime"
    bad(elf(console_input=b"x"), "console_input", "callable")
    bad(elf(raw_addr=-1), "raw_addr")
    bad(elf(wfi_idle="spin"), "wfi_idle")
    bad(elf(console="stdout"), "console", "write")
    bad(elf(keep_final_state=1), "keep_final_state")


def test_a_text_console_is_refused_at_create(tmp_path):
    """The console receives bytes: a text stream passed validation, then the guest's first
    character failed the run with VCPU_RUNTIME_FAILURE: internal error: TypeError."""
    import io
    from lifecycle import GuestLifecycle
    with open(tmp_path / "out.txt", "w") as text_file:
        for stream in (io.StringIO(), text_file, sys.stdout if isinstance(sys.stdout, io.TextIOBase) else io.StringIO()):
            bad(elf(console=stream), "console", "text stream", "binary")
    lc = GuestLifecycle()
    with pytest.raises(GuestLifecycleError) as ei:
        lc.create(elf(console=io.StringIO()))
    assert ei.value.error is GuestError.BAD_CONFIG and ei.value.message.startswith("console:")
    out = io.BytesIO()                                       # a binary stream works
    lc.create(elf(console=out, guest_memory=1 << 20))
    assert lc.run() is None and out.getvalue().startswith(b"Hello")
    with open(tmp_path / "out.bin", "wb") as f:
        validate(elf(console=f))

    class StrOnly:                                           # not a TextIOBase: found at the first write
        def write(self, s):
            return len("" + s)
    lc.create(elf(console=StrOnly(), guest_memory=1 << 20))
    with pytest.raises(GuestLifecycleError) as ei:
        lc.run()
    assert ei.value.error is GuestError.VCPU_RUNTIME_FAILURE
    assert "console: StrOnly.write() does not take bytes" in ei.value.message and "binary stream" in ei.value.message


def test_not_a_config():
    with pytest.raises(GuestLifecycleError) as ei:
        validate({"kernel": HELLO})
    assert ei.value.error is GuestError.BAD_CONFIG and "GuestConfig" in ei.value.message


# --- validation knows its fields: ConfigError(field, reason), never a field guessed from the text

# one bad value for every GuestConfig field (the ELF config of elf() is otherwise valid)
BAD_VALUES = {
    "kernel_type": "elf", "kernel": 3, "ramdisk": 3, "dtb_overlay": 3, "cmdline": 3, "cmdline_add": "quiet",
    "cpus": 0, "guest_memory": -1, "block_devices": "disk.img", "virtio_console": 1, "virtio_rng": "yes",
    "virtio_balloon": True, "virtio_gpu": True, "virtio_vsock": True, "virtio_sound": True, "virtio_mem": True,
    "default_net": True, "net_devices": [object()], "engine": "turbo", "max_instructions": -1,
    "timer": "wallclock", "rtc_base": "yesterday", "bios": 3, "raw_addr": -1, "wfi_idle": "spin", "console": "stdout",
    "console_input": b"x", "keep_final_state": 1, "isa": "rv32gc",
}


def test_every_field_has_a_bad_value_in_the_table():
    # a field added to GuestConfig must be added here (and so checked by validate())
    assert set(BAD_VALUES) == {f.name for f in dataclasses.fields(GuestConfig)}


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_a_bad_value_names_its_field(name):
    with pytest.raises(ConfigError) as ei:
        elf(**{name: BAD_VALUES[name]}).validate()
    e = ei.value
    assert e.field == name and e.error is GuestError.BAD_CONFIG
    assert e.message == f"{name}: {e.reason}" and str(e) == f"BAD_CONFIG: {e.message}"
    assert isinstance(e, GuestLifecycleError) and isinstance(e, ValueError)


def test_block_device_entries_name_the_entry(tmp_path):
    with pytest.raises(ConfigError) as ei:
        validate(elf(block_devices=[BlockSpec("root", str(tmp_path / "none.img"))]))
    assert ei.value.field == "block_devices[0].path" and ei.value.reason.endswith("no such file")


def test_config_validate_method_is_validate():
    c = elf(guest_memory=5000)
    assert c.validate() == validate(c) and c.validate().guest_memory == 8192 and c.guest_memory == 5000


def test_check_engine():
    check_engine("jit", True)
    check_engine("python", False)
    with pytest.raises(ConfigError) as ei:
        check_engine("python", True)
    assert ei.value.field == "engine" and "NUMBA_DISABLE_JIT=1" in ei.value.reason
    with pytest.raises(ConfigError) as ei:
        check_engine("jit", False)
    assert ei.value.message == "engine: NUMBA_DISABLE_JIT is set: use --engine python"
