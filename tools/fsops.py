"""File-system primitives shared by the file tool, the browser tool's saved files and undo:
walks, digests, copies, folders made, trash.

None of them follow symlinks: a link is walked, hashed, copied and trashed as a link.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import send2trash

log = logging.getLogger(__name__)


def walk(folder: Path) -> Iterator[Path]:
    """Everything under `folder` in name order; symlinked folders are listed, never entered."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            yield Path(dirpath, name)


def is_plain_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def tree_size(path: Path) -> int:
    """Bytes in a file or (without following links) a folder tree."""
    if not path.is_dir():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in walk(path) if not p.is_dir() or p.is_symlink())


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def digest(path: Path) -> str:
    """sha256 of a file, or of a folder tree (names, kinds, contents, link targets)."""
    if path.is_symlink():
        return hashlib.sha256(b"link:" + os.fsencode(os.readlink(path))).hexdigest()
    if not path.is_dir():
        return sha256_file(path)
    h = hashlib.sha256()
    for p in walk(path):
        rel = os.fsencode(p.relative_to(path).as_posix())
        if p.is_symlink():
            h.update(b"L " + rel + b" " + os.fsencode(os.readlink(p)))
        elif p.is_dir():
            h.update(b"D " + rel)
        else:
            h.update(b"F " + rel + b" " + sha256_file(p).encode())
        h.update(b"\x00")
    return h.hexdigest()


def copy_entry(source: Path, dest: Path) -> None:
    """Copy a file or folder tree; symlinks are copied as links, never followed."""
    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, dest, symlinks=True)
    else:
        shutil.copy2(source, dest, follow_symlinks=False)


def trash(path: Path) -> None:
    send2trash.send2trash(str(path))
    log.info("moved %s to the trash", path)


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
