"""lifecycle/debug/trace.py (--trace, --trace-from/--trace-to, --mix) and lifecycle/cli/stats.py (--stats).

The trace of our guest programs (tests/guest/) is checked line by line against what
their sources and ELF symbols say the first instructions do; the windows against
the full trace; a traced run against an untraced one (tracing must not change
what the guest does); the stats against the hart's own counters.
"""
import io
import os
import re

import numpy as np

from devices.testdev import FINISHER_PASS
from lifecycle.machine.loader import load_elf
from emu.spec import INTERRUPT, IRQ_M_TIMER, PRV_M, PRV_S, PRV_U, RAM_BASE, TEST_BASE
from lifecycle.debug import trace
from lifecycle.cli.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "tests", "guest", "bin")
HELLO = os.path.join(BIN, "hello.elf")

# core   0: <priv> 0x<pc:16> (0x<bits:4|8>) <disassembly>  [x<rd> 0x<v:16>] [c<n>_<name> 0x<v:16>] [mem ...]
LINE = re.compile(r"^core   0: (?P<priv>[013]) 0x(?P<pc>[0-9a-f]{16}) \(0x(?P<bits>[0-9a-f]{4}|[0-9a-f]{8})\) "
                  r"(?P<dis>\S.*?)(?P<writes>( x\d{1,2} {1,2}0x[0-9a-f]{16}| c\d+_\w+ 0x[0-9a-f]{16}"
                  r"| mem 0x[0-9a-f]{16}( 0x[0-9a-f]+)?)*)$")
WRITE = re.compile(r" x(\d+) +0x([0-9a-f]{16})")
MEM = re.compile(r" mem 0x([0-9a-f]{16})(?: 0x([0-9a-f]+))?")
TRAP = re.compile(r"^core   0: exception (trap_\w+|interrupt #\d+), epc 0x[0-9a-f]{16}$")
TVAL = re.compile(r"^core   0:           tval 0x[0-9a-f]{16}$")


def run_cli(*args):
    return main([str(a) for a in args])


def traced(tmp_path, program, *extra, name="t.trace"):
    out = tmp_path / name
    status = run_cli("run", program, f"--trace={out}", *extra)
    return status, out.read_text().splitlines()


def parse(line):
    m = LINE.match(line)
    assert m, f"not a trace line: {line!r}"
    regs = {int(r): int(v, 16) for r, v in WRITE.findall(m["writes"])}
    mem = [(int(a, 16), None if v == "" else int(v, 16)) for a, v in MEM.findall(m["writes"])]
    return dict(priv=int(m["priv"]), pc=int(m["pc"], 16), bits=int(m["bits"], 16), nbits=len(m["bits"]) * 4,
                dis=m["dis"].strip(), mnemonic=m["dis"].split()[0], regs=regs, mem=mem)


def symbols(program):
    return load_elf(program, RAM_BASE, 128 << 20).symbols


def word_at(program, addr):
    img = load_elf(program, RAM_BASE, 128 << 20)
    for paddr, data, _memsz in img.segments:
        if paddr <= addr < paddr + len(data):
            lo = int.from_bytes(data[addr - paddr:addr - paddr + 2], "little")
            if lo & 3 != 3:
                return lo
            return int.from_bytes(data[addr - paddr:addr - paddr + 4], "little")
    raise AssertionError(f"0x{addr:x} not in {program}")


# --------------------------------------------------------------------------- the line format

def test_hello_first_instructions(tmp_path, capsys):
    status, lines = traced(tmp_path, HELLO, "--trace-to", "14")
    assert status == 0
    assert "Hello from numbavm!" in capsys.readouterr().out     # the run goes on after the window
    assert len(lines) == 14
    recs = [parse(ln) for ln in lines]
    sym = symbols(HELLO)
    for r in recs:
        assert r["priv"] == PRV_M                                # crt0 runs in M-mode
        assert r["bits"] == word_at(HELLO, r["pc"])              # the raw bits, as in the ELF
        assert r["nbits"] == (16 if r["bits"] & 3 != 3 else 32)
    # crt0.S: la sp, _stack_top; la t0, __bss_start; la t1, __bss_end (auipc + addi each)
    assert recs[0]["pc"] == RAM_BASE and recs[0]["mnemonic"] == "auipc"
    for i, (reg, name) in enumerate(((2, "_stack_top"), (5, "__bss_start"), (6, "__bss_end"))):
        hi, lo = recs[2 * i], recs[2 * i + 1]
        assert hi["mnemonic"] == "auipc" and lo["mnemonic"] == "addi", (hi, lo)
        assert list(hi["regs"]) == [reg] and hi["regs"][reg] == hi["pc"] + ((hi["bits"] >> 12) << 12)
        assert lo["regs"] == {reg: sym[name]}
    # 2: bgeu t0, t1, 3f (no register written) ... 3: li a0, 0; li a1, 0; call main
    assert recs[6]["mnemonic"] == "bgeu" and recs[6]["regs"] == {} and recs[6]["mem"] == []
    # hello.elf has no .bss (nothing to zero): bgeu is taken straight to 3
    assert sym["__bss_start"] == sym["__bss_end"], "hello.elf grew a .bss: crt0's zeroing loop runs first"
    assert recs[7]["mnemonic"] in ("c.li", "li") and recs[7]["regs"] == {10: 0}
    assert recs[8]["regs"] == {11: 0}
    call = recs[9]
    assert call["mnemonic"] == "jal" and call["regs"] == {1: call["pc"] + 4}
    assert recs[10]["pc"] == sym["main"]
    # main's prologue: the frame, then ra saved: sd ra, 40(sp) -> mem (stack_top - 8) = return address
    frame = recs[10]["regs"][2]
    assert frame < sym["_stack_top"]
    stores = [(r, m) for r in recs[11:] for m in r["mem"] if m[1] is not None]
    saved = [(r, addr) for r, (addr, value) in stores if value == call["pc"] + 4]
    assert saved, f"main's prologue does not save ra in its first instructions: {stores}"
    r, addr = saved[0]
    assert addr == sym["_stack_top"] - 8
    assert r["mnemonic"] in ("c.sdsp", "sd")


def test_disassembly_is_capstones_with_spikes_padding(tmp_path):
    import capstone
    md = capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV64 | capstone.CS_MODE_RISCVC)
    _status, lines = traced(tmp_path, os.path.join(BIN, "isa_c.elf"), "--trace-to", "300")
    assert len(lines) == 300
    seen_compressed = 0
    for ln in lines:
        r = parse(ln)
        n = r["nbits"] // 8
        (_a, _s, mn, ops), = md.disasm_lite(r["bits"].to_bytes(n, "little"), 0)
        text = ln[ln.index(") ") + 2:]
        assert text.startswith(mn + " " * max(1, 8 - len(mn)) + ops if ops else mn), ln
        assert len(text) >= trace.DISASM_WIDTH or not r["regs"] and not r["mem"]
        seen_compressed += n == 2
    assert seen_compressed > 20


def test_loads_and_stores(tmp_path):
    prog = os.path.join(BIN, "isa_ldst.elf")
    status, lines = traced(tmp_path, prog, "--trace-to", "400")
    assert status == 0
    sym = symbols(prog)
    recs = [parse(ln) for ln in lines]
    loads = [(r, m[0]) for r in recs for m in r["mem"] if m[1] is None]
    stores = {(m[0], m[1]): r for r in recs for m in r["mem"] if m[1] is not None}
    # TEST_LD_OP(1, lb, 0xffffffffffffff88, 0, tdat): the first load
    r, addr = loads[0]
    assert r["mnemonic"] == "lb" and addr == sym["tdat"] and r["regs"] == {14: 0xffffffffffffff88}
    # TEST_LD_OP(6, lh, ..., 6, tdat2): a load with an offset shows the effective address
    assert any(r["mnemonic"] == "lh" and a == sym["tdat2"] + 6 and r["regs"] == {14: 0xffffffffffff8877}
               for r, a in loads)
    # TEST_ST_OP(30..36, ...): sb/sh/sw/sd at sbuf + offset, the value in the store's width
    sbuf = sym["sbuf"]
    for off, value, mn, digits in ((0, 0xaa, "sb", 2), (2, 0xaa55, "sh", 4), (8, 0xdeadbeef, "sw", 8),
                                   (12, 0xcafef00d, "sw", 8), (16, 0x0123456789abcdef, "sd", 16)):
        assert (sbuf + off, value) in stores, (hex(sbuf + off), hex(value))
        r = stores[(sbuf + off, value)]
        assert r["mnemonic"] == mn and r["regs"] == {}
        line = lines[recs.index(r)]
        assert line.endswith(f" mem 0x{sbuf + off:016x} 0x{value:0{digits}x}"), line


def test_byte_stores_print_like_spike(tmp_path):
    # Spike prints an 8-bit store value with at least one digit (0x%01x): sb 0x77 -> 0x77, 0x5 -> 0x5
    assert trace._value(0x77, 1) == "0x77" and trace._value(5, 1) == "0x5"
    assert trace._value(-1, 2) == "0xffff" and trace._value(1, 4) == "0x00000001"


def test_atomics(tmp_path):
    prog = os.path.join(BIN, "isa_amo.elf")
    _status, lines = traced(tmp_path, prog)
    amobuf = symbols(prog)["amobuf"]
    recs = [parse(ln) for ln in lines]
    # test_21: amobuf = 5; amoswap.d x14, x4 (= 3), (x1): x14 = 5, memory 3: a load and a store logged
    swap = next(r for r in recs if r["mnemonic"].startswith("amoswap.d"))
    assert swap["regs"] == {14: 5}
    assert swap["mem"] == [(amobuf, None), (amobuf, 3)]
    lr = next(r for r in recs if r["mnemonic"].startswith("lr."))
    assert lr["mem"] == [(amobuf, None)] and len(lr["regs"]) == 1
    sc_ok = [r for r in recs if r["mnemonic"].startswith("sc.") and list(r["regs"].values()) == [0]]
    sc_fail = [r for r in recs if r["mnemonic"].startswith("sc.") and list(r["regs"].values()) == [1]]
    assert sc_ok and sc_fail
    assert all(len(r["mem"]) == 1 and r["mem"][0][1] is not None for r in sc_ok)
    assert all(r["mem"] == [] for r in sc_fail)                # a failed sc stores nothing


def test_csr_writes(tmp_path):
    _status, lines = traced(tmp_path, os.path.join(BIN, "priv_csr.elf"))
    i, w = next((i, ln) for i, ln in enumerate(lines) if "csrw    mtvec, t0" in ln)
    m = re.search(r" c773_mtvec 0x([0-9a-f]{16})$", w)     # Spike: c<number>_<name> <value>
    assert m, w
    assert not WRITE.search(w)                                  # csrw: rd = x0, no register write
    t0 = next(parse(ln)["regs"][5] for ln in reversed(lines[:i]) if LINE.match(ln) and 5 in parse(ln)["regs"])
    assert int(m[1], 16) == t0
    # csrr reads only: no CSR write logged, the register is
    r = next(ln for ln in lines if re.search(r"\bcsrr\b", ln) or "csrrs" in ln)
    assert " c7" not in r and WRITE.search(r), r


def test_traps_and_interrupts(tmp_path):
    prog = os.path.join(BIN, "priv_traps.elf")
    _status, lines = traced(tmp_path, prog)
    first = next(i for i, ln in enumerate(lines) if "exception" in ln)
    # EXPECT_TRAP(1, 2, 1: .word 0x0000000b): illegal instruction, mtval = the bits
    assert TRAP.match(lines[first]) and "trap_illegal_instruction" in lines[first]
    assert lines[first + 1] == "core   0:           tval 0x000000000000000b"
    epc = int(lines[first].rsplit("0x", 1)[1], 16)
    assert word_at(prog, epc) == 0x0000000b
    # the handler's first instruction follows: M-mode, at mtvec
    assert parse(lines[first + 2])["priv"] == PRV_M
    for i, ln in enumerate(lines):
        if "exception" in ln:
            assert TRAP.match(ln), ln
            has_tval = i + 1 < len(lines) and TVAL.match(lines[i + 1])
            assert bool(has_tval) == ("ecall" not in ln), ln     # Spike: ecalls have no tval
        elif not TVAL.match(ln):
            parse(ln)
    causes = {ln.split()[3].rstrip(",") for ln in lines if "exception" in ln}
    assert {"trap_illegal_instruction", "trap_breakpoint", "trap_machine_ecall", "trap_user_ecall",
            "trap_supervisor_ecall", "trap_load_access_fault", "trap_store_access_fault"} <= causes
    # privilege changes show in the lines: U and S code runs in this program
    assert {PRV_U, PRV_S, PRV_M} <= {parse(ln)["priv"] for ln in lines if LINE.match(ln)}

    _status, lines = traced(tmp_path, os.path.join(BIN, "priv_interrupts.elf"), name="i.trace")
    irq = [ln for ln in lines if "interrupt #" in ln]
    assert any("interrupt #7," in ln for ln in irq) and any("interrupt #3," in ln for ln in irq)
    i = lines.index(irq[0])
    nxt = parse(lines[i + 1])
    assert "mcause" in nxt["dis"] and nxt["regs"] and list(nxt["regs"].values())[0] == (INTERRUPT | IRQ_M_TIMER) & ((1 << 64) - 1)


def test_sv39_fetches_go_through_the_mmu(tmp_path):
    prog = os.path.join(BIN, "priv_vm_sv39.elf")
    _status, lines = traced(tmp_path, prog)
    recs = [parse(ln) for ln in lines if LINE.match(ln)]
    s_mode = [r for r in recs if r["priv"] == PRV_S]
    assert s_mode
    assert any("page_fault" in ln for ln in lines)
    # every instruction line's bits are what decodes at that pc (Disassembler agrees on the length)
    assert all(r["nbits"] == (16 if r["bits"] & 3 != 3 else 32) for r in recs)


# --------------------------------------------------------------------------- windows

def test_count_window_matches_the_full_trace(tmp_path):
    prog = os.path.join(BIN, "isa_alu.elf")
    _s, full = traced(tmp_path, prog, name="full.trace")
    assert not any("exception" in ln for ln in full)          # one line per instruction
    _s, win = traced(tmp_path, prog, "--trace-from", "100", "--trace-to", "150", name="w.trace")
    assert win == full[100:150]
    _s, head = traced(tmp_path, prog, "--trace-to", "1K", name="h.trace")
    assert head == full[:1000]
    _s, tail = traced(tmp_path, prog, "--trace-from", "1_900", name="t.trace")
    assert tail == full[1900:]


def test_count_window_starts_where_a_budgeted_run_stops(tmp_path):
    from lifecycle.machine.board import Machine
    prog = os.path.join(BIN, "isa_mul.elf")
    m = Machine(memory=16 << 20, console=io.BytesIO())
    m.load(prog)
    m.run(max_instructions=777)
    _s, win = traced(tmp_path, prog, "--trace-from", "777", "--trace-to", "778")
    assert len(win) == 1 and parse(win[0])["pc"] == m.hart.pc


def test_address_and_symbol_windows(tmp_path):
    prog = os.path.join(BIN, "isa_branch.elf")
    _s, full = traced(tmp_path, prog, name="full.trace")
    pcs = [parse(ln)["pc"] for ln in full]
    main_pc = symbols(prog)["main"]
    k = pcs.index(main_pc)
    _s, by_sym = traced(tmp_path, prog, "--trace-from", "main", name="sym.trace")
    assert by_sym == full[k:]
    target = pcs[k + 50]
    j = pcs.index(target, k)
    _s, by_addr = traced(tmp_path, prog, "--trace-from", f"0x{main_pc:x}", "--trace-to", f"0x{target:x}",
                         name="addr.trace")
    assert by_addr == full[k:j + 1]                      # --trace-to ADDR includes that instruction
    _s, mixed = traced(tmp_path, prog, "--trace-from", "main", "--trace-to", str(k + 20), name="m.trace")
    assert mixed == full[k:k + 20]


def test_address_window_with_and_without_breakpoints(tmp_path):
    """--trace-from ADDR runs to a debugger breakpoint (emu/debug.py) when the hart has them,
    and single-steps otherwise: the same lines either way, and the same final state."""
    from lifecycle.machine.board import Machine
    prog = os.path.join(BIN, "priv_traps.elf")
    target = symbols(prog)["main"] + 64
    results = []
    for use_bp in (True, False):
        m = Machine(memory=16 << 20, console=io.BytesIO())
        m.load(prog)
        out = io.StringIO()
        s = trace.Stepper(m, out=out, start=("addr", target), end=("count", 400))
        if not use_bp:
            s._set_breakpoints = None
        m.stepper = s
        r = m.run()
        s.close()
        assert r.reason == "exit" and r.exit_code == 0
        results.append((out.getvalue(), m.hart.regs.copy(), m.hart.csr.copy(), m.hart.instret, s.scan_steps))
    (t1, x1, c1, n1, steps_bp), (t2, x2, c2, n2, steps_ss) = results
    assert t1 == t2 and f" 0x{target:016x}" in t1.splitlines()[0]     # an instruction or a trap at it
    assert np.array_equal(x1, x2) and np.array_equal(c1, c2) and n1 == n2
    assert steps_bp == 0 and steps_ss > 20                # full speed to the breakpoint, or single steps


def test_window_errors(tmp_path):
    r = run_cli("run", HELLO, "--trace-from", "100")
    assert r == 2
    assert run_cli("run", HELLO, "--trace=" + str(tmp_path / "x"), "--trace-from", "200", "--trace-to", "100") == 2
    assert run_cli("run", HELLO, "--trace=" + str(tmp_path / "x"), "--trace-from", "no_such_symbol") == 2
    assert run_cli("run", HELLO, "--trace=" + str(tmp_path / "missing" / "x")) == 2
    assert run_cli("run", HELLO, "--trace=" + str(tmp_path / "x"), "--trace-from", "1,2") == 2


def _kernel_symbol(vmlinux, name):
    from elftools.elf.elffile import ELFFile
    with open(vmlinux, "rb") as f:
        for sym in ELFFile(f).get_section_by_name(".symtab").iter_symbols():
            if sym.name == name and sym["st_info"]["bind"] == "STB_GLOBAL":
                return sym["st_value"]
    raise AssertionError(f"no {name} in {vmlinux}")


def test_kernel_symbols_come_from_the_vmlinux_next_to_the_image(tmp_path):
    """`boot --kernel Image --trace-from start_kernel`: the Image has no symbols, the vmlinux beside it has."""
    from tests.linux_guest import bundled_kernel
    from tests.test_boot import boot
    kernel = bundled_kernel()
    vmlinux = os.path.join(os.path.dirname(kernel), "vmlinux")
    assert os.path.isfile(vmlinux), "lifecycle/guests/linux/build.sh leaves vmlinux next to the Image"
    start_kernel = _kernel_symbol(vmlinux, "start_kernel")
    out = tmp_path / "sk.trace"
    p = boot("--kernel", kernel, f"--trace={out}", "--trace-from", "start_kernel", "--trace-to", "start_kernel")
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    lines = out.read_text().splitlines()
    assert len(lines) == 1, lines                            # [start_kernel, start_kernel]: its first instruction
    r = parse(lines[0])
    assert r["pc"] == start_kernel and r["priv"] == PRV_S
    # the Image alone (no vmlinux beside it): one clear line, status 2; --symbols names the file
    alone = tmp_path / "alone"
    alone.mkdir()
    os.symlink(kernel, alone / "Image")
    p = boot("--kernel", alone / "Image", f"--trace={out}", "--trace-from", "start_kernel")
    err = p.stderr.decode()
    assert p.returncode == 2 and err.count("\n") == 1, err
    assert "no symbol 'start_kernel'" in err and "--symbols" in err and "Traceback" not in err, err
    p = boot("--kernel", alone / "Image", f"--trace={out}", "--trace-from", "start_kernel", "--trace-to",
             "start_kernel", "--symbols", vmlinux)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    assert parse(out.read_text().splitlines()[0])["pc"] == start_kernel


def test_symbols_option_is_looked_up_before_the_image(tmp_path):
    """--symbols FILE names the SYMBOLs; without it a Linux Image takes a vmlinux beside it."""
    from lifecycle.machine.board import Machine
    from tests.test_boot import image, srst
    from tests.rvenc import J_SELF
    k = tmp_path / "Image"
    k.write_bytes(image(srst(0, 0) + J_SELF))
    hello_main = symbols(HELLO)["main"]
    timer_main = symbols(os.path.join(BIN, "dev_timer.elf"))["main"]
    assert hello_main != timer_main

    def resolved(opts):
        m = Machine(memory=16 << 20, console=io.BytesIO())
        m.boot_linux(str(k))
        s = trace.attach(m, opts)
        s.close()
        return s.start

    def user_error(msg):
        return AssertionError(msg)

    with_main = trace.TraceOptions(path=os.devnull, start=("symbol", "main"))
    try:
        resolved(with_main)
        raise RuntimeError("resolved a symbol without any symbol table")
    except ValueError as e:
        assert "no symbol 'main'" in str(e) and str(tmp_path / "vmlinux") in str(e)
    (tmp_path / "vmlinux").write_bytes(open(HELLO, "rb").read())       # an ELF with a symbol table beside it
    assert resolved(trace.TraceOptions(path=os.devnull, start=("symbol", "main"))) == ("addr", hello_main)
    explicit = trace.TraceOptions(path=os.devnull, start=("symbol", "main"),
                                  symbols=os.path.join(BIN, "dev_timer.elf"))
    assert resolved(explicit) == ("addr", timer_main)                 # --symbols wins
    # a program's own table, and --symbols over it
    m = Machine(memory=16 << 20, console=io.BytesIO())
    m.load(HELLO)
    assert trace._resolve(("symbol", "main"), m, "--trace-from", user_error, explicit) == ("addr", timer_main)
    assert trace._resolve(("symbol", "main"), m, "--trace-from", user_error) == ("addr", hello_main)
    # --symbols that is not an ELF with symbols: one line naming it
    (tmp_path / "junk").write_bytes(b"not an elf")
    for bad, what in ((tmp_path / "junk", "not an ELF file"), (k, "not an ELF file")):
        try:
            trace._resolve(("symbol", "main"), m, "--trace-from", user_error,
                           trace.TraceOptions(symbols=str(bad)))
            raise RuntimeError("accepted " + str(bad))
        except AssertionError as e:
            assert str(e).startswith(f"--symbols: {bad}: ") and what in str(e) and "\n" not in str(e), e


def test_symbols_option_errors(tmp_path, capsys):
    out = "--trace=" + str(tmp_path / "x")
    assert run_cli("run", HELLO, "--symbols", HELLO) == 2                    # without --trace/--mix
    assert "--symbols" in capsys.readouterr().err
    assert run_cli("run", HELLO, out, "--trace-from", "main", "--symbols", tmp_path / "missing") == 2
    assert "no such file" in capsys.readouterr().err
    assert run_cli("run", HELLO, out, "--trace-from", "main", "--symbols", tmp_path) == 2
    assert "is a directory" in capsys.readouterr().err
    (tmp_path / "stripped").write_bytes(b"\x7fELF" + bytes(60))
    assert run_cli("run", HELLO, out, "--trace-from", "main", "--symbols", tmp_path / "stripped") == 2
    err = capsys.readouterr().err
    assert err.startswith("numbavm: error: --symbols: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert run_cli("run", HELLO, out, "--trace-from", "main", "--trace-to", "main", "--symbols", HELLO) == 0


# --------------------------------------------------------------------------- outputs

def test_trace_goes_to_stderr_by_default_and_to_stdout_with_dash(capsys):
    assert run_cli("run", HELLO, "--trace", "--trace-to", "5") == 0
    cap = capsys.readouterr()
    lines = [ln for ln in cap.err.splitlines() if ln.startswith("core")]
    assert len(lines) == 5 and all(LINE.match(ln) for ln in lines)
    assert "core" not in cap.out
    assert run_cli("run", HELLO, "--trace=-", "--trace-to", "5") == 0
    cap = capsys.readouterr()
    assert len([ln for ln in cap.out.splitlines() if ln.startswith("core   0: 3 ")]) == 5


def test_a_traced_run_ends_as_the_untraced_one():
    """Single steps must not change what the guest does: same registers, CSRs, RAM, counters."""
    from lifecycle.machine.board import Machine
    from emu import state as S
    for name in ("hello", "isa_amo", "priv_interrupts", "priv_vm_sv39", "dev_timer", "isa_fencei"):
        states = []
        for opts in (None, trace.TraceOptions(path=None, mix=True),
                     trace.TraceOptions(path=os.devnull, start=("count", 50), end=("count", 3000))):
            out = io.BytesIO()
            m = Machine(memory=16 << 20, console=out)
            m.load(os.path.join(BIN, name + ".elf"))
            trace.attach(m, opts)
            r = m.run(max_instructions=2_000_000)
            trace.finish(m)
            h = m.hart
            states.append((r.reason, r.exit_code, out.getvalue(), h.regs[:32].copy(), h.csr.copy(),
                           h.st[:S.ST_REGION_ON].copy(), h.ram.copy()))   # (not the native-region tier's own)
        for other in states[1:]:
            assert other[:3] == states[0][:3], name
            for a, b in zip(other[3:], states[0][3:]):
                assert np.array_equal(a, b), name


def test_host_exits_inside_the_window(tmp_path):
    """MMIO (the SiFive test device), HTIF and SBI exits are answered by the machine between steps."""
    _s, lines = traced(tmp_path, os.path.join(BIN, "dev_poweroff.elf"))
    assert lines and all(LINE.match(ln) for ln in lines)
    last = parse(lines[-1])
    assert last["mem"] and last["mem"][0][0] == TEST_BASE         # the store that powered off
    assert last["mem"][0][1] == FINISHER_PASS


def test_boot_traces_a_kernel_talking_to_the_builtin_sbi(tmp_path):
    from tests.test_boot import boot, image, putchar, srst
    from tests.rvenc import J_SELF
    k = tmp_path / "Image"
    k.write_bytes(image(putchar("h") + putchar("i") + putchar("\n") + srst(0, 0) + J_SELF))
    out = tmp_path / "boot.trace"
    p = boot("--kernel", k, f"--trace={out}", "--stats", "--mix")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout == b"hi\n"
    lines = out.read_text().splitlines()
    recs = [parse(ln) for ln in lines]
    assert all(r["priv"] == PRV_S for r in recs)               # the kernel runs in S-mode
    ecalls = [r for r in recs if r["mnemonic"] == "ecall"]
    assert len(ecalls) == 4
    assert all(r["regs"] == {10: 0} for r in ecalls[:3])        # console_putchar returns 0 in a0
    err = p.stderr.decode()
    assert "instruction mix      : " in err and "ecall" in err and "interrupts by cause  : none" in err


# --------------------------------------------------------------------------- --stats

def _stats(capsys, *args):
    status = run_cli("run", *args, "--stats")
    return status, capsys.readouterr().err


def test_plain_stats_stay_at_full_speed_and_say_how_to_get_the_mix(capsys):
    from lifecycle.machine.board import Machine
    from emu.state import ST_TRAPS
    prog = os.path.join(BIN, "priv_traps.elf")
    m = Machine(memory=16 << 20, console=io.BytesIO())
    m.load(prog)
    m.run()
    status, err = _stats(capsys, prog)
    assert status == 0
    assert "  instruction mix      : use --mix (single-steps)" in err
    m_ = re.search(r"traps / interrupts   : ([\d,]+) / ([\d,]+)", err)
    assert m_ and int(m_[1].replace(",", "")) == int(m.hart.st[ST_TRAPS]) > 0 and m_[2] == "0"
    assert "TLB misses           : 0" in err
    assert "MMIO accesses        : " in err


def test_mix_counts_every_instruction_and_traps_by_cause(capsys):
    status, err = _stats(capsys, os.path.join(BIN, "priv_traps.elf"), "--mix")
    assert status == 0
    retired = int(re.search(r"instructions retired : ([\d,]+)", err)[1].replace(",", ""))
    mix = re.search(r"instruction mix      : ([\d,]+) instructions retired in the whole run", err)
    assert mix and int(mix[1].replace(",", "")) == retired
    rows = re.findall(r"^      (\S+) +([\d,]+) +[\d.]+%$", err, re.M)
    assert sum(int(n.replace(",", "")) for _k, n in rows) == retired
    assert "addi" in {k for k, _n in rows}
    traps = re.search(r"traps by cause       : (.*)", err)[1]
    assert "illegal_instruction (2) 11" in traps and "machine_ecall (11) 5" in traps
    assert re.search(r"interrupts by cause  : none", err)

    status, err = _stats(capsys, os.path.join(BIN, "priv_interrupts.elf"), "--mix")
    irqs = re.search(r"interrupts by cause  : (.*)", err)[1]
    assert "m_timer (7) 5" in irqs and "m_software (3) 3" in irqs and "s_software (1) 4" in irqs


def test_mix_over_a_window(capsys):
    status, err = _stats(capsys, HELLO, "--mix", "--trace-from", "main", "--trace-to", "1000")
    assert status == 0
    m = re.search(r"instruction mix      : ([\d,]+) instructions retired in the trace window \(closed\)", err)
    assert m and 0 < int(m[1].replace(",", "")) < 1000


def test_mmio_accesses_per_device(capsys):
    from lifecycle.machine.board import Machine
    m = Machine(memory=16 << 20, console=io.BytesIO())
    m.load(os.path.join(BIN, "dev_timer.elf"))
    r = m.run(max_instructions=5_000_000)
    assert r.reason == "exit"
    assert sum(m.mmio_by_device) == m.mmio_exits
    from lifecycle.cli.stats import mmio_lines
    lines = mmio_lines(m)
    from emu.state import ST_MMIO_COUNT
    total = int(m.hart.st[ST_MMIO_COUNT])
    assert lines[0] == f"  MMIO accesses        : {total:,}"
    clint = [ln for ln in lines if "clint" in ln]
    assert clint and clint[0].endswith("(served inside the loop)")
    names = {ln.split()[0] for ln in lines[1:]}
    assert "clint" in names
    counted = sum(int(ln.split()[3].replace(",", "")) for ln in lines[1:])
    assert counted == total
