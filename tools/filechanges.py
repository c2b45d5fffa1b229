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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tools import safe_fs
from tools.fsops import check_copyable, copy_at, digest_at, tree_stats
from tools.safe_fs import entry_stat, named

log = logging.getLogger(__name__)

Change = dict[str, Any]


def put(
    root: Path, path: Path, data: bytes, *, append: bool, backups: Path, limit: int
) -> tuple[Change, ...]:
    """Write (or append) `data`, backing up an existing file first."""
    made: list[Change] = []
    with safe_fs.parent(root, path, made=made) as (dir_fd, name):
        change: Change = {"op": "create_file", "root": str(root), "path": str(path)}
        exists = entry_stat(dir_fd, name, path) is not None
        if exists:
            fd = safe_fs.open_file(dir_fd, name, path, os.O_RDWR)
        else:
            fd = safe_fs.create_file(dir_fd, name, path)
        try:
            if exists:
                change.update(op="modify_file", **_backup_file(fd, name, path, backups, limit))
            if append:
                os.lseek(fd, 0, os.SEEK_END)
            else:
                os.ftruncate(fd, 0)
            safe_fs.write_all(fd, data)
            change["sha256"] = safe_fs.sha256_fd(fd)
        finally:
            os.close(fd)
    return (*made, change)


def _backup_file(fd: int, name: str, path: Path, backups: Path, limit: int) -> Change:
    size = os.fstat(fd).st_size
    if size > limit:
        raise OSError(errno.EFBIG, "too large to keep an undo backup; not changed", str(path))
    with _backup_folder(backups, name) as (backup_fd, saved):
        out = safe_fs.create_file(backup_fd, saved, backups / saved, 0o600)
        try:
            safe_fs.copy_fd(fd, out)
        finally:
            os.close(out)
    log.debug("backed up %s to %s", path, backups / saved)
    return {"backup": str(backups / saved), "backup_sha256": safe_fs.sha256_fd(fd)}


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


def make_folder(root: Path, path: Path) -> list[Change]:
    """Create `path` and its missing parents; one record per folder made, outermost first."""
    made: list[Change] = []
    with safe_fs.folder(root, path, made=made):
        pass
    return made


def move(src_root: Path, source: Path, dst_root: Path, dest: Path) -> list[Change]:
    made: list[Change] = []
    with (
        safe_fs.parent(src_root, source) as (src_fd, src_name),
        safe_fs.parent(dst_root, dest, made=made) as (dst_fd, dst_name),
    ):
        _require_absent(dst_fd, dst_name, dest)
        with named(source):
            try:
                os.rename(src_name, dst_name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                reason = "is on another drive than the destination; copy it, then delete it"
                raise OSError(errno.EXDEV, reason) from exc
    change = {"op": "move", "root": str(src_root), "source": str(source)}
    change.update(destination_root=str(dst_root), destination=str(dest))
    return [*made, change]


def copy(src_root: Path, source: Path, dst_root: Path, dest: Path) -> list[Change]:
    made: list[Change] = []
    with (
        safe_fs.parent(src_root, source) as (src_fd, src_name),
        safe_fs.parent(dst_root, dest, made=made) as (dst_fd, dst_name),
    ):
        check_copyable(src_fd, src_name, source)
        _require_absent(dst_fd, dst_name, dest)
        copy_at(src_fd, src_name, dst_fd, dst_name, source, strict=True)
        digest = digest_at(dst_fd, dst_name, dest)
    return [*made, {"op": "copy", "root": str(dst_root), "path": str(dest), "sha256": digest}]


def delete(root: Path, path: Path, *, backups: Path, limit: int, too_large: str) -> Change:
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
                copy_at(dir_fd, name, backup_fd, saved, path, strict=False)
                digest = digest_at(backup_fd, saved, backups / saved)
            change.update(backup=str(backups / saved), sha256=digest, note="")
    safe_fs.trash(root, path)
    return change


def _require_absent(dir_fd: int, name: str, path: Path) -> None:
    if entry_stat(dir_fd, name, path) is not None:
        raise FileExistsError(errno.EEXIST, "already exists", str(path))
