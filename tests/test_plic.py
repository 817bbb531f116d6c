"""devices/plic.py: the PLIC as the RISC-V PLIC specification 1.0.0 and QEMU virt lay it out:
priorities, pending bits, per-context enables and thresholds, claim/complete,
level-triggered gateways, and the context outputs that drive mip.MEIP / mip.SEIP."""
import threading

import pytest

from devices.bus import IrqLine
from devices.plic import Plic, PLIC_BASE, PLIC_SIZE

PRIO, PENDING, ENABLE, CTX = 0x0, 0x1000, 0x2000, 0x20_0000
M, S = 0, 1


def thr(ctx):
    return CTX + 0x1000 * ctx


def claim_reg(ctx):
    return CTX + 0x1000 * ctx + 4


def en(ctx, word=0):
    return ENABLE + 0x80 * ctx + 4 * word


class Outputs:
    def __init__(self):
        self.calls = []
        self.level = {}

    def __call__(self, ctx, level):
        self.calls.append((ctx, level))
        self.level[ctx] = level


def plic(**kw):
    out = Outputs()
    return Plic(out, **kw), out


def enable(p, ctx, *sources, prio=1):
    for s in sources:
        p.write(PRIO + 4 * s, 4, prio)
        w = s // 32
        p.write(en(ctx, w), 4, p.read(en(ctx, w), 4) | 1 << (s % 32))


def test_qemu_virt_window():
    assert (PLIC_BASE, PLIC_SIZE) == (0x0C00_0000, 0x60_0000)


def test_priorities_are_3_bit_warl_and_source_0_does_not_exist():
    p, _ = plic()
    p.write(PRIO + 4 * 5, 4, 0xFFFF_FFFF)
    assert p.read(PRIO + 4 * 5, 4) == 7
    p.write(PRIO + 4 * 5, 4, 3)
    assert p.read(PRIO + 4 * 5, 4) == 3
    p.write(PRIO, 4, 7)
    assert p.read(PRIO, 4) == 0
    p.write(PRIO + 4 * 96, 4, 2)                     # the last of 96 sources
    assert p.read(PRIO + 4 * 96, 4) == 2
    p.write(PRIO + 4 * 97, 4, 2)                     # beyond them
    assert p.read(PRIO + 4 * 97, 4) == 0


def test_enables_per_context_and_only_existing_sources():
    p, _ = plic()
    p.write(en(M), 4, 0xFFFF_FFFF)
    assert p.read(en(M), 4) == 0xFFFF_FFFE            # bit 0 is source 0
    assert p.read(en(S), 4) == 0
    p.write(en(S, 3), 4, 0xFFFF_FFFF)                 # sources 96..127: only 96 exists
    assert p.read(en(S, 3), 4) == 1
    p.write(en(S, 4), 4, 1)
    assert p.read(en(S, 4), 4) == 0
    p.write(en(2), 4, 0xFF)                           # context 2 does not exist
    assert p.read(en(2), 4) == 0


def test_thresholds_are_3_bit_warl_and_other_sizes_are_ignored():
    p, _ = plic()
    p.write(thr(S), 4, 0xFF)
    assert p.read(thr(S), 4) == 7 and p.read(thr(M), 4) == 0
    p.write(thr(M), 1, 5)
    p.write(thr(M), 8, 5)
    assert p.read(thr(M), 4) == 0
    p.write(thr(S), 4, 2)
    assert p.read(thr(S), 1) == 0 and p.read(thr(S), 2) == 0 and p.read(thr(S), 8) == 0
    assert p.read(thr(5), 4) == 0 and p.read(CTX + 8, 4) == 0      # no context 5; no register at +8


def test_gateway_claim_complete():
    p, out = plic()
    enable(p, S, 10)
    p.set_level(10, 1)
    assert p.read(PENDING, 4) == 1 << 10
    assert out.calls == [(S, True)]
    assert p.read(claim_reg(S), 4) == 10
    assert p.read(PENDING, 4) == 0 and out.calls[-1] == (S, False)
    assert p.read(claim_reg(S), 4) == 0              # nothing else to claim
    p.set_level(10, 0)
    p.set_level(10, 1)                               # claimed, not completed: gateway closed
    assert p.read(PENDING, 4) == 0 and out.level[S] is False
    p.write(claim_reg(S), 4, 10)                     # complete: still at level 1 -> pending again
    assert p.read(PENDING, 4) == 1 << 10 and out.level[S] is True
    assert p.read(claim_reg(S), 4) == 10
    p.set_level(10, 0)
    p.write(claim_reg(S), 4, 10)                     # complete at level 0: nothing more
    assert p.read(PENDING, 4) == 0 and out.level[S] is False


def test_pending_stays_when_the_input_drops_before_the_claim():
    p, out = plic()
    enable(p, M, 3)
    p.set_level(3, 1)
    p.set_level(3, 0)
    assert p.read(PENDING, 4) == 1 << 3 and out.level[M] is True
    assert p.read(claim_reg(M), 4) == 3


def test_pending_is_read_only():
    p, _ = plic()
    p.write(PENDING, 4, 0xFFFF_FFFF)
    assert p.read(PENDING, 4) == 0
    enable(p, M, 1)
    p.set_level(1, 1)
    p.write(PENDING, 4, 0)
    assert p.read(PENDING, 4) == 2


def test_claim_takes_the_highest_priority_then_the_lowest_id():
    p, _ = plic()
    enable(p, M, 4, 9, prio=2)
    enable(p, M, 2, prio=1)
    enable(p, M, 40, prio=5)
    for s in (2, 4, 9, 40):
        p.set_level(s, 1)
    assert p.read(PENDING, 4) == (1 << 2) | (1 << 4) | (1 << 9) and p.read(PENDING + 4, 4) == 1 << 8
    assert [p.read(claim_reg(M), 4) for _ in range(5)] == [40, 4, 9, 2, 0]


def test_threshold_and_priority_zero_mask_sources():
    p, out = plic()
    enable(p, S, 7, prio=3)
    p.write(thr(S), 4, 3)
    p.set_level(7, 1)
    assert out.level.get(S) is None and p.read(claim_reg(S), 4) == 0   # priority must exceed it
    p.write(thr(S), 4, 2)
    assert out.level[S] is True
    p.write(PRIO + 4 * 7, 4, 0)                      # priority 0: never interrupts
    assert out.level[S] is False and p.read(claim_reg(S), 4) == 0
    p.write(PRIO + 4 * 7, 4, 3)
    assert out.level[S] is True and p.read(claim_reg(S), 4) == 7


def test_contexts_are_independent():
    p, out = plic()
    enable(p, M, 1)
    enable(p, S, 2)
    p.set_level(2, 1)
    assert out.calls == [(S, True)]
    p.set_level(1, 1)
    assert out.calls == [(S, True), (M, True)]
    assert p.read(claim_reg(M), 4) == 1               # M cannot claim S's source
    assert p.read(claim_reg(M), 4) == 0
    assert p.read(claim_reg(S), 4) == 2


def test_enabling_a_pending_source_raises_the_output():
    p, out = plic()
    p.write(PRIO + 4 * 5, 4, 1)
    p.set_level(5, 1)
    assert out.calls == []
    p.write(en(M), 4, 1 << 5)
    assert out.calls == [(M, True)]
    p.write(en(M), 4, 0)
    assert out.calls == [(M, True), (M, False)]


def test_complete_is_ignored_unless_the_source_is_enabled_for_the_context():
    p, out = plic()
    enable(p, S, 6)
    p.set_level(6, 1)
    assert p.read(claim_reg(S), 4) == 6
    p.write(claim_reg(M), 4, 6)                      # M does not have 6 enabled
    p.write(claim_reg(S), 4, 0)
    p.write(claim_reg(S), 4, 1000)
    assert p.read(PENDING, 4) == 0
    p.write(claim_reg(S), 4, 6)
    assert p.read(PENDING, 4) == 1 << 6


def test_irq_line_drives_a_gateway():
    p, out = plic()
    enable(p, S, 10)
    line = IrqLine(sink=p.set_level, source=10)
    line.set(True)
    assert out.level[S] is True and p.read(claim_reg(S), 4) == 10
    line.set(False)
    p.write(claim_reg(S), 4, 10)
    assert out.level[S] is False


def test_bad_sources_and_sizes():
    p, _ = plic(num_sources=32, num_contexts=4)
    with pytest.raises(ValueError):
        p.set_level(0, 1)
    with pytest.raises(ValueError):
        p.set_level(33, 1)
    p.set_level(32, 1)
    assert p.read(PENDING + 4, 4) == 1
    with pytest.raises(ValueError):
        Plic(lambda c, l: None, num_sources=0)
    with pytest.raises(ValueError):
        Plic(lambda c, l: None, num_contexts=0)


def test_outputs_follow_levels_from_many_threads():
    p, out = plic()
    enable(p, M, *range(1, 9))

    def toggle(src):
        for i in range(2000):
            p.set_level(src, i & 1)

    threads = [threading.Thread(target=toggle, args=(s,)) for s in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # every source ended at level 1 (i = 1999 is odd) and is pending; the output says so
    assert p.read(PENDING, 4) == 0x1FE and out.level[M] is True
    assert all(a[1] != b[1] for a, b in zip(out.calls, out.calls[1:])), "on_change only on changes"
    assert sorted(p.read(claim_reg(M), 4) for _ in range(8)) == list(range(1, 9))
    assert out.level[M] is False


class Ctx:
    def phandle(self, what):
        return {"cpu0-intc": 1, "cpu1-intc": 2}.get(what, 9)


def test_device_tree_properties():
    p, _ = plic()
    assert (p.dt_name, p.dt_compatible) == ("plic", ("sifive,plic-1.0.0", "riscv,plic0"))
    extra = p.fdt_extra(Ctx())
    assert extra["interrupts-extended"] == [1, 11, 1, 9]
    assert extra["riscv,ndev"] == 96 and extra["#interrupt-cells"] == 1
    assert extra["#address-cells"] == 0 and extra["interrupt-controller"] is True
    assert extra["phandle"] == 9
    p2, _ = plic(num_contexts=4)
    assert p2.fdt_extra(Ctx())["interrupts-extended"] == [1, 11, 1, 9, 2, 11, 2, 9]
