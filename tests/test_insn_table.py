"""emu/isa.py's instruction table (ENCODINGS, COMPRESSED): its shape, and each row's properties
against what the instructions do.

Everything that gives an instruction its meaning outside emu/loop.py and emu/cold.py is derived
from its row: the op numbers and dispatch groups, the decoder's arrays, the per-op arrays
(MEM_SIZE, ...), the region writer's tables and the cold ops' constants.  So a wrong property
would be wrong everywhere at once, consistently.  These tests check the rows against what they
cannot be derived from: the spec's naming (lb/lbu, the W forms, ...), the F and D listing
(tests/fd_spec.py: f-register operands, rounding-mode fields, formats), Python models of the
operations written from the spec, and the instructions run on a hart, from the loop alone and
with every hot instruction compiled as a native region.
"""
import os
import random
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvenc  # noqa: E402
import fd_spec  # noqa: E402
import zb_spec  # noqa: E402
from rvenc import s64  # noqa: E402

from emu import isa, loop, cold, memory, debug  # noqa: E402
from emu.regions import ir as regions  # noqa: E402
from emu import state as S  # noqa: E402
from emu.hart import Hart, jit_enabled  # noqa: E402
from regionmode import force_regions  # noqa: E402

G = isa.Group
Fp = isa.Fp
HOT = [r for r in isa.ENCODINGS if not r.cold]
NATIVE = [r for r in HOT if not r.fp]     # what native regions translate (F/D: the loop and emu/fpu.py)
FP_ROWS = [r for r in isa.ENCODINGS if r.group == G.FP]
BASE = 0x8000_0000
DATA = BASE + 0x4000          # a page of its own: no code flags there
M64 = (1 << 64) - 1


# --------------------------------------------------------------------------- the table's shape

def test_op_numbers_are_the_rows_in_group_order():
    assert isa.OPS == tuple(r.name for r in isa.ENCODINGS) + ("illegal",)
    assert all(isa.OP[r.name] == op for op, r in enumerate(isa.ENCODINGS))
    assert isa.ILLEGAL == len(isa.ENCODINGS)
    groups = [r.group for r in isa.ENCODINGS]
    assert groups == sorted(groups) and set(groups) == set(G)
    for r in isa.ENCODINGS:
        assert r.cold == (r.group >= G.SYSTEM)


def test_the_loops_range_tests_pick_each_rows_group():
    """The loop's hierarchical dispatch (op <= LAST_ALU_IMM, ... else cold), replayed per op."""
    bounds = [(loop.LAST_ALU_IMM, G.ALU_IMM), (loop.LAST_ALU_REG, G.ALU_REG), (loop.LAST_MUL, G.MUL),
              (loop.LAST_CTRL, G.CTRL), (loop.LAST_LOAD, G.LOAD), (loop.LAST_STORE, G.STORE),
              (loop.LAST_FP, G.FP)]
    for op, r in enumerate(isa.ENCODINGS):
        group = next((g for last, g in bounds if op <= last), None)
        assert group == (None if r.cold else r.group), r.name
    assert isa.FIRST_COLD == loop.LAST_FP + 1
    assert (isa.FIRST_LOAD, isa.LAST_LOAD) == (isa.OP["lb"], isa.OP["fld"])
    assert (isa.FIRST_STORE, isa.LAST_STORE) == (isa.OP["sb"], isa.OP["fsd"])
    assert [isa.OPS[op] for op in range(isa.FIRST_FP, isa.LAST_FP + 1)] == [r.name for r in FP_ROWS]
    assert [isa.OPS[op] for op in range(isa.FIRST_ZICSR, isa.LAST_ZICSR + 1)] == [
        r.name for r in isa.ENCODINGS if r.group == G.ZICSR]
    assert [isa.OPS[op] for op in range(isa.FIRST_A, isa.LAST_A + 1)] == [
        r.name for r in isa.ENCODINGS if r.group == G.A]


def test_every_hot_op_has_its_loop_constant():
    """emu/loop.py names each hot op after its row (ADDIW, FENCE_I style): that is how an
    instruction's meaning is found, and what its dispatch chain compares with.  Not the FP group's:
    the loop hands the whole group to emu/fpu.py, which goes by the rows' operation (Insn.alu)."""
    for r in HOT:
        if r.group == G.FP:
            assert r.alu in isa.FP_OPS, r.name
            continue
        assert getattr(loop, r.name.upper().replace(".", "_")) == isa.OP[r.name], r.name


def test_32bit_rows_are_disjoint_so_scan_order_does_not_matter():
    rows = isa.ENCODINGS
    for r in rows:
        assert r.match & ~r.mask == 0 and r.mask & 0x7F == 0x7F, r.name
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            assert (a.mask & b.mask) & (a.match ^ b.match) != 0, (a.name, b.name)


def test_compressed_rows_name_an_instruction():
    for r in isa.COMPRESSED:
        assert r.match & ~r.mask == 0 and r.mask & 3 == 3 and r.match & 3 != 3, r.name
        assert r.expands in isa.OP and r.expands != "illegal", r.name
        assert int(isa.C_OP[isa.COMPRESSED.index(r)]) == isa.OP[r.expands]


def _width_by_name(r):
    """The access width the spec's names say: lb/lh/lw/ld(u), sb.., flw/fsd, lr.w/amoadd.d, ..."""
    if r.group in (G.LOAD, G.STORE):
        return {"b": 1, "h": 2, "w": 4, "d": 8}[r.name.removeprefix("f")[1]]
    if r.group == G.A:
        return {"w": 4, "d": 8}[r.name.split(".")[1]]
    return 0


def _fcvt_int(r):
    """The integer type of an fcvt to or from one (w, wu, l, lu: fcvt.w.s, fcvt.d.lu), else None."""
    parts = r.name.split(".")
    if parts[0] != "fcvt":
        return None
    return next((p for p in parts[1:] if p not in ("s", "d")), None)


def test_row_properties_agree_with_the_spec_names():
    for r in isa.ENCODINGS:
        assert r.width == _width_by_name(r), r.name
        alu_group = r.group in (G.ALU_IMM, G.ALU_REG, G.MUL)
        if r.group == G.FP:
            # the fcvt rows to and from integers: W for 32 bits (w, wu), signed (w, l); fmv.x.w's
            # and the rest's 32 bits are their format's (Fp.DOUBLE), not a W form
            it = _fcvt_int(r)
            assert r.w32 == (it in ("w", "wu")) and r.signed == (it in ("w", "l")), r.name
        else:
            assert r.signed == (r.group == G.LOAD and not r.fp and not r.name.endswith("u")), r.name
            # Zba's .uw forms zero-extend rs1 (uw): not W forms
            assert r.w32 == (alu_group and r.name.endswith("w") and not r.name.endswith(".uw")), r.name
        assert r.uw == r.name.endswith(".uw"), r.name
        if alu_group and r.name not in ("lui", "auipc"):
            assert r.alu in isa.ALU_OPS, r.name
            # an operation of rs1 alone (clz, rev8, ...) has no second operand, immediate or not
            assert r.imm == (r.group == G.ALU_IMM and r.alu not in isa.UNARY_OPS), r.name
            base = r.name.removesuffix(".uw")                     # slli.uw -> slli
            base = base[:-1] if r.w32 else base                   # addiw -> addi
            if base in ("slt", "sltu", "slti", "sltiu"):
                assert r.alu == "slt", r.name
            else:
                assert r.alu == (base[:-1] if r.imm else base), r.name     # addi -> add
        elif r.name.startswith("cbo."):
            assert r.alu == r.name[4:] and not r.imm, r.name       # cbo.zero: zero
        elif r.group in (G.CTRL, G.LOAD, G.STORE, G.SYSTEM) or r.name in ("lui", "auipc"):
            assert r.alu == "" and not r.imm, r.name
        if r.alu == "slt" or (r.group == G.CTRL and r.name not in ("jal", "jalr")):
            assert r.cond in isa.CONDS, r.name
            assert r.cond.endswith("u") == r.name.endswith("u"), r.name
        else:
            assert r.cond == "", r.name
        if r.group == G.ZICSR:
            assert r.alu == {"w": "write", "s": "set", "c": "clear"}[r.name[4]], r.name
            assert r.imm == r.name.endswith("i"), r.name
        if r.group == G.A:
            assert r.alu == r.name.split(".")[0].removeprefix("amo"), r.name
        if r.group == G.FP:
            assert r.alu == _fp_alu_by_name(r.name) and not r.imm, r.name


def _fp_alu_by_name(name):
    """An FP row's operation (isa.FP_OPS) as its name says: fadd.s add, fnmsub.d nmsub, fcvt.w.s f2i,
    fcvt.d.lu i2f, fcvt.s.d f2f, fmv.x.w mv.x.f, fmv.d.x mv.f.x."""
    base, *fmts = name.split(".")
    if base == "fcvt":
        return "f2f" if set(fmts) <= {"s", "d"} else "i2f" if fmts[0] in ("s", "d") else "f2i"
    if base == "fmv":
        return "mv.x.f" if fmts[0] == "x" else "mv.f.x"
    return base[1:]


def test_fp_rows_against_the_spec_listing():
    """Every F/D row (and only those) has the Fp flags of the spec's listing (tests/fd_spec.py): its
    f-register operands, a rounding-mode field exactly where the mask leaves bits 14:12 free (and its
    format: F_RM, F_R4 with rs3), the fmt field's D; and flw/fld/fsw/fsd are loads and stores."""
    regs = {"rd": Fp.RD, "rs1": Fp.RS1, "rs2": Fp.RS2, "rs3": Fp.RS3}
    assert {r.name for r in isa.ENCODINGS if r.fp} == set(fd_spec.FD32)
    for r in isa.ENCODINGS:
        spec = fd_spec.FD.get(r.name)
        if spec is None:
            assert r.fp == 0 and r.group != G.FP, r.name
            continue
        assert {o for o, f in regs.items() if r.fp & f} == fd_spec.fregs(r.name), r.name
        assert bool(r.fp & Fp.RM) == spec.rm == (r.mask & 0x7000 == 0), r.name
        fmt_d = r.width == 8 if r.width else (r.match >> 25) & 3 == 1        # fmt (bits 26:25): D = 01
        assert bool(r.fp & Fp.DOUBLE) == spec.double == fmt_d, r.name
        assert r.group == {"I": G.LOAD, "S": G.STORE}.get(spec.form, G.FP), r.name
        assert r.fmt == {"I": isa.F_I, "S": isa.F_S, "R4": isa.F_R4}.get(
            spec.form, isa.F_RM if spec.rm else isa.F_R), r.name
    for c in isa.COMPRESSED:
        assert (c.name in fd_spec.FD) == (c.expands in ("fld", "fsd")), c.name


def test_per_op_arrays():
    assert isa.MEM_SIZE.shape == isa.MEM_SIGNED.shape == (len(isa.OPS),)
    for op, r in enumerate(isa.ENCODINGS):
        assert isa.MEM_SIZE[op] == r.width and isa.MEM_SIGNED[op] == int(r.signed), r.name
    assert isa.MEM_SIZE[isa.ILLEGAL] == 0
    assert memory.MEM_SIZE is isa.MEM_SIZE and loop.MEM_SIZE is isa.MEM_SIZE
    assert cold.AMO_FUNC[isa.OP["amominu.d"]] == cold.A_MINU and cold.AMO_FUNC[isa.OP["lr.w"]] == cold.A_LR
    assert cold.CSR_KIND[isa.OP["csrrci"]] == 2 and cold.CSR_UIMM[isa.OP["csrrci"]] == 1


def test_region_tables_are_the_hot_rows():
    """emu/regions/ir.py translates every hot instruction, each from its row's properties."""
    assert regions.TRANSLATED == {r.name for r in NATIVE}
    assert regions.LOADS["lhu"] == (2, False) and regions.LOADS["lw"] == (4, True)
    assert regions.STORES == {"sb": 1, "sh": 2, "sw": 4, "sd": 8}
    assert regions.BRANCHES["bgeu"] == "uge" and regions.SET_LESS["sltiu"] == ("ult", True)
    assert regions.ALU["sraiw"] == ("ashr", True, True) and regions.ALU["mulw"] == ("mul", False, True)
    assert regions.DIVS["remuw"] == (False, True, True) and regions.MUL_HIGH["mulhsu"] == ("sext", "zext")
    assert "amoadd.w" not in regions.ALU and "csrrw" not in regions.TRANSLATED


# --------------------------------------------------------------------------- models from the spec

def sx(v, n):
    v &= (1 << n) - 1
    return v - (1 << n) if v >> (n - 1) else v


def ux(v, n):
    return v & ((1 << n) - 1)


def compare(cond, a, b):
    if cond.endswith("u"):
        a, b, cond = ux(a, 64), ux(b, 64), cond[:-1]
    return {"eq": a == b, "ne": a != b, "lt": a < b, "ge": a >= b}[cond]


def alu_model(r, a, b):
    """rd for row r with operands a (rs1) and b (rs2 or the immediate), from the spec's text:
    W forms work on the low 32 bits and sign-extend; shifts use the low 5/6 bits of b; division
    by zero gives all ones / the dividend, MIN / -1 gives MIN / 0 (M, Table 7.1)."""
    n = 32 if r.w32 else 64
    sa, sb, ua, ub = sx(a, n), sx(b, n), ux(a, n), ux(b, n)
    sh = ub & (n - 1)
    op = r.alu
    if op == "slt":
        return int(compare(r.cond, a, b))
    if op in ("div", "rem") and sb != 0:
        q = abs(sa) // abs(sb) * (1 if (sa < 0) == (sb < 0) else -1)
        v = q if op == "div" else sa - sb * q
    else:
        v = {"add": lambda: sa + sb, "sub": lambda: sa - sb, "xor": lambda: ua ^ ub, "or": lambda: ua | ub,
             "and": lambda: ua & ub, "sll": lambda: ua << sh, "srl": lambda: ua >> sh, "sra": lambda: sa >> sh,
             "mul": lambda: sa * sb, "mulh": lambda: (sa * sb) >> 64, "mulhsu": lambda: (sa * ub) >> 64,
             "mulhu": lambda: (ua * ub) >> 64, "div": lambda: -1, "rem": lambda: sa,
             "divu": lambda: ua // ub if ub else -1, "remu": lambda: ua % ub if ub else ua}[op]()
    return s64(sx(v, n))


CORNERS = [0, 1, -1, 2, -2, 31, 32, 63, 64, -(1 << 63), (1 << 63) - 1, 0x7FFFFFFF, 0x80000000, -(1 << 31),
           0xFFFFFFFF, 1 << 32, 0x5555_5555_5555_5555, -0x0123_4567_89AB_CDEF]


def values(rng, n):
    return [rng.choice(CORNERS) if rng.random() < 0.6 else s64(rng.getrandbits(64)) for _ in range(n)]


# --------------------------------------------------------------------------- running them

ITER = 40
K = 9                 # cases per program: registers x1..x27 (three each), x31 counts


def run(body, setup, regs, mode, data=None):
    """body (instruction bytes, K of them at most) repeated ITER times in a counted loop, from the
    loop alone or with regions compiled at once -> the hart."""
    code = body + rvenc.assemble([
        ("addi", dict(rd=31, rs1=31, imm=-1)),
        ("bne", dict(rs1=31, rs2=0, imm=-(len(body) + 4))),
        ("jal", dict(rd=0, imm=0)),
    ])
    h = Hart(1 << 16, BASE)
    force_regions(h, mode == "regions", poll=16)
    h.write_phys(BASE, code)
    if data is not None:
        h.write_phys(DATA, data)
    for r, v in regs.items():
        h.regs[r] = s64(v)                 # r: an index into x[] (f registers from F_BASE)
    h.x[31] = ITER
    setup(h)
    n = len(body) // 4
    h.run(ITER * (n + 2))
    assert h.pc == BASE + len(body) + 8 and int(h.x[31]) == 0
    if mode == "regions":
        assert h.regions.compiled > 0 and h.st[S.ST_REGION_ENTRIES] > 0, "no region ran"
    return h


MODES = ["loop", "regions"] if jit_enabled() else ["loop"]
ALU_ROWS = [r for r in NATIVE if r.alu and r.name not in zb_spec.ZB]     # Zb*, Zicond: tests/test_bitmanip.py


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", ALU_ROWS, ids=[r.name for r in ALU_ROWS])
def test_alu_row_properties_are_what_it_computes(row, mode):
    rng = random.Random(row.name)
    a = values(rng, K)
    if row.imm:
        key = "shamt" if row.fmt in (isa.F_SH5, isa.F_SH6) else "imm"
        dom = rvenc.DOMAINS[row.name][key]
        b = [dom[0], dom[-1]] + [rng.choice(dom) for _ in range(K - 2)]
    else:
        b = values(rng, K)
    body, regs = b"", {}
    for k in range(K):
        rs1, rs2, rd = 3 * k + 1, 3 * k + 2, 3 * k + 3
        regs[rs1] = a[k]
        if row.imm:
            body += rvenc.enc_bytes(row.name, rd=rd, rs1=rs1, **{key: b[k]})
        else:
            regs[rs2] = b[k]
            body += rvenc.enc_bytes(row.name, rd=rd, rs1=rs1, rs2=rs2)
    h = run(body, lambda h: None, regs, mode)
    for k in range(K):
        assert int(h.x[3 * k + 3]) == alu_model(row, a[k], b[k]), (row.name, hex(a[k] & M64), hex(b[k] & M64))


BRANCH_ROWS = [r for r in HOT if r.group == G.CTRL and r.cond]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", BRANCH_ROWS, ids=[r.name for r in BRANCH_ROWS])
def test_branch_row_condition_is_when_it_is_taken(row, mode):
    """Case k adds 1 << k to x30 when its branch falls through."""
    rng = random.Random(row.name)
    pairs = [(0, 0), (-1, 1), (1, -1), (-(1 << 63), (1 << 63) - 1)] + [
        (v, v) if rng.random() < 0.2 else (v, w) for v, w in zip(values(rng, K - 4), values(rng, K - 4))]
    body, regs = b"", {30: 0}
    for k, (a, b) in enumerate(pairs):
        regs[2 * k + 1], regs[2 * k + 2] = a, b
        body += rvenc.assemble([(row.name, dict(rs1=2 * k + 1, rs2=2 * k + 2, imm=8)),
                                ("addi", dict(rd=30, rs1=30, imm=1 << k))])
    h = run(body, lambda h: None, regs, mode)
    expect = ITER * sum(1 << k for k, (a, b) in enumerate(pairs) if not compare(row.cond, a, b))
    assert int(h.x[30]) == expect, row.name


MEM_ROWS = [r for r in HOT if r.group in (G.LOAD, G.STORE)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", MEM_ROWS, ids=[r.name for r in MEM_ROWS])
def test_memory_row_width_and_sign(row, mode):
    """Loads: x[rd] is `width` bytes, sign- or zero-extended; stores write exactly `width` bytes.
    flw/fld/fsw/fsd: rd / rs2 is an f register (x[F_BASE + n]); flw NaN-boxes the single (its
    upper 32 bits all ones), fsw stores the register's low 32 bits as they are."""
    rng = random.Random(row.name)
    data = bytes(rng.choice((0x00, 0x7F, 0x80, 0xFF)) if rng.random() < 0.3 else rng.getrandbits(8)
                 for _ in range(16 * K))
    body, regs = b"", {30: DATA}
    v = values(rng, K)
    reg = (lambda k: isa.F_BASE + k + 1) if row.fp else (lambda k: k + 1)    # the data register's x[] index
    for k in range(K):
        off = 16 * k + (rng.randrange(16 // row.width) * row.width)
        if row.group == G.LOAD:
            body += rvenc.enc_bytes(row.name, rd=k + 1, rs1=30, imm=off)
        else:
            regs[reg(k)] = v[k]
            body += rvenc.enc_bytes(row.name, rs2=k + 1, rs1=30, imm=off)
        regs[k + 11] = off
    h = run(body, lambda h: None, regs, mode, data)
    mem = bytes(h.ram[DATA - BASE:DATA - BASE + 16 * K])
    for k in range(K):
        off = int(h.x[k + 11])
        if row.group == G.LOAD:
            want = int.from_bytes(data[off:off + row.width], "little", signed=row.signed)
            if row.fp and row.width == 4:
                want |= M64 ^ 0xFFFF_FFFF                  # NaN-boxed
            assert int(h.regs[reg(k)]) == s64(want), (row.name, off)
        else:
            want = bytearray(data[16 * k:16 * k + 16])
            want[off - 16 * k:off - 16 * k + row.width] = (v[k] & M64).to_bytes(8, "little")[:row.width]
            assert mem[16 * k:16 * k + 16] == bytes(want), (row.name, off)


STORE_ROWS = [r for r in HOT if r.group == G.STORE]


@pytest.mark.parametrize("row", STORE_ROWS, ids=[r.name for r in STORE_ROWS])
def test_store_hooks_see_the_rows_width(row):
    """A store to a flagged page leaves the instruction loop for its hooks with its size (loop.py's
    PENDING_HOOKS path): a write watchpoint records the access it saw."""
    h = Hart(1 << 16, BASE)
    h.stop_regions()
    h.write_phys(BASE, rvenc.enc_bytes(row.name, rs2=5, rs1=6, imm=8))
    h.x[6] = DATA
    debug.set_watches(h, [(DATA, DATA + 4095, debug.WATCH_WRITE)])
    h.run(1)
    assert debug.take_access(h.st)[1:] == (DATA + 8, row.width)


A_ROWS = [r for r in isa.ENCODINGS if r.group == G.A]


def amo_model(r, old, src):
    n = 8 * r.width
    so, ss, uo, us = sx(old, n), sx(src, n), ux(old, n), ux(src, n)
    return {"swap": ss, "add": so + ss, "xor": uo ^ us, "and": uo & us, "or": uo | us, "min": min(so, ss),
            "max": max(so, ss), "minu": min(uo, us), "maxu": max(uo, us)}[r.alu]


@pytest.mark.parametrize("row", A_ROWS, ids=[r.name for r in A_ROWS])
def test_atomic_row_operation_and_width(row):
    """rd gets the old value (sign-extended from `width` bytes); memory gets the row's operation;
    sc after an lr of the same address stores and writes 0."""
    rng = random.Random(row.name)
    for old, src in zip(values(rng, 12), values(rng, 12)):
        rs2 = 0 if row.alu == "lr" else 7
        w = row.match | (rs2 << 20) | (6 << 15) | (5 << 7)
        code = b"" if row.alu != "sc" else (isa.ROW["lr." + row.name[-1]].match | (6 << 15) | (8 << 7)).to_bytes(4, "little")
        code += w.to_bytes(4, "little")
        h = Hart(1 << 16, BASE)
        h.stop_regions()
        h.write_phys(BASE, code)
        h.write_phys(DATA, (old & M64).to_bytes(8, "little"))
        h.x[6], h.x[7] = DATA, s64(src)
        h.run(len(code) // 4)
        assert h.pc == BASE + len(code), row.name
        mem = int.from_bytes(bytes(h.ram[DATA - BASE:DATA - BASE + 8]), "little")
        keep = (old & M64) >> (8 * row.width) << (8 * row.width) if row.width < 8 else 0
        if row.alu == "lr":
            assert int(h.x[5]) == sx(old, 8 * row.width) and mem == old & M64
        elif row.alu == "sc":
            assert int(h.x[5]) == 0 and mem == keep | ux(src, 8 * row.width)
        else:
            assert int(h.x[5]) == sx(old, 8 * row.width), row.name
            assert mem == keep | ux(amo_model(row, old, src), 8 * row.width), (row.name, hex(old), hex(src))


CSR_ROWS = [r for r in isa.ENCODINGS if r.group == G.ZICSR]
MSCRATCH = 0x340


@pytest.mark.parametrize("row", CSR_ROWS, ids=[r.name for r in CSR_ROWS])
def test_zicsr_row_operation_and_source(row):
    """write/set/clear with x[rs1], or with the rs1 field itself for the *i forms; rd = the old value."""
    old, reg = 0x0F0F_00FF_1234_5678, 0x7FFF_0000_0000_001A
    h = Hart(1 << 16, BASE)
    h.stop_regions()
    h.write_phys(BASE, rvenc.csr(row.name, 5, 26, MSCRATCH))      # rs1 = x26 / uimm = 26
    h.csr[MSCRATCH] = old
    h.x[26] = reg
    h.run(1)
    src = 26 if row.imm else reg
    want = {"write": src, "set": old | src, "clear": old & ~src}[row.alu]
    assert int(h.x[5]) == old and int(h.csr[MSCRATCH]) == want, row.name


def test_the_tracers_kind_and_size_of_every_row():
    """lifecycle/debug/trace.py's insn_kind, from the rows, against the spec's names."""
    import re
    from lifecycle.debug import trace as T
    for op, r in enumerate(isa.ENCODINGS):
        n = r.name
        kind, size, csr_n = T.insn_kind(op, 0, MSCRATCH)
        want = (T.K_LOAD if re.fullmatch(r"f?l[bhwd]u?", n) else T.K_STORE if re.fullmatch(r"f?s[bhwd]", n)
                else T.K_LR if n.startswith("lr.") else T.K_SC if n.startswith("sc.")
                else T.K_AMO if n.startswith("amo") else T.K_CSR if n.startswith("csr")
                else T.K_ZERO if n == "cbo.zero"
                else T.K_NORD if (n[0] == "b" and r.group == G.CTRL) or r.group == G.SYSTEM else T.K_PLAIN)
        assert (kind, size) == (want, 64 if n == "cbo.zero" else _width_by_name(r)), n
        assert csr_n == (MSCRATCH if n in ("csrrw", "csrrwi") else -1), n      # rs1 = x0 / uimm 0
        assert T.insn_kind(op, 3, MSCRATCH)[2] == (MSCRATCH if kind == T.K_CSR else -1), n
    assert T.insn_kind(isa.ILLEGAL, 0, 0) == (T.K_NORD, 0, -1)
