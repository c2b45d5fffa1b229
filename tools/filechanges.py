"""The changes the file tool makes, each through `tools.safe_fs`, and their undo records.

Invariants:
- Every change reaches its entries through folder fds walked no-follow from the root
  (`safe_fs.parent`); a checked path is never handed to `open` or `rename` as a string
  (the trash gets a staged path, see `safe_fs.trash`), so a folder swapped for a link
  mid-change stops the change.
- Files are written, appended and backed up through one fd that `safe_fs.open_file`
  checked (regular, one link, the inode the walk found); a write keeps the file's inode.
- Backups are made from the open entry before it changes and live in `backups` (the
  undo folder, deskhand's own, outside the workspace).
- Each record carries ``root`` (and a move ``destination_root``): the workspace root the
  path was checked against, so undo (tools/undo.py) can check it again.
- Intent before change: every function hands the records of what it is about to do to
  `action.intend` (which journals them) *before* the change, with what can be known up
  front (a created file's record has no ``sha256`` yet; a modified file's backup is
  already made); the records returned at the end are the final ones. `deskhand undo`
  reverses a change still in flight from its intent (`tools.undo.undo_in_flight`).
- Cancellable: writes, copies and backups check `action.stop` before each 1 MiB chunk
  and folder entry. Stopped (or failing) part way, a change takes back what it half did
  (a created file or partial copy is removed, a modified file gets its backup back,
  folders it made are removed when empty) and raises; moves, deletes' trashing and
  folder creation are single renames or mkdirs and are not cut.

Change records (paths absolute; ``root`` is the workspace root the path lies under; the
``sha256`` of a folder is a digest of its tree)::

    {"op": "create_file", "root", "path", "sha256"}     undo: trash it if unchanged
    {"op": "modify_file", "root", "path", "sha256", "backup", "backup_sha256"}
                                                        undo: put the backup back if unchanged
    {"op": "make_folder", "root", "path"}               undo: remove it if still empty
    {"op": "move", "root", "source", "destination_root", "destination"}
                                                        undo: move it back
    {"op": "copy", "root", "path", "sha256"}            undo: trash the copy if unchanged
    {"op": "delete", "root", "path", "kind", "backup", "sha256", "note"}
                                                        undo: restore from the backup
                                                        (backup, sha256 None when skipped)
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tools import safe_fs
from tools.base import Action, ToolFailure
from tools.fsops import check_copyable, copy_at, digest_at, remove_at, tree_stats
from tools.safe_fs import entry_stat, named

log = logging.getLogger(__name__)

Change = dict[str, Any]

_IDLE = Action()  # never stopped, journals nothing: for callers outside the executor


def put(
    root: Path,
    path: Path,
    data: bytes,
    *,
    append: bool,
    backups: Path,
    limit: int,
    action: Action = _IDLE,
) -> tuple[Change, ...]:
    """Write (or append) `data`, backing up an existing file first."""
    made: list[Change] = []
    with safe_fs.parent(root, path, made=made) as (dir_fd, name), _unmaking(root, made):
        change: Change = {"op": "create_file", "root": str(root), "path": str(path)}
        exists = entry_stat(dir_fd, name, path) is not None
        fd = safe_fs.open_file(dir_fd, name, path, os.O_RDWR) if exists else None
        try:
            if fd is not None:
                backup = _backup_file(fd, name, path, backups, limit, action)
                change.update(op="modify_file", **backup)
            action.intend([*made, change])
            if fd is None:
                fd = safe_fs.create_file(dir_fd, name, path)
            _write(fd, data, append=append, action=action, undo=(dir_fd, name, change))
            change["sha256"] = safe_fs.sha256_fd(fd)
        finally:
            if fd is not None:
                os.close(fd)
    return (*made, change)


def _write(
    fd: int, data: bytes, *, append: bool, action: Action, undo: tuple[int, str, Change]
) -> None:
    """Write into the open file; stopped or failing part way, put it back as it was."""
    dir_fd, name, change = undo

    def take_back() -> None:
        if change["op"] == "modify_file":
            _restore(fd, Path(change["backup"]))
        elif os.path.samestat(os.fstat(fd), os.stat(name, dir_fd=dir_fd, follow_symlinks=False)):
            os.unlink(name, dir_fd=dir_fd)

    try:
        if append:
            os.lseek(fd, 0, os.SEEK_END)
        else:
            os.ftruncate(fd, 0)
        safe_fs.write_all(fd, data, action.check)
    except BaseException:
        _take_back(take_back)
        raise


def _take_back(undo: Callable[[], None]) -> None:
    """Called while a change fails (or is stopped): reverse what it half did. If that fails
    too, the change is left in flight: ToolFailure 'in_flight', and the executor keeps its
    intent in the journal for `deskhand undo`."""
    try:
        undo()
    except OSError as exc:
        reason = f"stopped part way and could not take back what it did ({exc.strerror})"
        raise ToolFailure("in_flight", f"{reason}; `deskhand undo` can") from exc


def _restore(fd: int, saved: Path) -> None:
    """Put a backup's content back into the open file (not cut short)."""
    folder = safe_fs.open_own_folder(saved.parent)
    try:
        source = safe_fs.open_file(folder, saved.name, saved, os.O_RDONLY, one_link=False)
    finally:
        os.close(folder)
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        safe_fs.copy_fd(source, fd)
    finally:
        os.close(source)


def _backup_file(
    fd: int, name: str, path: Path, backups: Path, limit: int, action: Action
) -> Change:
    size = os.fstat(fd).st_size
    if size > limit:
        raise OSError(errno.EFBIG, "too large to keep an undo backup; not changed", str(path))
    with _backup_folder(backups, name) as (backup_fd, saved):
        out = safe_fs.create_file(backup_fd, saved, backups / saved, 0o600)
        try:
            safe_fs.copy_fd(fd, out, action.check)
        except BaseException:
            os.unlink(saved, dir_fd=backup_fd)
            raise
        finally:
            os.close(out)
    log.debug("backed up %s to %s", path, backups / saved)
    return {"backup": str(backups / saved), "backup_sha256": safe_fs.sha256_fd(fd)}


@contextmanager
def _unmaking(root: Path, made: Sequence[Change]) -> Iterator[None]:
    """On failure, remove the folders this change made for itself, innermost first, each
    only while it is still empty."""
    try:
        yield
    except BaseException:
        for record in reversed(made):
            folder = Path(record["path"])
            try:
                with safe_fs.parent(root, folder) as (dir_fd, name), named(folder):
                    os.rmdir(name, dir_fd=dir_fd)
            except OSError:
                break  # not empty, or no longer ours: the intent keeps it for undo
        raise


@contextmanager
def _backup_folder(backups: Path, name: str) -> Iterator[tuple[int, str]]:
    """The undo folder, open, and a fresh name in it. It is deskhand's own folder, so it is
    opened by path; what goes into it is created there no-follow."""
    backups.mkdir(parents=True, exist_ok=True)
    fd = safe_fs.open_own_folder(backups)
    try:
        yield fd, f"{uuid.uuid4().hex}-{name}"
    finally:
        os.close(fd)


def make_folder(root: Path, path: Path, action: Action = _IDLE) -> list[Change]:
    """Create `path` and its missing parents; one record per folder made, outermost first."""
    missing = [path, *(p for p in path.parents if p.is_relative_to(root))]
    missing = [p for p in missing if safe_fs.lstat(root, p) is None]
    action.intend([{"op": "make_folder", "root": str(root), "path": str(p)} for p in missing])
    made: list[Change] = []
    with safe_fs.folder(root, path, made=made):
        pass
    return made


def move(
    src_root: Path, source: Path, dst_root: Path, dest: Path, action: Action = _IDLE
) -> list[Change]:
    made: list[Change] = []
    change = {"op": "move", "root": str(src_root), "source": str(source)}
    change.update(destination_root=str(dst_root), destination=str(dest))
    with (
        safe_fs.parent(src_root, source) as (src_fd, src_name),
        safe_fs.parent(dst_root, dest, made=made) as (dst_fd, dst_name),
        _unmaking(dst_root, made),
    ):
        _require_absent(dst_fd, dst_name, dest)
        action.intend([*made, change])
        with named(source):
            try:
                os.rename(src_name, dst_name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                reason = "is on another drive than the destination; copy it, then delete it"
                raise OSError(errno.EXDEV, reason) from exc
    return [*made, change]


def copy(
    src_root: Path, source: Path, dst_root: Path, dest: Path, action: Action = _IDLE
) -> list[Change]:
    made: list[Change] = []
    change: Change = {"op": "copy", "root": str(dst_root), "path": str(dest)}
    with (
        safe_fs.parent(src_root, source) as (src_fd, src_name),
        safe_fs.parent(dst_root, dest, made=made) as (dst_fd, dst_name),
        _unmaking(dst_root, made),
    ):
        check_copyable(src_fd, src_name, source)
        _require_absent(dst_fd, dst_name, dest)
        action.intend([*made, change])
        try:
            copy_at(src_fd, src_name, dst_fd, dst_name, source, strict=True, check=action.check)
        except FileExistsError as exc:  # not ours to remove: kept in flight
            raise ToolFailure("in_flight", f"{dest}: an entry appeared while copying") from exc
        except BaseException:
            _take_back(lambda: remove_at(dst_fd, dst_name, dest))
            raise
        change["sha256"] = digest_at(dst_fd, dst_name, dest)
    return [*made, change]


def delete(
    root: Path, path: Path, *, backups: Path, limit: int, too_large: str, action: Action = _IDLE
) -> Change:
    """Back `path` up (unless it is over `limit` bytes: then `too_large` is the note) and
    move it to the OS trash."""
    with safe_fs.parent(root, path) as (dir_fd, name):
        st = entry_stat(dir_fd, name, path)
        if st is None:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))
        kind = "folder" if stat.S_ISDIR(st.st_mode) else "file"
        change: Change = {"op": "delete", "root": str(root), "path": str(path), "kind": kind}
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            note = f"no backup: {safe_fs.kind_of(st)} has no content to keep"
            change.update(backup=None, sha256=None, note=note)
        elif tree_stats(dir_fd, name, path)[0] > limit:
            change.update(backup=None, sha256=None, note=too_large)
        else:
            with _backup_folder(backups, name) as (backup_fd, saved):
                try:
                    copy_at(dir_fd, name, backup_fd, saved, path, strict=False, check=action.check)
                except BaseException:
                    remove_at(backup_fd, saved, backups / saved)
                    raise
                digest = digest_at(backup_fd, saved, backups / saved)
            change.update(backup=str(backups / saved), sha256=digest, note="")
        action.intend([change])
    safe_fs.trash(root, path)
    return change


def _require_absent(dir_fd: int, name: str, path: Path) -> None:
    if entry_stat(dir_fd, name, path) is not None:
        raise FileExistsError(errno.EEXIST, "already exists", str(path))
