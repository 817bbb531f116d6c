"""The hart's regions (class Regions): requests from the loop, installation in the region table
(emu/state.py: REGION_BASE), staleness, statistics; the compile itself is emu/regions/compiler.py."""
import weakref

from emu import isa
from emu.debug import region_stops
from emu.mmu import PAGE_MASK
from emu.state import (ST_RAM_BASE, ST_FETCH_VM, ST_REGION_REQ_PC,
                       ST_REGION_REQ_PADDR, ST_REGION_ON, ST_REGION_HOT, ICACHE_MASK,
                       REGION_BASE, REGION_W, REGION_MASK, RT_PADDR, RT_PC, RT_FN,
                       RT_CODE_LO, RT_CODE_HI, RT_KEY, PF_REGION, HOT_BASE, HOT_MASK,
                       ST_DBG_NBP, ST_REGION_REQ, ST_REGION_READY, ST_ISA)
from emu.state import ST_TRIG_EXEC
from emu.regions import compiler
from emu.regions.compiler import Job
from emu.regions.ir import Mode
from emu.fpu import native_address

MAX_PER_PAGE = 64        # regions compiled for one page (stores into code drop them; it stops there)
HOT_SAMPLES = 256        # default st[ST_REGION_HOT]: ~1M instructions in a window (a Linux boot compiles none)


def mode_key(st, csr):
    """The region-table key of the hart's current mode."""
    return Mode.of(st, csr).key


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
        isa.decode_for(0x13, 0)      # loaded here, not first in the compiler thread

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
            self.in_flight += 1
            compiler.worker().jobs.put((self, job))

    def request(self):
        h = self.hart
        st = h.st
        pc = int(st[ST_REGION_REQ_PC])
        paddr = int(st[ST_REGION_REQ_PADDR])
        page_p = paddr & PAGE_MASK
        mode = Mode.of(st, h.csr)
        if mode.fp:
            native_address()                  # built here, not first in the compiler thread
        key = mode.key
        if (page_p, key) in self.compiling:
            return None                       # asked again before the first one is done: later
        live = [r for r in self.per_page.get(page_p, []) if self.live(r)]
        self.per_page[page_p] = live
        if (any(r[3] == key and pc in r[2] for r in live) or len(live) >= MAX_PER_PAGE
                or self.made.get(page_p, 0) >= 4 * MAX_PER_PAGE):
            self.quiet(paddr)                 # already native (it left for the loop), or enough here
            return None
        stops = (set(), set(), [])
        if int(st[ST_DBG_NBP]) != 0 or int(st[ST_TRIG_EXEC]) != 0:   # breakpoints, code hooks, execute
            # triggers (emu/trigger.py): the region ends before them
            pcs, paddrs, ranges, virtual = region_stops(st)
            if virtual and not int(st[ST_FETCH_VM]):
                self.quiet(paddr)
                return None                   # bare fetches are not cached then (emu/debug.py)
            stops = (pcs, paddrs, ranges)
        off = page_p - int(st[ST_RAM_BASE])
        code = bytes(h.ram[off:off + 4096])
        self.made[page_p] = self.made.get(page_p, 0) + 1
        self.compiling.add((page_p, key))
        return Job(pc, paddr, code, mode, stops, self.epoch, int(st[ST_ISA]))

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

    def build(self, job):
        """Compile the job (either thread): emu/regions/compiler.build."""
        compiler.build(job)

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
