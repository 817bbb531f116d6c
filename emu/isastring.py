"""ISA strings (numbavm --isa STRING): which extensions the hart has, as a bit mask, and back.

A selection is an int, the hart's st[ST_ISA] (emu/state.py): the single-letter extensions at
their misa bit (bit 0 = A ... bit 25 = Z, so misa's extension field is the mask's low 26 bits),
the multi-letter ones from bit MULTI_BASE on.  emu/isa.py gives every instruction row the
extension it belongs to; the decoder turns an instruction of an extension the selection lacks
into an illegal instruction (isa.decode_for), and emu/csr.py hides the CSRs and fields of the
missing ones.

parse() reads a string as the ISA naming conventions of the unprivileged spec write it (rv64,
the base i, single letters, g = imafd_zicsr_zifencei, then _-separated multi-letter Z and S
extensions), case-insensitively, and refuses anything the hart cannot be (IsaError: one line
naming the problem).  canonical() writes a selection back in the canonical order Linux and the
spec expect: the letters in IMAFDQC order, then the Z extensions by their category letter (the
single-letter order: Zi before Zb) and alphabetically within it, then the S extensions
alphabetically.

Always present, whatever the string says, because the hart cannot be without them: Zicsr (the
privileged architecture needs the CSR instructions; Spike does the same) and the counters,
Zicntr and Zihpm (cycle/time/instret, hpmcounter3..31 reading zero): Linux reads time without
asking, and takes the counters from an `i` in riscv,isa anyway.  M-, S- and U-mode are always
there too (misa's S and U).  Pure Python: imports nothing.
"""

MXL_64 = 2                        # misa.MXL for RV64
MULTI_BASE = 26                   # the first bit of the multi-letter extensions


class IsaError(ValueError):
    """An ISA string the hart cannot be: its message is one line naming the problem."""


# the single-letter extensions numbavm implements, in canonical order
LETTERS = "imafdc"
# the multi-letter ones, in canonical order (see canonical()); each has a bit from MULTI_BASE on
MULTI = ("zicbom", "zicbop", "zicboz", "zicntr", "zicond", "zicsr", "zifencei", "zihintpause", "zihpm",
         "zba", "zbb", "zbs", "sstc", "svinval", "svpbmt")


def bit(name):
    """The selection bit of an extension ('m', 'zba', ...)."""
    if len(name) == 1:
        return 1 << (ord(name) - ord("a"))
    return 1 << (MULTI_BASE + MULTI.index(name))


# what each extension needs (the specs' dependencies)
REQUIRES = {"f": ("zicsr",), "d": ("f",), "zicntr": ("zicsr",), "zihpm": ("zicsr",)}
# the hart has these whatever the string says (see the module docstring)
ALWAYS = ("zicsr", "zicntr", "zihpm")
# misa's S and U: the hart always has supervisor and user mode
MISA_S_U = bit("s") | bit("u")
LETTER_MASK = (1 << MULTI_BASE) - 1

# standard names numbavm knows but does not implement (for a clearer error than "unknown")
NOT_IMPLEMENTED_LETTERS = "eqlbkjtpvnh"
NOT_IMPLEMENTED = frozenset((
    "zfh", "zfhmin", "zfa", "zfinx", "zdinx", "zhinx", "zhinxmin", "zfbfmin", "zbc", "zbkb", "zbkc", "zbkx",
    "zkn", "zknd", "zkne", "zknh", "zks", "zksed", "zksh", "zkr", "zkt", "zk", "zmmul", "zaamo", "zalrsc",
    "zacas", "zawrs", "zabha", "ztso", "zca", "zcb", "zcd", "zcf", "zcmp", "zcmt", "zcmop", "zimop",
    "zicfilp", "zicfiss", "zihintntl", "zicclsm", "ziccif", "ziccrse", "ziccamoa", "zic64b", "za64rs",
    "za128rs", "zama16b", "zve32x", "zve32f", "zve64x", "zve64f", "zve64d", "zvfh", "zvfhmin", "zvbb",
    "zvbc", "zvkb", "zvkg", "zvkn", "zvknc", "zvkned", "zvkng", "zvknha", "zvknhb", "zvks", "zvksc",
    "zvksed", "zvksg", "zvksh", "zvkt", "zvl32b", "zvl64b", "zvl128b", "zvl256b", "zvl512b", "zvl1024b",
    "smaia", "ssaia", "smstateen", "ssstateen", "sscofpmf", "smepmp", "smcntrpmf", "smrnmi", "smcsrind",
    "sscsrind", "sdtrig", "sdext", "svnapot", "svadu", "svade", "svvptc", "sscounterenw", "sstvala",
    "sstvecd", "ssu64xl", "ssccptr", "sha", "shcounterenw", "shgatpa", "shtvala", "shvsatpa", "shvstvala",
    "shvstvecd", "smmpm", "smnpm", "ssnpm", "supm", "sspm"))

FULL = sum(bit(e) for e in LETTERS) | sum(bit(e) for e in MULTI)


def parse(text):
    """An ISA string -> the selection (an int mask).  Raises IsaError (one line) for anything but
    rv64 with i, an extension numbavm does not know or implement, or one whose dependency is missing."""
    if not isinstance(text, str):
        raise IsaError(f"the ISA must be a string like rv64gc, not {type(text).__name__}")
    s = text.strip().lower()
    if not s.startswith("rv"):
        raise IsaError(f"{text!r} is not an ISA string: it starts with rv64 (e.g. rv64imac, rv64gc_zba_zbb_zbs)")
    digits = ""
    for ch in s[2:]:
        if not ch.isdigit():
            break
        digits += ch
    if digits != "64":
        raise IsaError(f"{text!r}: numbavm is RV64 only" + (f" (rv{digits} is not supported)" if digits else
                                                                  " (write rv64...)"))
    letters, *multis = s[4:].split("_")
    if not letters:
        raise IsaError(f"{text!r}: the base ISA i is required (e.g. rv64i, rv64imac, rv64gc)")
    if letters[0] not in "ig":
        why = "rv64e (the embedded base) is not implemented" if letters[0] == "e" else "the base ISA i is required"
        raise IsaError(f"{text!r}: {why}: the letters after rv64 start with i or g (e.g. rv64imac, rv64gc)")
    mask = 0
    for ch in letters:
        if ch == "g":
            mask |= sum(bit(e) for e in "imafd") | bit("zicsr") | bit("zifencei")
        elif ch in LETTERS:
            mask |= bit(ch)
        elif ch in NOT_IMPLEMENTED_LETTERS:
            raise IsaError(f"{text!r}: numbavm does not implement the {ch.upper()} extension")
        elif ch in "zsx":
            raise IsaError(f"{text!r}: a multi-letter extension follows an underscore (e.g. rv64gc_zba)")
        elif ch.isdigit():
            raise IsaError(f"{text!r}: extension version numbers are not supported (write rv64gc, not rv64i2p1...)")
        else:
            raise IsaError(f"{text!r}: unknown extension {ch!r}")
    for name in multis:
        if not name:
            raise IsaError(f"{text!r}: an empty extension name (two underscores, or one at the end)")
        if name in MULTI:
            mask |= bit(name)
        elif name in NOT_IMPLEMENTED:
            raise IsaError(f"{text!r}: numbavm does not implement {name}")
        elif name[0] == "x":
            raise IsaError(f"{text!r}: numbavm implements no vendor extension such as {name}")
        else:
            raise IsaError(f"{text!r}: unknown extension {name!r}")
    for name in ALWAYS:
        mask |= bit(name)
    for name, needs in REQUIRES.items():
        for need in needs:
            if mask & bit(name) and not mask & bit(need):
                raise IsaError(f"{text!r}: {name} requires {need}")
    return mask


def names(mask):
    """The extensions of a selection, in canonical order."""
    return [e for e in LETTERS if mask & bit(e)] + [e for e in MULTI if mask & bit(e)]


def canonical(mask):
    """A selection as the hart reports it (riscv,isa, /proc/cpuinfo): rv64imac_zicntr_zicsr_zihpm, ..."""
    letters = "".join(e for e in LETTERS if mask & bit(e))
    return "_".join([f"rv64{letters}"] + [e for e in MULTI if mask & bit(e)])


def misa(mask):
    """misa's value for a selection (an unsigned 64-bit int): MXL = 2, the letters, S and U."""
    return (MXL_64 << 62) | (mask & LETTER_MASK) | MISA_S_U


FULL_STRING = canonical(FULL)
