"""docs/devices.md: the "Adding a device" example is real code; run it as written."""
import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "devices.md"


def example():
    text = DOC.read_text()
    section = text.split("## Adding a device", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the section has one python example"
    return blocks[0]


def test_adding_a_device_example_runs():
    code = example()
    assert 20 <= len(code.splitlines()) <= 60
    exec(compile(code, f"{DOC}:Adding a device", "exec"), {"__name__": "devices_doc_example"})


def test_documented_limits_are_the_code_s():
    # the limits docs/devices.md states for hostile guests and blobs are the ones in force
    from devices import fdt, ratelimit, virtio_mmio
    text = DOC.read_text()
    assert f"`SERVICE_WORK_MAX` ({virtio_mmio.SERVICE_WORK_MAX})" in text
    assert f"per {virtio_mmio.WORK_BYTES // 1024} KiB of buffers" in text
    assert f"the first {ratelimit.FIRST} of a kind in full" in text
    assert f"reaches {10 * ratelimit.FIRST}, {100 * ratelimit.FIRST}, {1000 * ratelimit.FIRST}" in text
    assert f"deeper than {fdt.FDT_MAX_DEPTH} (`FDT_MAX_DEPTH`" in text
