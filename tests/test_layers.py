"""Import directions between the project's packages (issue 13).

docs/architecture.md, "Layers and who may import whom":

    bench/       may import emu, devices, lifecycle          nothing imports bench (but bench itself)
    lifecycle/   may import emu, devices
    devices/     may import emu
    emu/         imports none of devices, lifecycle, bench
    tests/, fuzz/ may import every package but bench (tests of bench excepted, ALLOWED below)
    no package imports tests/ or fuzz/, and the packages form no import cycle.

and inside the layers (the sub-packages of lifecycle/ and devices/):

    lifecycle.cli       nothing imports it but itself and tests/ (the console script is an entry point)
    lifecycle.machine   imports none of lifecycle.control, lifecycle.cli, lifecycle.debug
                        (board.py's lazy import of the tracer's Disassembler: ALLOWED below)
    lifecycle.control   does not import lifecycle.cli
    lifecycle.debug     does not import lifecycle.cli
    devices.virtio, devices.firmware   import only emu and devices

`numbavm bench` is found through the "numbavm.commands" entry point in pyproject.toml, so the CLI in
lifecycle/ needs no import of bench.

The files are parsed with `ast`, never imported (importing would run numba and hide imports that sit
in functions): every `import x`, `from x import y`, relative import and `importlib.import_module("x")`
/ `__import__("x")` with a literal name, at any depth.  A module name built at run time (like the
lazy exports in lifecycle/__init__.py) is not seen, and `from lifecycle import debug` counts as an
import of lifecycle (write `from lifecycle.debug import ...`).  check_layers() takes the tree's root,
so test_checker_finds_* can run it on a small tree with known violations.
"""
import ast
import functools
import os
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PACKAGES = ("emu", "devices", "lifecycle", "bench")     # bottom to top
CLIENTS = ("tests", "fuzz")                             # may import any package but bench

# The importing file's package (dotted; the most specific entry applies) -> the project's top-level
# packages it may import (its own included).  A file outside these (a top-level script) is a client.
MAY_IMPORT = {
    "emu": {"emu"},
    "devices": {"emu", "devices"},
    "devices.virtio": {"emu", "devices"},
    "devices.firmware": {"emu", "devices"},
    "lifecycle": {"emu", "devices", "lifecycle"},
    "bench": {"emu", "devices", "lifecycle", "bench"},
    "tests": {"emu", "devices", "lifecycle", "tests", "fuzz"},
    "fuzz": {"emu", "devices", "lifecycle", "tests", "fuzz"},
}
RULE = {
    "emu": "emu/ imports none of devices, lifecycle, bench",
    "devices": "devices/ imports only emu",
    "devices.virtio": "devices.virtio imports only emu and devices",
    "devices.firmware": "devices.firmware imports only emu and devices",
    "lifecycle": "lifecycle/ imports only emu and devices",
    "bench": "bench/ imports emu, devices, lifecycle, never tests/fuzz",
    "tests": "nothing imports bench but bench's own tests",
    "fuzz": "fuzz/ imports every package but bench",
}

# Inside lifecycle/: the importing file's package -> (the packages it must not import, the rule).
MUST_NOT_IMPORT = {
    "lifecycle.machine": (("lifecycle.control", "lifecycle.cli", "lifecycle.debug"),
                          "lifecycle.machine imports none of lifecycle.control, lifecycle.cli, lifecycle.debug"),
    "lifecycle.control": (("lifecycle.cli",), "lifecycle.control does not import lifecycle.cli"),
    "lifecycle.debug": (("lifecycle.cli",), "lifecycle.debug does not import lifecycle.cli"),
}
# The command line is the top of lifecycle/: only its own modules and the tests import it (the
# `numbavm` console script names lifecycle.cli.main in pyproject.toml, an entry point, not an import).
CLI = "lifecycle.cli"
CLI_IMPORTERS = ("lifecycle.cli", "tests")
CLI_RULE = "nothing imports lifecycle.cli but lifecycle.cli and tests/"

# Allowed exceptions: (importing file relative to the root, imported package, dotted) -> why.
# Each one names the reason; a layer violation that is debt to pay names its issue.
ALLOWED = {
    # The tests of bench's harness and workloads (correctness, not speed) must import bench.
    ("tests/test_bench_harness.py", "bench"): "tests bench itself",
    # A trap loop's fatal message shows the first trap's instruction as the tracer disassembles it
    # (lifecycle.debug.trace.Disassembler, capstone), imported inside board._disassemble: loading the
    # machine loads no debugging tool, and lifecycle.debug (which imports the machine) stays above it.
    ("lifecycle/machine/board.py", "lifecycle.debug"): "the disassembly in a trap loop's fatal message",
}
# ALLOWED entries that hold only for an import inside a function (run when called, not at import).
LAZY_ONLY = {("lifecycle/machine/board.py", "lifecycle.debug")}

_SKIP_DIRS = {"__pycache__", "build", "dist", "node_modules"}


def python_files(root: Path):
    """Every .py file of the tree, without the venv, caches, build output or hidden folders."""
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not (d.startswith(".") or d in _SKIP_DIRS or d.endswith(".egg-info"))]
        out += [Path(folder, f) for f in files if f.endswith(".py")]
    return sorted(out)


def _literal_import_call(node: ast.Call):
    """The module named by importlib.import_module("x") / import_module("x") / __import__("x")."""
    f = node.func
    name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
    if name not in ("import_module", "__import__") or not node.args:
        return None
    a = node.args[0]
    if isinstance(a, ast.Constant) and isinstance(a.value, str) and not a.value.startswith("."):
        return a.value
    return None


def imports_of(path: Path, root: Path):
    """(line, absolute module name, lazy) for every import in the file, at any depth; lazy: the
    import sits in a function (it runs when the function is called, not when the module loads)."""
    rel = path.relative_to(root).parts
    package = list(rel[:-1])                # the package a relative import starts from
    tree = ast.parse(path.read_bytes(), str(path))
    bodies = [f.body if isinstance(f, ast.Lambda) else ast.Module(f.body, []) for f in ast.walk(tree)
              if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]   # not decorators, defaults
    in_function = {id(n) for body in bodies for n in ast.walk(body)}
    found = []
    for node in ast.walk(tree):
        lazy = id(node) in in_function
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, lazy) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.lineno, node.module, lazy))
            else:                           # from . import x / from ..y import z
                base = package[:len(package) - (node.level - 1)] if node.level - 1 <= len(package) else []
                mod = ".".join(base + ([node.module] if node.module else []))
                found.append((node.lineno, mod or ".", lazy))
        elif isinstance(node, ast.Call):
            mod = _literal_import_call(node)
            if mod:
                found.append((node.lineno, mod, lazy))
    return found


def _within(name: str, package: str) -> bool:
    """name is package or one of its modules (dotted: lifecycle.cli.main is within lifecycle.cli)."""
    return name == package or name.startswith(package + ".")


def _most_specific(table, package: str):
    """The longest key of table that package is within, or None."""
    keys = [k for k in table if _within(package, k)]
    return max(keys, key=len) if keys else None


def _prefixes(mod: str):
    """lifecycle.debug.trace -> lifecycle, lifecycle.debug, lifecycle.debug.trace."""
    parts = mod.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def broken_rule(package: str, mod: str):
    """The rule a file in `package` (dotted) breaks by importing the project module `mod`, or None."""
    key = _most_specific(MAY_IMPORT, package)
    top = mod.split(".")[0]
    if top not in MAY_IMPORT.get(key, MAY_IMPORT["tests"]):
        return RULE["tests"] if top == "bench" else RULE.get(key, RULE["tests"])
    inner = _most_specific(MUST_NOT_IMPORT, package)
    if inner is not None:
        forbidden, rule = MUST_NOT_IMPORT[inner]
        if any(_within(mod, f) for f in forbidden):
            return rule
    if _within(mod, CLI) and not any(_within(package, p) for p in CLI_IMPORTERS):
        return CLI_RULE
    return None


def _allowed(rel: str, mod: str, lazy: bool) -> bool:
    return any((rel, p) in ALLOWED and ((rel, p) not in LAZY_ONLY or lazy) for p in _prefixes(mod))


def check_layers(root: Path):
    """-> (violations, package graph): violations as "file:line: ... (rule)" strings, and
    {package: {packages it imports}} over emu, devices, lifecycle, bench (edges to itself left out)."""
    violations = []
    graph = {p: set() for p in PACKAGES}
    for path in python_files(root):
        rel = path.relative_to(root)
        layer = rel.parts[0] if len(rel.parts) > 1 else None    # a top-level script: like tests
        package = ".".join(rel.parts[:-1])                      # lifecycle/machine/board.py: lifecycle.machine
        for line, mod, lazy in imports_of(path, root):
            top = mod.split(".")[0]
            if top not in PACKAGES and top not in CLIENTS:
                continue                    # stdlib or third party
            if layer in graph and top in graph and top != layer:
                graph[layer].add(top)
            rule = broken_rule(package, mod)
            if rule is not None and not _allowed(rel.as_posix(), mod, lazy):
                violations.append(f"{rel.as_posix()}:{line}: imports {mod} ({rule})")
    return violations, graph


def package_cycles(graph):
    """Every import cycle between packages, each as a list [a, b, ..., a] (empty list: none)."""
    cycles = []

    def walk(node, path):
        for nxt in sorted(graph.get(node, ())):
            if nxt == path[0]:
                cycles.append(path + [nxt])
            elif nxt not in path and nxt > path[0]:     # each cycle once, from its smallest name
                walk(nxt, path + [nxt])

    for start in sorted(graph):
        walk(start, [start])
    return cycles


# ------------------------------------------------------------------------------------ the tree

@functools.cache
def _real_tree():
    return check_layers(ROOT)


def test_the_tree_keeps_the_import_directions():
    violations, _ = _real_tree()
    assert not violations, "import-direction violations:\n" + "\n".join(violations)


def test_the_packages_form_no_import_cycle():
    _, graph = _real_tree()
    assert not package_cycles(graph), package_cycles(graph)


def _copy_of_the_tree(dst_root: Path):
    """Every .py file of the real tree, copied under dst_root."""
    for p in python_files(ROOT):
        dst = dst_root / p.relative_to(ROOT)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(p.read_bytes())


def test_one_bad_import_in_a_copy_of_the_tree_is_caught(tmp_path):
    """The real tree passes; the same tree with one function-level `import lifecycle` added to
    emu/hart.py fails with exactly that line, and lifecycle <-> emu becomes a cycle."""
    _copy_of_the_tree(tmp_path)
    hart = tmp_path / "emu" / "hart.py"
    n = len(hart.read_text().splitlines())
    hart.write_text(hart.read_text() + "\n\ndef _probe():\n    import lifecycle.machine.board\n")
    violations, graph = check_layers(tmp_path)
    assert violations == [f"emu/hart.py:{n + 4}: imports lifecycle.machine.board ({RULE['emu']})"], violations
    assert ["emu", "lifecycle", "emu"] in package_cycles(graph)


def test_the_checker_sees_the_whole_tree():
    """An empty walk would pass the tests above: the checker must see every package's files and
    the imports we know of (lifecycle imports both layers below it, bench imports lifecycle)."""
    files = {p.relative_to(ROOT).parts[0] for p in python_files(ROOT)}
    assert set(PACKAGES) | set(CLIENTS) <= files, files
    assert not any(".venv" in p.parts for p in python_files(ROOT))
    _, graph = _real_tree()
    assert graph["lifecycle"] >= {"emu", "devices"}, graph
    assert "lifecycle" in graph["bench"], graph


def test_allowed_entries_are_still_needed():
    """An allow-list entry whose import is gone must go too (the debt was paid)."""
    used = {(p.relative_to(ROOT).as_posix(), prefix)
            for p in python_files(ROOT) for _, m, _lazy in imports_of(p, ROOT) for prefix in _prefixes(m)}
    assert not set(ALLOWED) - used, sorted(set(ALLOWED) - used)
    assert LAZY_ONLY <= set(ALLOWED)


def test_inside_lifecycle_the_imports_we_know_of_are_seen():
    """The sub-package rules are not vacuous on the real tree: the checker sees the command line
    import the control plane, the tools and the machine, the control plane import the machine and
    the tools, the tools import the machine, and the tests import the command line."""
    edges = set()
    for p in python_files(ROOT):
        rel = p.relative_to(ROOT)
        src = ".".join(rel.parts[:2]) if rel.parts[0] == "lifecycle" else rel.parts[0]
        edges |= {(src, ".".join(m.split(".")[:2])) for _, m, _lazy in imports_of(p, ROOT)}
    assert {("lifecycle.cli", "lifecycle.control"), ("lifecycle.cli", "lifecycle.debug"),
            ("lifecycle.cli", "lifecycle.machine"), ("lifecycle.control", "lifecycle.machine"),
            ("lifecycle.control", "lifecycle.debug"), ("lifecycle.debug", "lifecycle.machine"),
            ("tests", "lifecycle.cli")} <= edges


def test_lifecycle_cli_is_reached_through_the_console_script():
    """The one way in from outside the tests is the `numbavm` script, an entry point, not an import."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert _within(project["scripts"]["numbavm"].split(":")[0], CLI)


def test_numbavm_bench_is_an_entry_point_not_an_import():
    """The CLI finds `numbavm bench` through pyproject's entry point, so lifecycle needs no import
    of bench (which test_the_tree_keeps_the_import_directions checks)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["numbavm.commands"]["bench"] == "bench.__main__:main"
    assert project["scripts"]["numbavm"].split(":")[0].split(".")[0] == "lifecycle"


# ------------------------------------------------------------ the checker on a synthetic tree

def _tree(tmp_path, files):
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp_path


_CLEAN = {
    "emu/__init__.py": "import os\n",
    "emu/hart.py": "import numpy\nfrom emu import isa\n",
    "emu/regions/__init__.py": "from . import table\nfrom ..hart import Hart\n",
    "devices/uart.py": "from emu.hart import Hart\n",
    "lifecycle/machine/board.py": ("import devices.uart\nfrom emu import hart\nfrom . import seat\n\n"
                                   "def _disassemble():\n    from lifecycle.debug.trace import Disassembler\n"),
    "lifecycle/control/lifecycle.py": "from lifecycle.machine.board import Machine\nfrom lifecycle.debug import x\n",
    "lifecycle/debug/hooks.py": "from lifecycle.machine.seat import Seat\nfrom lifecycle.control.units import y\n",
    "lifecycle/cli/main.py": "from lifecycle.control import lifecycle\nfrom lifecycle.debug import trace\n",
    "devices/virtio/blk.py": "from devices.virtio.backend import VirtioBackend\nfrom emu.spec import RAM_BASE\n",
    "devices/firmware/sbi.py": "from devices import bus\nfrom emu import ints\n",
    "bench/harness.py": "from lifecycle.machine.board import Machine\n",
    "tests/test_bench_harness.py": "from bench import harness\n",
    "tests/test_uart.py": "from devices import uart\nfrom tests.helpers import x\nfrom lifecycle.cli import main\n",
    "fuzz/fuzz_x.py": "def f():\n    from lifecycle import machine\n",
    ".venv/lib/site.py": "import bench\n",                 # not the project's
    "emu/__pycache__/x.py": "import lifecycle\n",
}


def test_checker_passes_a_clean_tree(tmp_path):
    root = _tree(tmp_path, _CLEAN)
    violations, graph = check_layers(root)
    assert violations == []
    assert not package_cycles(graph)
    assert graph == {"emu": set(), "devices": {"emu"}, "lifecycle": {"emu", "devices"},
                     "bench": {"lifecycle"}}
    # relative imports resolve from the file's package (an __init__.py's package is its folder)
    assert imports_of(root / "emu/regions/__init__.py", root) == [(1, "emu.regions", False), (2, "emu.hart", False)]
    # an import in a function is lazy, one at module level (even under `if`) is not
    assert imports_of(root / "fuzz/fuzz_x.py", root) == [(2, "lifecycle", True)]


def test_checker_finds_every_kind_of_violation(tmp_path):
    root = _tree(tmp_path, {**_CLEAN,
        "emu/loop.py": "import os\n\ndef f():\n    import devices.bus\n",              # function level
        "devices/plic.py": "import importlib\nimportlib.import_module('lifecycle.x')\n",
        "devices/firmware/sbi.py": "from importlib import import_module\nm = import_module(\"bench.common\")\n",
        "lifecycle/cli/main.py": "if True:\n    from bench.__main__ import main\n",
        "lifecycle/gdb.py": "__import__('tests.helpers')\n",
        "tests/test_other.py": "import bench.harness\n",     # not the allowed file
        "fuzz/fuzz_y.py": "from bench import common\n",
        "bench/report.py": "from tests import elf_builder\n",
        "run.py": "import bench\n",                          # a top-level script is a client
    })
    violations, graph = check_layers(root)
    expected = {
        "emu/loop.py:4: imports devices.bus",
        "devices/plic.py:2: imports lifecycle.x",
        "devices/firmware/sbi.py:2: imports bench.common",
        "lifecycle/cli/main.py:2: imports bench.__main__",
        "lifecycle/gdb.py:1: imports tests.helpers",
        "tests/test_other.py:1: imports bench.harness",
        "fuzz/fuzz_y.py:1: imports bench",
        "bench/report.py:1: imports tests",
        "run.py:1: imports bench",
    }
    assert {v.split(" (")[0] for v in violations} == expected, violations
    assert all(v.endswith(")") and " (" in v for v in violations)          # each names its rule
    assert "emu/loop.py:4: imports devices.bus (emu/ imports none of devices, lifecycle, bench)" in violations
    assert "nothing imports bench" in next(v for v in violations if v.startswith("devices/firmware/sbi.py"))
    assert graph["emu"] == {"devices"}


def test_checker_reports_every_violation_in_one_message(tmp_path):
    root = _tree(tmp_path, {**_CLEAN, "emu/a.py": "import devices\n", "emu/b.py": "import lifecycle\n"})
    violations, _ = check_layers(root)
    assert len(violations) == 2


def test_cycle_finder(tmp_path):
    root = _tree(tmp_path, {**_CLEAN, "emu/state.py": "from lifecycle import errors\n"})
    _, graph = check_layers(root)
    assert package_cycles(graph) == [["devices", "emu", "lifecycle", "devices"], ["emu", "lifecycle", "emu"]]
    assert package_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert package_cycles({"a": {"b"}, "b": set()}) == []


def test_checker_finds_every_break_of_the_sub_package_rules(tmp_path):
    """Each rule inside lifecycle/ and devices/ fails on a tree that breaks it, with the rule's words."""
    root = _tree(tmp_path, {**_CLEAN,
        "lifecycle/machine/exits.py": "from lifecycle.control.errors import GuestError\n",
        "lifecycle/machine/seat.py": "def f():\n    import lifecycle.cli.runner\n",
        "lifecycle/machine/proctime.py": "from lifecycle.debug import hooks\n",
        "lifecycle/control/guest.py": "def f():\n    from lifecycle.cli.main import main\n",
        "lifecycle/debug/trace.py": "from ..cli import stats\n",                    # relative
        "lifecycle/__init__.py": "import importlib\nimportlib.import_module('lifecycle.cli.main')\n",
        "bench/harness.py": "from lifecycle.cli.runner import run\n",
        "fuzz/fuzz_cli.py": "import lifecycle.cli\n",
        "devices/virtio/console.py": "def f():\n    from lifecycle.machine.board import Machine\n",
        "devices/firmware/htif.py": "import lifecycle.debug.trace\n",
    })
    violations, _ = check_layers(root)
    machine = MUST_NOT_IMPORT["lifecycle.machine"][1]
    assert sorted(violations) == sorted([
        f"lifecycle/machine/exits.py:1: imports lifecycle.control.errors ({machine})",
        f"lifecycle/machine/seat.py:2: imports lifecycle.cli.runner ({machine})",
        f"lifecycle/machine/proctime.py:1: imports lifecycle.debug ({machine})",
        "lifecycle/control/guest.py:2: imports lifecycle.cli.main (lifecycle.control does not import lifecycle.cli)",
        "lifecycle/debug/trace.py:1: imports lifecycle.cli (lifecycle.debug does not import lifecycle.cli)",
        f"lifecycle/__init__.py:2: imports lifecycle.cli.main ({CLI_RULE})",
        f"bench/harness.py:1: imports lifecycle.cli.runner ({CLI_RULE})",
        f"fuzz/fuzz_cli.py:1: imports lifecycle.cli ({CLI_RULE})",
        "devices/virtio/console.py:2: imports lifecycle.machine.board (devices.virtio imports only emu and devices)",
        "devices/firmware/htif.py:1: imports lifecycle.debug.trace (devices.firmware imports only emu and devices)",
    ]), violations


def test_an_exception_holds_only_as_far_as_it_says(tmp_path):
    """board.py may import the tracer's Disassembler in a function, not at module level; and the
    exception is board.py's alone."""
    root = _tree(tmp_path, {**_CLEAN,
        "lifecycle/machine/board.py": "from lifecycle.debug.trace import Disassembler\n",
        "lifecycle/machine/exits.py": "def f():\n    from lifecycle.debug.trace import Disassembler\n",
    })
    violations, _ = check_layers(root)
    rule = MUST_NOT_IMPORT["lifecycle.machine"][1]
    assert sorted(violations) == [f"lifecycle/machine/board.py:1: imports lifecycle.debug.trace ({rule})",
                                  f"lifecycle/machine/exits.py:2: imports lifecycle.debug.trace ({rule})"]


def test_a_bad_sub_package_import_in_a_copy_of_the_tree_is_caught(tmp_path):
    """The real tree with the machine importing the control plane, and the tracer importing the
    command line (both in a function): exactly those two lines fail, each naming its rule."""
    _copy_of_the_tree(tmp_path)
    added = {}
    for name, line in (("lifecycle/machine/board.py", "    from lifecycle.control.config import GuestConfig\n"),
                       ("lifecycle/debug/trace.py", "    from lifecycle.cli import stats\n")):
        f = tmp_path / name
        added[name] = len(f.read_text().splitlines()) + 4
        f.write_text(f.read_text() + "\n\ndef _probe():\n" + line)
    violations, _ = check_layers(tmp_path)
    assert sorted(violations) == [
        f"lifecycle/debug/trace.py:{added['lifecycle/debug/trace.py']}: imports lifecycle.cli "
        "(lifecycle.debug does not import lifecycle.cli)",
        f"lifecycle/machine/board.py:{added['lifecycle/machine/board.py']}: imports lifecycle.control.config "
        f"({MUST_NOT_IMPORT['lifecycle.machine'][1]})"], violations
