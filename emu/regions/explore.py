"""Exploring guest code for a region: from the sampled pc, the instructions this tier translates and
their basic blocks (the region's control-flow graph), inside one 4 KiB page."""
from emu.mmu import PAGE_MASK
from emu.regions.ir import TRANSLATED, FP_TRANSLATED, BRANCHES, X_SINK

MAX_INSNS = 512          # instructions explored into one region
MAX_GUESSED = 256        # ... while it has fewer, the pcs after unconditional jumps too (explore)


def explore(decode, entry, page_v, stop=None, max_guessed=None, fp=False, cbze=False):
    """-> (insns {pc: decoded or None for 'stop here'}, leaders sorted): the region's CFG.
    stop(pc): True where the region must leave for the loop (a debugger's breakpoint).
    fp: FP instructions are translated too (the region is for mstatus.FS Dirty).
    cbze: cbo.zero is too (the region is for a mode where it is enabled).

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
            if d is None or not (d[0] in TRANSLATED or (fp and d[0] in FP_TRANSLATED)
                                 or (cbze and d[0] == "cbo.zero")):
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
    leaders = {p for p in leaders if insns.get(p) is not None}
    return insns, sorted(leaders - entry_only(insns, leaders))


def entry_only(insns, leaders):
    """The leaders that no jump or branch reaches and that an instruction of the region falls through
    into: the sampled pc the region was explored from, when it is inside a loop's body.  They are no
    block starts (nor entries: the loop comes to the block's start first), so such a loop stays one
    block of IR, whose loads LLVM forwards from its stores."""
    targets, falls = set(), set()
    for pc, d in insns.items():
        if d is None:
            continue
        name, _, _, _, imm, ilen = d
        if name in BRANCHES or name == "jal":
            t = (pc + imm) & ((1 << 64) - 1)
            targets.add(t - (1 << 64) if t >> 63 else t)
        if name in BRANCHES or name in ("jal", "jalr"):
            targets.add(pc + ilen)
        else:
            falls.add(pc + ilen)
    return {p for p in leaders if p in falls and p not in targets}
