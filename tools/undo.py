"""Reversing the change records that the file tool journals (`deskhand undo RUN_ID`).

Each record is a JSON dict with an ``op`` key; see tools/files.py for the list. Undo checks
that the files still look the way the change left them (by sha256) before it touches
anything, and is idempotent where it can tell: a change whose reversal is already in place
is reported, not refused.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tools.base import ToolFailure
from tools.fsops import copy_entry, digest, is_plain_file, sha256_file, trash


def undo_change(change: Mapping[str, Any]) -> str:
    """Reverse one change record; return what was done, in one line.

    Raises ToolFailure('undo_conflict') when the files no longer match what the change
    left behind, and ToolFailure('undo_unavailable') when no backup was kept.
    """
    undo = _UNDO.get(str(change.get("op")))
    if undo is None:
        raise ToolFailure("invalid", f"unknown change {change.get('op')!r}")
    try:
        return undo(change)
    except OSError as exc:
        raise ToolFailure("undo_conflict", f"{exc.filename or ''}: {exc.strerror}") from exc


def _conflict(path: Path, why: str) -> ToolFailure:
    return ToolFailure("undo_conflict", f"{path} {why}; left as it is")


def _undo_create_file(change: Mapping[str, Any]) -> str:
    path = Path(change["path"])
    if not os.path.lexists(path):
        return f"{path} is already gone"
    if not is_plain_file(path) or sha256_file(path) != change["sha256"]:
        raise _conflict(path, "was changed after it was written")
    trash(path)
    return f"moved {path} to the trash"


def _undo_modify_file(change: Mapping[str, Any]) -> str:
    path, saved = Path(change["path"]), Path(change["backup"])
    current = sha256_file(path) if is_plain_file(path) else None
    if current == change["backup_sha256"]:
        return f"{path} already has its earlier content"
    if current != change["sha256"]:
        raise _conflict(path, "was changed after it was written")
    if not saved.is_file() or sha256_file(saved) != change["backup_sha256"]:
        raise _conflict(path, "has no intact backup")
    shutil.copyfile(saved, path)
    return f"restored the earlier content of {path}"


def _undo_make_folder(change: Mapping[str, Any]) -> str:
    path = Path(change["path"])
    if not os.path.lexists(path):
        return f"folder {path} is already gone"
    if not path.is_dir() or path.is_symlink() or any(path.iterdir()):
        raise _conflict(path, "is no longer an empty folder")
    path.rmdir()
    return f"removed folder {path}"


def _undo_move(change: Mapping[str, Any]) -> str:
    source, dest = Path(change["source"]), Path(change["destination"])
    if not os.path.lexists(dest):
        if os.path.lexists(source):
            return f"{source} is already back"
        raise _conflict(dest, "no longer exists")
    if os.path.lexists(source):
        raise _conflict(source, "exists again, so nothing can be moved back there")
    source.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(dest, source)
    return f"moved {dest} back to {source}"


def _undo_copy(change: Mapping[str, Any]) -> str:
    path = Path(change["path"])
    if not os.path.lexists(path):
        return f"{path} is already gone"
    if digest(path) != change["sha256"]:
        raise _conflict(path, "was changed after it was copied")
    trash(path)
    return f"moved the copy {path} to the trash"


def _undo_delete(change: Mapping[str, Any]) -> str:
    path = Path(change["path"])
    if change["backup"] is None:
        raise ToolFailure(
            "undo_unavailable", f"no backup of {path} was kept ({change['note']}); see the trash"
        )
    saved = Path(change["backup"])
    if os.path.lexists(path):
        raise _conflict(path, "exists again")
    if not os.path.lexists(saved) or digest(saved) != change["sha256"]:
        raise _conflict(path, "has no intact backup")
    path.parent.mkdir(parents=True, exist_ok=True)
    copy_entry(saved, path)
    return f"restored {path} from the backup"


_UNDO: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "create_file": _undo_create_file,
    "modify_file": _undo_modify_file,
    "make_folder": _undo_make_folder,
    "move": _undo_move,
    "copy": _undo_copy,
    "delete": _undo_delete,
}
