"""The UI's way to the journal: a thread of its own with its own `Journal`.

The history window, the palette's recent goals and the tray's recent runs read the
journal, and feedback and preferences are written to it; none of that may make the UI
thread wait on the disk. `JournalThread.submit(query, then)` runs ``query(journal)`` on
the store thread and calls ``then(result)`` back on the UI thread (a queued signal).

Invariants: the `Journal` is opened, used and closed on the store thread only (sqlite3
connections are bound to one thread); requests run in the order submitted; a query that
raises is logged and reported through `failed`, and the thread serves on.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from agent.journal import Journal

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Bridge(QObject):
    done = Signal(object, object)
    failed = Signal(str)


class JournalThread:
    """Runs journal queries and writes in order on one background thread."""

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        self._path = path
        self._bridge = _Bridge(parent)
        self._bridge.done.connect(lambda then, result: then(result))
        self.failed = self._bridge.failed
        self._requests: queue.Queue[tuple[Callable[[Journal], Any], Callable[[Any], None]] | None]
        self._requests = queue.Queue()
        self._thread = threading.Thread(target=self._main, name="deskhand-store", daemon=True)
        self._started = False

    def submit(
        self, query: Callable[[Journal], T], then: Callable[[T], None] | None = None
    ) -> None:
        # The thread starts with the first request, so an app that has not painted yet
        # spends no time on it.
        if not self._started:
            self._started = True
            self._thread.start()
        self._requests.put((query, then or _ignore))

    def close(self, timeout: float = 5.0) -> None:
        if self._started:
            self._requests.put(None)
            self._thread.join(timeout)

    def _main(self) -> None:
        from agent.journal import Journal

        journal = Journal(self._path)
        try:
            while (request := self._requests.get()) is not None:
                query, then = request
                try:
                    result = query(journal)
                except Exception as exc:  # noqa: BLE001 - reported; the UI keeps its store
                    log.exception("journal request failed")
                    self._bridge.failed.emit(f"{type(exc).__name__}: {exc}")
                    continue
                self._bridge.done.emit(then, result)
        finally:
            journal.close()


def _ignore(result: object) -> None:
    pass
