"""Compiling a region: the job (everything the compiler needs, copied from the hart), its machine code
(an MCJIT engine), the LLVM pipeline, and the compiler thread shared by every hart."""
import llvmlite.binding as llvm

from emu import isa
from emu.mmu import PAGE_MASK
from emu.state import ST_REGION_READY
from emu.regions.explore import explore, MAX_GUESSED
from emu.regions.ir import IR, O

OPT_LEVEL = 2            # LLVM code generation
PIPELINE = ("add_sroa_pass", "add_instruction_combine_pass", "add_simplify_cfg_pass", "add_new_gvn_pass",
            "add_instruction_combine_pass", "add_simplify_cfg_pass")


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

    def __init__(self, pc, paddr, code, mode, stops, epoch, isa_mask):
        self.pc, self.paddr, self.code, self.mode, self.key = pc, paddr, code, mode, mode.key
        self.isa_mask = isa_mask         # the hart's extensions (st[ST_ISA]): decoded as the loop does
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
        o, rd, rs1, rs2, imm, ilen = isa.decode_for(w, self.isa_mask)
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


_WORKER = None


def worker():
    """The compiler thread (started on the first request)."""
    global _WORKER
    if _WORKER is None:
        _WORKER = Worker()
    return _WORKER


def build(job):
    """Explore, write the IR, compile: job.fn (or job.error; job.fn None = nothing to compile)."""
    import time
    t0 = time.perf_counter()
    try:
        stop = job.stop if any(job.stops) else None
        # under Sv39 every access carries an inline TLB lookup, so the same compile time buys
        # about half the instructions: guess less
        insns, leaders = explore(job.decode, job.pc, job.page_v, stop,
                                 MAX_GUESSED // 2 if job.mode.data_vm else MAX_GUESSED, job.mode.fp,
                                 job.mode.cbze)
        if leaders:
            name = f"region_{job.page_p:x}_{job.pc & 0xFFF:x}"
            ir = IR(name, insns, leaders, job.mode, job.page_p, job.page_v)
            ir.build()
            tm = _target()
            code = Code()
            code.context = llvm.create_context()    # not Numba's: this may run beside it
            mod = llvm.parse_assembly(ir.text(), context=code.context)
            mod.verify()
            optimize(mod, tm)
            code.engine = llvm.create_mcjit_compiler(mod, tm)
            code.engine.finalize_object()
            job.fn = code.engine.get_function_address(name)
            job.engine, job.insns, job.leaders = code, insns, leaders
    except Exception as e:          # noqa: BLE001 (see compile())
        job.error = e
    job.seconds = time.perf_counter() - t0

def _target():
    """A target machine for one engine (an MCJIT engine owns its target machine and frees it
    with itself: sharing one between engines crashes when the first is freed)."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
        opt=OPT_LEVEL, jit=True)

def optimize(mod, tm):
    """A short pipeline: the obvious clean-ups.  The full -O2 pipeline gave no faster code
    here and took 20x longer (0.2 s for a 150-instruction region)."""
    pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=0))
    fpm = llvm.create_new_function_pass_manager()
    for add in PIPELINE:
        getattr(fpm, add)()
    for f in mod.functions:
        fpm.run(f, pb)
