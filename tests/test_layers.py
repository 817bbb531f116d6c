"""Import directions between the project's packages (issue 13).

docs/architecture.md, "Layers and who may import whom":

    bench/       may import emu, devices, lifecycle          nothing imports bench (but bench itself)
    lifecycle/   may import emu, devices
    devices/     may import emu
    emu/         imports none of devices, lifecycle, bench
    tests/, fuzz/ may import every package but bench (tests of bench excepted, ALLOWED below)
    no package imports tests/ or fuzz/, and the packages form no import cycle.

`numbavm bench` is found through the "numbavm.commands" entry point in pyproject.toml, so the CLI in
lifecycle/ needs no import of bench.

The files are parsed with `ast`, never imported (importing would run numba and hide imports that sit
in functions): every `import x`, `from x import y`, relative import and `importlib.import_module("x")`
/ `__import__("x")` with a literal name, at any depth.  A module name built at run time (like the
lazy exports in lifecycle/__init__.py) is not seen.  check_layers() takes the tree's root, so
test_checker_finds_* can run it on a small tree with known violations.
"""
import ast
import functools
import os
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PACKAGES = ("emu", "devices", "lifecycle", "bench")     # bottom to top
CLIENTS = ("tests", "fuzz")                             # may import any package but bench

# Layer of the importing file -> the project's top-level packages it may import (its own included).
MAY_IMPORT = {
    "emu": {"emu"},
    "devices": {"emu", "devices"},
    "lifecycle": {"emu", "devices", "lifecycle"},
    "bench": {"emu", "devices", "lifecycle", "bench"},
    "tests": {"emu", "devices", "lifecycle", "tests", "fuzz"},
    "fuzz": {"emu", "devices", "lifecycle", "tests", "fuzz"},
}
RULE = {
    "emu": "emu/ imports none of devices, lifecycle, bench",
    "devices": "devices/ imports only emu",
    "lifecycle": "lifecycle/ imports only emu and devices",
    "bench": "bench/ imports emu, devices, lifecycle, never tests/fuzz",
    "tests": "nothing imports bench but bench's own tests",
    "fuzz": "fuzz/ imports every package but bench",
}

# Allowed exceptions: (importing file relative to the root, imported top-level package) -> why.
# Each one names the reason; a layer violation that is debt to pay names its issue.
ALLOWED = {
    # The tests of bench's harness and workloads (correctness, not speed) must import bench.
    ("tests/test_bench_harness.py", "bench"): "tests bench itself",
}

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
    """(line, absolute module name) for every import in the file, at any depth."""
    rel = path.relative_to(root).parts
    package = list(rel[:-1])                # the package a relative import starts from
    found = []
    for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.lineno, node.module))
            else:                           # from . import x / from ..y import z
                base = package[:len(package) - (node.level - 1)] if node.level - 1 <= len(package) else []
                mod = ".".join(base + ([node.module] if node.module else []))
                found.append((node.lineno, mod or "."))
        elif isinstance(node, ast.Call):
            mod = _literal_import_call(node)
            if mod:
                found.append((node.lineno, mod))
    return found


def check_layers(root: Path):
    """-> (violations, package graph): violations as "file:line: ... (rule)" strings, and
    {package: {packages it imports}} over emu, devices, lifecycle, bench (edges to itself left out)."""
    violations = []
    graph = {p: set() for p in PACKAGES}
    for path in python_files(root):
        rel = path.relative_to(root)
        layer = rel.parts[0] if len(rel.parts) > 1 else None    # a top-level script: like tests
        allowed = MAY_IMPORT.get(layer, MAY_IMPORT["tests"])
        for line, mod in imports_of(path, root):
            top = mod.split(".")[0]
            if top not in PACKAGES and top not in CLIENTS:
                continue                    # stdlib or third party
            if layer in graph and top in graph and top != layer:
                graph[layer].add(top)
            if top in allowed or (rel.as_posix(), top) in ALLOWED:
                continue
            rule = RULE["tests"] if top == "bench" else RULE.get(layer, RULE["tests"])
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


def test_one_bad_import_in_a_copy_of_the_tree_is_caught(tmp_path):
    """The real tree passes; the same tree with one function-level `import lifecycle` added to
    emu/hart.py fails with exactly that line, and lifecycle <-> emu becomes a cycle."""
    for p in python_files(ROOT):
        dst = tmp_path / p.relative_to(ROOT)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(p.read_bytes())
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
    used = {(p.relative_to(ROOT).as_posix(), m.split(".")[0])
            for p in python_files(ROOT) for _, m in imports_of(p, ROOT)}
    assert not set(ALLOWED) - used, sorted(set(ALLOWED) - used)


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
    "lifecycle/machine/board.py": "import devices.uart\nfrom emu import hart\n",
    "bench/harness.py": "from lifecycle.machine.board import Machine\n",
    "tests/test_bench_harness.py": "from bench import harness\n",
    "tests/test_uart.py": "from devices import uart\nfrom tests.helpers import x\n",
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
    assert imports_of(root / "emu/regions/__init__.py", root) == [(1, "emu.regions"), (2, "emu.hart")]


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
