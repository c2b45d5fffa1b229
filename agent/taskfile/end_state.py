"""The checks of a saved task: the end state its run left, folded from the journaled file
changes (what exists, the first line written, what was moved or deleted)."""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agent.journal import Row


def shown_path(path: str, root: Path) -> str | None:
    """A journaled absolute path as the task file names it; None outside the workspace."""
    p = Path(path)
    if p == root or not p.is_relative_to(root):
        return None
    return p.relative_to(root).as_posix()


def end_state_checks(
    changes: Sequence[Row], steps: Mapping[int, Row], root: Path
) -> list[dict[str, Any]]:
    exists: dict[str, bool] = {}
    text: dict[str, str] = {}
    created: set[str] = set()
    for row in changes:
        change = row["change"]
        op = change.get("op")
        if op in ("create_file", "modify_file", "make_folder", "copy"):
            path = str(change["path"])
            exists[path] = True
            if op != "modify_file":
                created.add(path)
            if op in ("create_file", "modify_file"):
                _note_text(text, path, steps.get(row["step_idx"]))
        elif op == "move":
            source, dest = str(change["source"]), str(change["destination"])
            for old in [p for p in exists if p == source or p.startswith(source + "/")]:
                new = dest + old[len(source) :]
                exists[new] = exists.pop(old)
                if old in text:
                    text[new] = text.pop(old)
            exists[source] = False
            exists[dest] = True
            created.add(dest)
        elif op == "delete":
            gone = str(change["path"])
            for old in [p for p in exists if p.startswith(gone + "/")]:
                del exists[old]
                text.pop(old, None)
            exists[gone] = False
            text.pop(gone, None)
    return _as_checks(exists, text, created, root)


def _note_text(text: dict[str, str], path: str, step: Row | None) -> None:
    """Remember a line the file holds after `step` wrote its ``content`` argument.

    A write replaces the file's text; an append keeps what was there, so an earlier
    line still holds. A step without text content leaves nothing checkable."""
    args = step.get("args", {}) if step else {}
    line = _first_line(args.get("content") if isinstance(args, dict) else None)
    appended = step is not None and "append" in str(step.get("tool", ""))
    if appended and path in text:
        return
    if line:
        text[path] = line
    else:
        text.pop(path, None)


def _first_line(content: Any) -> str:
    if not isinstance(content, str):
        return ""
    line = next((ln.strip() for ln in content.splitlines() if ln.strip()), "")
    return line if 0 < len(line) <= 120 and "{{" not in line else ""


def _as_checks(
    exists: Mapping[str, bool], text: Mapping[str, str], created: set[str], root: Path
) -> list[dict[str, Any]]:
    present = [p for p, there in exists.items() if there]
    checks: list[dict[str, Any]] = []
    for path in present:
        rel = shown_path(path, root)
        if rel is None:
            continue
        if path in text:
            checks.append({"kind": "file_contains", "path": rel, "text": text[path]})
        elif not any(other.startswith(path + "/") for other in present):
            checks.append({"kind": "file_exists", "path": rel})
    for path, there in exists.items():
        rel = shown_path(path, root)
        if not there and path not in created and rel is not None:
            checks.append({"kind": "count_matching", "pattern": glob.escape(rel), "equals": 0})
    return checks
