"""File-system tree primitives on open folders: walks, digests, copies, sizes.

Every function here works relative to folder fds that `tools.safe_fs` opened, never on
path strings, so a folder swapped for a link while a walk or copy runs is never entered.
None of them follow symlinks: a link is walked, hashed and copied as a link. A regular
file is read only through an fd that `safe_fs.open_file` checked; ``strict`` copies (what
the model asks for) refuse files with other hard links and files that are not regular,
while backups (``strict=False``) keep hard-linked content and skip FIFOs, sockets and
devices, which hold no content to restore.

Copies are cut short by their ``check`` (called before each 1 MiB chunk and each folder
entry; it raises `tools.base.Cancelled`); `remove_at` then takes away what the copy made.

`sha256_file` and `make_folders` take plain paths; they serve the browser tool's saved
files, which the browser itself writes by path.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import safe_fs
from tools.safe_fs import LIST, Unsafe, go_on, named

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry met by `walk_at`: its path relative to the walked folder, the open folder
    holding it (valid while the walk is at it), its name there and its lstat."""

    rel: str
    dir_fd: int
    name: str
    st: os.stat_result

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.st.st_mode)


def walk_at(dir_fd: int) -> Iterator[Entry]:
    """Everything under the open folder in name order, top-down; symlinked folders are
    listed, never entered (os.fwalk checks each folder it enters is the one it listed)."""
    for top, dirs, _files, top_fd in os.fwalk(".", dir_fd=dir_fd, follow_symlinks=False):
        dirs.sort()
        for name in sorted([*dirs, *_files]):
            try:
                st = os.stat(name, dir_fd=top_fd, follow_symlinks=False)
            except FileNotFoundError:  # gone since the listing
                continue
            yield Entry(os.path.normpath(os.path.join(top, name)), top_fd, name, st)


def open_folder(dir_fd: int, name: str, path: Path) -> int:
    """A listable fd of the real folder `name` (a link or a swapped entry is refused)."""
    with named(path):
        seen = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        fd = os.open(name, LIST, dir_fd=dir_fd)
    if not os.path.samestat(seen, os.fstat(fd)):
        os.close(fd)
        raise Unsafe("changed", safe_fs.CHANGED, path)
    return fd


def digest_at(dir_fd: int, name: str, path: Path) -> str:
    """sha256 of a file, of a link's target text, or of a folder tree (names, kinds,
    contents, link targets)."""
    with named(path):
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(name, dir_fd=dir_fd)
            return hashlib.sha256(b"link:" + os.fsencode(target)).hexdigest()
    if not stat.S_ISDIR(st.st_mode):
        return _file_digest(dir_fd, name, path)
    h = hashlib.sha256()
    fd = open_folder(dir_fd, name, path)
    try:
        for e in walk_at(fd):
            h.update(_digest_line(e, path))
            h.update(b"\x00")
    finally:
        os.close(fd)
    return h.hexdigest()


def _digest_line(e: Entry, path: Path) -> bytes:
    rel = os.fsencode(e.rel)
    mode = e.st.st_mode
    if stat.S_ISLNK(mode):
        return b"L " + rel + b" " + os.fsencode(os.readlink(e.name, dir_fd=e.dir_fd))
    if stat.S_ISDIR(mode):
        return b"D " + rel
    if stat.S_ISREG(mode):
        return b"F " + rel + b" " + _file_digest(e.dir_fd, e.name, path / e.rel).encode()
    return b"S " + rel + b" " + oct(stat.S_IFMT(mode)).encode()


def _file_digest(dir_fd: int, name: str, path: Path) -> str:
    fd = safe_fs.open_file(dir_fd, name, path, os.O_RDONLY, one_link=False)
    try:
        return safe_fs.sha256_fd(fd)
    finally:
        os.close(fd)


def tree_stats(dir_fd: int, name: str, path: Path) -> tuple[int, int]:
    """(bytes, files) of a file, a link or a folder tree (links counted, not followed)."""
    with named(path):
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if not stat.S_ISDIR(st.st_mode):
        return st.st_size, 1
    fd = open_folder(dir_fd, name, path)
    try:
        leaves = [e.st.st_size for e in walk_at(fd) if not e.is_dir]
    finally:
        os.close(fd)
    return sum(leaves), len(leaves)


def check_copyable(dir_fd: int, name: str, path: Path) -> None:
    """Refuse, before anything is copied, a tree holding a file `copy_at(strict=True)`
    would refuse (other hard links, not regular)."""
    with named(path):
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if not stat.S_ISDIR(st.st_mode):
        _check_leaf(st, path)
        return
    fd = open_folder(dir_fd, name, path)
    try:
        for e in walk_at(fd):
            _check_leaf(e.st, path / e.rel)
    finally:
        os.close(fd)


def _check_leaf(st: os.stat_result, path: Path) -> None:
    if stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
        return
    safe_fs.require_regular(st, path)
    safe_fs.require_one_link(st, path)


def copy_at(
    src_dir: int,
    src_name: str,
    dst_dir: int,
    dst_name: str,
    path: Path,
    *,
    strict: bool,
    check: Callable[[], None] = go_on,
) -> None:
    """Copy an entry (file, link as a link, folder tree) to a new name in `dst_dir`.
    `path` names the source in errors; `check` may stop the copy part way (the caller
    removes the partial copy, `remove_at`)."""
    check()
    with named(path):
        st = os.stat(src_name, dir_fd=src_dir, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(src_name, dir_fd=src_dir), dst_name, dir_fd=dst_dir)
            return
    if stat.S_ISDIR(st.st_mode):
        _copy_folder(src_dir, src_name, dst_dir, dst_name, path, strict=strict, check=check)
    elif stat.S_ISREG(st.st_mode):
        _copy_file(src_dir, src_name, dst_dir, dst_name, path, strict=strict, check=check)
    elif strict:
        safe_fs.require_regular(st, path)
    else:
        log.info("not copied (%s): %s", safe_fs.kind_of(st), path)


def _copy_file(
    src_dir: int,
    src_name: str,
    dst_dir: int,
    dst_name: str,
    path: Path,
    *,
    strict: bool,
    check: Callable[[], None],
) -> None:
    source = safe_fs.open_file(src_dir, src_name, path, os.O_RDONLY, one_link=strict)
    try:
        st = os.fstat(source)
        dest = safe_fs.create_file(dst_dir, dst_name, path, 0o600)
        try:
            safe_fs.copy_fd(source, dest, check)
            _copy_stat(dest, st)
        finally:
            os.close(dest)
    finally:
        os.close(source)


def _copy_folder(
    src_dir: int,
    src_name: str,
    dst_dir: int,
    dst_name: str,
    path: Path,
    *,
    strict: bool,
    check: Callable[[], None],
) -> None:
    source = open_folder(src_dir, src_name, path)
    try:
        with named(path):
            os.mkdir(dst_name, 0o700, dir_fd=dst_dir)
        dest = open_folder(dst_dir, dst_name, path)
        try:
            for name in sorted(os.listdir(source)):
                copy_at(source, name, dest, name, path / name, strict=strict, check=check)
            _copy_stat(dest, os.fstat(source))
        finally:
            os.close(dest)
    finally:
        os.close(source)


def remove_at(dir_fd: int, name: str, path: Path) -> None:
    """Remove an entry this action made (a partial copy or backup), a folder with all it
    holds; never through a link (rmtree by fd). A missing entry is fine."""
    st = safe_fs.entry_stat(dir_fd, name, path)
    if st is None:
        return
    with named(path):
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(name, dir_fd=dir_fd)
        else:
            os.unlink(name, dir_fd=dir_fd)


def _copy_stat(fd: int, st: os.stat_result) -> None:
    """Mode and times, as shutil.copy2 keeps them; on the open fd, so never through a link."""
    os.fchmod(fd, stat.S_IMODE(st.st_mode))
    os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))


def text_lines(dir_fd: int, name: str, path: Path, limit: int) -> Iterator[tuple[int, str]]:
    """Numbered lines of a text file; binary, very large, unreadable, hard-linked and
    non-regular files yield nothing."""
    try:
        fd = safe_fs.open_file(dir_fd, name, path, os.O_RDONLY)
    except OSError:  # skipped, not fatal to the search
        return
    try:
        if os.fstat(fd).st_size > limit:
            return
        data = safe_fs.read_fd(fd, limit)
    except OSError:
        return
    finally:
        os.close(fd)
    if b"\x00" in data[:8192]:
        return
    yield from enumerate(data.decode("utf-8", "replace").splitlines(), start=1)


# -- by path, for the browser tool ------------------------------------------------------


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def make_folders(folder: Path) -> list[dict[str, Any]]:
    """Create `folder` and its missing parents; one ``make_folder`` undo record per folder
    made, outermost first."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    records: list[dict[str, Any]] = []
    for path in reversed(missing):
        path.mkdir()
        records.append({"op": "make_folder", "path": str(path)})
    return records
