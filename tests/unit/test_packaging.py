"""Packaging and architecture: the generic top-level names resolve to this project, the
import contracts hold, prompts ship as package data."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["app", "agent", "tools", "models"])
def test_top_level_packages_resolve_inside_this_project(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == ROOT / name


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"Contracts: \d+ kept, 0 broken", proc.stdout), proc.stdout


def test_engine_imports_no_qt_and_no_llama_at_import_time() -> None:
    code = (
        "import sys, agent.loop, agent.assemble, tools.registry, models.router, models.catalogue;"
        "bad = [m for m in ('PySide6', 'llama_cpp') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_prompts_ship_as_package_data() -> None:
    from importlib import resources

    names = {p.name for p in resources.files("agent").joinpath("prompts").iterdir()}
    assert {"system.j2", "goal.j2", "observation.j2", "examples.json"} <= names


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).parent / "deskhand"
    proc = subprocess.run([str(exe), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "run" in proc.stdout
