"""virtio-mmio, version 2 (modern), as in VIRTIO 1.1/1.2 section 4.2.

Eight slots, as on QEMU virt: slot n at VIRTIO_BASE + n * VIRTIO_STRIDE, a
VIRTIO_SIZE register window, PLIC source VIRTIO_IRQ_BASE + n.

Control registers (32-bit accesses only; others read 0 and are ignored):
  0x000 MagicValue "virt"   0x004 Version 2        0x008 DeviceID   0x00c VendorID
  0x010 DeviceFeatures      0x014 DeviceFeaturesSel
  0x020 DriverFeatures      0x024 DriverFeaturesSel
  0x030 QueueSel   0x034 QueueNumMax   0x038 QueueNum   0x044 QueueReady
  0x050 QueueNotify         0x060 InterruptStatus  0x064 InterruptACK   0x070 Status
  0x080/0x084 QueueDesc     0x090/0x094 QueueDriver (avail)  0x0a0/0x0a4 QueueDevice (used)
  0x0ac SHMSel, 0x0b0..0x0bc SHMLen/SHMBase (no shared memory regions: length -1)
  0x0fc ConfigGeneration    0x100... device-specific configuration (any access size)

The transport owns feature negotiation, the device status and the queues; a
backend (VirtioBlk, VirtioConsole, VirtioRng) only handles requests: its interface
is devices.virtio.backend.VirtioBackend, a base class with a default for every
method but process().

VirtioMmioEmpty answers an unused slot (DeviceID 0), so that a guest can scan
all eight slots as on QEMU virt.

Malformed queues (a ring or buffer outside RAM, a loop in a chain, a bad queue
size, an avail idx that jumps...) never raise out of read/write: the device
sets DEVICE_NEEDS_RESET, raises a configuration-change interrupt
(InterruptStatus bit 1, 2.1.2) and stops using its queues until the driver
writes 0 to Status.
"""
import logging

from emu.spec import VIRTIO_BASE, VIRTIO_STRIDE, VIRTIO_SIZE, VIRTIO_IRQ_BASE, VIRTIO_MAX  # noqa: F401 (virt's map)
from devices.bus import Device, DmaError, IrqLine
from devices.ratelimit import DeviceWarnings
from devices.virtio.backend import VirtioBackend
from devices.virtio.virtqueue import Virtqueue, VirtqueueError

log = logging.getLogger("numbavm.virtio")


# Work one QueueNotify (or one poll) may do before it returns to the hart: one unit
# per descriptor walked and per 4 KiB of buffers.  A full ring of maximal chains
# (256 x 256 descriptors) is then spread over several polls instead of holding the
# vcpu thread (and stop()) for seconds; what is left is done by poll().
SERVICE_WORK_MAX = 8192
WORK_BYTES = 4096

MAGIC_VALUE = 0x7472_6976              # "virt", little-endian
VERSION = 2                            # modern (non-legacy) virtio-mmio
VENDOR_ID = 0x4D56_424E                # "NBVM"

# register offsets (4.2.2)
MAGIC, VERSION_REG, DEVICE_ID, VENDOR = 0x000, 0x004, 0x008, 0x00C
DEVICE_FEATURES, DEVICE_FEATURES_SEL = 0x010, 0x014
DRIVER_FEATURES, DRIVER_FEATURES_SEL = 0x020, 0x024
QUEUE_SEL, QUEUE_NUM_MAX, QUEUE_NUM, QUEUE_READY = 0x030, 0x034, 0x038, 0x044
QUEUE_NOTIFY = 0x050
INTERRUPT_STATUS, INTERRUPT_ACK = 0x060, 0x064
STATUS = 0x070
QUEUE_DESC_LOW, QUEUE_DESC_HIGH = 0x080, 0x084
QUEUE_DRIVER_LOW, QUEUE_DRIVER_HIGH = 0x090, 0x094
QUEUE_DEVICE_LOW, QUEUE_DEVICE_HIGH = 0x0A0, 0x0A4
SHM_SEL, SHM_LEN_LOW, SHM_LEN_HIGH, SHM_BASE_LOW, SHM_BASE_HIGH = 0x0AC, 0x0B0, 0x0B4, 0x0B8, 0x0BC
CONFIG_GENERATION = 0x0FC
CONFIG = 0x100

# device status (2.1)
ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK = 1, 2, 4, 8
DEVICE_NEEDS_RESET, FAILED = 64, 128

# InterruptStatus bits (4.2.2)
VIRTIO_MMIO_INT_VRING = 1              # used buffer notification
VIRTIO_MMIO_INT_CONFIG = 2             # configuration change (and NEEDS_RESET)

# reserved feature bits (6)
VIRTIO_F_INDIRECT_DESC = 1 << 28
VIRTIO_F_EVENT_IDX = 1 << 29
VIRTIO_F_VERSION_1 = 1 << 32
TRANSPORT_FEATURES = VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX


def slot(n):
    """-> (MMIO base, PLIC source) of virtio-mmio slot n (0..VIRTIO_MAX-1)."""
    if not 0 <= n < VIRTIO_MAX:
        raise ValueError(f"virtio-mmio slot {n} is not in 0..{VIRTIO_MAX - 1}")
    return VIRTIO_BASE + n * VIRTIO_STRIDE, VIRTIO_IRQ_BASE + n


class VirtioMmioEmpty(Device):
    """An empty slot: MagicValue and Version, DeviceID 0 (4.2.3.1.1: the driver ignores it).

    QEMU virt answers all eight slots so that a driver can scan them; a machine
    that maps this in its unused slots lets guests do the same without an
    access fault.  No device-tree node (dt_name None): there is nothing to bind.
    """
    name = "virtio-empty"

    def read(self, offset, size):
        if size != 4:
            return 0
        return {MAGIC: MAGIC_VALUE, VERSION_REG: VERSION, VENDOR: VENDOR_ID}.get(offset, 0)


class _QueueRegs:
    """What the driver wrote for one queue; `vq` is the live Virtqueue once ready."""
    def __init__(self, num):
        self.num = num                 # 4.2.3.2: reset to QueueNumMax, like QEMU
        self.desc = self.driver = self.device = 0
        self.vq = None


class VirtioMmio(Device):
    dt_name = "virtio_mmio"
    dt_compatible = ("virtio,mmio",)

    def __init__(self, backend, mem, irq=None):
        if not isinstance(backend, VirtioBackend):
            raise TypeError(f"a virtio backend must subclass VirtioBackend, not {type(backend).__name__}")
        self.backend = backend
        self.mem = mem
        self.irq = irq if irq is not None else IrqLine()
        if self.irq.sink is not None:
            self.irq_source = self.irq.source     # the device tree's `interrupts` (as the UART does)
        self.name = f"virtio-{backend.name}"
        self.device_features = (int(backend.features) | TRANSPORT_FEATURES) & (2 ** 64 - 1)
        self.config_generation = 0
        self.last_error = None         # why the device last entered NEEDS_RESET
        self.warnings = DeviceWarnings(log, self.name)   # rate-limited: a guest cannot flood stderr
        self.work_done = 0             # work units spent on queues (SERVICE_WORK_MAX), for tests
        self._reset()

    # --- state
    def _reset(self):
        self.status = 0
        self.device_features_sel = 0
        self.driver_features_sel = 0
        self.driver_features = 0
        self.bad_driver_features = False   # a bit set beyond the 64 this device knows
        self.queue_sel = 0
        self.queues = [_QueueRegs(self.backend.queue_max) for _ in range(self.backend.num_queues)]
        self.backlog = set()           # queues with chains left over when the work budget ran out
        self.interrupt_status = 0
        self.irq.set(False)
        self.backend.reset()

    @property
    def live(self):
        """The driver is up (DRIVER_OK) and nothing went wrong: queues may be used."""
        return (self.status & (DRIVER_OK | FEATURES_OK)) == (DRIVER_OK | FEATURES_OK) \
            and not self.status & (DEVICE_NEEDS_RESET | FAILED)

    def negotiated(self, bit):
        return bool(self.driver_features & bit) and bool(self.status & FEATURES_OK)

    def _interrupt(self, bits):
        self.interrupt_status |= bits
        self.irq.set(self.interrupt_status != 0)

    def needs_reset(self, reason):
        """The driver broke the rules: DEVICE_NEEDS_RESET plus a config-change interrupt (2.1.2)."""
        self.last_error = str(reason)
        if not self.status & DEVICE_NEEDS_RESET:
            self.warnings.warn("needs-reset", f"{reason}: device needs reset")
        self.status |= DEVICE_NEEDS_RESET
        self.backlog.clear()
        self._interrupt(VIRTIO_MMIO_INT_CONFIG)

    def config_changed(self):
        """A backend changed its configuration space: new generation, config interrupt."""
        self.config_generation = (self.config_generation + 1) & 0xFFFF_FFFF
        if self.status & DRIVER_OK:
            self._interrupt(VIRTIO_MMIO_INT_CONFIG)

    # --- queues
    def _selected(self):
        return self.queues[self.queue_sel] if self.queue_sel < len(self.queues) else None

    def _queue_ready(self, q, on):
        if not on:
            q.vq = None
            return
        if q.vq is not None:
            return
        try:
            q.vq = Virtqueue(self.mem, q.num, q.desc, q.driver, q.device,
                             indirect=self.negotiated(VIRTIO_F_INDIRECT_DESC),
                             event_idx=self.negotiated(VIRTIO_F_EVENT_IDX),
                             size_max=self.backend.queue_max)
        except VirtqueueError as e:
            self.needs_reset(f"queue {self.queue_sel}: {e}")

    def service_queue(self, index):
        """Hand available chains of queue `index` to the backend; interrupt if wanted.

        Called on QueueNotify, when the driver sets DRIVER_OK, and by backends
        that have new host input.  Never raises for guest mistakes.  It stops
        after SERVICE_WORK_MAX units of work (at least one chain is done): the
        queue goes in the backlog and poll() goes on with it, so a guest cannot
        hold the vcpu thread in one MMIO write.
        """
        self.backlog.discard(index)
        if not self.live or not 0 <= index < len(self.queues):
            return
        vq = self.queues[index].vq
        if vq is None:
            return
        ready_for = self.backend.ready_for
        walked, moved, work = vq.descriptors_walked, 0, 0
        try:
            # at most one pass over the ring: the guest cannot keep us here forever
            for _ in range(vq.size):
                if work >= SERVICE_WORK_MAX:
                    if vq.pending():
                        self.backlog.add(index)
                    break
                if not ready_for(index):
                    break
                chain = vq.pop()
                if chain is None:
                    break
                written = self.backend.process(index, chain, self)
                vq.push(chain, written or 0)
                moved += chain.readable_len + chain.writable_len
                work = vq.descriptors_walked - walked + moved // WORK_BYTES
            if vq.should_notify():
                self._interrupt(VIRTIO_MMIO_INT_VRING)
        except (VirtqueueError, DmaError) as e:
            self.needs_reset(f"queue {index}: {e}")
        finally:
            self.work_done += vq.descriptors_walked - walked + moved // WORK_BYTES

    def poll(self):
        """The machine calls this between runs of the hart: pending host input reaches the
        guest, and queues left in the backlog by the work budget get their next share."""
        for index in sorted(self.backlog):
            self.service_queue(index)
        self.backend.poll(self)

    def close(self):
        """The machine is done with the device: say what warnings were held back, close the backend."""
        self.warnings.flush()
        self.backend.close()

    # --- MMIO
    def read(self, offset, size):
        if offset >= CONFIG:
            return self._config_read(offset - CONFIG, size)
        if size != 4:
            return 0                   # 4.2.2.2: control registers are 32-bit only
        if offset == MAGIC:
            return MAGIC_VALUE
        if offset == VERSION_REG:
            return VERSION
        if offset == DEVICE_ID:
            return self.backend.device_id
        if offset == VENDOR:
            return VENDOR_ID
        if offset == DEVICE_FEATURES:
            sel = self.device_features_sel
            return (self.device_features >> (32 * sel)) & 0xFFFF_FFFF if sel < 2 else 0
        if offset == QUEUE_NUM_MAX:
            return self.backend.queue_max if self._selected() is not None else 0
        if offset == QUEUE_READY:
            q = self._selected()
            return int(q is not None and q.vq is not None)
        if offset == INTERRUPT_STATUS:
            return self.interrupt_status
        if offset == STATUS:
            return self.status
        if offset in (SHM_LEN_LOW, SHM_LEN_HIGH, SHM_BASE_LOW, SHM_BASE_HIGH):
            return 0xFFFF_FFFF         # 4.2.2: no such shared memory region
        if offset == CONFIG_GENERATION:
            return self.config_generation
        return 0                       # write-only and reserved registers

    def write(self, offset, size, value):
        if offset >= CONFIG:
            self._config_write(offset - CONFIG, size, value)
            return
        if size != 4:
            return
        value &= 0xFFFF_FFFF
        if offset == DEVICE_FEATURES_SEL:
            self.device_features_sel = value
        elif offset == DRIVER_FEATURES:
            self._driver_features(value)
        elif offset == DRIVER_FEATURES_SEL:
            self.driver_features_sel = value
        elif offset == QUEUE_SEL:
            self.queue_sel = value
        elif offset == QUEUE_NOTIFY:
            # without VIRTIO_F_NOTIFICATION_DATA the value is the queue index
            self.service_queue(value)
        elif offset == INTERRUPT_ACK:
            self.interrupt_status &= ~value
            self.irq.set(self.interrupt_status != 0)
        elif offset == STATUS:
            self._status(value)
        else:
            self._queue_write(offset, value)

    def _driver_features(self, value):
        if self.status & FEATURES_OK:
            return                     # 2.2: features are fixed once FEATURES_OK is set
        sel = self.driver_features_sel
        if sel < 2:
            shift = 32 * sel
            self.driver_features = (self.driver_features & ~(0xFFFF_FFFF << shift)) | (value << shift)
        elif value:
            self.bad_driver_features = True

    def _status(self, value):
        value &= 0xFF
        if value == 0:
            self._reset()              # 4.2.2: writing 0 resets the device
            return
        was = self.status
        # the driver cannot set or clear DEVICE_NEEDS_RESET: it is the device's
        value = (value & ~DEVICE_NEEDS_RESET) | (was & DEVICE_NEEDS_RESET)
        if value & FEATURES_OK and not was & FEATURES_OK and not self._features_acceptable():
            value &= ~FEATURES_OK      # 3.1.1: the driver re-reads Status and gives up
        self.status = value
        if self.live and not was & DRIVER_OK:
            for i in range(len(self.queues)):   # buffers made available before DRIVER_OK
                self.service_queue(i)

    def _features_acceptable(self):
        f = self.driver_features
        return (not self.bad_driver_features and f & ~self.device_features == 0
                and bool(f & VIRTIO_F_VERSION_1))   # no legacy interface here

    def _queue_write(self, offset, value):
        q = self._selected()
        if q is None:
            return
        if offset == QUEUE_READY:
            self._queue_ready(q, value & 1)
            return
        if q.vq is not None:
            return                     # the queue is in use: its layout cannot change now
        if offset == QUEUE_NUM:
            q.num = value
        elif offset == QUEUE_DESC_LOW:
            q.desc = (q.desc & ~0xFFFF_FFFF) | value
        elif offset == QUEUE_DESC_HIGH:
            q.desc = (q.desc & 0xFFFF_FFFF) | (value << 32)
        elif offset == QUEUE_DRIVER_LOW:
            q.driver = (q.driver & ~0xFFFF_FFFF) | value
        elif offset == QUEUE_DRIVER_HIGH:
            q.driver = (q.driver & 0xFFFF_FFFF) | (value << 32)
        elif offset == QUEUE_DEVICE_LOW:
            q.device = (q.device & ~0xFFFF_FFFF) | value
        elif offset == QUEUE_DEVICE_HIGH:
            q.device = (q.device & 0xFFFF_FFFF) | (value << 32)

    def _config_read(self, offset, size):
        data = bytes(self.backend.config())[offset:offset + size]
        return int.from_bytes(data, "little")    # past the end reads as 0

    def _config_write(self, offset, size, value):
        self.backend.config_write(offset, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))
