"""Files the browser tool writes into the workspace: screenshots and downloads.

Invariants: every target is a new file inside the workspace (`Workspace.resolve`; an
existing file is never replaced), and what was written comes back as the file tool's undo
records (``make_folder`` for each folder made, then ``create_file`` with the sha256), so
``deskhand undo`` reverses it and the journal refers to it by path and digest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.base import ToolFailure, ToolResult
from tools.fsops import sha256_file
from tools.paths import Workspace

Change = dict[str, Any]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def new_file(ws: Workspace, user_path: str) -> Path:
    path = ws.resolve(user_path)
    if path.exists():
        raise ToolFailure("exists", f"{ws.display(path)} already exists")
    return path


def screenshot_path(ws: Workspace, user_path: str) -> Path:
    """The file to save a screenshot in: the one named, or the next free
    ``screenshots/screenshot-NNN.png`` (the same answer in effect() and run())."""
    if user_path.strip():
        path = new_file(ws, user_path)
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise ToolFailure("invalid", "a screenshot is saved as .png or .jpg")
        return path
    for n in range(1, 1000):
        path = ws.resolve(f"screenshots/screenshot-{n:03d}.png")
        if not path.exists():
            return path
    raise ToolFailure("exists", "screenshots/ is full; name the file")


def write_new(path: Path, data: bytes) -> None:
    """Write `data` into a new file at `path` (never replacing one that appeared since)."""
    try:
        with path.open("xb") as f:
            f.write(data)
    except FileExistsError as exc:
        raise ToolFailure("exists", f"{path.name} already exists") from exc


def saved(ws: Workspace, path: Path, undo: list[Change], what: str) -> ToolResult:
    """The result for a file just written at `path`, with its undo records."""
    digest = sha256_file(path)
    size = path.stat().st_size
    shown = ws.display(path)
    records = (*undo, {"op": "create_file", "path": str(path), "sha256": digest})
    out = f"{what} {shown} (sha256 {digest[:16]}, {size} bytes)"
    data = {"path": shown, "sha256": digest, "bytes": size}
    return ToolResult(ok=True, output=out, data=data, undo=records)
