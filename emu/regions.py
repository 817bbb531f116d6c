"""Native regions: hot guest code compiled to host code with LLVM (llvmlite), a second tier above the loop.

The loop (emu/loop.py) interprets from the decode cache.  Once per chunk it
samples the pc; a 256-byte window sampled st[ST_REGION_HOT] times is hot, and
the loop returns EXIT_REGION.  The hart (emu/hart.py) then calls
Regions.compile(), which copies the code page and hands it to the compiler
thread (Worker), and the guest goes on in the loop meanwhile; when the
compiler thread is done it sets st[ST_REGION_READY], the loop returns
EXIT_REGION at its next chunk, and the hart's thread installs the region if
its code bytes are unchanged (the loop is not running then: nothing races the
tables).  The compiler

  1. explores the guest code from the sampled pc: every instruction reachable
     by straight-line flow and direct branches/jumps inside the same 4 KiB page,
     up to MAX_INSNS, stopping at anything this tier does not translate (the
     cold ops: fences, system, Zicsr, A; a page-straddling instruction); and
     the pc after each jal/jalr (a call's return point, or the next switch
     case after a jump), which all jalrs reach through one shared switch;
  2. writes one LLVM function for the whole region: each guest basic block is
     a block of IR, branches between them are IR branches, so a loop stays in
     host code.  Registers are read and written in x[] itself (write-through):
     the array arguments are noalias, so LLVM keeps values in host registers
     between the loads and stores of one block, and an exit has nothing to
     write back.  (Registers in SSA values were no faster and made LLVM 3x
     slower: every side exit then needs each register written back.);
  3. installs an entry in the region table (emu/state.py: REGION_BASE) for each
     block start, and invalidates those decode-cache slots: the loop reaches a
     region through its decode-miss path, so the interpreter's hot path does
     not change at all.

A region is exact: the same instructions retire with the same results as in
the loop, with instret counted per instruction.  It never takes a trap
itself.  It returns to the loop, with pc and instret where it stopped,
  - before an instruction whose basic block would pass the budget (`limit`,
    the loop's chunk end: timer interrupts still arrive at the same
    instruction, the stop flag is still polled every chunk);
  - before a load or store that is not an aligned RAM access hitting the TLB
    (MMIO, misaligned, TLB miss): the loop runs that one instruction;
  - after a store to a page with flags (code, HTIF tohost, an LR reservation,
    a watchpoint): the loop runs the store hooks (REGION_HOOKS); a page
    flagged only for holding code needs them only where the store touches its
    code extent (emu/state.py: EXTENT_BASE), so data next to code stays native;
  - at a jump out of the region, a jalr to a pc that is not one of its block
    starts, or an instruction it does not translate.
Under a debugger a region also ends before every breakpoint pc and hooked range
(emu/debug.region_stops); trap hooks and read watchpoints turn regions off
(st[ST_REGION_BLOCKED]).  A store into a region's own code drops the region (memory.drop_regions via
PF_REGION); a region is specialised to the translation mode it was compiled
in (fetch/data Sv39, the data access context), which is part of its key.
"""
import weakref

import llvmlite.binding as llvm

from emu import isa
from emu.ints import s64
from emu.debug import region_stops
from emu.mmu import PAGE_MASK
from emu.native import REGION_DONE, REGION_HOOKS, region_key
from emu.state import (ST_PC, ST_INSTRET, ST_RAM_BASE, ST_RAM_SIZE, ST_FETCH_VM, ST_DATA_VM, ST_DATA_CTX,
                       ST_REGION_ADDR, ST_REGION_SIZE, ST_REGION_REQ_PC, ST_REGION_REQ_PADDR, ST_REGION_ON,
                       ST_REGION_HOT, ICACHE_MASK, REGION_BASE, REGION_W, REGION_MASK, RT_PADDR, RT_PC, RT_FN,
                       RT_CODE_LO, RT_CODE_HI, RT_KEY, PF_REGION, TLB_SLOTS,
                       TLB_LOAD, TLB_STORE, HOT_BASE, HOT_MASK, ST_DBG_NBP, PF_CODE, EXTENT_BASE,
                       ST_REGION_REQ, ST_REGION_READY)

X_SINK = isa.X_SINK
MAX_INSNS = 512          # instructions explored into one region
MAX_GUESSED = 256        # ... while it has fewer, the pcs after unconditional jumps too (explore)
MAX_PER_PAGE = 64        # regions compiled for one page (stores into code drop them; it stops there)
HOT_SAMPLES = 256        # default st[ST_REGION_HOT]: ~1M instructions in a window (a Linux boot compiles none)
OPT_LEVEL = 2            # LLVM code generation
PIPELINE = ("add_sroa_pass", "add_instruction_combine_pass", "add_simplify_cfg_pass", "add_new_gvn_pass",
            "add_instruction_combine_pass", "add_simplify_cfg_pass")

O = isa.OPS
# What this tier translates, derived from the rows of emu/isa.py's table (the hot groups: cold
# rows never come here, so an AMO's "add" is not the ALU's).  What LLVM calls each of the
# table's operations and comparisons is written here, being LLVM's business:
LLVM_BINOP = {"add": "add", "sub": "sub", "xor": "xor", "or": "or", "and": "and", "sll": "shl",
              "srl": "lshr", "sra": "ashr", "mul": "mul"}
LLVM_ICMP = {"eq": "eq", "ne": "ne", "lt": "slt", "ge": "sge", "ltu": "ult", "geu": "uge"}
LLVM_MUL_HIGH = {"mulh": ("sext", "sext"), "mulhu": ("zext", "zext"), "mulhsu": ("sext", "zext")}
LLVM_DIV = {"div": (True, False), "divu": (False, False), "rem": (True, True), "remu": (False, True)}
_HOT = [r for r in isa.ENCODINGS if not r.cold]
LOADS = {r.name: (r.width, r.signed) for r in _HOT if r.group == isa.Group.LOAD}      # (size, signed)
STORES = {r.name: r.width for r in _HOT if r.group == isa.Group.STORE}                # size
BRANCHES = {r.name: LLVM_ICMP[r.cond] for r in _HOT if r.group == isa.Group.CTRL and r.cond}
# (llvm op, the second operand is the immediate, 32-bit W form)
ALU = {r.name: (LLVM_BINOP[r.alu], r.imm, r.w32) for r in _HOT if r.alu in LLVM_BINOP}
SET_LESS = {r.name: (LLVM_ICMP[r.cond], r.imm) for r in _HOT if r.alu == "slt"}       # (icmp, immediate)
MUL_HIGH = {r.name: LLVM_MUL_HIGH[r.alu] for r in _HOT if r.alu in LLVM_MUL_HIGH}    # (ext of rs1, of rs2)
DIVS = {r.name: LLVM_DIV[r.alu] + (r.w32,) for r in _HOT if r.alu in LLVM_DIV}       # (signed, rem, W)
TRANSLATED = (set(LOADS) | set(STORES) | set(BRANCHES) | set(ALU) | set(SET_LESS) | set(MUL_HIGH)
              | set(DIVS) | {"lui", "auipc", "jal", "jalr"})


class RegionError(Exception):
    pass


def mode_key(st):
    return int(region_key(st[ST_FETCH_VM] != 0, st[ST_DATA_VM] != 0, st[ST_DATA_CTX]))


# ------------------------------------------------------------------ exploring the guest code
def explore(decode, entry, page_v, stop=None, max_guessed=None):
    """-> (insns {pc: decoded or None for 'stop here'}, leaders sorted): the region's CFG.
    stop(pc): True where the region must leave for the loop (a debugger's breakpoint).

    Control flow is followed first (branches both ways, jal targets, and a call's return
    point); only then, while the region is still under MAX_GUESSED instructions, the pc after
    an unconditional jump (j, jr, ret), where a compiler most often put the next block or
    switch case: the region's jalrs reach those through its switch."""
    insns = {}
    leaders = {entry}
    work = [entry]
    guesses = []
    count = 0
    max_guessed = MAX_GUESSED if max_guessed is None else max_guessed
    while work or (guesses and count < max_guessed):
        pc = work.pop() if work else guesses.pop(0)
        if pc in insns:
            leaders.add(pc)
            continue
        leaders.add(pc)
        while True:
            if pc in insns:
                leaders.add(pc)                 # two paths meet here
                break
            if (pc & PAGE_MASK) != page_v:
                break                           # leaves the page: an exit, not an instruction
            d = decode(pc) if count < MAX_INSNS and not (stop and stop(pc)) else None
            if d is None or d[0] not in TRANSLATED:
                insns[pc] = None                # the loop runs it
                break
            insns[pc] = d
            count += 1
            name, rd, _, _, imm, ilen = d
            if name in BRANCHES:
                for t in ((pc + imm) & ((1 << 64) - 1), pc + ilen):
                    t = t - (1 << 64) if t >> 63 else t
                    if (t & PAGE_MASK) == page_v:
                        leaders.add(t)
                        work.append(t)
                break
            if name in ("jal", "jalr"):
                if name == "jal" and ((pc + imm) & PAGE_MASK) == page_v:
                    leaders.add(pc + imm)
                    work.append(pc + imm)
                if ((pc + ilen) & PAGE_MASK) == page_v:
                    (work if rd != X_SINK else guesses).append(pc + ilen)
                break
            pc += ilen
    leaders = sorted(p for p in leaders if insns.get(p) is not None)
    return insns, leaders


# ------------------------------------------------------------------ writing the IR
class IR:
    """One region's function as LLVM IR text."""

    def __init__(self, name, insns, leaders, st_regs, page_p=0, page_v=0, key=0):
        self.name = name
        self.page_p, self.page_v, self.key = page_p, page_v, key
        self.jalrs = 0
        self.insns = insns
        self.leaders = leaders
        self.leader_set = set(leaders)
        self.n = 0
        self.lines = []
        self.st_regs = st_regs        # (data_vm, dctx, fetch_vm) the region is specialised for
        self.used = set()
        self.written = set()
        for d in insns.values():
            if d is not None:
                _, rd, rs1, rs2, _, _ = d
                self.used.update((rs1, rs2))
                if rd != X_SINK:
                    self.used.add(rd)
                    self.written.add(rd)
        self.used.discard(0)
        self.used.discard(X_SINK)
        self.written.discard(0)

    def tmp(self):
        self.n += 1
        return f"%t{self.n}"

    def emit(self, s):
        self.lines.append("  " + s)

    def label(self, name):
        self.lines.append(f"{name}:")

    def op(self, text):
        t = self.tmp()
        self.emit(f"{t} = {text}")
        return t

    def reg(self, r):
        if r == 0:
            return "0"
        return self.op(f"load i64, ptr %xp{r}")

    def setreg(self, r, v):
        if r != X_SINK and r != 0:
            self.emit(f"store i64 {v}, ptr %xp{r}")

    def st_slot(self, i):
        return self.op(f"getelementptr i64, ptr %st, i64 {i}")

    def exit(self, pc, status=REGION_DONE, chain=False):
        """Leave the region: pc and instret to st[] (the registers are in x[] already).
        chain=True: first, if pc starts another region compiled for this mode, jump straight into
        it (a tail call: no stack grows, and the loop's budget still holds, it is `limit`)."""
        if chain and status == REGION_DONE:
            self.chain(pc)
        self.emit(f"store i64 {pc}, ptr %pcp")
        c = self.op("load i64, ptr %instret")
        self.emit(f"store i64 {c}, ptr %icp")
        self.emit(f"ret i64 {status}")

    def chain(self, pc):
        fetch_vm = self.st_regs[2]
        if isinstance(pc, int):
            if fetch_vm and (pc & PAGE_MASK) != self.page_v:
                return                          # its physical page is not known here
            pa = str(self.page_p | (pc & 0xFFF) if fetch_vm else pc)
        else:
            if fetch_vm:
                pg = self.op(f"and i64 {pc}, {PAGE_MASK}")
                same = self.op(f"icmp eq i64 {pg}, {self.page_v}")
                go, no = f"C{self.n}", f"N{self.n}"
                self.emit(f"br i1 {same}, label %{go}, label %{no}")
                self.label(go)
                low = self.op(f"and i64 {pc}, 4095")
                pa = self.op(f"or i64 {low}, {self.page_p}")
                self.chain_to(pc, pa)
                self.emit(f"br label %{no}")
                self.label(no)
                return
            pa = pc
        self.chain_to(pc, pa)

    def chain_to(self, pc, pa):
        h = self.op(f"lshr i64 {pa}, 1")
        h = self.op(f"and i64 {h}, {REGION_MASK}")
        h = self.op(f"mul i64 {h}, {REGION_W}")
        e = self.op(f"add i64 {h}, {REGION_BASE}")
        ep = self.op(f"getelementptr i64, ptr %rt, i64 {e}")
        tag = self.op(f"load i64, ptr {ep}")                        # RT_PADDR = 0
        vp = self.op(f"getelementptr i64, ptr {ep}, i64 {RT_PC}")
        v = self.op(f"load i64, ptr {vp}")
        kp = self.op(f"getelementptr i64, ptr {ep}, i64 {RT_KEY}")
        k = self.op(f"load i64, ptr {kp}")
        ok = self.op(f"icmp eq i64 {tag}, {pa}")
        ok2 = self.op(f"icmp eq i64 {v}, {pc}")
        ok3 = self.op(f"icmp eq i64 {k}, {self.key}")
        ok = self.op(f"and i1 {ok}, {ok2}")
        ok = self.op(f"and i1 {ok}, {ok3}")
        go, no = f"J{self.n}", f"K{self.n}"
        self.emit(f"br i1 {ok}, label %{go}, label %{no}")
        self.label(go)
        fp = self.op(f"getelementptr i64, ptr {ep}, i64 {RT_FN}")
        fv = self.op(f"load i64, ptr {fp}")
        f = self.op(f"inttoptr i64 {fv} to ptr")
        c = self.op("load i64, ptr %instret")
        r = self.op(f"musttail call i64 {f}(ptr %x, ptr %mem, ptr %st, ptr %pflags, ptr %tlb, ptr %rt, "
                    f"i64 {pc}, i64 {c}, i64 %limit)")
        self.emit(f"ret i64 {r}")
        self.label(no)

    def count(self):
        c = self.op("load i64, ptr %instret")
        c1 = self.op(f"add i64 {c}, 1")
        self.emit(f"store i64 {c1}, ptr %instret")

    def goto(self, pc):
        """Control flow to guest pc: a branch to its block, or an exit."""
        if pc in self.leader_set:
            self.emit(f"br label %L{pc & ((1 << 64) - 1):x}")
        else:
            self.exit(pc, chain=self.insns.get(pc, 0) is not None)   # not into what the loop must run

    def run_length(self, pc):
        """Instructions from the leader at pc to the end of its basic block (budget check)."""
        n = 0
        while True:
            d = self.insns.get(pc)
            if d is None or (n and pc in self.leader_set):
                return n
            n += 1
            name = d[0]
            if name in BRANCHES or name in ("jal", "jalr"):
                return n
            pc += d[5]

    def text(self):
        head = [f"define i64 @{self.name}(ptr noalias %x, ptr noalias %mem, ptr noalias %st, "
                f"ptr noalias %pflags, ptr noalias %tlb, ptr noalias %rt, i64 %entry, "
                f"i64 %instret0, i64 %limit) {{",
                "start:",
                "  %instret = alloca i64",
                f"  %pcp = getelementptr i64, ptr %st, i64 {ST_PC}",
                f"  %icp = getelementptr i64, ptr %st, i64 {ST_INSTRET}"]
        head.append("  store i64 %instret0, ptr %instret")
        head.append("  %target = alloca i64")
        for r in sorted(self.used):
            head += [f"  %xp{r} = getelementptr i64, ptr %x, i64 {r}"]
        head += ["  %rbp = getelementptr i64, ptr %st, i64 " + str(ST_RAM_BASE),
                 "  %ram_base = load i64, ptr %rbp",
                 "  %rsp = getelementptr i64, ptr %st, i64 " + str(ST_RAM_SIZE),
                 "  %ram_size = load i64, ptr %rsp"]
        cases = " ".join(f"i64 {p}, label %L{p & ((1 << 64) - 1):x}" for p in self.leaders)
        head.append(f"  switch i64 %entry, label %bad_entry [ {cases} ]")
        head += ["bad_entry:", "  store i64 %entry, ptr %pcp", "  store i64 %instret0, ptr %icp", "  ret i64 0"]
        tail = []
        if self.jalrs:
            saved, self.lines = self.lines, []
            self.label("dispatch")
            t = self.op("load i64, ptr %target")
            self.emit(f"switch i64 {t}, label %elsewhere [ {cases} ]")
            self.label("elsewhere")
            self.exit(t, chain=True)
            tail, self.lines = self.lines, saved
        return "\n".join(head + self.lines + tail + ["}"]) + "\n"

    # -------------------------------------------------------------- the blocks
    def build(self):
        for lead in self.leaders:
            self.label(f"L{lead & ((1 << 64) - 1):x}")
            n = self.run_length(lead)
            c = self.op("load i64, ptr %instret")
            c1 = self.op(f"add i64 {c}, {n}")
            ok = self.op(f"icmp sle i64 {c1}, %limit")
            body = f"B{lead & ((1 << 64) - 1):x}"
            self.emit(f"br i1 {ok}, label %{body}, label %over{self.n}")
            self.label(f"over{self.n}")
            self.exit(lead)
            self.label(body)
            pc = lead
            while True:
                d = self.insns[pc]
                more = self.instruction(pc, d)
                if not more:
                    break
                pc += d[5]
                if pc in self.leader_set or self.insns.get(pc) is None:
                    self.goto(pc)
                    break

    def instruction(self, pc, d):
        """Emit one instruction. -> True when control falls through to pc + ilen."""
        name, rd, rs1, rs2, imm, ilen = d
        npc = pc + ilen
        if name in ALU:
            llop, with_imm, w32 = ALU[name]
            a = self.reg(rs1)
            if with_imm:
                b = str(imm)
            else:
                b = self.reg(rs2)
                if llop in ("shl", "lshr", "ashr"):
                    b = self.op(f"and i64 {b}, {31 if w32 else 63}")
            if w32:
                a32 = self.op(f"trunc i64 {a} to i32")
                b32 = self.op(f"trunc i64 {b} to i32")
                r32 = self.op(f"{llop} i32 {a32}, {b32}")
                r = self.op(f"sext i32 {r32} to i64")
            else:
                r = self.op(f"{llop} i64 {a}, {b}")
            self.setreg(rd, r)
        elif name in SET_LESS:
            cond, with_imm = SET_LESS[name]
            a = self.reg(rs1)
            b = str(imm) if with_imm else self.reg(rs2)
            c = self.op(f"icmp {cond} i64 {a}, {b}")
            self.setreg(rd, self.op(f"zext i1 {c} to i64"))
        elif name in MUL_HIGH:
            ea, eb = MUL_HIGH[name]
            a = self.op(f"{ea} i64 {self.reg(rs1)} to i128")
            b = self.op(f"{eb} i64 {self.reg(rs2)} to i128")
            p = self.op(f"mul i128 {a}, {b}")
            h = self.op(f"lshr i128 {p}, 64")
            self.setreg(rd, self.op(f"trunc i128 {h} to i64"))
        elif name in DIVS:
            self.divide(name, rd, rs1, rs2)
        elif name == "lui":
            self.setreg(rd, str(imm))
        elif name == "auipc":
            self.setreg(rd, str(s64(pc + imm)))
        elif name in LOADS:
            self.load(pc, name, rd, rs1, imm)
        elif name in STORES:
            return self.store(pc, npc, name, rs1, rs2, imm)
        elif name == "jal":
            self.setreg(rd, str(npc))
            self.count()
            self.goto(pc + imm)
            return False
        elif name == "jalr":
            t = self.op(f"add i64 {self.reg(rs1)}, {imm}")
            t = self.op(f"and i64 {t}, -2")
            self.setreg(rd, str(npc))
            self.count()
            # every jalr shares one switch over the block starts (one per jalr made LLVM slow)
            self.emit(f"store i64 {t}, ptr %target")
            self.emit("br label %dispatch")
            self.jalrs += 1
            return False
        elif name in BRANCHES:
            a = self.reg(rs1)
            b = self.reg(rs2)
            c = self.op(f"icmp {BRANCHES[name]} i64 {a}, {b}")
            self.count()
            taken, fall = f"T{self.n}", f"F{self.n}"
            self.emit(f"br i1 {c}, label %{taken}, label %{fall}")
            self.label(taken)
            self.goto(pc + imm)
            self.label(fall)
            self.goto(npc)
            return False
        else:
            raise RegionError(f"{name} is not translated")
        self.count()
        return True

    def divide(self, name, rd, rs1, rs2):
        signed, is_rem, w32 = DIVS[name]
        t = "i32" if w32 else "i64"
        a = self.reg(rs1)
        b = self.reg(rs2)
        if w32:
            a = self.op(f"trunc i64 {a} to i32")
            b = self.op(f"trunc i64 {b} to i32")
        bz = self.op(f"icmp eq {t} {b}, 0")
        bad = bz
        if signed:      # MIN / -1 overflows in LLVM; RISC-V gives MIN (and remainder 0): divide by 1
            amin = self.op(f"icmp eq {t} {a}, {-(1 << 31) if w32 else -(1 << 63)}")
            bm1 = self.op(f"icmp eq {t} {b}, -1")
            ov = self.op(f"and i1 {amin}, {bm1}")
            bad = self.op(f"or i1 {bz}, {ov}")
        bs = self.op(f"select i1 {bad}, {t} 1, {t} {b}")
        llop = ("srem" if is_rem else "sdiv") if signed else ("urem" if is_rem else "udiv")
        q = self.op(f"{llop} {t} {a}, {bs}")
        r = self.op(f"select i1 {bz}, {t} {a if is_rem else -1}, {t} {q}")
        if w32:
            r = self.op(f"sext i32 {r} to i64")
        self.setreg(rd, r)

    def address(self, pc, rs1, imm, size, kind):
        """-> the RAM offset of an aligned RAM access that hits the TLB; other accesses leave the
        region before this instruction (the loop takes its slow path)."""
        va = self.op(f"add i64 {self.reg(rs1)}, {imm}")
        data_vm, dctx = self.st_regs[:2]
        if data_vm:
            vpn = self.op(f"ashr i64 {va}, 12")
            e = self.op(f"and i64 {vpn}, {TLB_SLOTS - 1}")
            i = self.op(f"add i64 {e}, {kind * TLB_SLOTS}")
            i2 = self.op(f"shl i64 {i}, 1")
            tp = self.op(f"getelementptr i64, ptr %tlb, i64 {i2}")
            tag = self.op(f"load i64, ptr {tp}")
            vp = self.op(f"getelementptr i64, ptr {tp}, i64 1")
            v = self.op(f"load i64, ptr {vp}")
            hit = self.op(f"icmp eq i64 {tag}, {vpn}")
            perm = self.op(f"lshr i64 {v}, {dctx}")
            perm = self.op(f"trunc i64 {perm} to i1")
            ok = self.op(f"and i1 {hit}, {perm}")
            page = self.op(f"and i64 {v}, {PAGE_MASK}")
            low = self.op(f"and i64 {va}, 4095")
            pa = self.op(f"or i64 {page}, {low}")
        else:
            ok = "true"
            pa = va
        off = self.op(f"sub i64 {pa}, %ram_base")
        inram = self.op(f"icmp ult i64 {off}, %ram_size")
        ok = self.op(f"and i1 {ok}, {inram}")
        if size > 1:
            mis = self.op(f"and i64 {off}, {size - 1}")
            al = self.op(f"icmp eq i64 {mis}, 0")
            ok = self.op(f"and i1 {ok}, {al}")
        go, slow = f"A{self.n}", f"S{self.n}"
        self.emit(f"br i1 {ok}, label %{go}, label %{slow}")
        self.label(slow)
        self.exit(pc)
        self.label(go)
        return off, pa

    def load(self, pc, name, rd, rs1, imm):
        size, signed = LOADS[name]
        off, _ = self.address(pc, rs1, imm, size, TLB_LOAD)
        p = self.op(f"getelementptr i8, ptr %mem, i64 {off}")
        t = f"i{8 * size}"
        v = self.op(f"load {t}, ptr {p}, align 1")
        if size < 8:
            v = self.op(f"{'sext' if signed else 'zext'} {t} {v} to i64")
        self.setreg(rd, v)

    def store(self, pc, npc, name, rs1, rs2, imm):
        size = STORES[name]
        off, pa = self.address(pc, rs1, imm, size, TLB_STORE)
        v = self.reg(rs2)
        t = f"i{8 * size}"
        if size < 8:
            v = self.op(f"trunc i64 {v} to {t}")
        p = self.op(f"getelementptr i8, ptr %mem, i64 {off}")
        self.emit(f"store {t} {v}, ptr {p}, align 1")
        self.count()
        pg = self.op(f"lshr i64 {off}, 12")
        fp = self.op(f"getelementptr i8, ptr %pflags, i64 {pg}")
        f = self.op(f"load i8, ptr {fp}")
        flagged = self.op(f"icmp ne i8 {f}, 0")
        hook, go, chk, ext = f"H{self.n}", f"G{self.n}", f"Q{self.n}", f"E{self.n}"
        self.emit(f"br i1 {flagged}, label %{chk}, label %{go}")
        # a page flagged only because it holds code: the store needs the hooks only if it
        # touches the page's code extent (small programs keep their data next to their text)
        self.label(chk)
        other = self.op(f"and i8 {f}, {~(PF_CODE | PF_REGION) & 0xFF}")
        only_code = self.op(f"icmp eq i8 {other}, 0")
        self.emit(f"br i1 {only_code}, label %{ext}, label %{hook}")
        self.label(ext)
        ei = self.op(f"add i64 {pg}, {EXTENT_BASE}")
        ep = self.op(f"getelementptr i64, ptr %rt, i64 {ei}")
        extent = self.op(f"load i64, ptr {ep}")
        lo = self.op(f"and i64 {extent}, 4294967295")
        hi = self.op(f"lshr i64 {extent}, 32")
        o = self.op(f"and i64 {off}, 4095")
        o_end = self.op(f"add i64 {o}, {size}")
        below = self.op(f"icmp ult i64 {o}, {hi}")
        above = self.op(f"icmp ult i64 {lo}, {o_end}")
        touches = self.op(f"and i1 {below}, {above}")
        self.emit(f"br i1 {touches}, label %{hook}, label %{go}")
        self.label(hook)
        self.emit(f"store i64 {pa}, ptr {self.st_slot(ST_REGION_ADDR)}")
        self.emit(f"store i64 {size}, ptr {self.st_slot(ST_REGION_SIZE)}")
        self.exit(npc, REGION_HOOKS)
        self.label(go)
        nxt = npc
        if nxt in self.leader_set or self.insns.get(nxt) is None:
            self.goto(nxt)
            return False
        return True


# ------------------------------------------------------------------ compiling and installing
class Code:
    """A region's machine code: its MCJIT engine (which owns the module) and the LLVM context
    the module lives in, released in that order."""
    engine = context = None

    def __del__(self):
        try:
            if self.engine is not None:
                self.engine.close()
            if self.context is not None:
                self.context.close()
        except Exception:       # noqa: BLE001 (interpreter shutdown)
            pass


class Job:
    """One region to compile: everything the compiler needs, taken from the hart by its own
    thread (the page's bytes, the mode, the debugger's stops), so that the compiler thread
    never reads state the running loop changes."""

    def __init__(self, pc, paddr, code, st_regs, key, stops, epoch):
        self.pc, self.paddr, self.code, self.st_regs, self.key = pc, paddr, code, st_regs, key
        self.page_p, self.page_v = paddr & PAGE_MASK, pc & PAGE_MASK
        self.stops, self.epoch = stops, epoch
        self.fn = self.insns = self.leaders = self.engine = self.error = None
        self.seconds = 0.0

    def decode(self, pc):
        off = pc & 0xFFF
        code = self.code
        w = code[off] | (code[off + 1] << 8)
        if (w & 3) == 3:
            if off == 0xFFE:
                return None              # straddles the page: the loop's business
            w |= (code[off + 2] | (code[off + 3] << 8)) << 16
        o, rd, rs1, rs2, imm, ilen = isa.decode(w)
        return O[int(o)], int(rd), int(rs1), int(rs2), int(imm), int(ilen)

    def stop(self, p):
        pcs, paddrs, ranges = self.stops
        return p in pcs or (self.page_p | (p & 0xFFF)) in paddrs or any(lo <= p <= hi for lo, hi in ranges)


class Worker:
    """The compiler thread, shared by every hart of the process: LLVM runs on the other core while
    the guest goes on in the loop, and ctypes releases the GIL for LLVM's part."""

    def __init__(self):
        import queue
        import threading
        import atexit
        self.jobs = queue.Queue()
        self.thread = threading.Thread(target=self.serve, name="numbavm-regions", daemon=True)
        self.thread.start()
        atexit.register(self.stop)     # not in the middle of LLVM while Python shuts down

    def stop(self):
        self.jobs.put(None)
        self.thread.join(timeout=5.0)

    def serve(self):
        while True:
            item = self.jobs.get()
            if item is None:
                return
            regions, job = item
            regions.build(job)
            with regions.finished:
                regions.ready.append(job)
                regions.finished.notify_all()
            hart = regions.hart
            if hart is not None:                     # (None: its machine was torn down meanwhile)
                hart.st[ST_REGION_READY] = 1         # the loop returns EXIT_REGION at its next chunk
            # drop them now: this thread outlives every machine, and a local left over until the
            # next job would keep the last hart (its whole guest RAM) alive
            item = regions = job = hart = None


WORKER = None


class Regions:
    """The hart's native regions: the regions compiled for it, and their installation.

    compile() answers the loop's EXIT_REGION on the hart's thread: it installs what the
    compiler thread finished (the loop is not running then, so nothing races the tables;
    a region whose code bytes changed since they were read is thrown away) and hands the
    new request to the compiler thread.  sync=True (NUMBAVM_REGION_SYNC=1, the tests'
    eager mode) compiles and installs at once instead."""

    def __init__(self, hart, hot=None):
        import collections
        import os
        import threading
        if hot is None:
            hot = int(os.environ.get("NUMBAVM_REGION_HOT", HOT_SAMPLES))
        # the hart owns this object (hart.regions): a weak reference back, so that no reference
        # cycle keeps a torn-down hart's RAM alive until the garbage collector runs
        self._hart = weakref.ref(hart)
        self.sync = os.environ.get("NUMBAVM_REGION_SYNC") == "1"
        self.engines = []            # one MCJIT engine per region: it owns the region's code
        self.ready = collections.deque()   # compiled jobs, appended by the compiler thread
        self.finished = threading.Condition()   # notified with each job appended to ready (wait())
        self.in_flight = 0
        self.compiling = set()       # (page, mode key) of the jobs not installed yet: one at a time
        self.epoch = 0               # a flush makes in-flight jobs stale
        self.compiled = 0            # regions compiled
        self.instructions = 0        # guest instructions in them
        self.compile_s = 0.0
        self.refused = 0             # requests that gave no region
        self.stale = 0               # compiled, but the code changed (or a flush came) first
        self.errors = 0              # regions that failed to compile (a bug: see compile())
        self.last_error = None
        self.per_page = {}           # physical page -> its regions (first leader paddr, pc, pcs, mode key)
        self.made = {}               # physical page -> regions ever compiled there
        hart.st[ST_REGION_HOT] = hot
        hart.st[ST_REGION_ON] = 1
        isa.decode(0x13)             # loaded here, not first in the compiler thread

    @property
    def hart(self):
        """The hart these regions belong to (None once it is gone)."""
        return self._hart()

    # ---------------------------------------------------------------- the hart's thread
    def compile(self):
        """Answer EXIT_REGION: install finished regions, take the loop's new request if any.
        A region that fails to compile is a bug here, never the guest's: the guest runs on in
        the loop (which is always right), the failure is counted and kept for --stats and the
        tests, and NUMBAVM_REGIONS_STRICT=1 raises it instead."""
        st = self.hart.st
        if st[ST_REGION_READY]:
            st[ST_REGION_READY] = 0
            while self.ready:
                self.install_job(self.ready.popleft())
        if not st[ST_REGION_REQ]:
            return
        st[ST_REGION_REQ] = 0
        job = self.request()
        if job is None:
            return
        if self.sync:
            self.build(job)
            self.install_job(job)
        else:
            global WORKER
            if WORKER is None:
                WORKER = Worker()
            self.in_flight += 1
            WORKER.jobs.put((self, job))

    def request(self):
        h = self.hart
        st = h.st
        pc = int(st[ST_REGION_REQ_PC])
        paddr = int(st[ST_REGION_REQ_PADDR])
        page_p = paddr & PAGE_MASK
        key = mode_key(st)
        if (page_p, key) in self.compiling:
            return None                       # asked again before the first one is done: later
        live = [r for r in self.per_page.get(page_p, []) if self.live(r)]
        self.per_page[page_p] = live
        if (any(r[3] == key and pc in r[2] for r in live) or len(live) >= MAX_PER_PAGE
                or self.made.get(page_p, 0) >= 4 * MAX_PER_PAGE):
            self.quiet(paddr)                 # already native (it left for the loop), or enough here
            return None
        stops = (set(), set(), [])
        if int(st[ST_DBG_NBP]) != 0:         # breakpoints and code hooks: the region ends before them
            pcs, paddrs, ranges, virtual = region_stops(st)
            if virtual and not int(st[ST_FETCH_VM]):
                self.quiet(paddr)
                return None                   # bare fetches are not cached then (emu/debug.py)
            stops = (pcs, paddrs, ranges)
        off = page_p - int(st[ST_RAM_BASE])
        code = bytes(h.ram[off:off + 4096])
        self.made[page_p] = self.made.get(page_p, 0) + 1
        self.compiling.add((page_p, key))
        return Job(pc, paddr, code, (int(st[ST_DATA_VM]) != 0, int(st[ST_DATA_CTX]), int(st[ST_FETCH_VM]) != 0),
                   key, stops, self.epoch)

    def install_job(self, job):
        import os
        self.in_flight -= 0 if self.sync else 1
        self.compiling.discard((job.page_p, job.key))
        self.compile_s += job.seconds
        if job.error is not None:
            if os.environ.get("NUMBAVM_REGIONS_STRICT") == "1":
                raise job.error
            self.errors += 1
            e = job.error
            self.last_error = f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}"
            return
        if job.fn is None:
            self.refused += 1
            return
        h = self.hart
        page_p, page_v = job.page_p, job.page_v
        lo = min(job.insns) - page_v                        # the code range, as page offsets
        hi = min(max(p + (d[5] if d else 2) for p, d in job.insns.items()) - page_v, 4096)
        off = page_p - int(h.st[ST_RAM_BASE])
        if job.epoch != self.epoch or bytes(h.ram[off + lo:off + hi]) != job.code[lo:hi]:
            self.stale += 1                  # its code changed while it was compiled
            return
        self.engines.append(job.engine)
        self.install(job.fn, job.leaders, page_p, lo, hi, job.key)
        self.per_page.setdefault(page_p, []).append((page_p | (job.leaders[0] & 0xFFF), job.leaders[0],
                                                     {p for p, d in job.insns.items() if d is not None}, job.key))
        self.compiled += 1
        self.instructions += sum(1 for d in job.insns.values() if d is not None)

    # ---------------------------------------------------------------- the compiler (either thread)
    def build(self, job):
        """Explore, write the IR, compile: job.fn (or job.error; job.fn None = nothing to compile)."""
        import time
        t0 = time.perf_counter()
        try:
            stop = job.stop if any(job.stops) else None
            # under Sv39 every access carries an inline TLB lookup, so the same compile time buys
            # about half the instructions: guess less
            insns, leaders = explore(job.decode, job.pc, job.page_v, stop,
                                     MAX_GUESSED // 2 if job.st_regs[0] else MAX_GUESSED)
            if leaders:
                name = f"region_{job.page_p:x}_{job.pc & 0xFFF:x}"
                ir = IR(name, insns, leaders, job.st_regs, job.page_p, job.page_v, job.key)
                ir.build()
                tm = self._target()
                code = Code()
                code.context = llvm.create_context()    # not Numba's: this may run beside it
                mod = llvm.parse_assembly(ir.text(), context=code.context)
                mod.verify()
                self.optimize(mod, tm)
                code.engine = llvm.create_mcjit_compiler(mod, tm)
                code.engine.finalize_object()
                job.fn = code.engine.get_function_address(name)
                job.engine, job.insns, job.leaders = code, insns, leaders
        except Exception as e:          # noqa: BLE001 (see compile())
            job.error = e
        job.seconds = time.perf_counter() - t0

    @staticmethod
    def _target():
        """A target machine for one engine (an MCJIT engine owns its target machine and frees it
        with itself: sharing one between engines crashes when the first is freed)."""
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        return llvm.Target.from_default_triple().create_target_machine(
            cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
            opt=OPT_LEVEL, jit=True)

    @staticmethod
    def optimize(mod, tm):
        """A short pipeline: the obvious clean-ups.  The full -O2 pipeline gave no faster code
        here and took 20x longer (0.2 s for a 150-instruction region)."""
        pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=0))
        fpm = llvm.create_new_function_pass_manager()
        for add in PIPELINE:
            getattr(fpm, add)()
        for f in mod.functions:
            fpm.run(f, pb)

    # ---------------------------------------------------------------- the tables
    def install(self, fn, leaders, page_p, lo, hi, key):
        """Enter the region (code at page offsets [lo, hi)) in the table at each block start."""
        ic = self.hart.icache
        for pc in leaders:
            pa = page_p | (pc & 0xFFF)
            e = REGION_BASE + REGION_W * ((pa >> 1) & REGION_MASK)
            ic[e + RT_PADDR] = -1                       # never half-written while the loop looks
            ic[e + RT_PC] = pc
            ic[e + RT_FN] = fn
            ic[e + RT_CODE_LO] = page_p + lo
            ic[e + RT_CODE_HI] = page_p + hi
            ic[e + RT_KEY] = key
            ic[e + RT_PADDR] = pa
            slot = (pa >> 1) & ICACHE_MASK
            ic[2 * slot] = -1                           # the loop's way in: a decode-cache miss
        off = page_p - int(self.hart.st[ST_RAM_BASE])
        self.hart.pflags[off >> 12] |= PF_REGION
        from emu.memory import grow_extent
        grow_extent(ic, off >> 12, lo, hi)

    def live(self, region):
        pa, pc = region[0], region[1]
        e = REGION_BASE + REGION_W * ((pa >> 1) & REGION_MASK)
        return int(self.hart.icache[e + RT_PADDR]) == pa and int(self.hart.icache[e + RT_PC]) == pc

    def quiet(self, paddr):
        """No request for this window for a while: its hot counter starts far below the threshold."""
        self.hart.icache[HOT_BASE + ((paddr >> 8) & HOT_MASK)] = -64 * int(self.hart.st[ST_REGION_HOT])

    def flush(self):
        """The hart flushed its decode cache and region table: regions compiling now are stale."""
        self.epoch += 1

    def wait(self, timeout=30.0):
        """Until the compiler thread has nothing of this hart's left (tests, benchmarks): True when
        it has finished them all, False when the timeout came first."""
        with self.finished:
            return self.finished.wait_for(lambda: self.in_flight <= len(self.ready), timeout)

    def stats(self):
        return {"regions": self.compiled, "region_instructions": self.instructions,
                "region_compile_s": round(self.compile_s, 4), "regions_refused": self.refused,
                "regions_stale": self.stale, "region_errors": self.errors}
