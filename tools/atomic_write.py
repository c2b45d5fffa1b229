"""The one way deskhand replaces a whole file: `write_atomic`.

A reader (the inbox's ``--status``, the next start of the app, a user's editor) sees the
old file or the new one, never a mix or a truncated one, and a crash or a power cut
during the write leaves the old file in place.

How: the data goes to a temporary file with a unique name beside the target (same
folder, so same file system), which is flushed and fsynced, then renamed over the target
with `os.replace`, and the folder is fsynced so the rename itself survives a power cut.
`durable=False` skips both fsyncs for files that only need to survive a killed process
(a rename is atomic without them), such as a status file rewritten every few seconds.

Invariants:
- On any failure (encoding, a full disk, a target that is a folder) the temporary file
  is removed and the target is as it was; the exception propagates.
- The temporary name starts with ``.`` and ends with ``.tmp`` (``.NAME.RANDOM.tmp``), so
  folder watchers and globs that skip hidden files never pick it up.
- The new file's permissions are the ones `open` gives (0o666 less the umask).

This is for deskhand's own files (settings, claims, saved task files, screenshots). The
file tool writes the user's files through its fd-relative layer (tools/safe_fs.py).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def write_atomic(path: Path, data: bytes | str, *, durable: bool = True) -> None:
    """Replace `path` with `data` (text is written as UTF-8), whole or not at all."""
    folder = path.parent
    temp = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temp, _FLAGS, 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data.encode("utf-8") if isinstance(data, str) else data)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    if durable:
        _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Make a rename inside `folder` durable (POSIX; Windows has no folder handles)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
