"""Instruction traces (--trace) and the instruction mix (--mix): the hart driven in single steps.

    numbavm run PROGRAM --trace[=FILE] [--trace-from ADDR|N|SYMBOL] [--trace-to ADDR|N|SYMBOL]
    numbavm run PROGRAM --stats --mix          (also numbavm boot ...; docs/tracing.md)

The JIT loop (emu/loop.py) is not touched.  Its budget counts steps (an instruction
retired or a trap taken), so emu.loop.run(..., budget=1) executes exactly one step.
A Stepper stands in for emu.loop.run inside the machine's run loop (Run, lifecycle/machine/exits.py; Machine.stepper): while
the trace window is open it calls the real loop one step at a time and looks at the
state before and after each step; outside the window it hands the whole budget to
the real loop (full JIT speed).  It returns the loop's own exit reasons, so the
Machine answers EXIT_MMIO / EXIT_SBI / EXIT_HTIF with its usual handlers; a step that
ends in one of those exits is finished (its line written) when the Machine calls
the stepper again, or at close().

One line per retired instruction, in the layout of Spike's commit log
(riscv-isa-sim --log-commits) with the disassembly after the raw bits:

    core   0: 3 0x0000000080000000 (0x00010117) auipc   sp, 0x10               x2  0x0000000080010000
    core   0: 3 0x0000000080000024 (0x4501) c.li    a0, 0                  x10 0x0000000000000000
    core   0: 3 0x0000000080000196 (0xf406) c.sdsp  ra, 0x28(sp)           mem 0x0000000080010378 0x000000008000002c

fields: privilege (0 U, 1 S, 3 M) it executed in, pc (virtual), the instruction bits
(4 hex digits for a compressed one), capstone's disassembly padded to DISASM_WIDTH,
then as Spike: ` x<rd> <value>` for the register written (x0 never), ` f<rd> <value>` for an
f register (its 64 bits: a single NaN-boxed), ` c<n>_<name>
<value>` for a CSR written by a Zicsr instruction, ` mem <vaddr>` for each load and
` mem <vaddr> <value>` for each store (AMOs log both).  A trap is logged as Spike's
-l log does, with no instruction line (the instruction did not retire):

    core   0: exception trap_illegal_instruction, epc 0x00000000800001cc
    core   0:           tval 0x000000000000000b
    core   0: exception interrupt #7, epc 0x0000000080000298

Windows: N (decimal, 10K/1M suffixes) = after N instructions retired since reset
(run at full speed until then, through the loop's budget); 0x... = an address, the
first time pc reaches it (full speed to a debugger breakpoint there when emu/debug.py
provides them and no debugger has its own set; single steps otherwise); a name = that
ELF symbol's address: from the program's own symbol table, from --symbols FILE (an ELF with a
symbol table, e.g. the kernel's vmlinux), or, for `numbavm boot --kernel Image`, from a vmlinux
next to the Image (where lifecycle/guests/linux/build.sh leaves it).  The
window is [from, to): --trace-to N stops before instruction N; --trace-to ADDR
includes the instruction at ADDR (the first time it executes after the window
opened).  After the window, the run goes on at full speed.  --mix counts the same
window (the whole run without --trace-from/--trace-to).

This module imports nothing heavy at module level (the CLI parses its options
before numba is imported); emu/ is imported when a Stepper is built.
"""
from __future__ import annotations

import os
import sys
import time

from emu.ints import s64, MASK64 as M64
from emu.spec import (CSR_NAMES, F_BASE,  # noqa: F401 (imports nothing: light enough for the CLI's option parsing)
                      CAUSE_MISALIGNED_FETCH, CAUSE_FETCH_ACCESS, CAUSE_ILLEGAL_INSTRUCTION, CAUSE_BREAKPOINT,
                      CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS, CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS,
                      CAUSE_USER_ECALL, CAUSE_SUPERVISOR_ECALL, CAUSE_MACHINE_ECALL, CAUSE_FETCH_PAGE_FAULT,
                      CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT,
                      IRQ_S_SOFT, IRQ_M_SOFT, IRQ_S_TIMER, IRQ_M_TIMER, IRQ_S_EXT, IRQ_M_EXT,
                      PRV_S, MCAUSE, SCAUSE, MTVAL, STVAL)

DISASM_WIDTH = 30            # the disassembly column; register/memory writes start after it
CORE = "core   0: "          # Spike: "core%4d: " (hart 0)

# Spike's trap names (riscv/trap.h: "trap_" + name); has_tval is false for the ecalls only
TRAP_NAMES = {
    CAUSE_MISALIGNED_FETCH: "instruction_address_misaligned", CAUSE_FETCH_ACCESS: "instruction_access_fault",
    CAUSE_ILLEGAL_INSTRUCTION: "illegal_instruction", CAUSE_BREAKPOINT: "breakpoint",
    CAUSE_MISALIGNED_LOAD: "load_address_misaligned", CAUSE_LOAD_ACCESS: "load_access_fault",
    CAUSE_MISALIGNED_STORE: "store_address_misaligned", CAUSE_STORE_ACCESS: "store_access_fault",
    CAUSE_USER_ECALL: "user_ecall", CAUSE_SUPERVISOR_ECALL: "supervisor_ecall", CAUSE_MACHINE_ECALL: "machine_ecall",
    CAUSE_FETCH_PAGE_FAULT: "instruction_page_fault", CAUSE_LOAD_PAGE_FAULT: "load_page_fault",
    CAUSE_STORE_PAGE_FAULT: "store_page_fault",
}
NO_TVAL = (CAUSE_USER_ECALL, CAUSE_SUPERVISOR_ECALL, CAUSE_MACHINE_ECALL)
IRQ_NAMES = {IRQ_S_SOFT: "s_software", IRQ_M_SOFT: "m_software", IRQ_S_TIMER: "s_timer", IRQ_M_TIMER: "m_timer",
             IRQ_S_EXT: "s_external", IRQ_M_EXT: "m_external"}

# CSR names for the ` c<n>_<name>` writes (the spec's names, as Spike's csr_name prints them): emu/spec.py CSR_NAMES

# what an instruction does besides writing rd (the kind insn_kind gives Stepper._info); K_ZERO: cbo.zero,
# a cache block of zeros stored
K_PLAIN, K_LOAD, K_STORE, K_CSR, K_LR, K_SC, K_AMO, K_NORD, K_ZERO = range(9)

_BEFORE, _OPEN, _AFTER = range(3)
_XPFX = [f" x{r:<2} 0x" for r in range(32)]     # Spike: " %c%-2d " then the value
_FPFX = [f" f{r:<2} 0x" for r in range(32)]


# --------------------------------------------------------------------------- disassembly

class Disassembler:
    """capstone's RISC-V disassembler (RV64 + C), with Spike's layout: the mnemonic padded to 8."""

    def __init__(self):
        try:
            import capstone
        except ImportError:
            raise RuntimeError("--trace needs the capstone disassembler: pip install capstone") from None
        self._md = capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV64 | capstone.CS_MODE_RISCVC)
        self._cache = {}

    def mnemonic(self, bits, ilen):
        """capstone's mnemonic for these instruction bits, or None when it decodes none."""
        r = next(self._md.disasm_lite(int(bits).to_bytes(ilen, "little"), 0), None)
        if r is None or r[1] != ilen:
            return None
        return r[2]

    def text(self, bits, ilen, pc=0):
        key = (bits, ilen)
        t = self._cache.get(key)
        if t is None:
            r = next(self._md.disasm_lite(int(bits).to_bytes(ilen, "little"), 0), None)
            if r is None or r[1] != ilen:
                t = own_text(bits) if ilen == 4 else None
                t = t or "unknown"
            else:
                _addr, _size, mn, ops = r
                t = mn + " " * max(1, 8 - len(mn)) + ops if ops else mn
            self._cache[key] = t
        return t


def spec_name(bits):
    """Our decoder's spec name for instruction bits: the COMPRESSED row's name (c.addi, ...) for a
    compressed instruction, the ENCODINGS name otherwise, 'illegal' when it decodes to none."""
    from emu import isa
    op = int(isa.decode(int(bits))[0])
    if op == isa.ILLEGAL:
        return "illegal"
    if (bits & 3) != 3:
        h = bits & 0xFFFF
        for name, mask, match, _fmt, _exp in isa.COMPRESSED:
            if h & mask == match:
                return name
    return isa.OPS[op]


def own_text(bits):
    """Our own text for an instruction capstone does not decode (capstone 5 knows no Zb*, Zicond, CMO
    or Svinval instruction), as capstone lays it out: the row's name and its register and shift
    operands (cbo.*: the address register in parentheses).  None for anything else."""
    from emu import isa
    from emu.spec import REG_NAMES
    op, _rd, rs1, rs2, imm, ilen = (int(v) for v in isa.decode(int(bits)))
    if op == isa.ILLEGAL or ilen != 4:
        return None
    r = isa.ENCODINGS[op]
    fields = {"rd": (bits >> 7) & 31, "rs1": rs1, "rs2": rs2}        # rd as encoded (x0, not the sink)
    free = [f for f, lo in (("rd", 7), ("rs1", 15), ("rs2", 20)) if (r.mask >> lo) & 31 != 31]
    shift = r.fmt in (isa.F_SH5, isa.F_SH6)
    if r.fp or not (r.fmt == isa.F_R or shift or r.mask == 0xFFFFFFFF):
        return None
    ops = [REG_NAMES[fields[f]] for f in free if not (shift and f == "rs2")]
    if shift:
        ops.append(str(imm))                  # the shift amount, where rs2 would be
    text = f"({ops[0]})" if r.name.startswith("cbo.") else ", ".join(ops)
    return r.name + " " * max(1, 8 - len(r.name)) + text if text else r.name


def insn_kind(op, rs1, imm):
    """What the trace shows of an instruction besides rd, from its row in emu/isa.py's table:
    -> (K_* kind, the bytes it accesses, the CSR it writes or -1)."""
    from emu import isa
    if op == isa.ILLEGAL:
        return K_NORD, 0, -1
    r = isa.ENCODINGS[op]
    g = isa.Group
    if r.group == g.LOAD:
        return K_LOAD, r.width, -1
    if r.group == g.STORE:
        return K_STORE, r.width, -1
    if r.group == g.ZICSR:
        # csrrw/csrrwi always write the CSR; the set/clear forms only with rs1/uimm != 0
        return K_CSR, 0, (imm & 0xFFF) if r.alu == "write" or rs1 != 0 else -1
    if r.group == g.A:
        return {"lr": K_LR, "sc": K_SC}.get(r.alu, K_AMO), r.width, -1
    if r.group == g.SYSTEM and r.alu == "zero":
        from emu.csr import CACHE_BLOCK_SIZE
        return K_ZERO, CACHE_BLOCK_SIZE, -1
    if r.cold or (r.group == g.CTRL and r.cond):
        return K_NORD, 0, -1                    # fences, system; branches
    return K_PLAIN, 0, -1


# --------------------------------------------------------------------------- options

class TraceOptions:
    """What the user asked for: the output, the window and --mix (validated before numba loads)."""

    def __init__(self, path=None, start=None, end=None, mix=False, symbols=None):
        self.path = path            # None (no trace), "" (stderr), "-" (stdout) or a file name
        self.start = start          # ("count", n) | ("addr", a) | ("symbol", name) | None
        self.end = end
        self.mix = mix
        self.symbols = symbols      # --symbols FILE: an ELF whose symbol table names the SYMBOLs
        self._opened = False
        self._tables = {}           # path -> its symbols (a rebooted guest resolves them again)

    def symbol_table(self, path):
        """-> (name -> address) of the ELF at path, read once (ValueError: one line)."""
        t = self._tables.get(path)
        if t is None:
            t = self._tables[path] = read_symbols(path)
        return t

    def open_stream(self):
        if self.path is None:
            return None, False
        if self.path == "":
            return sys.stderr, False
        if self.path == "-":
            return sys.stdout, False
        # a rebooted guest (numbavm boot) gets a fresh machine and stepper: append to its trace
        f = open(self.path, "a" if self._opened else "w", buffering=1 << 20)
        self._opened = True
        return f, True


def add_trace_arguments(parser):
    """--trace[=FILE], --trace-from, --trace-to, --mix on a `run` or `boot` subparser."""
    g = parser.add_argument_group("tracing and instruction mix (docs/tracing.md)")
    g.add_argument("--trace", nargs="?", const="", default=None, metavar="FILE",
                   help="write one line per retired instruction (Spike's commit-log layout, with capstone's "
                        "disassembly) to FILE (--trace=FILE), or to stderr; '-' is stdout. Single-steps "
                        "the hart inside the window: slow")
    g.add_argument("--trace-from", metavar="ADDR|N|SYMBOL", default=None,
                   help="open the trace window when pc first reaches ADDR (0x...) or SYMBOL, or after N "
                        "instructions retired (decimal, 10K/1M suffixes; full speed until then)")
    g.add_argument("--trace-to", metavar="ADDR|N|SYMBOL", default=None,
                   help="close the window after the instruction at ADDR/SYMBOL, or before instruction N; "
                        "full speed afterwards")
    g.add_argument("--symbols", metavar="FILE", default=None,
                   help="an ELF file whose symbol table names the SYMBOLs of --trace-from/--trace-to (e.g. the "
                        "kernel's vmlinux; default: the program's own symbols, or for boot --kernel IMAGE a "
                        "vmlinux next to IMAGE)")
    g.add_argument("--mix", action="store_true",
                   help="with --stats (implied): instruction-mix histogram and traps by cause, counted "
                        "in single steps (slow) over the trace window")


def _parse_point(text, flag, user_error):
    from lifecycle.control.units import parse_addr, parse_count
    s = str(text).strip()
    if s.lower().startswith("0x"):
        try:
            return ("addr", parse_addr(s))
        except ValueError as e:
            raise user_error(f"{flag}: {e}") from None
    if s[:1].isdigit():
        if s.replace("_", "") == "0" or s.replace("_", "").strip("0") == "":
            return ("count", 0)
        try:
            return ("count", parse_count(s))
        except ValueError as e:
            raise user_error(f"{flag}: {e}") from None
    if s and (s[0].isalpha() or s[0] in "_.$") and all(c.isalnum() or c in "_.$" for c in s):
        return ("symbol", s)
    raise user_error(f"{flag}: {text!r}: expected an address (0x...), an instruction count or an ELF symbol")


def validate_args(args, user_error):
    """-> TraceOptions, or None when neither --trace nor --mix was given.  --mix implies --stats."""
    path = getattr(args, "trace", None)
    mix = bool(getattr(args, "mix", False))
    frm, to = getattr(args, "trace_from", None), getattr(args, "trace_to", None)
    symbols = getattr(args, "symbols", None)
    if path is None and not mix:
        if frm is not None or to is not None:
            raise user_error("--trace-from/--trace-to need --trace or --mix")
        if symbols is not None:
            raise user_error("--symbols names the SYMBOLs of --trace-from/--trace-to: it needs --trace or --mix")
        return None
    if symbols is not None:
        if os.path.isdir(symbols):
            raise user_error(f"--symbols: {symbols}: is a directory")
        if not os.path.isfile(symbols):
            raise user_error(f"--symbols: {symbols}: no such file")
    if path not in (None, "", "-"):
        d = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(d):
            raise user_error(f"--trace: {path}: directory {d} does not exist")
        if os.path.isdir(path):
            raise user_error(f"--trace: {path}: is a directory")
    start = None if frm is None else _parse_point(frm, "--trace-from", user_error)
    end = None if to is None else _parse_point(to, "--trace-to", user_error)
    if start and end and start[0] == end[0] == "count" and end[1] <= start[1]:
        raise user_error(f"--trace-to {to}: must be greater than --trace-from {frm}")
    if mix:
        args.stats = True
    return TraceOptions(path, start, end, mix, symbols)


def read_symbols(path):
    """The symbol table of the ELF file at path -> {name: address}, as lifecycle/machine/loader.py picks them: defined
    functions, objects and plain labels, globals over locals, no mapping symbols ($x, $d).  Any problem
    (unreadable, not ELF, no .symtab) is a ValueError whose message is one line naming the file."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"\x7fELF":
                raise ValueError(f"{path}: not an ELF file (a vmlinux, or a program with symbols)")
            f.seek(0)
            tab = ELFFile(f).get_section_by_name(".symtab")
            if not isinstance(tab, SymbolTableSection):
                raise ValueError(f"{path}: has no symbol table (.symtab): stripped?")
            symbols, is_global = {}, {}
            for sym in tab.iter_symbols():
                name = sym.name
                if not name or name.startswith("$") or sym["st_shndx"] == "SHN_UNDEF":
                    continue
                if sym["st_info"]["type"] not in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE"):
                    continue
                glob = sym["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK")
                if name in symbols and (is_global[name] or not glob):
                    continue
                symbols[name], is_global[name] = int(sym["st_value"]), glob
            return symbols
    except OSError as e:
        raise ValueError(f"{path}: cannot read: {e.strerror or e}") from None
    except (ELFError, EOFError, KeyError, IndexError, UnicodeDecodeError, ValueError) as e:
        if isinstance(e, ValueError) and str(e).startswith(f"{path}:"):
            raise
        raise ValueError(f"{path}: malformed ELF file ({e})") from None


def symbol_sources(machine, opts):
    """Where the SYMBOLs of the window are looked up, in order: [(description, path or None, table or None)].

    --symbols FILE alone when it is given. Otherwise the guest program's own table (an ELF), and
    for a Linux Image (no symbols of its own) a `vmlinux` in the Image's directory."""
    if opts.symbols is not None:
        return [(opts.symbols, opts.symbols, None)]
    image = getattr(machine, "image", None)
    table = getattr(image, "symbols", None)
    if table is not None:
        return [(getattr(image, "path", "") or "the guest program", None, table)]
    kernel = getattr(image, "path", None)
    if not kernel:
        return []
    return [(os.path.join(os.path.dirname(os.path.abspath(kernel)), "vmlinux"), None, None)]


def _resolve(point, machine, flag, user_error, opts=None):
    if point is None or point[0] != "symbol":
        return point
    opts = opts if opts is not None else TraceOptions()
    name = point[1]
    searched = []
    for what, explicit, table in symbol_sources(machine, opts):
        if table is None:
            path = explicit or what
            if explicit is None and not os.path.isfile(path):
                image = getattr(getattr(machine, "image", None), "path", "the kernel")
                raise user_error(f"{flag}: no symbol {name!r}: {image} is a kernel Image without symbols and "
                                 f"there is no {path} (give --symbols VMLINUX, or an address)")
            try:
                table = opts.symbol_table(path)
            except ValueError as e:
                raise user_error(f"{'--symbols' if explicit else flag}: {e}") from None
        if name in table:
            return ("addr", int(table[name]) & M64)
        searched.append(what)
    where = " or ".join(searched) if searched else "the guest image"
    raise user_error(f"{flag}: no symbol {name!r} in {where} (use an address, or --symbols FILE)")


def attach(machine, opts, user_error=ValueError):
    """Give the machine a Stepper for these options (None: nothing to do).  -> the Stepper or None."""
    if opts is None:
        return None
    start = _resolve(opts.start, machine, "--trace-from", user_error, opts)
    end = _resolve(opts.end, machine, "--trace-to", user_error, opts)
    try:
        out, owned = opts.open_stream()
    except OSError as e:
        raise user_error(f"--trace: cannot write {opts.path}: {e.strerror or e}") from None
    try:
        s = Stepper(machine, out=out, start=start, end=end, mix=opts.mix, close_out=owned)
    except RuntimeError as e:               # no capstone
        if owned:
            out.close()
        raise user_error(str(e)) from None
    machine.stepper = s
    return s


def finish(machine):
    """Write what is pending and close the trace file (the stepper stays, for --stats)."""
    s = getattr(machine, "stepper", None) if machine is not None else None
    if s is not None:
        s.close()


# --------------------------------------------------------------------------- the stepper

class Stepper:
    """Stands in for emu.loop.run in the run loop (Run, lifecycle/machine/exits.py; Machine.stepper): single steps in the window.

    out: a text stream for the trace (None: no lines, e.g. --mix alone).  start/end:
    ("count", n) / ("addr", a) / None.  mix: count instructions by name and traps by cause.
    """

    def __init__(self, machine, out=None, start=None, end=None, mix=False, close_out=False):
        from emu import isa, state as S
        from emu.loop import run
        import numpy as np
        self._np = np
        self._S = S
        self._isa = isa
        self._run = run
        self.machine = machine
        h = machine.hart
        self._h = h
        self.out = out
        self._close_out = close_out
        self.mix_enabled = bool(mix)
        self.mix = {}                # spec name -> instructions retired in the window
        self.traps = {}              # exception cause -> count (in the window)
        self.irqs = {}               # interrupt cause -> count (in the window)
        self.lines = 0
        self.steps = 0               # steps taken one at a time inside the window
        self.scan_steps = 0          # single steps looking for --trace-from ADDR (no breakpoints)
        self.step_s = 0.0            # host time spent in those steps (with the tracing work)
        self.closed = False
        self._buf = []
        self._pending = None
        self._info_cache = {}
        self._heads = {}
        self._dis = Disassembler() if out is not None else None
        self.start = _signed_point(start)     # addresses as the loop's int64 pc (Linux: 0xffff...)
        self.end = _signed_point(end)
        self._state = _BEFORE
        self._stm = memoryview(h.st)
        self._xm = memoryview(h.regs)
        self._ram = memoryview(h.ram)
        self._ram_base = h.ram_base
        self._ram_size = h.ram_size
        from emu.memory import fetch_raw, data_paddr
        from emu.csr import csr_read
        self._fetch_raw = fetch_raw
        self._data_paddr = data_paddr
        self._csr_read = csr_read
        self._t_open = None
        # --trace-from ADDR runs at full speed to a breakpoint when the hart has them (emu/debug.py)
        self._exit_break = getattr(S, "EXIT_BREAK", None)
        self._set_breakpoints = None
        self._bp_addr = None
        if self._exit_break is not None and hasattr(S, "ST_DBG_NBP"):
            try:
                from emu.debug import set_breakpoints, debug_exit
                self._set_breakpoints = set_breakpoints
                self._debug_exit = debug_exit
            except ImportError:
                pass

    # --- the loop's stand-in
    def loop(self, x, st, csr, mem, icache, tlb, pflags, mmio, stop, budget):
        """emu.loop.run's signature and result: at most `budget` steps; -> an EXIT_* reason."""
        S = self._S
        stm = self._stm
        run = self._run
        if self._pending is not None:
            self._finish(self._pending)
            self._pending = None
        left = int(budget)
        why = S.EXIT_BUDGET
        try:
            while left > 0:
                state = self._state
                if state == _AFTER:
                    return run(x, st, csr, mem, icache, tlb, pflags, mmio, stop, left)
                if state == _BEFORE:
                    start = self.start
                    if start is None:
                        self._open()
                        continue
                    s0 = self._h.steps
                    if start[0] == "count":
                        n = start[1] - stm[S.ST_INSTRET]
                        if n <= 0:
                            self._open()
                            continue
                        why = run(x, st, csr, mem, icache, tlb, pflags, mmio, stop, min(n, left))
                    else:
                        if stm[S.ST_PC] == start[1]:
                            self._bp(None)
                            self._open()
                            continue
                        if self._bp(start[1]):
                            # full speed up to a debugger breakpoint at the address (emu/debug.py)
                            why = run(x, st, csr, mem, icache, tlb, pflags, mmio, stop, left)
                            why = self._debug_exit(st, why)   # gdb work: the loop reports it as EXIT_FATAL
                            if why == self._exit_break and self._bp_ours():
                                if stm[S.ST_PC] != start[1]:
                                    # the same physical instruction at another virtual address:
                                    # step over it without the breakpoint, then put it back
                                    self._bp(None)
                                    why = run(x, st, csr, mem, icache, tlb, pflags, mmio, stop, 1)
                                else:
                                    why = S.EXIT_BUDGET  # at the address: the window opens next round
                        else:
                            why = run(x, st, csr, mem, icache, tlb, pflags, mmio, stop, 1)
                            self.scan_steps += 1
                    left -= self._h.steps - s0
                    if why != S.EXIT_BUDGET:
                        return why
                    continue
                # the window is open: one step at a time
                end = self.end
                end_n = end[1] if end is not None and end[0] == "count" else None
                I, T, Q = S.ST_INSTRET, S.ST_TRAPS, S.ST_IRQS
                host_exits = (S.EXIT_MMIO, S.EXIT_SBI, S.EXIT_HTIF)
                before, finish = self._before, self._finish
                t0 = time.perf_counter()
                n = 0
                try:
                    while left > 0:
                        if end_n is not None and stm[I] >= end_n:
                            self._close_window()
                            break
                        pre = before()
                        why = run(x, st, csr, mem, icache, tlb, pflags, mmio, stop, 1)
                        left -= stm[I] + stm[T] + stm[Q] - pre[5]
                        n += 1
                        if why in host_exits:
                            self._pending = pre  # the Machine completes it; finished on the next call
                            return why
                        finish(pre)
                        if why != S.EXIT_BUDGET:
                            return why
                        if self._state != _OPEN:
                            break                # --trace-to ADDR closed it
                finally:
                    self.steps += n
                    self.step_s += time.perf_counter() - t0
            return S.EXIT_BUDGET
        finally:
            if self._buf:
                self._flush()

    def _bp(self, addr):
        """Install (addr) or remove (None) our one breakpoint. -> False when breakpoints cannot be used:
        emu/debug.py is missing, or a debugger has its own in the table (we then single-step)."""
        if self._set_breakpoints is None:
            return False
        if addr is None:
            if self._bp_ours():
                self._set_breakpoints(self._h, ())
            self._bp_addr = None
            return True
        if self._bp_addr == addr and self._bp_ours():
            return True
        if self._stm[self._S.ST_DBG_NBP] != 0:
            self._bp_addr = None                 # GDB's (lifecycle/debug/gdbstub.py): leave them alone
            return False
        self._set_breakpoints(self._h, (addr,))
        self._bp_addr = addr
        return True

    def _bp_ours(self):
        """Is the breakpoint table exactly our one breakpoint (and not a debugger's)?"""
        S, stm = self._S, self._stm
        return (self._bp_addr is not None and stm[S.ST_DBG_NBP] == 1
                and stm[S.ST_DBG_BP] == self._bp_addr)

    def _open(self):
        self._state = _OPEN
        self._t_open = time.perf_counter()

    def _close_window(self):
        self._state = _AFTER

    # --- one step
    def _fetch(self, pc, st, csr, mem, tlb):
        """The instruction bits at pc as the guest fetches them -> (bits, ilen), or None (fetch faults)."""
        S = self._S
        if self._stm[S.ST_FETCH_VM] == 0:
            off = pc - self._ram_base
            if off < 0 or off + 2 > self._ram_size:
                return None
            ram = self._ram
            lo = ram[off] | (ram[off + 1] << 8)
            if lo & 3 != 3:
                return lo, 2
            if off + 4 > self._ram_size:
                return None
            return lo | (ram[off + 2] << 16) | (ram[off + 3] << 24), 4
        ok, w, _p, _straddles, _cause, _tval = self._fetch_raw(pc, st, csr, mem, tlb)
        if not ok:
            return None
        w = int(w)
        return (w & 0xFFFFFFFF, 4) if (w & 3) == 3 else (w & 0xFFFF, 2)

    def _info(self, bits, ilen):
        """Decoded once per distinct instruction: (name, kind, rd, rs1, rs2, imm, size, csr, disasm)."""
        isa = self._isa
        op, rd, rs1, rs2, imm, _ilen = (int(v) for v in isa.decode(bits))
        name = spec_name(bits) if op != isa.ILLEGAL else "illegal"
        kind, size, csr_n = insn_kind(op, rs1, imm)
        dis = f"{self._dis.text(bits, ilen):<{DISASM_WIDTH}}" if self._dis is not None else ""
        return (name, kind, rd, rs1, rs2, imm, size, csr_n, dis)

    def _before(self):
        """-> (pc, priv, bits, ilen, info, steps0, instret0, traps0, irqs0, regs)."""
        S = self._S
        stm = self._stm
        h = self._h
        pc = stm[S.ST_PC]
        f = self._fetch(pc, h.st, h.csr, h.ram, h.tlb)
        if f is None:
            bits = ilen = info = None
        else:
            bits, ilen = f
            key = bits if ilen == 4 else bits | (1 << 40)
            info = self._info_cache.get(key)
            if info is None:
                info = self._info(bits, ilen)
                self._info_cache[key] = info
        i0, t0, q0 = stm[S.ST_INSTRET], stm[S.ST_TRAPS], stm[S.ST_IRQS]
        regs = self._xm.tolist() if self.out is not None else None
        return (pc, stm[S.ST_PRIV], bits, ilen, info, i0 + t0 + q0, i0, t0, q0, regs)

    def _finish(self, pre):
        """The step of `pre` is over: count it and write its line(s)."""
        S = self._S
        stm = self._stm
        pc, priv, bits, ilen, info, _s0, i0, t0, q0, regs = pre
        if stm[S.ST_IRQS] != q0:
            cause = self._cause()
            self.irqs[cause] = self.irqs.get(cause, 0) + 1
            if self.out is not None:
                self._emit(f"{CORE}exception interrupt #{cause}, epc 0x{pc & M64:016x}")
            return
        if stm[S.ST_TRAPS] != t0:
            cause = self._cause()
            self.traps[cause] = self.traps.get(cause, 0) + 1
            if self.out is not None:
                name = TRAP_NAMES.get(cause)
                self._emit(f"{CORE}exception " + (f"trap_{name}" if name else f"trap #{cause}")
                           + f", epc 0x{pc & M64:016x}")
                if cause not in NO_TVAL:
                    self._emit(f"{CORE}          tval 0x{self._tval() & M64:016x}")
            self._maybe_close(pc)
            return
        if stm[S.ST_INSTRET] == i0 or info is None:
            return                               # nothing happened (a stop, a wfi exit)
        if self.mix_enabled:
            name = info[0]
            self.mix[name] = self.mix.get(name, 0) + 1
        if self.out is not None:
            self._emit(self._line(pc, priv, bits, ilen, info, regs))
        self._maybe_close(pc)

    def _maybe_close(self, pc):
        end = self.end
        if end is not None and end[0] == "addr" and pc == end[1]:
            self._close_window()

    def _cause(self):
        csr = self._h.csr
        c = int(csr[SCAUSE] if self._stm[self._S.ST_PRIV] == PRV_S else csr[MCAUSE])
        return c & 0xFF

    def _tval(self):
        csr = self._h.csr
        return int(csr[STVAL] if self._stm[self._S.ST_PRIV] == PRV_S else csr[MTVAL])

    def _line(self, pc, priv, bits, ilen, info, regs):
        _name, kind, rd, rs1, rs2, imm, size, csr_n, dis = info
        after = self._xm.tolist()
        key = (pc, priv, bits)
        head = self._heads.get(key)
        if head is None:                         # hot code repeats its pcs: format each once
            head = f"{CORE}{priv} 0x{pc & M64:016x} (0x{bits:0{2 * ilen}x}) {dis}"
            if len(self._heads) < 1 << 20:
                self._heads[key] = head
        parts = [head]
        # the register written (Spike logs it even when the value did not change), and whatever
        # else changed (the host's SBI answer in a0/a1); x0 never
        if kind != K_NORD and kind != K_STORE and 0 < rd < 32:
            if after[:rd] == regs[:rd] and after[rd + 1:32] == regs[rd + 1:32]:
                written = (rd,)
            else:
                written = sorted({rd} | {i for i in range(1, 32) if after[i] != regs[i]})
        elif after[:32] == regs[:32]:
            written = ()
        else:
            written = [i for i in range(1, 32) if after[i] != regs[i]]
        for r in written:
            parts.append(_XPFX[r] + format(after[r] & M64, "016x"))
        if rd >= F_BASE and kind != K_STORE:     # an f register written: Spike's " f<n> <64 bits>"
            parts.append(_FPFX[rd - F_BASE] + format(after[rd] & M64, "016x"))
        if csr_n >= 0:
            ok, v = self._csr_read(csr_n, self._h.st, self._h.csr)
            if ok:
                # Spike orders its writes by (number << 4 | kind): a CSR below 32 would come first
                w = f" c{csr_n}_{CSR_NAMES.get(csr_n, 'unknown')} 0x{int(v) & M64:016x}"
                lower = [i for i, r in enumerate(written) if r > csr_n]
                parts.insert(1 + lower[0] if lower else len(parts), w)
        if kind == K_LOAD or kind == K_LR:
            parts.append(f" mem 0x{(regs[rs1] + (imm if kind == K_LOAD else 0)) & M64:016x}")
        elif kind == K_STORE:
            parts.append(f" mem 0x{(regs[rs1] + imm) & M64:016x} {_value(regs[rs2], size)}")
        elif kind == K_ZERO:
            # Spike stores cbo.zero's block a byte at a time, and logs each store
            block = regs[rs1] & M64 & ~(size - 1)
            parts.extend(f" mem 0x{block + i:016x} 0x0" for i in range(size))
        elif kind == K_SC:
            if rd == 32 or after[rd] == 0:       # rd = x0: we cannot tell; the store is shown
                parts.append(f" mem 0x{regs[rs1] & M64:016x} {_value(regs[rs2], size)}")
        elif kind == K_AMO:
            addr = regs[rs1] & M64
            parts.append(f" mem 0x{addr:016x}")
            v = self._read_back(addr, size)
            if v is not None:
                parts.append(f" mem 0x{addr:016x} {_value(v, size)}")
        if len(parts) == 1:
            return parts[0].rstrip()
        return "".join(parts)

    def _read_back(self, va, size):
        """The value in memory at va after an AMO (through the data TLB the AMO just filled)."""
        from emu.state import TLB_STORE
        h = self._h
        p = int(self._data_paddr(self._np.int64(s64(va)), TLB_STORE,
                                 h.st, h.csr, h.ram, h.tlb))
        off = p - self._ram_base
        if p < 0 or off < 0 or off + size > self._ram_size:
            return None
        return int.from_bytes(self._ram[off:off + size], "little")

    # --- output
    def _emit(self, line):
        self._buf.append(line)
        self.lines += 1
        if len(self._buf) >= 4096:
            self._flush()

    def _flush(self):
        if self.out is not None and self._buf:
            self.out.write("\n".join(self._buf) + "\n")
            self.out.flush()
        self._buf = []

    def close(self):
        """Finish a step left pending by the last exit, flush, close the trace file (idempotent)."""
        if self.closed:
            return
        if self._pending is not None:
            self._finish(self._pending)
            self._pending = None
        self._bp(None)
        self._flush()
        self.closed = True
        if self._close_out and self.out is not None:
            self.out.close()

    # --- for --stats
    @property
    def window_state(self):
        return ("not opened", "open", "closed")[self._state]

    @property
    def steps_per_s(self):
        return self.steps / self.step_s if self.step_s > 0 else None


def _signed_point(point):
    if point is None or point[0] != "addr":
        return point
    return ("addr", s64(point[1]))


def _value(v, size):
    """A stored value as Spike prints it: size*2 hex digits, except 1 digit minimum for bytes."""
    v &= (1 << (8 * size)) - 1
    return f"0x{v:01x}" if size == 1 else f"0x{v:0{2 * size}x}"
