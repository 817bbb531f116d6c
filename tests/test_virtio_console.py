"""devices/virtio/console.py: a single-port virtio-console (VIRTIO 1.1 section 5.3), both ways.

transmitq (1): the guest's bytes go to the console.  receiveq (0): host input
(input_source() or feed()) waits until the guest posts buffers, and no byte is
lost or reordered however the buffers are sized.
"""
import io
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from virtio_driver import Driver, make  # noqa: E402

from devices.virtio import mmio as V  # noqa: E402
from devices.virtio.console import RECEIVEQ, TRANSMITQ, VirtioConsole  # noqa: E402


class Console(io.BytesIO):
    def __init__(self):
        super().__init__()
        self.flushes = 0

    def flush(self):
        self.flushes += 1


def up(input_source=None, driver_ok=True):
    out = Console()
    con = VirtioConsole(out, input_source)
    hart, mem, dev, irq = make(con)
    drv = Driver(dev, mem)
    assert drv.init(driver_ok=driver_ok) is not None
    return out, con, dev, drv


def test_identity():
    out, con, dev, drv = up()
    assert drv.r(V.DEVICE_ID) == 3 and con.num_queues == 2
    assert drv.device_features() == V.TRANSPORT_FEATURES      # no F_SIZE, no F_MULTIPORT
    assert dev.read(0x104, 4) == 0                            # max_nr_ports: not offered


def test_transmit():
    out, con, dev, drv = up()
    tx = drv.queues[TRANSMITQ]
    assert tx.request([b"hello, ", b"world\n"]) == (0, b"")
    assert tx.request([b"indirect"], indirect=True) == (0, b"")
    assert out.getvalue() == b"hello, world\nindirect" and out.flushes == 2
    assert dev.irq.level


def test_receive_waits_for_buffers():
    out, con, dev, drv = up()
    rx = drv.queues[RECEIVEQ]
    con.feed(b"typed early")
    dev.poll()                                                # no buffers yet: kept
    assert con.pending == b"typed early"
    head = rx.submit([4])
    assert rx.take_used() == [(head, 4)] and rx.written(head, 4) == b"type"
    assert dev.irq.level
    drv.ack_interrupt()
    heads = [rx.submit([4]) for _ in range(3)]                # one notify each: delivered at once
    got = rx.take_used()
    assert [h for h, _ in got] == heads[:2] and got[1][1] == 3
    assert b"".join(rx.written(h, n) for h, n in got) == b"d early"
    assert con.pending == b""
    con.feed(b"!")                                            # the third buffer is still posted
    assert rx.take_used() == []
    dev.poll()
    assert rx.take_used() == [(heads[2], 1)] and rx.written(heads[2], 1) == b"!"


def test_input_source_is_polled():
    chunks = [b"", b"abc", b"", b"defgh"]
    out, con, dev, drv = up(lambda: chunks.pop(0) if chunks else b"")
    rx = drv.queues[RECEIVEQ]
    got = b""
    for _ in range(4):
        rx.submit([2], notify=False)
    drv.notify(RECEIVEQ)                                      # source gave "": nothing yet
    for _ in range(6):
        dev.poll()
        got += b"".join(rx.written(h, n) for h, n in rx.take_used())
        for _ in range(2):
            rx.submit([2], notify=False)
    assert got == b"abcdefgh"


def test_input_before_driver_ok_is_kept():
    out, con, dev, drv = up(driver_ok=False)
    rx = drv.queues[RECEIVEQ]
    con.feed(b"xyz")
    head = rx.submit([8])
    dev.poll()
    assert rx.take_used() == []
    drv.w(V.STATUS, V.ACKNOWLEDGE | V.DRIVER | V.FEATURES_OK | V.DRIVER_OK)
    assert rx.take_used() == [(head, 3)] and rx.written(head, 3) == b"xyz"


def test_no_character_is_lost():
    out, con, dev, drv = up()
    rx = drv.queues[RECEIVEQ]
    data = bytes(range(256)) * 20
    feeder = threading.Thread(target=lambda: [con.feed(data[i:i + 7]) for i in range(0, len(data), 7)])
    feeder.start()
    got = b""
    sizes = [1, 3, 5, 16, 64]
    for i in range(20000):
        if len(got) == len(data):
            break
        rx.submit([sizes[i % len(sizes)]], notify=False)
        dev.poll()
        got += b"".join(rx.written(h, n) for h, n in rx.take_used())
    feeder.join()
    assert got == data


def test_a_writable_less_receive_buffer_is_returned_empty():
    out, con, dev, drv = up()
    rx = drv.queues[RECEIVEQ]
    con.feed(b"q")
    head = rx.submit([b"readable"])
    assert rx.take_used() == [(head, 0)] and con.pending == b"q"
    assert drv.status() == 15


def test_input_source_is_left_alone_until_the_driver_is_up():
    asked = []
    out, con, dev, drv = up(lambda: asked.append(1) or b"x", driver_ok=False)
    dev.poll()
    assert asked == [] and con.pending == b""
    drv.w(V.STATUS, V.ACKNOWLEDGE | V.DRIVER | V.FEATURES_OK | V.DRIVER_OK)
    dev.poll()
    assert asked == [1] and con.pending == b"x"              # nothing posted yet: kept
