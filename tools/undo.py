"""Reversing the change records that the file tool journals (`deskhand undo RUN_ID`).

Each record is a JSON dict with an ``op`` key; see tools/filechanges.py for the list. Undo checks
that the files still look the way the change left them (by sha256) before it touches
anything, and is idempotent where it can tell: a change whose reversal is already in place
is reported, not refused.

Invariants:
- Undo goes through `tools.safe_fs` like the change did: each path is checked against the
  root its record names (``root``, ``destination_root``) and reached by a no-follow walk,
  so a folder that became a link to somewhere else since the change stops the undo
  instead of restoring or trashing through it. Records from before roots were recorded
  (and the browser's saved files) are walked from ``/``: no link is followed, but there
  is no root to check against.
- A file is restored into its own inode through a checked fd (regular, one link).
- A change still in flight (its intent was journaled, its completion never was: the
  process was killed, or the action did not stop when told) is reversed by
  `undo_in_flight` from what was known before it started, with no digest of the result
  to compare: a file being created or a partial copy goes to the trash (never deleted
  outright), a file being modified gets its backup back, a delete whose entry is still
  there is left alone; moves and folders are judged as when done. What cannot be judged
  (the file being modified is gone, the backup is not intact) is refused in one line.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tools import safe_fs
from tools.base import ToolFailure
from tools.fsops import copy_at, digest_at, open_folder
from tools.safe_fs import entry_stat, named

_NO_ROOT = Path("/")


def undo_change(change: Mapping[str, Any]) -> str:
    """Reverse one change record; return what was done, in one line.

    Raises ToolFailure('undo_conflict') when the files no longer match what the change
    left behind (or are no longer safe to reach), ToolFailure('undo_unavailable') when no
    backup was kept, and ToolFailure('outside_workspace') for a path outside its root.
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


def _place(change: Mapping[str, Any], key: str = "path", root: str = "root") -> tuple[Path, Path]:
    """The record's root and path, checked: the path lies under the root."""
    where = Path(change.get(root) or _NO_ROOT), Path(change[key])
    safe_fs.check_inside(*where)
    return where


def _file_sha(dir_fd: int, name: str, path: Path) -> str | None:
    """sha256 of a regular file (links, folders and missing entries: None)."""
    st = entry_stat(dir_fd, name, path)
    if st is None or not stat.S_ISREG(st.st_mode):
        return None
    fd = safe_fs.open_file(dir_fd, name, path, os.O_RDONLY, one_link=False)
    try:
        return safe_fs.sha256_fd(fd)
    finally:
        os.close(fd)


@contextmanager
def _backup(saved: Path) -> Iterator[tuple[int, str] | None]:
    """The undo folder holding a backup, open, and the backup's name; None when it is gone.
    The undo folder is deskhand's own, opened by path; the backup in it no-follow."""
    try:
        fd = safe_fs.open_own_folder(saved.parent)
    except FileNotFoundError:
        yield None
        return
    try:
        yield (fd, saved.name) if entry_stat(fd, saved.name, saved) is not None else None
    finally:
        os.close(fd)


def _undo_create_file(change: Mapping[str, Any]) -> str:
    root, path = _place(change)
    if safe_fs.lstat(root, path) is None:
        return f"{path} is already gone"
    with safe_fs.parent(root, path) as (dir_fd, name):
        if _file_sha(dir_fd, name, path) != change["sha256"]:
            raise _conflict(path, "was changed after it was written")
    safe_fs.trash(root, path)
    return f"moved {path} to the trash"


def _undo_modify_file(change: Mapping[str, Any]) -> str:
    root, path = _place(change)
    with safe_fs.parent(root, path) as (dir_fd, name):
        current = _file_sha(dir_fd, name, path)
        if current == change["backup_sha256"]:
            return f"{path} already has its earlier content"
        if current != change["sha256"]:
            raise _conflict(path, "was changed after it was written")
        _put_backup(dir_fd, name, path, change)
    return f"restored the earlier content of {path}"


def _put_backup(dir_fd: int, name: str, path: Path, change: Mapping[str, Any]) -> None:
    """Copy the record's intact backup into the file's own inode."""
    with _backup(Path(change["backup"])) as backup:
        if backup is None or _file_sha(*backup, path) != change["backup_sha256"]:
            raise _conflict(path, "has no intact backup")
        source = safe_fs.open_file(*backup, path, os.O_RDONLY, one_link=False)
        try:
            fd = safe_fs.open_file(dir_fd, name, path, os.O_RDWR)
            try:
                os.ftruncate(fd, 0)
                safe_fs.copy_fd(source, fd)
            finally:
                os.close(fd)
        finally:
            os.close(source)


def _undo_make_folder(change: Mapping[str, Any]) -> str:
    root, path = _place(change)
    if safe_fs.lstat(root, path) is None:
        return f"folder {path} is already gone"
    with safe_fs.parent(root, path) as (dir_fd, name):
        st = entry_stat(dir_fd, name, path)
        if st is None or not stat.S_ISDIR(st.st_mode):
            raise _conflict(path, "is no longer an empty folder")
        fd = open_folder(dir_fd, name, path)
        try:
            empty = not os.listdir(fd)
        finally:
            os.close(fd)
        if not empty:
            raise _conflict(path, "is no longer an empty folder")
        with named(path):
            os.rmdir(name, dir_fd=dir_fd)
    return f"removed folder {path}"


def _undo_move(change: Mapping[str, Any]) -> str:
    src_root, source = _place(change, "source")
    dst_root, dest = _place(change, "destination", "destination_root")
    if safe_fs.lstat(dst_root, dest) is None:
        if safe_fs.lstat(src_root, source) is not None:
            return f"{source} is already back"
        raise _conflict(dest, "no longer exists")
    if safe_fs.lstat(src_root, source) is not None:
        raise _conflict(source, "exists again, so nothing can be moved back there")
    with (
        safe_fs.parent(dst_root, dest) as (dst_fd, dst_name),
        safe_fs.parent(src_root, source, made=[]) as (src_fd, src_name),
    ):
        if entry_stat(src_fd, src_name, source) is not None:
            raise _conflict(source, "exists again, so nothing can be moved back there")
        with named(dest):
            os.rename(dst_name, src_name, src_dir_fd=dst_fd, dst_dir_fd=src_fd)
    return f"moved {dest} back to {source}"


def _undo_copy(change: Mapping[str, Any]) -> str:
    root, path = _place(change)
    if safe_fs.lstat(root, path) is None:
        return f"{path} is already gone"
    with safe_fs.parent(root, path) as (dir_fd, name):
        if digest_at(dir_fd, name, path) != change["sha256"]:
            raise _conflict(path, "was changed after it was copied")
    safe_fs.trash(root, path)
    return f"moved the copy {path} to the trash"


def _undo_delete(change: Mapping[str, Any]) -> str:
    root, path = _place(change)
    if change["backup"] is None:
        raise ToolFailure(
            "undo_unavailable", f"no backup of {path} was kept ({change['note']}); see the trash"
        )
    saved = Path(change["backup"])
    if safe_fs.lstat(root, path) is not None:
        raise _conflict(path, "exists again")
    with _backup(saved) as backup:
        if backup is None or digest_at(*backup, saved) != change["sha256"]:
            raise _conflict(path, "has no intact backup")
        with safe_fs.parent(root, path, made=[]) as (dir_fd, name):
            copy_at(*backup, dir_fd, name, saved, strict=False)
    return f"restored {path} from the backup"


_UNDO: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "create_file": _undo_create_file,
    "modify_file": _undo_modify_file,
    "make_folder": _undo_make_folder,
    "move": _undo_move,
    "copy": _undo_copy,
    "delete": _undo_delete,
}


def undo_in_flight(change: Mapping[str, Any]) -> str:
    """Reverse a change journaled as an intent that never completed; as `undo_change`."""
    undo = _IN_FLIGHT.get(str(change.get("op")))
    if undo is None:
        raise ToolFailure("invalid", f"unknown change {change.get('op')!r}")
    try:
        return undo(change)
    except OSError as exc:
        raise ToolFailure("undo_conflict", f"{exc.filename or ''}: {exc.strerror}") from exc


def _trash_partial(change: Mapping[str, Any]) -> str:
    """A file that was being created or copied: whatever is there now is what the cut
    action left, so it goes to the trash, where a person can still get it back."""
    root, path = _place(change)
    if safe_fs.lstat(root, path) is None:
        return f"{path} was not made (or is already gone)"
    safe_fs.trash(root, path)
    return f"moved {path}, left part-made, to the trash"


def _modify_in_flight(change: Mapping[str, Any]) -> str:
    root, path = _place(change)
    if safe_fs.lstat(root, path) is None:
        raise _conflict(path, f"is gone; its earlier content is kept at {change['backup']}")
    with safe_fs.parent(root, path) as (dir_fd, name):
        if _file_sha(dir_fd, name, path) == change["backup_sha256"]:
            return f"{path} already has its earlier content"
        _put_backup(dir_fd, name, path, change)
    return f"restored the earlier content of {path}, which was being changed"


def _delete_in_flight(change: Mapping[str, Any]) -> str:
    root, path = _place(change)
    if safe_fs.lstat(root, path) is not None:
        return f"{path} was not deleted"
    return _undo_delete(change)


_IN_FLIGHT: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "create_file": _trash_partial,
    "copy": _trash_partial,
    "modify_file": _modify_in_flight,
    "make_folder": _undo_make_folder,
    "move": _undo_move,
    "delete": _delete_in_flight,
}
