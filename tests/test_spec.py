"""emu/spec.py: the spec's constants in one module that imports nothing, with the spec's values."""
import ast
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emu import spec  # noqa: E402

SPEC_PY = Path(spec.__file__)


def test_spec_imports_nothing():
    """Like Spike's encoding.h: any layer can import it, and it pulls in nothing (no numba, no numpy)."""
    tree = ast.parse(SPEC_PY.read_text())
    imports = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    calls = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
             and n.func.id in ("__import__", "import_module")]
    assert imports == [] and calls == []


def test_constants_are_plain_ints():
    """Numba freezes module-level ints as compile-time constants; Enum members or floats would not do."""
    for name, v in vars(spec).items():
        if name.isupper() and not name.endswith("_NAMES"):
            assert type(v) is int or (type(v) is tuple and all(type(e) is str for e in v)), name


def test_values_match_the_spec():
    # CSR numbers (privileged spec v1.12, tables 2.2-2.5)
    assert (spec.SSTATUS, spec.SATP, spec.MSTATUS, spec.MIE, spec.MTVEC) == (0x100, 0x180, 0x300, 0x304, 0x305)
    assert (spec.MEPC, spec.MCAUSE, spec.MTVAL, spec.MIP) == (0x341, 0x342, 0x343, 0x344)
    assert (spec.CYCLE, spec.TIME, spec.INSTRET, spec.MHARTID) == (0xC00, 0xC01, 0xC02, 0xF14)
    # mstatus fields (3.1.6)
    assert (spec.MSTATUS_SIE, spec.MSTATUS_MIE, spec.MSTATUS_MPP, spec.MSTATUS_FS) == (2, 8, 0x1800, 0x6000)
    assert (spec.MSTATUS_MPRV, spec.MSTATUS_SUM, spec.MSTATUS_MXR, spec.MSTATUS_TSR) == (1 << 17, 1 << 18, 1 << 19,
                                                                                        1 << 22)
    # causes (table 3.6) and interrupts (3.1.9)
    assert (spec.CAUSE_ILLEGAL_INSTRUCTION, spec.CAUSE_USER_ECALL, spec.CAUSE_MACHINE_ECALL) == (2, 8, 11)
    assert (spec.CAUSE_FETCH_PAGE_FAULT, spec.CAUSE_LOAD_PAGE_FAULT, spec.CAUSE_STORE_PAGE_FAULT) == (12, 13, 15)
    assert (spec.IRQ_S_SOFT, spec.IRQ_M_TIMER, spec.IRQ_S_EXT, spec.IRQ_M_EXT) == (1, 7, 9, 11)
    assert (spec.MIP_SSIP, spec.MIP_MTIP, spec.MIP_SEIP, spec.MIP_MEIP) == (0x2, 0x80, 0x200, 0x800)
    assert spec.INTERRUPT == -(1 << 63)
    assert (spec.PRV_U, spec.PRV_S, spec.PRV_M) == (0, 1, 3)
    assert (spec.SATP_MODE_SV39, spec.PTE_V, spec.PTE_D) == (8, 1, 0x80)
    # registers (psABI) and QEMU virt's map
    assert spec.REG_NAMES[spec.A0] == "a0" and spec.REG_NAMES[spec.A7] == "a7" and spec.REG_NAMES[spec.SP] == "sp"
    assert len(spec.REG_NAMES) == 32
    assert (spec.RAM_BASE, spec.CLINT_BASE, spec.PLIC_BASE, spec.UART_BASE) == (0x8000_0000, 0x200_0000,
                                                                                 0xC00_0000, 0x1000_0000)
    assert (spec.UART_IRQ, spec.VIRTIO_BASE, spec.VIRTIO_IRQ_BASE, spec.TEST_BASE) == (10, 0x1000_1000, 1, 0x10_0000)


def test_cause_names():
    assert spec.cause_name(13) == "load page fault"
    assert spec.cause_name(spec.INTERRUPT | spec.IRQ_S_TIMER) == "supervisor timer interrupt"
    assert spec.cause_name((1 << 63) | 7) == "machine timer interrupt"          # unsigned, as a debugger shows it
    assert spec.cause_name(10) == "exception 10"
    assert spec.CSR_NAMES[spec.MSTATUS] == "mstatus" and spec.CSR_NAMES[spec.PMPADDR0 + 63] == "pmpaddr63"


def test_old_homes_still_export_the_names():
    """Code and tests that import a constant from where it used to be defined keep working, same object."""
    from emu import csr, state, trap, mmu
    from devices import uart
    from devices import plic
    from devices import testdev
    from devices.virtio import mmio as virtio_mmio
    from devices.firmware import sbi
    from lifecycle.control import config
    assert csr.MIP is spec.MIP and csr.SATP_PPN is spec.SATP_PPN and csr.MIP_SEIP is spec.MIP_SEIP
    assert trap.CAUSE_LOAD_ACCESS == spec.CAUSE_LOAD_ACCESS and trap.cause_name is spec.cause_name
    assert state.PRV_M == spec.PRV_M and mmu.PTE_A == spec.PTE_A
    assert (uart.UART_IRQ, plic.PLIC_BASE, testdev.TEST_BASE, virtio_mmio.VIRTIO_BASE, sbi.A0, config.RAM_BASE) == (
        spec.UART_IRQ, spec.PLIC_BASE, spec.TEST_BASE, spec.VIRTIO_BASE, spec.A0, spec.RAM_BASE)
