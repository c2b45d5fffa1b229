"""The tray app's watched inbox: the folder protocol of ``deskhand watch`` (`agent.inbox`),
run inside the app when settings name a `watch_folder`, paused and resumed from the tray.

Invariants:
- The folder protocol is `agent.inbox.Inbox`'s alone; this only starts, stops and
  reports it. Runs go through `agent.runner.run_task_path` (as ``deskhand watch`` runs
  them), so they are journaled and show in History; what the task file does not grant
  and the policy would ask about is denied (nobody is asked: the runs are unattended).
- The UI thread never waits on the inbox: starting one (which recovers claims a dead
  watcher left, on disk) and waiting for one to stop run on short-lived threads, and
  every `Notice` reaches the UI as a queued signal.
- Pausing is `Inbox.stop`: nothing new is claimed, and a task running then is stopped
  and left for a rerun when watching resumes (or failed, by its ``on_interrupt``).
- The inbox's runs are on its own thread, with their own model (one model per thread),
  at the engine's lowered CPU priority.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import QObject, Signal

from agent.settings import Settings
from app.qt.worker import lower_priority

if TYPE_CHECKING:
    from agent.inbox import Inbox, RunTask

log = logging.getLogger(__name__)

#: off: no folder configured; the others follow pause/resume.
WatchState = Literal["off", "starting", "watching", "pausing", "paused", "failed"]


def inbox_runner(settings: Settings) -> RunTask:
    """Run one task file as ``deskhand watch`` does, on the inbox's thread, below the UI's
    CPU priority."""
    from agent import assemble
    from agent.runner import unattended

    roots = assemble.workspace_roots(settings, settings.workspaces)
    return unattended(settings, roots, before=lower_priority)


class _Bridge(QObject):
    state_changed = Signal(str, str)  # state, detail (the folder, or why it failed)
    notice = Signal(object)  # agent.inbox.Notice


class InboxWatcher:
    """Starts, pauses and resumes the watched inbox named by the settings."""

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        self._bridge = _Bridge(parent)
        self.state_changed = self._bridge.state_changed
        self.notice = self._bridge.notice
        self.state: WatchState = "off"
        self.detail = ""
        self.state_changed.connect(self._remember)
        self._settings = settings
        self._inbox: Inbox | None = None
        self._lock = threading.Lock()  # guards _inbox across the helper threads
        self._thread: threading.Thread | None = None

    @property
    def folder(self) -> Path | None:
        return self._settings.watch_folder

    def _remember(self, state: str, detail: str) -> None:
        self.state, self.detail = state, detail  # type: ignore[assignment]

    # -- called on the UI thread ----------------------------------------------------------

    def start(self) -> None:
        """Watch the configured folder (nothing when none is configured)."""
        if self.folder is None:
            self._set("off", "")
            return
        if self.state in ("starting", "watching", "pausing"):
            return
        self._set("starting", str(self.folder))
        self._spawn(self._start_inbox, self._settings)

    def pause(self) -> None:
        if self.state in ("starting", "watching"):
            self._set("pausing", str(self.folder))
            self._spawn(self._stop_inbox, "paused")

    def toggle(self) -> None:
        """The tray's Pause/resume watching."""
        if self.state in ("starting", "watching"):
            self.pause()
        elif self.state in ("paused", "failed"):
            self.start()

    def reconfigure(self, settings: Settings) -> None:
        """New settings: restart watching when the folder (or what runs use) changed."""
        old, self._settings = self._settings, settings
        if _what_runs_use(old) == _what_runs_use(settings):
            return
        self._spawn(self._restart, settings)

    def close(self, timeout: float = 15.0) -> None:
        """Stop watching (the running task is left for a rerun) and wait for it."""
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            inbox, self._inbox = self._inbox, None
        if inbox is not None:
            inbox.stop()
            threading.Thread(target=_wait_quietly, args=(inbox, timeout), daemon=True).start()

    # -- helper threads -------------------------------------------------------------------

    def _set(self, state: WatchState, detail: str) -> None:
        self.state, self.detail = state, detail
        self.state_changed.emit(state, detail)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        previous = self._thread

        def body() -> None:
            if previous is not None:
                previous.join()  # commands take effect in the order given
            target(*args)

        self._thread = threading.Thread(target=body, name="deskhand-watch-control", daemon=True)
        self._thread.start()

    def _start_inbox(self, settings: Settings) -> None:
        from agent.inbox import Inbox

        folder = settings.watch_folder
        if folder is None:
            self.state_changed.emit("off", "")
            return
        try:
            if not folder.is_dir():
                raise NotADirectoryError(f"watch folder does not exist: {folder}")
            inbox = Inbox(folder, inbox_runner(settings), notify=self.notice.emit)
            inbox.start()
        except Exception as exc:  # noqa: BLE001 - a bad folder or a bad config, reported
            log.warning("cannot watch %s: %s", folder, exc)
            self.state_changed.emit("failed", f"{folder}: {exc}")
            return
        with self._lock:
            self._inbox = inbox
        self.state_changed.emit("watching", str(inbox.folder))

    def _stop_inbox(self, then: WatchState) -> None:
        with self._lock:
            inbox, self._inbox = self._inbox, None
        if inbox is not None:
            inbox.stop()
            _wait_quietly(inbox, None)
        folder = self._settings.watch_folder
        self.state_changed.emit(then if folder else "off", str(folder or ""))

    def _restart(self, settings: Settings) -> None:
        was_paused = self.state == "paused"
        self._stop_inbox("paused")
        if settings.watch_folder is not None and not was_paused:
            self.state_changed.emit("starting", str(settings.watch_folder))
            self._start_inbox(settings)


def _what_runs_use(s: Settings) -> tuple[object, ...]:
    return (
        s.watch_folder,
        s.workspaces,
        s.model,
        s.permissions,
        s.browser,
        s.max_steps,
        s.max_seconds,
    )


def _wait_quietly(inbox: Inbox, timeout: float | None) -> None:
    try:
        inbox.wait(timeout)
    except OSError as exc:
        log.warning("the watched inbox stopped: %s", exc)
