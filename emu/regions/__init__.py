"""emu.regions -- native regions: hot guest code compiled to host code with LLVM (llvmlite), a second tier above the loop.

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
     cold ops: fences, system, Zicsr, A -- but cbo.zero where it is enabled; a
     page-straddling instruction); and
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
PF_REGION); a region is specialised to the mode it was compiled in (fetch/data
Sv39, the data access context, FP and cbo.zero allowed), which is part of its key.

The package: explore.py (the region's code and blocks), ir.py (LLVM IR), compiler.py (the compile job
and the compiler thread), table.py (Regions: requests, installation, the region table). Part of emu/:
imports only emu/; emu/hart.py starts it (Hart.start_regions).
"""
from emu.regions.ir import RegionError  # noqa: F401  (the package's interface)
from emu.regions.table import Regions, mode_key  # noqa: F401
