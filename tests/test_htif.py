"""devices/firmware/htif.py and the hart's tohost exit: the Berkeley HTIF protocol as Spike implements it.

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

from devices.firmware.htif import Htif, HtifError  # noqa: E402
from emu.hart import Hart  # noqa: E402
from emu import state as S  # noqa: E402
from emu.spec import RAM_BASE, UART_BASE  # noqa: E402

BASE = RAM_BASE
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
    assert out.getvalue() == b""              # kept in .pending until the machine flushes
    htif.flush()
    assert out.getvalue() == b"ok\n\x00\xff"
    assert htif.writes == 1


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
    htif.flush()
    assert code == 4 and out.getvalue() == b"hey"


def test_putchar_response_in_fromhost_as_spike():
    """Spike's console device answers putchar with fromhost = dev 1 | cmd 1 | 0x100 | ch."""
    h = hart()
    put_tohost(h, putchar_cmd(ord("Z")))
    Htif(io.BytesIO()).handle(h)
    assert int.from_bytes(h.read_phys(FROMHOST, 8), "little") == (1 << 56) | (1 << 48) | 0x100 | ord("Z")


# ------------------------------------------------------------------ the machine's side (lifecycle/machine/board.py)

T0, T1, T2, T3, T4, T5, T6 = 5, 6, 7, 28, 29, 30, 31


class CountingConsole(io.BytesIO):
    """A console that counts write() calls and signals every write."""

    def __init__(self):
        super().__init__()
        import threading
        self.calls = 0
        self.written = threading.Event()

    def write(self, data):
        self.calls += 1
        n = super().write(data)
        self.written.set()
        return n


def li32(rd, v):
    hi = (v + 0x800) >> 12
    return I("lui", rd=rd, imm=hi & 0xFFFFF) + I("addiw", rd=rd, rs1=rd, imm=v - (hi << 12))


def putchar(ch_reg):
    """HTIF putchar of the byte in ch_reg (t0 = &tohost, t2 = device 1 | command 1), then wait for the ack."""
    return (I("or", rd=T6, rs1=T2, rs2=ch_reg) + I("sd", rs2=T6, rs1=T0, imm=0)
            + I("ld", rd=T3, rs1=T0, imm=0) + I("bne", rs1=T3, rs2=0, imm=-4))


def prologue():
    return I("auipc", rd=T0, imm=1) + I("addi", rd=T2, rs1=0, imm=0x101) + I("slli", rd=T2, rs1=T2, shamt=48)


def exit0():
    return I("addi", rd=T1, rs1=0, imm=1) + I("sd", rs2=T1, rs1=T0, imm=0) + I("jal", rd=0, imm=0)


def flood(n):
    """n putchars: 'x', with a newline as every 64th character; then exit(0)."""
    c = prologue() + li32(T1, n)
    loop = len(c)
    c += (I("andi", rd=T5, rs1=T1, imm=63) + I("addi", rd=T4, rs1=0, imm=ord("x"))
          + I("bne", rs1=T5, rs2=0, imm=8) + I("addi", rd=T4, rs1=0, imm=10))
    c += putchar(T4) + I("addi", rd=T1, rs1=T1, imm=-1)
    c += I("bne", rs1=T1, rs2=0, imm=loop - len(c))
    return c + exit0()


def flood_text(n):
    return bytes(10 if i % 64 == 0 else ord("x") for i in range(n, 0, -1))


def program_elf(tmp_path, code):
    import elf_builder as eb
    p = tmp_path / "p.elf"
    p.write_bytes(eb.build_elf(
        [eb.Segment(BASE, code, name=".text"),
         eb.Segment(TOHOST, bytes(16), flags=eb.PF_R | eb.PF_W, name=".tohost")],
        entry=BASE, symbols={"tohost": TOHOST, "fromhost": FROMHOST}))
    return p


def run_machine(tmp_path, code, console, **kw):
    from lifecycle.machine.board import Machine
    m = Machine(memory=1 << 20, console=console)
    m.load(program_elf(tmp_path, code))
    return m, m.run(**kw)


def test_putchar_output_goes_to_the_console_in_large_pieces(tmp_path):
    """Each putchar exits the loop, but the console gets one write per devices.firmware.htif.FLUSH_BYTES
    characters, not one per character (a write per character, and a socket send per character for a
    bound serial console, made HTIF output 7x slower than the UART's)."""
    n = 12_388
    out = CountingConsole()
    m, r = run_machine(tmp_path, flood(n), out)
    assert (r.reason, r.exit_code) == ("exit", 0)
    assert out.getvalue() == flood_text(n)
    assert out.calls <= n // 1024, out.calls       # at least 1 KiB per write on average
    assert m.htif.writes == out.calls


def test_htif_and_uart_output_keep_their_order(tmp_path):
    """HTIF characters wait in a buffer; a UART byte written after them must still come after them."""
    c = prologue() + I("lui", rd=T1, imm=UART_BASE >> 12)           # t1 = the UART's THR
    for ch, dev in ((b"a", "htif"), (b"b", "uart"), (b"c", "htif"), (b"d", "htif"), (b"e", "uart")):
        c += I("addi", rd=T4, rs1=0, imm=ch[0])
        c += putchar(T4) if dev == "htif" else I("sb", rs2=T4, rs1=T1, imm=0)
    out = io.BytesIO()
    _m, r = run_machine(tmp_path, c + exit0(), out)
    assert (r.reason, out.getvalue()) == ("exit", b"abcde")


def test_buffered_output_appears_while_the_guest_runs_on(tmp_path):
    """A program that prints and then computes forever: its output must not wait for the end of
    the run (the machine writes pending HTIF output at least every slice of steps)."""
    import threading
    c = prologue()
    for ch in b"hey":
        c += I("addi", rd=T4, rs1=0, imm=ch) + putchar(T4)
    c += I("jal", rd=0, imm=0)                                      # spin: no exit, no wfi
    out = CountingConsole()
    from lifecycle.machine.board import Machine
    m = Machine(memory=1 << 20, console=out)
    m.load(program_elf(tmp_path, c))
    m.warm_up()
    results = []
    t = threading.Thread(target=lambda: results.append(m.run()), daemon=True)
    t.start()
    try:
        assert out.written.wait(120), "the guest's output did not reach the console while it ran"
        assert out.getvalue() == b"hey"
        assert not results                                          # still running
    finally:
        m.stop()
        t.join(120)
    assert not t.is_alive() and results[0].reason == "stopped"


def test_host_write_of_fromhost_breaks_a_reservation_on_it(tmp_path):
    """The host's answer in fromhost is a store by another agent: an LR reservation on it is lost."""
    def amo(f5, rd, rs1, rs2=0):
        return w32((f5 << 27) | (rs2 << 20) | (rs1 << 15) | (3 << 12) | (rd << 7) | 0x2F)
    c = prologue() + I("addi", rd=T1, rs1=T0, imm=8)                 # t1 = &fromhost
    c += amo(0b00010, T3, T1)                                       # lr.d t3, (t1)
    c += I("addi", rd=T4, rs1=0, imm=ord("!")) + putchar(T4)
    c += amo(0b00011, 18, T1, 0)                                    # sc.d s2, zero, (t1): must fail
    c += I("sd", rs2=18, rs1=T0, imm=16)                            # s2 -> tohost + 16
    out = io.BytesIO()
    m, r = run_machine(tmp_path, c + exit0(), out)
    assert (r.reason, out.getvalue()) == ("exit", b"!")
    assert int.from_bytes(m.hart.read_phys(TOHOST + 16, 8), "little") == 1     # sc.d failed
    assert int.from_bytes(m.hart.read_phys(FROMHOST, 8), "little") == (1 << 56) | (1 << 48) | 0x100 | ord("!")
