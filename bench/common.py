"""What the bench modules share: paths, the pinned LLVM options, how to start numbavm, logging.

harness.py runs the suite and imports hooks.py, microbench.py and system.py for their
parts; those import only this module (never harness), so the imports point one way:
harness -> {hooks, microbench, system, peers, ...} -> common.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD_DIR = ROOT / "bench" / "workloads" / "bin"
DEFAULT_LLVM_OPTIONS = "--align-all-nofallthru-blocks=5"


def setup_env():
    """Pin LLVM code alignment for the numbavm runs (this process and its children)."""
    os.environ.setdefault("NUMBAVM_LLVM_OPTIONS", DEFAULT_LLVM_OPTIONS)
    if "emu" in sys.modules:
        print("bench: warning: emu/ was imported before the bench set NUMBAVM_LLVM_OPTIONS; "
              "the in-process numbers may not use the pinned alignment", file=sys.stderr)


def workload_path(name, variant=""):
    return str(WORKLOAD_DIR / f"{name}{variant}.elf")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def numbavm_exe():
    # `python -m lifecycle.cli.main` (= the numbavm console script) from ROOT, so that the
    # sources measured are the ones next to this file even when the installed (editable)
    # package points elsewhere
    return [sys.executable, "-m", "lifecycle.cli.main"]


def child_env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update(extra)
    return env
