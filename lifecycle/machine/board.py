"""The machine: a hart, RAM, and the qemu-virt devices on the trap table; it runs the hart's loop.

Machine assembles the layers (emu/ for the hart, devices/ for what sits on the bus),
laid out like QEMU's `virt` board (docs/devices.md has the memory map):
  SiFive test 0x0010_0000, Goldfish RTC 0x0010_1000 (IRQ 11), CLINT 0x0200_0000,
  PLIC 0x0C00_0000, NS16550A 0x1000_0000 (IRQ 10), virtio-mmio slots 0x1000_1000 + n*0x1000
  (IRQ 1 + n), RAM 0x8000_0000;
  HTIF tohost/fromhost for test programs that have those symbols.
Machine.run runs the hart's loop and answers its exits through a table, one handler per
exit (lifecycle/machine/exits.py: Run); this module has the host side those handlers use:
polling host input (UART, virtio-console) and the RTC's alarm, the realtime clock, and waiting
while the guest idles in wfi (_idle).  Interrupt lines from the devices reach the PLIC; its context
outputs are st[ST_EIP] (mip.MEIP / mip.SEIP).
The lifecycle layer (GuestLifecycle) is built on this class.
"""
import os
import sys
import threading
import time

from emu import state as S
from emu.ints import u64
from emu.spec import (DEFAULT_MEMORY, MIP_MEIP, MIP_SEIP, MIE, MIP, SATP, SATP_MODE_SHIFT, SATP_MODE_BARE, A0, A1, A2,
                      CAUSE_ILLEGAL_INSTRUCTION, cause_name,
                      TIMEBASE, RAM_BASE, CLINT_BASE, PLIC_BASE, PLIC_SIZE, TEST_BASE, TEST_SIZE,
                      RTC_BASE, RTC_SIZE, RTC_IRQ,
                      UART_BASE, UART_SIZE, UART_IRQ,
                      VIRTIO_BASE, VIRTIO_STRIDE, VIRTIO_SIZE, VIRTIO_IRQ_BASE, VIRTIO_MAX)
from emu.hart import Hart, jit_enabled
from lifecycle.machine.loader import load_elf, load_raw, read_linux_image, read_file, LoadError
from devices.bus import TrapTable, IrqLine, GuestMemory
from devices.clint import Clint
from devices.firmware.htif import Htif
from devices.plic import Plic
from devices.rtc import GoldfishRtc, NS_PER_S, parse_base
from devices.firmware.sbi import Sbi, enter_supervisor
from devices.testdev import SifiveTest
from devices.uart import Uart16550
from devices.virtio.mmio import VirtioMmio, VirtioMmioEmpty
# what Machine.run returns, defined with the exit handlers that make it
from lifecycle.machine.exits import Reason, Run, RunResult  # noqa: F401 (Reason: importable from here)

REALTIME_DIV = 1 << 20   # realtime: the loop's own clock barely moves mtime; the host sets it
FW_DYNAMIC_MAGIC = 0x4942534F   # OpenSBI fw_dynamic_info.magic ("OSBI")
KERNEL_OFFSET_BIOS = 0x20_0000  # with firmware at the RAM base, the kernel goes 2 MiB up (as QEMU)
DTB_RESERVE = 1 << 20    # the device tree (and fw_dynamic_info) live in the last MiB of RAM
INPUT_GRACE_S = 0.5      # paced idle: how long an idle point after console activity waits for input (_idle)


def _disassemble(bits, ilen):
    """capstone's text for an instruction (as lifecycle/debug/trace.py shows it), or "" without capstone."""
    try:
        from lifecycle.debug.trace import Disassembler
        d = Disassembler()
    except (ImportError, RuntimeError):
        return ""
    t = d.text(bits, ilen)
    return "" if t == "unknown" else " ".join(t.split())


def _plic_output(st, wake):
    """The PLIC's context outputs: context 0 = hart 0 M-mode (mip.MEIP), 1 = S-mode (mip.SEIP).

    Only host threads write st[ST_EIP] (under the PLIC's lock); the loop only reads it.
    """
    def output(context, level):
        bit = MIP_MEIP if context == 0 else MIP_SEIP
        if level:
            st[S.ST_EIP] = int(st[S.ST_EIP]) | bit
            wake.set()
        else:
            st[S.ST_EIP] = int(st[S.ST_EIP]) & ~bit
    return output


def rtc_clock(timer, st):
    """The clock the RTC runs on (devices/rtc.py), in ns from any origin: the one place that decides.

    realtime: the host's wall clock (as QEMU's default `-rtc clock=host`), so the guest's date
    follows the host's.  deterministic: the CLINT's mtime (10 MHz ticks of guest time), so a run's
    dates follow its instructions like everything else it sees: with the same --rtc-base, the same
    run reads the same dates.  (Where the count starts: Machine(rtc_base=...).)
    """
    if timer == "realtime":
        return time.time_ns
    from emu.timer import mtime
    ns_per_tick = NS_PER_S // TIMEBASE
    return lambda: int(mtime(st)) * ns_per_tick     # (a closure over st: see Machine.__init__)


def _sbi_input(console, console_input):
    """Host input for the SBI console (console_getchar, DBCN console_read)."""
    read = getattr(console, "read_input", None)

    def source():
        data = console_input(False) or b"" if console_input is not None else b""
        return data + (read() if read is not None else b"")
    return source


class Machine:
    debugger = None   # the debugger seat (lifecycle/machine/seat.py): a lifecycle.debug.gdbstub.Debugger while GDB is
                      # attached, or the lifecycle.debug.hooks.Hooks while hooks are installed (exits.Run.seated)

    def __init__(self, memory=DEFAULT_MEMORY, engine="jit", console=None, idle_wait=False,
                 timer="deterministic", block_devices=(), virtio_rng=False, virtio_console=False,
                 console_input=None, isa=None, rtc_base=None):
        """block_devices: (path, mode) pairs (devices.virtio.blk.BlockMode); console_input: an
        optional callable(idle: bool) -> bytes of host input for the UART, polled between runs
        (idle is True when the guest has waited in wfi since the last call); isa: the hart's
        extensions as an ISA string (None: all of them; a bad one raises emu.isastring.IsaError);
        rtc_base: the RTC's date at start, seconds since 1970 or an ISO 8601 date (devices.rtc.parse_base;
        a bad one raises its RtcBaseError); None: the host's time now, in either timer mode (a guest
        needs a true date for TLS, apt and make; give one for runs that must repeat exactly)."""
        if engine not in ("jit", "python"):
            raise ValueError(f"unknown engine {engine!r} (choose jit or python)")
        if engine == "python" and jit_enabled():
            raise ValueError("the python engine needs NUMBA_DISABLE_JIT=1 in the environment "
                             "before numba is imported (numbavm run --engine python does this)")
        if engine == "jit" and not jit_enabled():
            raise ValueError("NUMBA_DISABLE_JIT is set: use --engine python")
        if timer not in ("deterministic", "realtime"):
            raise ValueError(f"unknown timer mode {timer!r} (choose deterministic or realtime)")
        memory = (int(memory) + 4095) & ~4095
        self.engine = engine
        self.timer = timer
        self.console = console if console is not None else sys.stdout.buffer
        self.console_input = console_input
        self.hart = h = Hart(memory, RAM_BASE)
        if isa is not None:
            h.set_isa(isa)
        self.dma = GuestMemory(h)
        self.bus = TrapTable()
        # the UART first: the trap table is searched in order, and it takes ~90% of a boot's MMIO
        self._wake = threading.Event()
        # (closures over the state, not bound methods: no reference cycle keeps a torn-down
        # machine's arrays alive until the garbage collector runs)
        self.plic = Plic(_plic_output(h.st, self._wake))
        self.uart = Uart16550(self.console, getattr(self.console, "read_input", None), irq=self._irq(UART_IRQ))
        self.bus.add(UART_BASE, UART_SIZE, self.uart)
        self.bus.add(CLINT_BASE, Clint.size, Clint())
        self.bus.add(PLIC_BASE, PLIC_SIZE, self.plic)
        self.test_device = SifiveTest()
        self.bus.add(TEST_BASE, TEST_SIZE, self.test_device)
        base_ns = time.time_ns() if rtc_base is None else parse_base(rtc_base) * NS_PER_S
        self.rtc = GoldfishRtc(rtc_clock(timer, h.st), base_ns, irq=self._irq(RTC_IRQ))
        self.bus.add(RTC_BASE, RTC_SIZE, self.rtc)
        self.virtio = []
        backends = self._virtio_backends(block_devices, virtio_rng, virtio_console)
        if len(backends) > VIRTIO_MAX:
            raise ValueError(f"{len(backends)} virtio devices requested: the machine has {VIRTIO_MAX} slots")
        for n in range(VIRTIO_MAX):
            # every slot answers, as on QEMU virt: an unused one is DeviceID 0, so a guest can scan them
            if n < len(backends):
                dev = VirtioMmio(backends[n], self.dma, self._irq(VIRTIO_IRQ_BASE + n))
                self.virtio.append(dev)
            else:
                dev = VirtioMmioEmpty()
            self.bus.add(VIRTIO_BASE + n * VIRTIO_STRIDE, VIRTIO_SIZE, dev)
        self.bus.check_ram(RAM_BASE, memory)
        h.set_mmio_table(self.bus.rows())
        self.htif = Htif(self.console)
        self.sbi = Sbi(self.console, _sbi_input(self.console, console_input))
        self.image = None
        self.dtb = None             # the device tree handed to a Linux kernel (bytes), after boot_linux
        # idle_wait: on EXIT_WFI sleep (no CPU) until an interrupt, the deadline or stop()
        self.idle_wait = idle_wait
        self.idling = False        # True while run() sleeps in _idle (for tests and tools)
        self._last_idle = 0
        self._saw_wfi = False
        # deterministic timer with host input: the host, not the loop, skips an idle wfi ahead to
        # the timer, after waiting for input on the host clock (_idle; docs/architecture.md, time)
        self.paced = False         # set by run(): this run paces idle time
        self.idle_points = 0       # idle wfis the host answered (paced runs)
        self.idle_skips = 0        # of those, the ones that went on to the timer (no input came)
        self._activity = 0         # console activity (device accesses, HTIF characters) at the last idle point
        self.compile_s = None
        self.startup_s = None
        self.device_s = 0.0        # host time spent in Python device handlers (MMIO, SBI, HTIF)
        self.mmio_exits = 0
        self.mmio_by_device = [0] * len(self.bus.entries)   # Python-device accesses per trap-table index (lifecycle/cli/stats.py)
        self.stepper = None        # lifecycle/debug/trace.py: stands in for the loop (--trace, --mix single-step it)
        if timer == "realtime":
            h.st[S.ST_TIME_DIV] = REALTIME_DIV
            h.st[S.ST_TIMER_REALTIME] = 1
            self._t0 = time.monotonic()

    def _irq(self, source):
        """An interrupt line from a device into PLIC source `source`."""
        return IrqLine(self.plic.set_level, source)

    def _virtio_backends(self, block_devices, rng, console):
        out = []
        if block_devices:
            from devices.virtio.blk import VirtioBlk
            for path, mode in block_devices:
                out.append(VirtioBlk(path, mode))
        if rng:
            from devices.virtio.rng import VirtioRng
            out.append(VirtioRng())
        if console:
            from devices.virtio.console import VirtioConsole
            out.append(VirtioConsole(self.console, getattr(self.console, "read_input", None)))
        return out

    def close(self):
        """Release host resources (backing files of disks); the machine cannot run afterwards."""
        for dev in self.virtio:
            dev.close()              # says what warnings it held back, closes its backend

    # --- loading
    def load(self, path, raw_addr=None):
        """Load a bare-metal program into this new machine (its RAM is still all zero)."""
        h = self.hart
        if raw_addr is None:
            image = load_elf(path, h.ram_base, h.ram_size)
        else:
            image = load_raw(path, raw_addr, h.ram_base, h.ram_size)
        for paddr, data, memsz in image.segments:
            # only the file's bytes: a new machine's RAM is np.zeros (calloc'd pages), so the
            # .bss is zero already and a huge p_memsz costs no memory until the guest touches it
            h.write_phys(paddr, data)
        h.pc = image.entry
        h.set_tohost(image.symbols.get("tohost"), image.symbols.get("fromhost"))
        self.image = image
        return image

    def boot_linux(self, kernel, initrd=None, cmdline="", bios=None, dtb_overlay=None):
        """Load a RISC-V Linux Image, an optional initrd and the generated device tree.

        bios None: the VMM is the SBI and the hart starts in S-mode at the kernel
        (a0 = hartid, a1 = dtb).  bios PATH: M-mode firmware (OpenSBI fw_dynamic or
        fw_jump) at the RAM base, entered in M-mode with a0 = hartid, a1 = dtb,
        a2 = fw_dynamic_info naming the kernel.  Raises LoadError (one line) on bad input.
        """
        from devices.firmware.devicetree import build_dtb
        from devices.firmware.fdt import OverlayError
        h = self.hart
        in_ram = f"the guest's {h.ram_size >> 20} MiB of RAM, so it does not fit (use --memory)"
        img = read_linux_image(kernel, limit=h.ram_size)
        ram_end = h.ram_base + h.ram_size
        fw = read_file(bios, "firmware image", h.ram_size, in_ram) if bios is not None else None
        kaddr = h.ram_base + (max(img.text_offset, KERNEL_OFFSET_BIOS) if fw is not None else img.text_offset)
        if fw is not None and len(fw) > kaddr - h.ram_base:
            raise LoadError(f"{bios}: firmware of {len(fw)} bytes does not fit below the kernel at 0x{kaddr:x}")
        dtb_area = ram_end - DTB_RESERVE
        kend = kaddr + img.image_size
        if kend > dtb_area:
            raise LoadError(f"{img.path}: the kernel needs {img.image_size >> 10} KiB at 0x{kaddr:x}: more "
                            f"than the guest's {h.ram_size >> 20} MiB of RAM (use --memory)")
        initrd_range = None
        rd = None
        if initrd is not None:
            rd = read_file(initrd, "initrd", h.ram_size, in_ram)
            start = (dtb_area - len(rd)) & ~0xFFF
            if start < (kend + 0xFFF) & ~0xFFF:
                raise LoadError(f"{initrd}: an initrd of {len(rd) >> 10} KiB does not fit in {h.ram_size >> 20} "
                                "MiB of RAM beside the kernel (use --memory)")
            initrd_range = (start, start + len(rd))
        overlay = read_file(dtb_overlay, "device-tree overlay", limit=DTB_RESERVE) if dtb_overlay is not None else None
        try:
            dtb = build_dtb(self.bus, h.ram_base, h.ram_size, isa=h.isa, bootargs=cmdline or "", initrd=initrd_range,
                            overlay=overlay, timebase=TIMEBASE,
                            overlay_name=os.fspath(dtb_overlay) if dtb_overlay is not None else None)
        except OverlayError as e:        # its message names the overlay, not the kernel
            raise LoadError(str(e)) from None
        if len(dtb) > DTB_RESERVE - 4096:
            raise LoadError(f"the device tree is {len(dtb)} bytes: more than the {DTB_RESERVE >> 10} KiB reserved")
        dtb_addr = dtb_area
        h.write_phys(kaddr, img.data)
        if rd is not None:
            h.write_phys(initrd_range[0], rd)
        h.write_phys(dtb_addr, dtb)
        self.dtb = dtb
        if fw is None:
            enter_supervisor(h, kaddr, 0, dtb_addr)
        else:
            h.write_phys(h.ram_base, fw)
            info = (dtb_area + DTB_RESERVE - 4096)      # fw_dynamic_info in the reserve's last page
            words = (FW_DYNAMIC_MAGIC, 2, kaddr, 1, 0, 0)  # magic, version, next_addr, next_mode S, options, boot_hart
            h.write_phys(info, b"".join(w.to_bytes(8, "little") for w in words))
            h.x[A0], h.x[A1], h.x[A2] = 0, dtb_addr, info      # hartid, device tree, fw_dynamic_info
            h.pc = h.ram_base
        self.image = img
        return img

    # --- running
    def warm_up(self):
        """Compile (or load from the cache) the loop, and say how long it took."""
        if self.compile_s is None:
            t = time.perf_counter()
            self.hart.run(0)
            self.compile_s = time.perf_counter() - t

    def stop(self):
        """Ask the loop to return (from any thread); it polls at least every 4096 instructions."""
        seat = self.debugger
        if seat is not None:
            seat.stop_requested()               # a debugger holding the vcpu lets it go
        self.hart.stop_flag[0] = 1
        self._wake.set()

    def wake(self):
        """Wake an idle (wfi) hart: run() returns 'stopped' so the caller can look again."""
        self.stop()

    def _polling(self):
        return (self.timer == "realtime" or self.console_input is not None or self.virtio
                or getattr(self.console, "socks", None))

    def _host_input(self):
        """Can host input arrive for the guest (a console_input source, a bound serial socket)?"""
        return self.console_input is not None or bool(getattr(self.console, "socks", None))

    def poll_devices(self, idle=None):
        """Bring host input to the devices (their interrupt lines follow).

        idle: passed to console_input; None = whether the guest waited in wfi since the last call."""
        st = self.hart.st
        if idle is None:
            idle = self._saw_wfi or int(st[S.ST_IDLE]) != self._last_idle
        self._saw_wfi = False
        self._last_idle = int(st[S.ST_IDLE])
        data = None
        if self.console_input is not None:
            data = self.console_input(idle)
            if data:
                self.uart.feed(data)
        self.uart.poll()
        for dev in self.virtio:
            dev.poll()
        self.rtc.poll()
        return bool(data)

    def _sync_time(self):
        """Realtime timer: mtime = host time since boot, in timebase ticks (never going back)."""
        st = self.hart.st
        from emu.timer import mtime
        now = int((time.monotonic() - self._t0) * TIMEBASE)
        cur = int(mtime(st))
        if now > cur:
            st[S.ST_MTIME_OFF] += now - cur

    def _wakeable(self):
        """Would a pending interrupt end the hart's wfi now?"""
        h = self.hart
        lines = int(h.st[S.ST_EIP]) | (int(h.csr[MIP]) & ~(MIP_MEIP | MIP_SEIP))
        return (lines & int(h.csr[MIE])) != 0

    def _timer_wait(self):
        """Clock cycles until a timer (mtimecmp, or Sstc's stimecmp) wakes the waiting hart, or the
        RTC's alarm fires, or None when neither will (disabled in mie or not armed; no alarm): the
        loop's own test for skipping ahead, and the RTC's alarm, which the loop does not see."""
        from emu.timer import cycles_until_timer, cycles_until, mtime, NEVER
        st = self.hart.st
        wait = int(cycles_until_timer(st, self.hart.csr, int(self.hart.csr[MIE])))
        alarm_ns = self.rtc.ns_until_alarm()
        if alarm_ns:                 # (0: due; poll_devices fires it)
            ticks = -(-alarm_ns * TIMEBASE // NS_PER_S)    # rounded up: the alarm is due by then
            wait = min(wait, int(cycles_until(st, int(mtime(st)) + ticks)))
        return wait if wait < NEVER else None

    def _idle(self, h):
        """The hart sleeps in wfi: wait, without using the CPU, for something that wakes it.

        A paced run (the deterministic timer with host input) comes here instead of letting the
        loop skip ahead to the timer: this wfi is an idle point, the one place where console input
        goes in, at most one console_input(True) result (one line from a pipe) per idle point, at
        this instruction count.  With no input yet, it waits on the host clock: for as long as the
        guest would sleep until its timer, and at least INPUT_GRACE_S when the guest used its
        console since the last idle point (it has likely printed a prompt: an answer that comes
        within that time goes in here, whatever the host's speed).  Then it skips ahead exactly as
        the loop would have: the guest sees the same sequence as without host input, and its clock
        cannot run ahead of the host's while it idles.  (docs/architecture.md, time.)
        """
        self.idling = True
        self._saw_wfi = True
        st = h.st
        deadline = None
        fed = False
        if self.paced:
            self.idle_points += 1
            activity = self.mmio_exits + self.htif.chars
            grace = INPUT_GRACE_S if activity != self._activity else 0.0
            self._activity = activity
        try:
            while h.stop_flag[0] == 0:
                fed = self.poll_devices(idle=not fed) or fed
                if self._wakeable():
                    return True
                timeout = 0.05
                if self.paced:
                    wait = self._timer_wait()
                    if wait is not None:
                        now = time.monotonic()
                        if deadline is None:
                            sleep = wait / (int(st[S.ST_TIME_DIV]) * TIMEBASE)   # guest seconds to the timer
                            deadline = now + (sleep if fed else max(grace, sleep))
                        if now >= deadline:
                            st[S.ST_IDLE] += wait       # what the loop does without host input
                            self.idle_skips += 1
                            return True
                        timeout = min(timeout, deadline - now)
                elif self.timer == "realtime":
                    self._sync_time()
                    from emu.timer import update_mtip
                    update_mtip(h.st, h.csr)            # the comparators against the host's time
                    if self._wakeable():
                        return True
                    wait = self._timer_wait()
                    if wait is not None:
                        timeout = min(timeout, wait / (int(st[S.ST_TIME_DIV]) * TIMEBASE))
                else:
                    # the loop skipped ahead to any CLINT timer itself: what is left is the RTC's
                    # alarm, which it does not see; skip to it as it would (poll_devices fires it)
                    wait = self._timer_wait()
                    if wait is not None:
                        st[S.ST_IDLE] += wait
                        continue
                if self._polling():
                    timeout = min(timeout, 0.005)   # host input is polled, not signalled
                self._wake.wait(timeout)
                self._wake.clear()
            return False
        finally:
            self.idling = False

    def run(self, max_instructions=None) -> RunResult:
        """Run the guest until it ends, max_instructions steps are spent, stop() or a fatal condition
        (RunResult.reason); the loop's exits are answered by the table in lifecycle/machine/exits.py."""
        self.warm_up()
        from lifecycle.machine.proctime import seconds_since_process_start
        if self.startup_s is None:
            self.startup_s = seconds_since_process_start()
        run = Run(self, max_instructions)
        if self.engine == "python":
            # the plain-Python engine wraps like the hardware: no numpy overflow warnings
            import numpy as np
            with np.errstate(all="ignore"):
                return run.go()
        return run.go()

    def describe_trap(self, slot=S.ST_TRAP_LAST):
        """One of the traps emu/trap.py records (S.ST_TRAP_LAST or S.ST_TRAP_PREV), in words: cause,
        pc, privilege, xtval, and the instruction's bits with capstone's disassembly when they are
        known (xtval of an illegal instruction, or the bits at an untranslated pc). -> "" when none."""
        st = self.hart.st
        priv = int(st[slot + S.TRAP_PRIV])
        if priv < 0:
            return ""
        code = u64(st[slot + S.TRAP_CAUSE])
        epc = u64(st[slot + S.TRAP_EPC])
        tval = u64(st[slot + S.TRAP_TVAL])
        mode = {S.PRV_U: "U", S.PRV_S: "S", S.PRV_M: "M"}.get(priv, str(priv))
        text = f"{cause_name(code)} at pc 0x{epc:x} in {mode}-mode"
        if code >> 63:
            return text
        text += f", tval 0x{tval:x}"
        bits = None
        if code == CAUSE_ILLEGAL_INSTRUCTION and tval:
            bits = tval
        elif priv == S.PRV_M or (int(self.hart.csr[SATP]) >> SATP_MODE_SHIFT) & 0xF == SATP_MODE_BARE:   # untranslated
            try:
                lo = int.from_bytes(self.hart.read_phys(epc, 2), "little")
                bits = lo if lo & 3 != 3 else int.from_bytes(self.hart.read_phys(epc, 4), "little")
            except ValueError:
                bits = None                  # not in RAM
        if bits is not None:
            ilen = 2 if bits & 3 != 3 else 4
            text += f": instruction 0x{bits:0{2 * ilen}x}"
            asm = _disassemble(bits, ilen)
            if asm:
                text += f" ({asm})"
        return text
