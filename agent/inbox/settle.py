"""When a task file written in place is complete, so the inbox never claims half a file.

A half-written YAML file can be valid YAML and even a valid task (a list of steps cut
short), so completeness cannot be judged from the content: it is judged from the file's
history. A file is settled when its last write (its mtime) is `settle_seconds` old and its
size, mtime and inode are the same at the check as when it was last seen (at an event or
at a scan). Events and mtimes drive this, not sleeping: the inbox waits on its condition
until the next file could settle, and every write event restarts that file's wait.

A file moved into the folder is complete at once, since a rename is atomic (the inbox
reports it with ``complete=True``; on Linux also a move from another folder, elsewhere a
move keeps the file's mtime, so only a file written in the last `settle_seconds` waits). A
writer that pauses longer than `settle_seconds` in the middle of a file would be claimed
early: that is the limit of judging from the outside, and why producers should move
files in.
"""

from __future__ import annotations

import itertools
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_Signature = tuple[int, int, int]


def _signature(path: Path) -> _Signature | None:
    """Size, mtime and inode of the entry itself (a symlink is not followed); None for a
    folder or nothing. Entries that are not regular files settle like files and are then
    refused by the inbox with the reason, never left in place unexplained."""
    try:
        st = path.lstat()
    except OSError:
        return None
    return None if stat.S_ISDIR(st.st_mode) else (st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass(frozen=True, slots=True)
class _Seen:
    signature: _Signature
    changed_at: float  # on `clock`: when the file last changed, as far as we know
    order: int


class Settler:
    """Decides when a file written in place is complete (see the module docstring).

    Not thread-safe: the inbox calls it under its lock. `clock` (monotonic) and `wall`
    (comparable with file mtimes) are injectable for tests.
    """

    def __init__(
        self,
        settle_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settle_seconds = settle_seconds
        self._clock = clock
        self._wall = wall
        self._pending: dict[Path, _Seen] = {}
        self._order = itertools.count()

    def __contains__(self, path: object) -> bool:
        return path in self._pending

    def __len__(self) -> int:
        return len(self._pending)

    def seen(self, path: Path, *, complete: bool = False) -> None:
        """`path` was written (or moved in: `complete`); a missing path is forgotten."""
        signature = _signature(path)
        old = self._pending.get(path)
        if signature is None:
            self._pending.pop(path, None)
            return
        self._pending[path] = self._entry(signature, old.order if old else None, complete)

    def _entry(self, signature: _Signature, order: int | None, complete: bool) -> _Seen:
        # The last write is as old as the mtime says (never more than the settle time,
        # and never in the future), so a file that has sat still is not made to wait.
        age = self._wall() - signature[1] / 1e9
        age = self.settle_seconds if complete else min(max(age, 0.0), self.settle_seconds)
        return _Seen(signature, self._clock() - age, next(self._order) if order is None else order)

    def take_ready(self) -> Path | None:
        """The earliest-seen file that has settled, now forgotten; None if none has."""
        now = self._clock()
        for path, seen in sorted(self._pending.items(), key=lambda item: item[1].order):
            if now - seen.changed_at < self.settle_seconds:
                continue
            signature = _signature(path)
            if signature is None:
                del self._pending[path]
            elif signature != seen.signature:  # changed with no event (yet): wait again
                self._pending[path] = _Seen(signature, now, seen.order)
            else:
                del self._pending[path]
                return path
        return None

    def wait_seconds(self) -> float | None:
        """How long until the next file could settle; None when none is pending."""
        if not self._pending:
            return None
        first = min(seen.changed_at for seen in self._pending.values())
        return max(0.0, first + self.settle_seconds - self._clock())
