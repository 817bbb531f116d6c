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
