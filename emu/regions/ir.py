"""Writing a region as LLVM IR: what this tier translates (derived from emu/isa.py's rows, with LLVM's
name for each operation) and class IR, one LLVM function per region."""
import struct
from typing import NamedTuple

from emu import isa
from emu.ints import s64
from emu.mmu import PAGE_MASK
from emu.spec import (MSTATUS, MSTATUS_FS, FS_DIRTY, NAN_BOX, CANONICAL_NAN_S, FCSR_FRM_SHIFT, FFLAG_NX, RM_DYN,
                      RM_RMM)
from emu.fpu import native_address
from emu.csr import CACHE_BLOCK_SIZE
from emu.native import REGION_DONE, REGION_HOOKS, region_key
from emu.state import (ST_FCSR, ST_PC, ST_INSTRET, ST_RAM_BASE, ST_RAM_SIZE, ST_REGION_ADDR, ST_REGION_SIZE,
                       REGION_BASE, REGION_W, REGION_MASK, RT_PC, RT_FN, RT_KEY,
                       PF_REGION, TLB_SLOTS, TLB_LOAD, TLB_STORE, PF_CODE, EXTENT_BASE, ST_FETCH_VM, ST_DATA_VM,
                       ST_DATA_CTX, ST_CBZE)

X_SINK = isa.X_SINK
O = isa.OPS
# What this tier translates, derived from the rows of emu/isa.py's table (the hot groups: cold
# rows never come here, so an AMO's "add" is not the ALU's).  What LLVM calls each of the
# table's operations and comparisons is written here, being LLVM's business:
LLVM_BINOP = {"add": "add", "sub": "sub", "xor": "xor", "or": "or", "and": "and", "sll": "shl",
              "srl": "lshr", "sra": "ashr", "mul": "mul"}
LLVM_ICMP = {"eq": "eq", "ne": "ne", "lt": "slt", "ge": "sge", "ltu": "ult", "geu": "uge"}
LLVM_MUL_HIGH = {"mulh": ("sext", "sext"), "mulhu": ("zext", "zext"), "mulhsu": ("sext", "zext")}
LLVM_DIV = {"div": (True, False), "divu": (False, False), "rem": (True, True), "remu": (False, True)}
_HOT = [r for r in isa.ENCODINGS if not r.cold and not r.fp]    # F/D: the loop and emu/fpu.py run them
LOADS = {r.name: (r.width, r.signed) for r in _HOT if r.group == isa.Group.LOAD}      # (size, signed)
STORES = {r.name: r.width for r in _HOT if r.group == isa.Group.STORE}                # size
BRANCHES = {r.name: LLVM_ICMP[r.cond] for r in _HOT if r.group == isa.Group.CTRL and r.cond}
# (llvm op, the second operand is the immediate, 32-bit W form)
ALU = {r.name: (LLVM_BINOP[r.alu], r.imm, r.w32) for r in _HOT if r.alu in LLVM_BINOP and not r.uw}
SET_LESS = {r.name: (LLVM_ICMP[r.cond], r.imm) for r in _HOT if r.alu == "slt"}       # (icmp, immediate)
MUL_HIGH = {r.name: LLVM_MUL_HIGH[r.alu] for r in _HOT if r.alu in LLVM_MUL_HIGH}    # (ext of rs1, of rs2)
DIVS = {r.name: LLVM_DIV[r.alu] + (r.w32,) for r in _HOT if r.alu in LLVM_DIV}       # (signed, rem, W)
# Zba, Zbb, Zbs, Zicond: the operations LLVM has an intrinsic for (one instruction each where the host
# has one: lzcnt, tzcnt, popcnt, bswap, rol/ror, ...), and those IR.bitmanip writes out
LLVM_BITMANIP = {"clz": "ctlz", "ctz": "cttz", "cpop": "ctpop", "min": "smin", "minu": "umin", "max": "smax",
                 "maxu": "umax", "rol": "fshl", "ror": "fshr", "rev8": "bswap"}
SHADD = {"sh1add": 1, "sh2add": 2, "sh3add": 3}               # rs1's shift
BIT_OPS = ("andn", "orn", "xnor", "bclr", "bext", "binv", "bset", "czero.eqz", "czero.nez", "sext.b", "sext.h",
           "zext.h", "orc.b")
# (operation, the second operand is the immediate, 32-bit W form, .uw: rs1's low word) -- add.uw and
# slli.uw too, whose operations are the ALU's
BITMANIP = {r.name: (r.alu, r.imm, r.w32, r.uw) for r in _HOT
            if r.alu in LLVM_BITMANIP or r.alu in SHADD or r.alu in BIT_OPS or r.uw}
TRANSLATED = (set(LOADS) | set(STORES) | set(BRANCHES) | set(ALU) | set(SET_LESS) | set(MUL_HIGH)
              | set(DIVS) | set(BITMANIP) | {"lui", "auipc", "jal", "jalr"})
# F/D, in a region compiled while mstatus.FS is Dirty (Mode.fp): the loads and stores inline, the rest
# a call of emu/fpu.py's fp_compute (its C entry: native_address), which leaves x[] and fcsr in st[] done
FP_LOADS = {r.name: r.width for r in isa.ENCODINGS if r.fp and r.group == isa.Group.LOAD}       # size
FP_STORES = {r.name: r.width for r in isa.ENCODINGS if r.fp and r.group == isa.Group.STORE}     # size
FP_CALLS = {r.name: isa.OP[r.name] for r in isa.ENCODINGS if r.group == isa.Group.FP}            # op
FP_TRANSLATED = set(FP_LOADS) | set(FP_STORES) | set(FP_CALLS)
# ... and the arithmetic the host does itself when emu/fpu.py host_fast's conditions hold (tested
# inline here; fused multiply-add and sqrt too, which LLVM has): name -> (operation, double, negate
# the product, negate the addend)
FP_FAST = {r.name: (r.alu, bool(r.fp & isa.Fp.DOUBLE), r.alu in ("nmsub", "nmadd"), r.alu in ("msub", "nmadd"))
           for r in isa.ENCODINGS if r.group == isa.Group.FP
           and r.alu in ("add", "sub", "mul", "div", "sqrt", "madd", "msub", "nmsub", "nmadd")}
LLVM_FP = {"add": "fadd", "sub": "fsub", "mul": "fmul", "div": "fdiv"}
# ... the moves and sign injections, which are bits only: always inline, never a call -- name -> (operation,
# double); and the conversions, inline when the operands make them exact or simple (fp_convert), else on
# to the call -- name -> (operation, double, w32, signed)
FP_BITS = {r.name: (r.alu, bool(r.fp & isa.Fp.DOUBLE)) for r in isa.ENCODINGS if r.group == isa.Group.FP
           and r.alu in ("sgnj", "sgnjn", "sgnjx", "mv.x.f", "mv.f.x")}
FP_CVT = {r.name: (r.alu, bool(r.fp & isa.Fp.DOUBLE), r.w32, r.signed) for r in isa.ENCODINGS
          if r.group == isa.Group.FP and r.alu in ("f2i", "i2f", "f2f")}
# fcvt to an integer in a static rounding mode: LLVM's rounding to an integral value (RNE, RTZ, RDN, RUP, RMM)
LLVM_ROUND = ("roundeven", "trunc", "floor", "ceil", "round")


def fconst(v):
    """A floating-point constant as LLVM IR writes it (a double's bits, for float too when exact)."""
    return f"0x{struct.unpack('<Q', struct.pack('<d', v))[0]:016X}"


# the module's trailer: the fast paths' branch weights (IR.likely) and the cold attribute of their calls
LIKELY = '!0 = !{!"branch_weights", i32 2000, i32 1}\nattributes #0 = { cold }'


class RegionError(Exception):
    pass


class Mode(NamedTuple):
    """The mode a region is compiled for: its code depends on it, and it is part of the region's
    key in the region table (emu.native.region_key, which the loop computes the same way)."""
    fetch_vm: bool       # instruction fetch through Sv39
    data_vm: bool        # loads and stores through Sv39
    data_ctx: int        # the bit of a TLB entry's permission mask that a load/store checks
    fp: bool = False     # mstatus.FS is Dirty: FP instructions run in the region (else it ends before them)
    cbze: bool = False   # cbo.zero is enabled (priv, menvcfg/senvcfg.CBZE): it runs in the region (else the
                         # region ends before it, and the loop raises the illegal instruction)

    @classmethod
    def of(cls, st, csr):
        return cls(int(st[ST_FETCH_VM]) != 0, int(st[ST_DATA_VM]) != 0, int(st[ST_DATA_CTX]),
                   (int(csr[MSTATUS]) & MSTATUS_FS) == FS_DIRTY, int(st[ST_CBZE]) != 0)

    @property
    def key(self):
        return int(region_key(self.fetch_vm, self.data_vm, self.data_ctx, self.fp, self.cbze))


class IR:
    """One region's function as LLVM IR text."""

    def __init__(self, name, insns, leaders, mode, page_p=0, page_v=0):
        self.name = name
        self.page_p, self.page_v, self.mode, self.key = page_p, page_v, mode, mode.key
        self.jalrs = 0
        self.insns = insns
        self.leaders = leaders
        self.leader_set = set(leaders)
        self.n = 0
        self.lines = []
        self.used = set()
        self.written = set()
        self.decls = set()          # intrinsics the function calls (declared before it)
        for d in insns.values():
            if d is not None:
                name, rd, rs1, rs2, imm, _ = d
                self.used.update((rs1, rs2))
                if name in FP_FAST and FP_FAST[name][0] in ("madd", "msub", "nmsub", "nmadd"):
                    self.used.add((imm >> isa.RS3_SHIFT) & 127)       # rs3
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
        fetch_vm = self.mode.fetch_vm
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

    def likely(self, ok, fast, slow):
        """A branch to the inline fast path, the likely side: LLVM then keeps the slow path's call (marked
        cold, #0) and the spills around it out of the hot loop."""
        self.emit(f"br i1 {ok}, label %{fast}, label %{slow}, !prof !0")

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
        return "\n".join(sorted(self.decls) + head + self.lines + tail + ["}", LIKELY]) + "\n"

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
        elif name in BITMANIP:
            self.bitmanip(name, rd, rs1, rs2, imm)
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
        elif name in STORES or name in FP_STORES:
            return self.store(pc, npc, name, rs1, rs2, imm)
        elif name in FP_LOADS:
            self.load(pc, name, rd, rs1, imm)
        elif name == "cbo.zero" and self.mode.cbze:
            return self.cbo_zero(pc, npc, rs1)
        elif name in FP_BITS and self.mode.fp:
            self.fp_bits(name, rd, rs1, rs2)
        elif name in FP_CALLS and self.mode.fp:
            done = f"D{self.n}"
            if name in FP_FAST and imm & 7 in (0, 7):
                self.fp_fast(name, rd, rs1, rs2, imm, done)
            elif name in FP_CVT and ((imm & 7) <= RM_RMM or (imm & 7) == RM_DYN):
                self.fp_convert(name, rd, rs1, imm, done)
            f = self.op(f"inttoptr i64 {native_address()} to ptr")
            ok = self.op(f"call i64 {f}(i64 {FP_CALLS[name]}, ptr %x, ptr %st, i64 {rd}, i64 {rs1}, i64 {rs2}, "
                         f"i64 {imm}){' #0' if name in FP_FAST or name in FP_CVT else ''}")
            ok = self.op(f"icmp ne i64 {ok}, 0")
            go, bad = f"P{self.n}", f"R{self.n}"
            self.emit(f"br i1 {ok}, label %{go}, label %{bad}")
            self.label(bad)
            self.exit(pc)                       # a reserved rounding mode: the loop raises the trap
            self.label(go)
            self.emit(f"br label %{done}")
            self.label(done)
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

    def fp_fast(self, name, rd, rs1, rs2, imm, done):
        """The host's arithmetic for an FP_FAST row, kept when it is sure to be the spec's result and flags;
        else on to the call.  Before: the mode is RNE (the host's, in which it rounds +, -, *, /, sqrt and
        fma correctly) and fflags.NX is set already (an inexact result changes nothing more); single
        operands NaN-boxed.  After, on the host's result r: a NaN or infinite r (from a NaN, an infinity, an
        invalid operation, a division by zero or an overflow) goes to the call; so does, for *, / and the
        fused ones, a zero or tiny r (|r| <= the smallest normal: an underflow, or tininess that only
        rounding with an unbounded exponent tells), and sqrt's zero.  A finite r above that range had no
        NaN or infinite operand, overflowed nothing and is not tiny: at most NX, which is set.  A sum never
        underflows (a tiny sum is exact), so + and - keep every finite r."""
        func, dbl, neg_prod, neg_add = FP_FAST[name]
        ty, w, eb, emax = ("double", 64, 52, 0x7FF) if dbl else ("float", 32, 23, 0xFF)
        self.declare_fp(func, ty)
        fc = self.op(f"load i64, ptr {self.st_slot(ST_FCSR)}")
        want = 0xE1 if (imm & 7) == 7 else 0x01          # dyn: frm (fcsr bits 7:5) must be RNE too
        m = self.op(f"and i64 {fc}, {want}")
        ok = self.op(f"icmp eq i64 {m}, 1")
        regs = [rs1] if func == "sqrt" else [rs1, rs2] if func in LLVM_FP else [rs1, rs2, (imm >> isa.RS3_SHIFT) & 127]
        vals = []
        for r in regs:
            v = self.reg(r)
            if not dbl:                                  # a single must be NaN-boxed
                hi = self.op(f"ashr i64 {v}, 32")
                boxed = self.op(f"icmp eq i64 {hi}, -1")
                ok = self.op(f"and i1 {ok}, {boxed}")
                v = self.op(f"trunc i64 {v} to i32")
            vals.append(self.op(f"bitcast i{w} {v} to {ty}"))
        fast, slow = f"V{self.n}", f"W{self.n}"
        self.likely(ok, fast, slow)
        self.label(fast)
        if func in LLVM_FP:
            r = self.op(f"{LLVM_FP[func]} {ty} {vals[0]}, {vals[1]}")
        elif func == "sqrt":
            r = self.op(f"call {ty} @llvm.sqrt.f{w}({ty} {vals[0]})")
        else:
            a, c3 = vals[0], vals[2]
            if neg_prod:
                a = self.op(f"fneg {ty} {a}")
            if neg_add:
                c3 = self.op(f"fneg {ty} {c3}")
            r = self.op(f"call {ty} @llvm.fma.f{w}({ty} {a}, {ty} {vals[1]}, {ty} {c3})")
        bits = self.op(f"bitcast {ty} {r} to i{w}")
        inf = emax << eb                                 # the bits of +infinity; of the smallest normal: 1 << eb
        mag = self.op(f"and i{w} {bits}, {inf | ((1 << eb) - 1)}")
        if func in ("add", "sub"):                       # finite
            good = self.op(f"icmp ult i{w} {mag}, {inf}")
        elif func == "sqrt":                             # finite, not zero (nor NaN: a negative operand)
            good = self.op(f"icmp ult i{w} {self.op(f'sub i{w} {mag}, 1')}, {inf - 1}")
        else:                                            # finite, above the smallest normal
            good = self.op(f"icmp ult i{w} {self.op(f'sub i{w} {mag}, {(1 << eb) + 1}')}, {inf - (1 << eb) - 1}")
        store = f"Y{self.n}"
        self.likely(good, store, slow)
        self.label(store)
        v = bits if dbl else self.box(bits)
        self.setreg(rd, v)
        self.emit(f"br label %{done}")
        self.label(slow)

    def unbox(self, v):
        """A single operand from the f register's value v: its low half if NaN-boxed, else the canonical NaN."""
        hi = self.op(f"ashr i64 {v}, 32")
        boxed = self.op(f"icmp eq i64 {hi}, -1")
        low = self.op(f"trunc i64 {v} to i32")
        return self.op(f"select i1 {boxed}, i32 {low}, i32 {CANONICAL_NAN_S}")

    def box(self, v32):
        return self.op(f"or i64 {self.op(f'zext i32 {v32} to i64')}, {NAN_BOX}")

    def fp_bits(self, name, rd, rs1, rs2):
        """fsgnj/fsgnjn/fsgnjx and fmv between x and f registers: bits only (emu/fpu.py's sign_inject,
        box, unbox), no flags, no rounding mode."""
        alu, dbl = FP_BITS[name]
        a = self.reg(rs1)
        if alu == "mv.x.f":                       # fmv.x.w: the low 32 bits, sign-extended (no unboxing)
            r = a if dbl else self.op(f"sext i32 {self.op(f'trunc i64 {a} to i32')} to i64")
        elif alu == "mv.f.x":
            r = a if dbl else self.box(self.op(f"trunc i64 {a} to i32"))
        else:
            t, sign = ("i64", -(1 << 63)) if dbl else ("i32", -(1 << 31))
            b = self.reg(rs2)
            if not dbl:
                a, b = self.unbox(a), self.unbox(b)
            sb = self.op(f"and {t} {b}, {sign}")
            if alu == "sgnjx":
                r = self.op(f"xor {t} {a}, {sb}")
            else:
                if alu == "sgnjn":
                    sb = self.op(f"xor {t} {sb}, {sign}")
                r = self.op(f"or {t} {self.op(f'and {t} {a}, {~sign}')}, {sb}")
            if not dbl:
                r = self.box(r)
        self.setreg(rd, r)

    def fp_convert(self, name, rd, rs1, imm, done):
        """fcvt between the formats and to and from integers, inline where that is exact and simple;
        else on to the call (which also raises a reserved dynamic rounding mode):
          - from an integer whose value the format holds exactly (any rounding mode; no flags);
          - to an integer in a static rounding mode, or the dynamic one while frm is RNE, from a value
            whose rounded value is in the destination's range (LLVM's rounding to an integral value, then
            the conversion, which is exact; NX if it changed the value);
          - fcvt.d.s of any single but a NaN (exact); fcvt.s.d, RNE, of a double whose result is normal
            and finite (NX if the result differs from it)."""
        alu, dbl, w32, signed = FP_CVT[name]
        rm = imm & 7
        fcp = self.st_slot(ST_FCSR)
        fc = self.op(f"load i64, ptr {fcp}")
        frm = self.op(f"lshr i64 {self.op(f'and i64 {fc}, 255')}, {FCSR_FRM_SHIFT}")
        if rm == RM_DYN:                           # frm RNE (for i2f and fcvt.d.s: any valid frm)
            exact_any = alu == "i2f" or (alu == "f2f" and dbl)
            ok = self.op(f"icmp {'ule' if exact_any else 'eq'} i64 {frm}, {RM_RMM if exact_any else 0}")
            rm = 0
        else:
            ok = "true"
        ty, w = ("double", 64) if dbl else ("float", 32)
        nx = None
        if alu == "i2f":
            v = self.reg(rs1)
            it = "i32" if w32 else "i64"
            if w32:
                v = self.op(f"trunc i64 {v} to i32")
            if not (w32 and dbl):                  # a double holds every 32-bit integer
                lim = 53 if dbl else 24
                if signed:                         # |v| <= 2**lim: (v + 2**lim) <=u 2**(lim+1)
                    t = self.op(f"add {it} {v}, {1 << lim}")
                    c = self.op(f"icmp ule {it} {t}, {1 << (lim + 1)}")
                else:
                    c = self.op(f"icmp ule {it} {v}, {1 << lim}")
                ok = self.op(f"and i1 {ok}, {c}")
            fast, slow = f"V{self.n}", f"W{self.n}"
            self.likely(ok, fast, slow)
            self.label(fast)
            r = self.op(f"{'sitofp' if signed else 'uitofp'} {it} {v} to {ty}")
            bits = self.op(f"bitcast {ty} {r} to i{w}")
            out = bits if dbl else self.box(bits)
        elif alu == "f2i":
            v = self.reg(rs1)
            if not dbl:
                hi = self.op(f"ashr i64 {v}, 32")
                ok = self.op(f"and i1 {ok}, {self.op(f'icmp eq i64 {hi}, -1')}")
                v = self.op(f"trunc i64 {v} to i32")
            f = self.op(f"bitcast i{w} {v} to {ty}")
            fn = LLVM_ROUND[rm]
            self.decls.add(f"declare {ty} @llvm.{fn}.f{w}({ty})")
            r = self.op(f"call {ty} @llvm.{fn}.f{w}({ty} {f})")
            bits_out = 32 if w32 else 64
            lo = -(2.0 ** (bits_out - 1)) if signed else 0.0
            hi_ = 2.0 ** (bits_out - 1) if signed else 2.0 ** bits_out
            # ordered comparisons: a NaN fails them; -0.0 (a negative value rounded to zero) is >= 0
            inr = self.op(f"and i1 {self.op(f'fcmp oge {ty} {r}, {fconst(lo)}')}, "
                          f"{self.op(f'fcmp olt {ty} {r}, {fconst(hi_)}')}")
            ok = self.op(f"and i1 {ok}, {inr}")
            fast, slow = f"V{self.n}", f"W{self.n}"
            self.likely(ok, fast, slow)
            self.label(fast)
            it = f"i{bits_out}"
            out = self.op(f"{'fptosi' if signed else 'fptoui'} {ty} {r} to {it}")
            if w32:                                # fcvt.wu too: the 32-bit result sign-extended
                out = self.op(f"sext i32 {out} to i64")
            nx = self.op(f"fcmp une {ty} {r}, {f}")
        elif dbl:                                  # fcvt.d.s
            v = self.reg(rs1)
            hi = self.op(f"ashr i64 {v}, 32")
            ok = self.op(f"and i1 {ok}, {self.op(f'icmp eq i64 {hi}, -1')}")
            v = self.op(f"trunc i64 {v} to i32")
            e = self.op(f"and i32 {self.op(f'lshr i32 {v}, 23')}, 255")
            ok = self.op(f"and i1 {ok}, {self.op(f'icmp ne i32 {e}, 255')}")     # not a NaN (nor infinity)
            fast, slow = f"V{self.n}", f"W{self.n}"
            self.likely(ok, fast, slow)
            self.label(fast)
            r = self.op(f"fpext float {self.op(f'bitcast i32 {v} to float')} to double")
            out = self.op(f"bitcast double {r} to i64")
        else:                                      # fcvt.s.d
            v = self.reg(rs1)
            e = self.op(f"and i64 {self.op(f'lshr i64 {v}, 52')}, 2047")
            # 2**-126 <= |v| < 2**127: the rounded result is a normal single (no UF, no OF)
            c = self.op(f"icmp ule i64 {self.op(f'sub i64 {e}, {1023 - 126}')}, {126 + 126}")
            ok = self.op(f"and i1 {ok}, {c}")
            if rm != 0:
                ok = "false"
            fast, slow = f"V{self.n}", f"W{self.n}"
            self.likely(ok, fast, slow)
            self.label(fast)
            f = self.op(f"bitcast i64 {v} to double")
            r = self.op(f"fptrunc double {f} to float")
            nx = self.op(f"fcmp une double {self.op(f'fpext float {r} to double')}, {f}")
            out = self.box(self.op(f"bitcast float {r} to i32"))
        if nx is not None:
            flag = self.op(f"select i1 {nx}, i64 {FFLAG_NX}, i64 0")
            self.emit(f"store i64 {self.op(f'or i64 {fc}, {flag}')}, ptr {fcp}")
        self.setreg(rd, out)
        self.emit(f"br label %{done}")
        self.label(slow)

    def declare_fp(self, func, ty):
        w = 64 if ty == "double" else 32
        if func == "sqrt":
            self.decls.add(f"declare {ty} @llvm.sqrt.f{w}({ty})")
        elif func not in LLVM_FP:
            self.decls.add(f"declare {ty} @llvm.fma.f{w}({ty}, {ty}, {ty})")

    def bitmanip(self, name, rd, rs1, rs2, imm):
        """Zba, Zbb, Zbs, Zicond (BITMANIP): an intrinsic where LLVM has the operation, plain IR
        otherwise; a W form works in i32 and sign-extends."""
        alu, with_imm, w32, uw = BITMANIP[name]
        t = "i32" if w32 else "i64"
        a = self.reg(rs1)
        if uw:
            a = self.op(f"and i64 {a}, 4294967295")
        b = None if alu in isa.UNARY_OPS else str(imm) if with_imm else self.reg(rs2)
        if w32:
            a = self.op(f"trunc i64 {a} to i32")
            if b is not None:
                b = self.op(f"trunc i64 {b} to i32")
        fn = LLVM_BITMANIP.get(alu)
        if fn is not None:
            if fn in ("ctlz", "cttz"):          # not poison for 0: 32 / 64 then, as the spec says
                params, args = f"{t}, i1", f"{t} {a}, i1 false"
            elif fn in ("ctpop", "bswap"):
                params, args = t, f"{t} {a}"
            elif fn in ("fshl", "fshr"):        # a funnel shift of a with itself: a rotate, by b mod 32 / 64
                params, args = f"{t}, {t}, {t}", f"{t} {a}, {t} {a}, {t} {b}"
            else:                               # smin smax umin umax
                params, args = f"{t}, {t}", f"{t} {a}, {t} {b}"
            self.decls.add(f"declare {t} @llvm.{fn}.{t}({params})")
            r = self.op(f"call {t} @llvm.{fn}.{t}({args})")
        elif alu in SHADD or alu == "add":                          # add: add.uw
            r = self.op(f"add i64 {self.op(f'shl i64 {a}, {SHADD.get(alu, 0)}')}, {b}")
        elif alu == "sll":                                           # slli.uw
            r = self.op(f"shl i64 {a}, {b}")
        elif alu in ("andn", "orn"):
            nb = self.op(f"xor i64 {b}, -1")
            r = self.op(f"{'and' if alu == 'andn' else 'or'} i64 {a}, {nb}")
        elif alu == "xnor":
            r = self.op(f"xor i64 {self.op(f'xor i64 {a}, {b}')}, -1")
        elif alu in ("bclr", "bext", "binv", "bset"):
            sh = self.op(f"and i64 {b}, 63")
            if alu == "bext":
                r = self.op(f"and i64 {self.op(f'lshr i64 {a}, {sh}')}, 1")
            else:
                bit = self.op(f"shl i64 1, {sh}")
                if alu == "bclr":
                    r = self.op(f"and i64 {a}, {self.op(f'xor i64 {bit}, -1')}")
                else:
                    r = self.op(f"{'xor' if alu == 'binv' else 'or'} i64 {a}, {bit}")
        elif alu in ("czero.eqz", "czero.nez"):
            zero = self.op(f"icmp {'eq' if alu == 'czero.eqz' else 'ne'} i64 {b}, 0")
            r = self.op(f"select i1 {zero}, i64 0, i64 {a}")
        elif alu in ("sext.b", "sext.h"):
            n = 8 if alu == "sext.b" else 16
            r = self.op(f"sext i{n} {self.op(f'trunc i64 {a} to i{n}')} to i64")
        elif alu == "zext.h":
            r = self.op(f"and i64 {a}, 65535")
        else:  # orc.b: per byte, 0xFF where it is not zero
            v = self.op(f"bitcast i64 {a} to <8 x i8>")
            nz = self.op(f"icmp ne <8 x i8> {v}, zeroinitializer")
            r = self.op(f"bitcast <8 x i8> {self.op(f'sext <8 x i1> {nz} to <8 x i8>')} to i64")
        if w32:
            r = self.op(f"sext i32 {r} to i64")
        self.setreg(rd, r)

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

    def address(self, pc, va, size, kind):
        """-> the RAM offset of an aligned RAM access at va that hits the TLB; other accesses leave
        the region before this instruction (the loop takes its slow path)."""
        data_vm, dctx = self.mode.data_vm, self.mode.data_ctx
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
        size, signed = LOADS[name] if name in LOADS else (FP_LOADS[name], False)
        off, _ = self.address(pc, self.op(f"add i64 {self.reg(rs1)}, {imm}"), size, TLB_LOAD)
        p = self.op(f"getelementptr i8, ptr %mem, i64 {off}")
        t = f"i{8 * size}"
        v = self.op(f"load {t}, ptr {p}, align 1")
        if size < 8:
            v = self.op(f"{'sext' if signed else 'zext'} {t} {v} to i64")
        if name == "flw":
            v = self.op(f"or i64 {v}, {NAN_BOX}")          # a single, NaN-boxed
        self.setreg(rd, v)

    def store(self, pc, npc, name, rs1, rs2, imm):
        size = STORES[name] if name in STORES else FP_STORES[name]
        off, pa = self.address(pc, self.op(f"add i64 {self.reg(rs1)}, {imm}"), size, TLB_STORE)
        v = self.reg(rs2)
        t = f"i{8 * size}"
        if size < 8:
            v = self.op(f"trunc i64 {v} to {t}")
        p = self.op(f"getelementptr i8, ptr %mem, i64 {off}")
        self.emit(f"store {t} {v}, ptr {p}, align 1")
        self.count()
        return self.stored(npc, off, pa, size)

    def cbo_zero(self, pc, npc, rs1):
        """cbo.zero (Zicboz, in a region compiled while it is enabled: Mode.cbze): a store of zeros to
        the cache block holding x[rs1], as exec_cbo does it; the block's address goes through the store
        path (TLB, RAM; anything else, a fault included, leaves for the loop before the instruction)."""
        va = self.op(f"and i64 {self.reg(rs1)}, {-CACHE_BLOCK_SIZE}")
        off, pa = self.address(pc, va, CACHE_BLOCK_SIZE, TLB_STORE)
        p = self.op(f"getelementptr i8, ptr %mem, i64 {off}")
        self.decls.add("declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)")
        self.emit(f"call void @llvm.memset.p0.i64(ptr {p}, i8 0, i64 {CACHE_BLOCK_SIZE}, i1 false)")
        self.count()
        return self.stored(npc, off, pa, CACHE_BLOCK_SIZE)

    def stored(self, npc, off, pa, size):
        """After a store of size bytes at RAM offset off (physical address pa): the store hooks if its
        page has flags (leaving for the loop after the instruction, REGION_HOOKS), else on to npc.
        -> True when control falls through to npc."""
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
