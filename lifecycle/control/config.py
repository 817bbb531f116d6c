"""GuestConfig: the seed's GuestConfig table as a Python dataclass, plus research extras.

``validate(config)`` (or ``config.validate()``) returns a normalised copy (guest_memory
rounded up to a page, cmdline_add joined into cmdline, engine resolved) or raises
ConfigError, a GuestLifecycleError(BAD_CONFIG) whose ``.field`` names the field.  A field this VMM does not
implement yet is refused with BAD_CONFIG naming it, never silently ignored.

No numba here (the CLI decides NUMBA_DISABLE_JIT before numba is imported).
"""
from __future__ import annotations

import dataclasses
import enum
import io
import os
import sys
from dataclasses import dataclass, field

from devices.virtio.blk import BlockMode  # the device's modes, re-exported as lifecycle.BlockMode (no numba)
from emu.spec import DEFAULT_MEMORY, PAGE_SIZE, RAM_BASE, VIRTIO_MAX  # noqa: F401 (RAM_BASE, DEFAULT_MEMORY re-exported)
from lifecycle.control.errors import ConfigError



class KernelType(enum.Enum):
    ZIRCON = "zircon"   # as in the seed; refused on this RISC-V VMM
    LINUX = "linux"     # a RISC-V Linux Image (arch/riscv/boot/Image), booted with a generated device tree
    ELF = "elf"         # a bare-metal RV64 ELF program (HTIF console/exit), or a raw binary with raw_addr


@dataclass(frozen=True)
class BlockSpec:
    id: str
    path: str
    mode: BlockMode = BlockMode.READ_WRITE


@dataclass
class GuestConfig:
    # --- the seed's table
    kernel_type: KernelType | None = None
    kernel: str | os.PathLike | None = None
    ramdisk: str | os.PathLike | None = None
    dtb_overlay: str | os.PathLike | None = None
    cmdline: str | None = None
    cmdline_add: list[str] = field(default_factory=list)
    cpus: int = 1
    guest_memory: int = DEFAULT_MEMORY
    block_devices: list[BlockSpec] = field(default_factory=list)
    virtio_console: bool = False
    virtio_rng: bool = False
    virtio_balloon: bool = False
    virtio_gpu: bool = False
    virtio_vsock: bool = False
    virtio_sound: bool = False
    virtio_mem: bool = False
    default_net: bool = False
    net_devices: list = field(default_factory=list)
    # --- research extras
    engine: str | None = None          # 'jit' | 'python' | None: from NUMBA_DISABLE_JIT
    max_instructions: int | None = None  # run() ends cleanly (returns None) with guest.stop_reason 'budget'
    timer: str = "deterministic"       # 'deterministic': mtime from retired instructions; 'realtime': host clock
    rtc_base: int | str | None = None  # the RTC's date at start: seconds since 1970 or an ISO 8601 date
                                       # (normalised to seconds); None: the host's time (devices/rtc.py)
    bios: str | os.PathLike | None = None  # LINUX: None = the VMM is the SBI; a path = M-mode firmware (OpenSBI)
    raw_addr: int | None = None        # KernelType.ELF only: load `kernel` as a raw binary at this address
    wfi_idle: str = "wait"             # wfi nothing can wake: 'wait' (sleep until stop) or 'fatal'
    console: object = None             # a binary stream that also receives the console output
    console_input: object = None       # callable(idle: bool) -> bytes: host input for the UART, polled
    keep_final_state: bool = False     # keep the torn-down machine in GuestLifecycle.final_machine
    isa: str | None = None             # the hart's extensions as an ISA string ('rv64imac', 'rv64gc_zba_zbb_zbs');
                                       # None: everything implemented (emu.csr.ISA_STRING)

    def validate(self) -> "GuestConfig":
        """-> a normalised copy; raises ConfigError naming the bad field (see validate())."""
        return validate(self)


_UNIMPLEMENTED_BOOLS = ("virtio_balloon", "virtio_gpu", "virtio_vsock", "virtio_sound", "virtio_mem",
                        "default_net")
_BOOLS = ("virtio_console", "virtio_rng")


def _bad(fieldname: str, msg: str) -> ConfigError:
    return ConfigError(fieldname, msg)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _path(name, v):
    if v is None:
        return None
    if not isinstance(v, (str, os.PathLike)):
        raise _bad(name, f"expected a file path, not {type(v).__name__}")
    s = os.fspath(v)
    if not s:
        raise _bad(name, "empty path")
    return s


def _default_engine() -> str:
    """The engine numba will give: its config once imported, else NUMBA_DISABLE_JIT (read at import)."""
    if "numba" in sys.modules:
        try:
            from numba.core import config as numba_config
            return "python" if numba_config.DISABLE_JIT else "jit"
        except Exception:   # noqa: BLE001 - a half-imported numba: fall back to the environment
            pass
    v = os.environ.get("NUMBA_DISABLE_JIT", "")
    return "python" if v.strip() not in ("", "0") else "jit"


def check_engine(engine: str, jit_enabled: bool) -> None:
    """The engine against the one numba gives in this process (known once numba is imported:
    GuestLifecycle.create calls this before building the machine); raises ConfigError('engine')."""
    if engine == "python" and jit_enabled:
        raise _bad("engine", "the python engine needs NUMBA_DISABLE_JIT=1 in the environment "
                             "before numba is imported (numbavm run --engine python does this)")
    if engine == "jit" and not jit_enabled:
        raise _bad("engine", "NUMBA_DISABLE_JIT is set: use --engine python")


def validate(config: GuestConfig) -> GuestConfig:
    """-> a normalised copy of config; raises ConfigError(field, ...) (BAD_CONFIG, 'field: ...')."""
    if not isinstance(config, GuestConfig):
        raise _bad("config", f"expected a GuestConfig, not {type(config).__name__}")
    c = dataclasses.replace(config)
    # kernel
    if c.kernel_type is None:
        raise _bad("kernel_type", "required (KernelType.ELF for a bare-metal program)")
    if not isinstance(c.kernel_type, KernelType):
        raise _bad("kernel_type", f"expected a KernelType, not {c.kernel_type!r}")
    if c.kernel_type is KernelType.ZIRCON:
        raise _bad("kernel_type", "ZIRCON kernels do not run on this RISC-V VMM (use ELF)")
    linux = c.kernel_type is KernelType.LINUX
    c.kernel = _path("kernel", c.kernel)
    if c.kernel is None:
        raise _bad("kernel", "required: the path of the program to load")
    c.ramdisk = _path("ramdisk", c.ramdisk)
    if c.ramdisk is not None and not linux:
        raise _bad("ramdisk", f"not used by KernelType.{c.kernel_type.name} (a ramdisk needs a Linux kernel)")
    c.dtb_overlay = _path("dtb_overlay", c.dtb_overlay)
    if c.dtb_overlay is not None and not linux:
        raise _bad("dtb_overlay", "not used by KernelType.ELF (a device tree is generated for Linux kernels)")
    # command line
    if c.cmdline is not None and not isinstance(c.cmdline, str):
        raise _bad("cmdline", f"expected a string, not {type(c.cmdline).__name__}")
    if isinstance(c.cmdline_add, str) or not all(isinstance(a, str) for a in (c.cmdline_add or [])):
        raise _bad("cmdline_add", "expected a list of strings")
    if c.cmdline_add and not linux:
        raise _bad("cmdline_add", f"not used by KernelType.{c.kernel_type.name} (a bare-metal program "
                                  "has no command line)")
    parts = ([c.cmdline] if c.cmdline else []) + list(c.cmdline_add or [])
    c.cmdline = " ".join(p for p in parts if p) or None
    c.cmdline_add = []
    if c.cmdline is not None and not linux:
        raise _bad("cmdline", f"not used by KernelType.{c.kernel_type.name} (a bare-metal program "
                              "has no command line)")
    # cpus, memory
    if not _is_int(c.cpus) or c.cpus < 1:
        raise _bad("cpus", f"must be a positive integer, not {c.cpus!r}")
    if c.cpus != 1:
        raise _bad("cpus", f"{c.cpus} vcpus requested: only 1 is implemented")
    if not _is_int(c.guest_memory) or c.guest_memory <= 0:
        raise _bad("guest_memory", f"must be a positive number of bytes, not {c.guest_memory!r}")
    if c.guest_memory > (1 << 40):
        raise _bad("guest_memory", f"{c.guest_memory} bytes is more than the 1 TiB supported")
    c.guest_memory = (c.guest_memory + PAGE_SIZE - 1) // PAGE_SIZE * PAGE_SIZE
    # devices
    for name in _UNIMPLEMENTED_BOOLS:
        v = getattr(c, name)
        if not isinstance(v, bool):
            raise _bad(name, f"expected True or False, not {v!r}")
        if v:
            raise _bad(name, "not implemented yet: leave it False")
    for name in _BOOLS:
        if not isinstance(getattr(c, name), bool):
            raise _bad(name, f"expected True or False, not {getattr(c, name)!r}")
    for name in ("block_devices", "net_devices"):
        v = getattr(c, name)
        if v is None:
            setattr(c, name, [])
            continue
        if isinstance(v, (str, bytes)) or not hasattr(v, "__len__"):
            raise _bad(name, "expected a list")
        if len(v):
            if name == "net_devices":
                raise _bad(name, "not implemented yet (no virtio-net): leave it empty")
            for i, b in enumerate(v):
                if not isinstance(b, BlockSpec):
                    raise _bad(f"block_devices[{i}]", f"expected a BlockSpec, not {type(b).__name__}")
                if not isinstance(b.mode, BlockMode):
                    raise _bad(f"block_devices[{i}].mode", f"expected a BlockMode, not {b.mode!r}")
                if not isinstance(b.path, (str, os.PathLike)) or not os.fspath(b.path):
                    raise _bad(f"block_devices[{i}].path", f"expected a file path, not {b.path!r}")
                if os.path.isdir(b.path):
                    raise _bad(f"block_devices[{i}].path", f"{b.path}: is a directory, not a disk image")
                if not os.path.isfile(b.path):
                    raise _bad(f"block_devices[{i}].path", f"{b.path}: no such file")
            if len(v) + c.virtio_rng + c.virtio_console > VIRTIO_MAX:
                raise _bad(name, f"more than the {VIRTIO_MAX} virtio-mmio slots of the machine")
        setattr(c, name, list(v))
    # research extras
    if c.engine is None:
        c.engine = _default_engine()
    if c.engine not in ("jit", "python"):
        raise _bad("engine", f"unknown engine {c.engine!r} (choose 'jit' or 'python')")
    if c.max_instructions is not None and (not _is_int(c.max_instructions) or c.max_instructions < 0):
        raise _bad("max_instructions", f"must be None or a non-negative integer, not {c.max_instructions!r}")
    if c.timer not in ("deterministic", "realtime"):
        raise _bad("timer", f"{c.timer!r}: choose 'deterministic' or 'realtime'")
    if c.rtc_base is not None:
        from devices.rtc import parse_base, RtcBaseError      # (pure Python: no numba)
        try:
            c.rtc_base = parse_base(c.rtc_base)
        except RtcBaseError as e:
            raise _bad("rtc_base", str(e)) from None
    c.bios = _path("bios", c.bios)
    if c.bios is not None and not linux:
        raise _bad("bios", "not used by KernelType.ELF (bare-metal programs run in M-mode themselves)")
    if c.console_input is not None and not callable(c.console_input):
        raise _bad("console_input", "must be None or a callable(idle) -> bytes")
    if c.raw_addr is not None and (not _is_int(c.raw_addr) or not 0 <= c.raw_addr < (1 << 64)):
        raise _bad("raw_addr", f"must be None or an address, not {c.raw_addr!r}")
    if c.wfi_idle not in ("wait", "fatal"):
        raise _bad("wfi_idle", f"must be 'wait' or 'fatal', not {c.wfi_idle!r}")
    if c.console is not None and not callable(getattr(c.console, "write", None)):
        raise _bad("console", "must be None or a binary stream with write()")
    if isinstance(c.console, io.TextIOBase):
        # the console writes bytes: a text stream would fail at the guest's first character
        raise _bad("console", f"{type(c.console).__name__} is a text stream: give a binary one "
                              "(e.g. sys.stdout.buffer, open(path, 'wb'), io.BytesIO())")
    if not isinstance(c.keep_final_state, bool):
        raise _bad("keep_final_state", f"expected True or False, not {c.keep_final_state!r}")
    if c.isa is not None:
        from emu.isastring import parse, canonical, IsaError     # (pure Python: no numba)
        try:
            c.isa = canonical(parse(c.isa))
        except IsaError as e:
            raise _bad("isa", str(e)) from None
    return c
