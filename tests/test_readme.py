"""README.md's `make test` block shows what `make test` really prints first (the order line and
the pytest command, for the seed it shows), and the README has no placeholder left."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _make_test_block():
    m = re.search(r"```text\n\$ make test\n(.*?)```", README, re.S)
    assert m, "README.md has no `$ make test` block"
    return m.group(1).splitlines()


def test_the_make_test_block_is_what_make_prints():
    if shutil.which("make") is None:
        pytest.fail("make is missing (Debian package make)")
    shown = _make_test_block()
    seed = re.search(r"SEED=(\d+)", shown[0]).group(1)
    # make -n prints the recipe without running it: the echo line as a command, the pytest line as is
    out = subprocess.run(["make", "-n", "test", f"SEED={seed}"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60).stdout.splitlines()
    echoed = [ln[len('echo "'):-1] for ln in out if ln.startswith('echo "numbavm: test order')]
    assert echoed == [shown[0]], (echoed, shown[0])
    assert shown[1] in out, (shown[1], out)
    assert re.fullmatch(r"\d+ passed in [\d.]+s \(\d+:\d\d:\d\d\)", shown[-1]), shown[-1]


def test_no_placeholder_is_left():
    assert "TODO" not in README and "N passed in N s" not in README
