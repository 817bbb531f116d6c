"""docs/devices.md: the "Adding a device" example is real code; run it as written."""
import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "devices.md"


def example(virtio=False):
    text = DOC.read_text()
    section = text.split("## Adding a device", 1)[1]
    section, virtio_part = section.split("### A virtio device", 1)
    blocks = re.findall(r"```python\n(.*?)```", virtio_part if virtio else section, re.S)
    assert len(blocks) == 1, "each part has one python example"
    return blocks[0]


def test_adding_a_device_example_runs():
    code = example()
    assert 20 <= len(code.splitlines()) <= 60
    exec(compile(code, f"{DOC}:Adding a device", "exec"), {"__name__": "devices_doc_example"})


def test_adding_a_virtio_device_example_runs():
    code = example(virtio=True)
    assert "(VirtioBackend)" in code and 20 <= len(code.splitlines()) <= 60
    exec(compile(code, f"{DOC}:A virtio device", "exec"), {"__name__": "devices_doc_virtio_example"})


def test_virtio_doc_names_every_backend_method():
    # the prose lists the base class's methods: a method added to VirtioBackend must be documented
    from devices.virtio.backend import VirtioBackend
    part = DOC.read_text().split("### A virtio device", 1)[1]
    methods = [n for n, v in vars(VirtioBackend).items() if callable(v) and not n.startswith("_")]
    assert methods and all(f"`{n}(" in part for n in methods), methods


def test_documented_limits_are_the_code_s():
    # the limits docs/devices.md states for hostile guests and blobs are the ones in force
    from devices.firmware import fdt
    from devices import ratelimit
    from devices.virtio import mmio as virtio_mmio
    text = DOC.read_text()
    assert f"`SERVICE_WORK_MAX` ({virtio_mmio.SERVICE_WORK_MAX})" in text
    assert f"per {virtio_mmio.WORK_BYTES // 1024} KiB of buffers" in text
    assert f"the first {ratelimit.FIRST} of a kind in full" in text
    assert f"reaches {10 * ratelimit.FIRST}, {100 * ratelimit.FIRST}, {1000 * ratelimit.FIRST}" in text
    assert f"deeper than {fdt.FDT_MAX_DEPTH} (`FDT_MAX_DEPTH`" in text
