"""The fd-relative, no-follow path layer: the only way the file tool and undo reach a file.

Why: checking a path string and then handing the same string to `open`, `rename` or
`send2trash` races with any local process that swaps a folder on that path for a symlink
to somewhere else (``renameat2(RENAME_EXCHANGE)`` makes the swap atomic). Here a path is
only ever used to *find* an entry once, walking it component by component; everything
after that acts on what was opened.

Invariants:
- A path is walked from ``/`` one component at a time, each opened with ``O_NOFOLLOW``
  relative to the folder before it (openat). The paths given are resolved already
  (`Workspace.resolve`), so a link met on the walk appeared after the check: the action
  stops with `Unsafe` kind ``changed`` and nothing is opened, created, renamed or
  trashed through it. Every folder a walk passes is a real folder reached from the root
  by real folder entries, so what it reaches lies inside the root.
- Paths must lie under the root they are walked for (`check_inside`); missing folders
  are created (and recorded as ``make_folder`` changes) only below the root.
- Files are opened with ``O_NOFOLLOW | O_NONBLOCK`` after an lstat of the same name, and
  the open fd is fstat'ed: it must be the inode lstat saw, a regular file (a FIFO,
  device or socket is refused before a byte moves, and never blocks), and, unless the
  caller says otherwise, have exactly one link (a hard link inside may share its inode
  with a file outside, or with one a deny rule covers). Reads, writes and hashes then
  use that fd only.
- Entries are created, renamed and removed relative to their parent folder's fd.
- Deleting renames the entry (by its parent's fd) into a fresh private folder beside it,
  checks by a no-follow walk that this folder is still the one holding it, and only then
  gives that path to the OS trash; if trashing fails, the entry is renamed back.

`Unsafe` is an OSError so the one OSError map of each caller reports it; its `kind` is
the `ToolFailure` kind to report (``changed``, ``hard_link``, ``not_a_file``).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import send2trash

from tools.base import ToolFailure

log = logging.getLogger(__name__)

Change = dict[str, Any]

# O_PATH lets a walk pass folders it may search but not list; it is Linux-only. The
# getattr defaults only keep the module importable on Windows, which has no dir_fd:
# every call here fails there rather than acting without the flags.
_SEARCH = getattr(os, "O_PATH", os.O_RDONLY)
_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY: int = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC: int = getattr(os, "O_CLOEXEC", 0)
_DIR = _SEARCH | _DIRECTORY | _NOFOLLOW | _CLOEXEC
LIST = os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC
_FILE = _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | _CLOEXEC
_CHUNK = 1 << 20
CHANGED = "changed while in use (a link took the place of a real file or folder); nothing was done"


def go_on() -> None:
    """The `check` of a write or copy that is never cut short."""


class Unsafe(OSError):
    """An entry an action may not use as it stands; `kind` is the ToolFailure kind."""

    def __init__(self, kind: str, reason: str, path: Path) -> None:
        super().__init__(errno.EPERM, reason, str(path))
        self.kind = kind


def check_inside(root: Path, path: Path) -> None:
    """`path` must be absolute, free of '..', and `root` or under it."""
    if not path.is_absolute() or ".." in path.parts or not path.is_relative_to(root):
        raise ToolFailure("outside_workspace", f"{path} is outside the workspace ({root})")


@contextmanager
def named(path: Path) -> Iterator[None]:
    """Give OSErrors from fd-relative calls (which only know the last name) the whole path;
    a link where O_NOFOLLOW met one (ELOOP) means the entry was swapped: `Unsafe`."""
    try:
        yield
    except Unsafe:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Unsafe("changed", CHANGED, path) from exc
        raise OSError(exc.errno, exc.strerror, str(path)) from exc


@contextmanager
def folder(
    root: Path, path: Path, *, made: list[Change] | None = None, listable: bool = False
) -> Iterator[int]:
    """An fd of the folder `path`, walked no-follow. With `made`, missing folders below
    `root` are created and a ``make_folder`` change appended for each, outermost first.
    `listable` opens it for reading (scandir, fwalk), not just for *at calls."""
    check_inside(root, path)
    fd = _walk(root, path, made, LIST if listable else _DIR)
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def parent(
    root: Path, path: Path, *, made: list[Change] | None = None
) -> Iterator[tuple[int, str]]:
    """The folder holding `path`, open, and the name of `path` in it."""
    check_inside(root, path)
    if path == root:
        raise ToolFailure("invalid", "the workspace folder itself cannot be used here")
    with folder(root, path.parent, made=made) as fd:
        yield fd, path.name


def open_own_folder(path: Path) -> int:
    """A listable fd of one of deskhand's own folders (the undo folder), opened by path:
    it lies outside every workspace, so the tool's actions cannot swap it."""
    return os.open(path, os.O_RDONLY | _DIRECTORY | _CLOEXEC)


def lstat(root: Path, path: Path) -> os.stat_result | None:
    """The entry at `path` as a no-follow walk finds it (a link is a link), or None."""
    try:
        if path == root:
            with folder(root, path) as fd:
                return os.fstat(fd)
        with parent(root, path) as (fd, name):
            return entry_stat(fd, name, path)
    except FileNotFoundError:
        return None


def entry_stat(dir_fd: int, name: str, path: Path) -> os.stat_result | None:
    """lstat of `name` in the folder `dir_fd`, or None when there is no such entry."""
    try:
        with named(path):
            return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _walk(root: Path, path: Path, made: list[Change] | None, final: int) -> int:
    parts = path.parts[1:]
    fd = os.open("/", final if not parts else _DIR)
    here = Path("/")
    try:
        for i, name in enumerate(parts):
            here = here / name
            below_root = here != root and here.is_relative_to(root)
            flags = final if i == len(parts) - 1 else _DIR
            child = _child(fd, name, here, flags, made if below_root else None, root)
            os.close(fd)
            fd = child
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(here))
    except BaseException:
        os.close(fd)
        raise
    return fd


def _child(
    fd: int, name: str, here: Path, flags: int, made: list[Change] | None, root: Path
) -> int:
    try:
        return _open_dir(fd, name, here, flags)
    except FileNotFoundError:
        if made is None:
            raise
    try:
        os.mkdir(name, 0o777, dir_fd=fd)
    except FileExistsError:
        pass  # made meanwhile by someone else: opened no-follow like any other
    else:
        made.append({"op": "make_folder", "root": str(root), "path": str(here)})
    return _open_dir(fd, name, here, flags)


def _open_dir(fd: int, name: str, here: Path, flags: int) -> int:
    try:
        return os.open(name, flags, dir_fd=fd)
    except OSError as exc:
        # O_NOFOLLOW meets a link as ELOOP, or with O_PATH as ENOTDIR; for ENOTDIR, lstat
        # tells a plain file (a real "not a folder") from a link or a folder (which was a
        # link a moment ago: swapped back and forth).
        if exc.errno == errno.ELOOP:
            raise Unsafe("changed", CHANGED, here) from exc
        if exc.errno == errno.ENOTDIR:
            st = entry_stat(fd, name, here)
            if st is not None and (stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                raise Unsafe("changed", CHANGED, here) from exc
        raise OSError(exc.errno, exc.strerror, str(here)) from exc


# -- files ------------------------------------------------------------------------------


def open_file(dir_fd: int, name: str, path: Path, flags: int, *, one_link: bool = True) -> int:
    """An fd of the existing regular file `name`, opened no-follow and non-blocking, after
    checking it is the inode lstat saw (and, with `one_link`, that it has one link)."""
    with named(path):
        seen = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        require_regular(seen, path)
        fd = os.open(name, flags | _FILE, dir_fd=dir_fd)
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (seen.st_dev, seen.st_ino):
            raise Unsafe("changed", CHANGED, path)
        require_regular(opened, path)
        if one_link:
            require_one_link(opened, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_file(dir_fd: int, name: str, path: Path, mode: int = 0o666) -> int:
    """An fd of a new, empty file `name`; fails if anything (even a link) has that name."""
    with named(path):
        return os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL | _FILE, mode, dir_fd=dir_fd)


def require_regular(st: os.stat_result, path: Path) -> None:
    if stat.S_ISREG(st.st_mode):
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    if stat.S_ISLNK(st.st_mode):
        raise Unsafe("changed", CHANGED, path)
    raise Unsafe("not_a_file", f"is {kind_of(st)}, not a regular file; it is not used", path)


def require_one_link(st: os.stat_result, path: Path) -> None:
    if st.st_nlink > 1:
        reason = (
            f"has {st.st_nlink} hard links; a file with other links (which may be outside "
            "the workspace) is not read, copied or changed"
        )
        raise Unsafe("hard_link", reason, path)


def kind_of(st: os.stat_result) -> str:
    mode = st.st_mode
    kinds = [
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISLNK, "a link"),
        (stat.S_ISDIR, "a folder"),
    ]
    return next((text for test, text in kinds if test(mode)), "a regular file")


def read_fd(fd: int, limit: int) -> bytes:
    """Up to `limit` bytes from the start of an open file."""
    chunks: list[bytes] = []
    left = limit
    while left > 0 and (chunk := os.pread(fd, min(left, _CHUNK), limit - left)):
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def write_all(fd: int, data: bytes, check: Callable[[], None] = go_on) -> None:
    """Write `data` in chunks of at most 1 MiB, calling `check` before each (it raises
    `tools.base.Cancelled` to stop the write part way)."""
    view = memoryview(data)
    while view:
        check()
        view = view[os.write(fd, view[:_CHUNK]) :]


def copy_fd(source: int, dest: int, check: Callable[[], None] = go_on) -> None:
    """Copy the whole of `source` (from its start) to `dest` (at its position), 1 MiB at
    a time, calling `check` before each chunk."""
    offset = 0
    while True:
        check()
        chunk = os.pread(source, _CHUNK, offset)
        if not chunk:
            return
        write_all(dest, chunk)
        offset += len(chunk)


def sha256_fd(fd: int) -> str:
    h = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, _CHUNK, offset):
        h.update(chunk)
        offset += len(chunk)
    return h.hexdigest()


# -- trash ------------------------------------------------------------------------------


def trash(root: Path, path: Path) -> None:
    """Move the entry at `path` to the OS trash without following any link to reach it."""
    with parent(root, path) as (dir_fd, name):
        seen = entry_stat(dir_fd, name, path)
        if seen is None:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))
        stage = f".deskhand-trash-{uuid.uuid4().hex[:12]}"
        with named(path):
            os.mkdir(stage, 0o700, dir_fd=dir_fd)
        try:
            _trash_staged(root, path, dir_fd, name, stage, seen)
        finally:
            try:
                os.rmdir(stage, dir_fd=dir_fd)
            except OSError as exc:  # left behind, empty or not: say so, never fail the delete
                log.warning("could not remove the staging folder %s: %s", stage, exc)
    log.info("moved %s to the trash", path)


def _trash_staged(
    root: Path, path: Path, dir_fd: int, name: str, stage: str, seen: os.stat_result
) -> None:
    with named(path):
        stage_fd = os.open(stage, _DIR, dir_fd=dir_fd)
    try:
        with named(path):
            os.rename(name, name, src_dir_fd=dir_fd, dst_dir_fd=stage_fd)
        try:
            moved = os.stat(name, dir_fd=stage_fd, follow_symlinks=False)
            if (moved.st_dev, moved.st_ino) != (seen.st_dev, seen.st_ino):
                raise Unsafe("changed", CHANGED, path)
            staged = path.parent / stage
            with folder(root, staged) as check:
                if not os.path.samestat(os.fstat(check), os.fstat(stage_fd)):
                    raise Unsafe("changed", CHANGED, path)
            send2trash.send2trash(str(staged / name))
        except BaseException:
            _put_back(dir_fd, name, stage_fd, path)
            raise
    finally:
        os.close(stage_fd)


def _put_back(dir_fd: int, name: str, stage_fd: int, path: Path) -> None:
    try:
        if entry_stat(stage_fd, name, path) is not None:
            os.rename(name, name, src_dir_fd=stage_fd, dst_dir_fd=dir_fd)
    except OSError as exc:
        log.error("could not put %s back after a failed delete: %s", path, exc)
