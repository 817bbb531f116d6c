"""devices/htif.py and the hart's tohost exit: the Berkeley HTIF protocol as Spike implements it.

tohost = device(63:56) | command(55:48) | payload(47:0).  Device 0 command 0
with an odd payload is exit(payload >> 1); device 1 command 1 is putchar; the
host acknowledges a request by clearing tohost.
"""
import io
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rvenc import I, M64, w32  # noqa: E402

from devices.htif import Htif, HtifError  # noqa: E402
from emu.hart import Hart  # noqa: E402
from emu import state as S  # noqa: E402

BASE = 0x8000_0000
TOHOST = BASE + 0x1000
FROMHOST = BASE + 0x1008


def hart(code=b""):
    h = Hart(1 << 20)
    h.write_phys(BASE, code)
    h.set_tohost(TOHOST, FROMHOST)
    return h


def put_tohost(h, v):
    h.write_phys(TOHOST, (v & M64).to_bytes(8, "little"))


def tohost(h):
    return int.from_bytes(h.read_phys(TOHOST, 8), "little")


def putchar_cmd(ch):
    return (1 << 56) | (1 << 48) | ch


@pytest.mark.parametrize("code", [0, 1, 3, 127, 255, 1 << 20])
def test_exit_code(code):
    h = hart()
    put_tohost(h, (code << 1) | 1)
    assert Htif(io.BytesIO()).handle(h) == code


def test_putchar_writes_console_and_clears_tohost():
    h = hart()
    out = io.BytesIO()
    htif = Htif(out)
    for ch in b"ok\n\x00\xff":
        put_tohost(h, putchar_cmd(ch))
        assert htif.handle(h) is None
        assert tohost(h) == 0
    assert out.getvalue() == b"ok\n\x00\xff"


def test_empty_tohost_is_nothing_to_do():
    h = hart()
    out = io.BytesIO()
    assert Htif(out).handle(h) is None
    assert out.getvalue() == b""


@pytest.mark.parametrize("cmd", [(2 << 56) | 5, (1 << 56) | (0 << 48) | 65, (1 << 56) | (7 << 48) | 65,
                                 (0xFF << 56) | 1])
def test_unknown_device_or_command_is_acknowledged_and_ignored(cmd):
    h = hart()
    out = io.BytesIO()
    put_tohost(h, cmd)
    assert Htif(out).handle(h) is None
    assert tohost(h) == 0
    assert out.getvalue() == b""


def test_syscall_proxy_request_is_an_error():
    h = hart()
    put_tohost(h, BASE + 0x2000)          # device 0, command 0, even payload: a pointer to a syscall block
    with pytest.raises(HtifError) as e:
        Htif(io.BytesIO()).handle(h)
    assert "tohost" in str(e.value)


# ------------------------------------------------------------------ the hart's side

def test_store_to_tohost_exits_the_loop_after_the_store_retires():
    code = I("addi", rd=6, rs1=0, imm=(5 << 1) | 1) + I("sd", rs2=6, rs1=5, imm=0) + I("addi", rd=7, rs1=0, imm=1)
    h = hart(code)
    h.x[5] = TOHOST
    assert h.run(100) == S.EXIT_HTIF
    assert h.instret == 2 and h.pc == BASE + 8 and int(h.x[7]) == 0
    assert Htif(io.BytesIO()).handle(h) == 5


@pytest.mark.parametrize("insn", [w32((0b00001 << 27) | (6 << 20) | (5 << 15) | (3 << 12) | 0x2F),   # amoswap.d
                                  I("sw", rs2=6, rs1=5, imm=0), I("sb", rs2=6, rs1=5, imm=0),
                                  I("sd", rs2=6, rs1=8, imm=-1)])                               # misaligned (slow path)
def test_every_kind_of_store_to_tohost_exits(insn):
    h = hart(insn + I("addi", rd=7, rs1=0, imm=1))
    h.x[5], h.x[6], h.x[8] = TOHOST, 3, TOHOST + 1
    assert h.run(100) == S.EXIT_HTIF
    assert h.instret == 1 and h.pc == BASE + 4
    assert Htif(io.BytesIO()).handle(h) == 1


def test_store_next_to_tohost_does_not_exit():
    h = hart(I("sd", rs2=6, rs1=5, imm=8) + I("sd", rs2=6, rs1=5, imm=-8) + I("addi", rd=7, rs1=0, imm=1))
    h.x[5], h.x[6] = TOHOST, 3
    assert h.run(3) == S.EXIT_BUDGET
    assert int(h.x[7]) == 1


def test_guest_putchar_loop_waits_for_the_host_to_clear_tohost():
    """The guest side of putchar: store, then spin until tohost reads 0 (htif_program)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import elf_builder as eb
    prog = eb.htif_program(4, b"hey")
    h = Hart(1 << 20)
    h.write_phys(BASE, prog)
    h.set_tohost(TOHOST, FROMHOST)
    out = io.BytesIO()
    htif = Htif(out)
    code = None
    for _ in range(50):
        r = h.run(10_000)
        assert r in (S.EXIT_HTIF, S.EXIT_BUDGET)
        if r == S.EXIT_HTIF:
            code = htif.handle(h)
            if code is not None:
                break
    assert code == 4 and out.getvalue() == b"hey"


def test_putchar_response_in_fromhost_as_spike():
    """Spike's console device answers putchar with fromhost = dev 1 | cmd 1 | 0x100 | ch."""
    h = hart()
    put_tohost(h, putchar_cmd(ord("Z")))
    Htif(io.BytesIO()).handle(h)
    assert int.from_bytes(h.read_phys(FROMHOST, 8), "little") == (1 << 56) | (1 << 48) | 0x100 | ord("Z")
