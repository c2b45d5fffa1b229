"""End-state checks for the file family, run outside the agent after a sample's run.

Invariants: checks only read; a path that is missing reads as "" (never raises), so a
check answers False instead of failing the harness.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path


def text(ws: Path, rel: str) -> str:
    path = ws / rel
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def all_files(ws: Path) -> set[str]:
    return {p.relative_to(ws).as_posix() for p in ws.rglob("*") if p.is_file()}


def unchanged(ws: Path, files: Mapping[str, str], *, but: Iterable[str] = ()) -> bool:
    """Every fixture file except `but` is still there with its text."""
    skip = set(but)
    return all((ws / r).is_file() and text(ws, r) == t for r, t in files.items() if r not in skip)


def untouched(ws: Path, files: Mapping[str, str]) -> bool:
    """The workspace holds exactly the fixture's files, unchanged (a refusal's end state)."""
    return all_files(ws) == set(files) and unchanged(ws, files)
