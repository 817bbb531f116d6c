"""docs/tutorial.md: every `console` block is run, and what it shows must appear in what it prints.

A block is a `$ command` (continued over the following lines until the quotes
close, as a shell would read it) followed by the output it shows.  Each shown
line must occur, in order, in the command's output (stdout and stderr together):
a line with `...` matches around the dots (`...x` ends with x, `x ...` starts
with x, `a...b` both), `[...]` stands for lines left out.
"""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "tutorial.md"


def blocks():
    out = []
    for body in re.findall(r"```console\n(.*?)```", DOC.read_text(), re.S):
        lines = body.splitlines()
        assert lines[0].startswith("$ "), lines[0]
        cmd, i = lines[0][2:], 1
        while not _complete(cmd):
            cmd += "\n" + lines[i]
            i += 1
        out.append((cmd, [ln for ln in lines[i:] if ln.strip() and ln.strip() != "[...]"]))
    return out


def _complete(cmd):
    try:
        shlex.split(cmd)
        return True
    except ValueError:
        return False


def _matches(shown, line):
    shown = shown.strip()
    line = line.strip()
    if "..." not in shown:
        return shown == line
    head, _, tail = shown.partition("...")
    return line.startswith(head.strip()) and line.endswith(tail.strip())


def needs(cmd):
    """Skip (or fail on CI) a block whose tools or guest are missing."""
    from tests.linux_guest import unavailable
    if "numbavm boot" in cmd and "--kernel" not in cmd:
        from tests.linux_guest import bundled_kernel
        bundled_kernel()
    for tool, package in (("dtc", "device-tree-compiler"), ("gdb-multiarch", "gdb-multiarch")):
        if f"{tool} " in cmd and subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            unavailable(f"{tool} is missing (Debian package {package})")


@pytest.mark.parametrize("cmd,shown", blocks(), ids=lambda v: v[:40] if isinstance(v, str) else "")
def test_tutorial_command(cmd, shown):
    needs(cmd)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    p = subprocess.run(["bash", "-c", cmd], cwd=ROOT, env=env, capture_output=True, timeout=600)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    actual = (p.stdout + p.stderr).decode(errors="replace").replace("\r", "").splitlines()
    at = 0
    for s in shown:
        while at < len(actual) and not _matches(s, actual[at]):
            at += 1
        assert at < len(actual), f"{s!r} not in the output (in order):\n" + "\n".join(actual[-60:])
        at += 1


def test_the_tutorial_has_the_sections_it_promises():
    text = DOC.read_text()
    assert len(blocks()) >= 5
    for title in ("bare-metal program", "pdb", "Linux", "GDB", "thousand instructions", "device", "lifecycle",
                  "Hooks"):
        assert title in text
