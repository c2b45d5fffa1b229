"""The desktop app: wires the engine worker, the journal thread, the palette, approvals,
the tray, the hotkeys and the windows together; and the `deskhand tray` / `palette` /
`stop` entry points.

Invariants:
- Every widget lives on the UI thread; the engine and the journal are reached only
  through `EngineWorker` and `JournalThread` (queued signals both ways).
- The model starts loading after the first paint, so the app is usable at once; goals
  submitted before it is ready wait for it. The engine's modules are imported then too
  (on the worker and journal threads), not before the palette can paint.
- The tray icon's state is derived in one place (`_update_state`) from what the worker
  and the approver report: approval > working > loading > error > idle.
- One app per data directory (`instance`): later calls hand it their command.
- The watched inbox (`watcher`) starts with the engine, after the first paint; the
  runs it files show in History and the recent runs as soon as they are filed.
"""

from __future__ import annotations

import functools
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

from agent.settings import DesktopSession, Settings, desktop_session
from app.learn_idle import IdleWatch, psutil_probes
from app.qt import instance
from app.qt.approval import ApprovalDialog, PendingApproval, QtApprover
from app.qt.hotkeys import GlobalHotkeys
from app.qt.icons import State
from app.qt.learn_action import LearnAction, connect_tray
from app.qt.palette import Palette
from app.qt.store import JournalThread
from app.qt.tray import Tray
from app.qt.watcher import InboxWatcher
from app.qt.worker import EngineWorker, ModelOpener, open_configured_model

if TYPE_CHECKING:
    from agent.events import Event
    from agent.inbox import Notice
    from agent.journal import Journal

log = logging.getLogger(__name__)

RECENT_RUNS = 50
#: How often the app samples whether the machine is idle (for learning by itself).
IDLE_SAMPLE_MS = 60_000


F = TypeVar("F", bound=Callable[..., None])


def _while_open(slot: F) -> F:
    """Drop signals that were already queued when the app shut down (its widgets are gone)."""

    @functools.wraps(slot)
    def guarded(self: DeskhandApp, *args: Any) -> None:
        if not self.closed:
            slot(self, *args)

    return guarded  # type: ignore[return-value]


class DeskhandApp(QObject):
    state_changed = Signal(str)

    def __init__(
        self,
        settings: Settings,
        *,
        session: DesktopSession = "none",
        open_model: ModelOpener = open_configured_model,
        use_tray: bool = True,
        use_hotkeys: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.session = session
        self.approver = QtApprover(self)
        self.worker = EngineWorker(settings, self.approver, open_model=open_model, parent=self)
        self.store = JournalThread(settings.journal_path, self)
        self.watcher = InboxWatcher(settings, self)
        self.palette = Palette()
        self.tray = Tray(self) if use_tray else None
        self.hotkeys = GlobalHotkeys(settings.hotkeys, session, self) if use_hotkeys else None
        self.dialogs: dict[int, ApprovalDialog] = {}
        # Learning from the user's runs: asked from the tray, or by itself when idle.
        self.learner = LearnAction(settings, parent=self)
        self.idle = IdleWatch(*psutil_probes())
        self._idle_timer = QTimer(self)
        self._idle_timer.setInterval(IDLE_SAMPLE_MS)
        self._idle_timer.timeout.connect(self._idle_tick)
        self.history_window: QWidget | None = None
        self.settings_window: QWidget | None = None
        self.state: State = "idle"
        self._loading = False
        self._busy = False
        self._error = ""
        self._started = False
        self._learn_after = 0.0
        self.closed = False
        self._wire()

    def _wire(self) -> None:
        w = self.worker.signals
        w.model_loading.connect(self._model_loading)
        w.model_ready.connect(self._model_ready)
        w.model_failed.connect(self._model_failed)
        w.busy_changed.connect(self._busy_changed)
        w.engine_event.connect(self._event)
        w.run_failed.connect(self._run_failed)
        self.watcher.notice.connect(self._inbox_notice)
        self.approver.requested.connect(self._approval_requested)
        self.approver.settled.connect(self._approval_settled)
        self.palette.goal_submitted.connect(self.worker.submit)
        self.palette.task_submitted.connect(self.worker.submit_task_file)
        self.palette.summoned.connect(self.refresh_task_files)
        self.palette.stop_requested.connect(self.stop)
        if self.tray is not None:
            self.tray.new_task.connect(self.palette.summon)
            self.tray.stop.connect(self.stop)
            self.tray.history.connect(lambda: self.show_history())
            self.tray.settings.connect(self.show_settings)
            self.tray.quit.connect(self.quit)
            self.tray.open_run.connect(self.show_history)
            self.tray.toggle_watch.connect(self.watcher.toggle)
            self.watcher.state_changed.connect(self.tray.set_watching)
            connect_tray(self.tray, self.learner)
        if self.hotkeys is not None:
            self.hotkeys.palette.connect(self.palette.summon)
            self.hotkeys.stop.connect(self.stop)
            self.hotkeys.unavailable.connect(self._hotkeys_unavailable)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self, *, show_palette: bool = False) -> None:
        """Show the tray (and the palette), then start the engine after the first paint."""
        if self.tray is not None:
            self.tray.show()
        if show_palette:
            self.palette.summoned.connect(self._start_engine)
            self.palette.summon()
        else:
            QTimer.singleShot(0, self._start_engine)

    def _start_engine(self) -> None:
        if self._started:
            return
        self._started = True
        self.worker.start()
        self.watcher.start()
        if self.hotkeys is not None:
            self.hotkeys.start()
        self.refresh_recent()
        self.refresh_task_files()
        self._idle_timer.start()

    def _idle_tick(self) -> None:
        """Learn by itself at most once a day, when `IdleWatch` says the machine is idle."""
        self.idle.sample(busy=self._busy)
        ok, _ = self.idle.may_learn()
        if ok and not self.learner.running and self.idle.clock() >= self._learn_after:
            self._learn_after = self.idle.clock() + 24 * 3600
            self.learner.start()

    def stop(self) -> None:
        """The kill switch: stop the current run at once and drop queued goals."""
        self.worker.stop()

    def shutdown(self) -> None:
        self.closed = True
        self._idle_timer.stop()
        self.watcher.close()
        self.worker.shutdown()
        self.store.close()
        if self.hotkeys is not None:
            self.hotkeys.close()
        if self.tray is not None:
            self.tray.close()
        for dialog in list(self.dialogs.values()):
            dialog.settled_elsewhere()
        self.dialogs.clear()
        # Widgets go before the QApplication does: deleted at interpreter exit instead,
        # they can crash it.
        for window in (self.history_window, self.settings_window, self.palette):
            if window is not None:
                window.close()
                window.deleteLater()
        self.history_window = self.settings_window = None

    def quit(self) -> None:
        self.shutdown()
        QApplication.quit()

    def handle_command(self, command: str) -> None:
        if command == "palette":
            self.palette.summon()
        elif command == "stop":
            self.stop()

    # -- windows ------------------------------------------------------------------------

    def show_history(self, run_id: str | None = None) -> None:
        from app.qt.history import HistoryWindow

        if self.history_window is None:
            self.history_window = HistoryWindow(self.store)
        assert isinstance(self.history_window, HistoryWindow)
        self.history_window.reload(select=run_id)
        _raise(self.history_window)

    def show_settings(self) -> None:
        from app.qt.settings_window import SettingsWindow

        if self.settings_window is None:
            window = SettingsWindow(self.settings)
            window.saved.connect(self.apply_settings)
            self.settings_window = window
        _raise(self.settings_window)

    def apply_settings(self, settings: Settings) -> None:
        old, self.settings = self.settings, settings
        self.worker.reload(settings, reopen_model=old.model != settings.model)
        if self.hotkeys is not None and old.hotkeys != settings.hotkeys:
            self.hotkeys.restart(settings.hotkeys)
        self.watcher.reconfigure(settings)
        self.refresh_task_files()

    def refresh_task_files(self) -> None:
        """List the tasks folder's saved task files for the palette (off the UI thread)."""
        folder = self.settings.tasks_folder
        if folder is None:
            self.palette.set_task_files([])
            return
        self.store.submit(lambda _journal: _task_files(folder), self._task_files_listed)

    @_while_open
    def _task_files_listed(self, paths: list[Path]) -> None:
        self.palette.set_task_files(paths)

    def refresh_recent(self) -> None:
        self.store.submit(lambda j: _recent(j), self._recent_loaded)

    @_while_open
    def _recent_loaded(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.palette.set_recent_goals([r["goal"] for r in rows if r.get("goal")])
        if self.tray is not None:
            self.tray.set_recent_runs(rows[:8])

    # -- what the worker and the approver report ----------------------------------------

    @_while_open
    def _model_loading(self) -> None:
        self._loading = True
        self.palette.set_status("loading the model…")
        self._update_state()

    @_while_open
    def _model_ready(self, model_id: str) -> None:
        self._loading, self._error = False, ""
        self.palette.set_status(f"ready · {model_id}")
        self._update_state()

    @_while_open
    def _model_failed(self, message: str) -> None:
        self._loading, self._error = False, f"model: {message}"
        self.palette.set_status(self._error)
        if self.tray is not None:
            self.tray.notify("deskhand cannot open the model", message)
        self._update_state()

    @_while_open
    def _busy_changed(self, busy: bool) -> None:
        self._busy = busy
        if busy:
            self._error = ""
        else:
            self.refresh_recent()
        self._update_state()

    @_while_open
    def _event(self, event: Event) -> None:
        from agent.events import RunFinished

        self.palette.show_event(event)
        if isinstance(event, RunFinished):
            if event.outcome == "error":
                self._error = event.message
            if self.tray is not None and not self.palette.isVisible():
                self.tray.notify(f"deskhand: {event.outcome}", event.message)
            self._update_state()

    @_while_open
    def _run_failed(self, message: str) -> None:
        self._error = message
        self.palette.show_failure(message)
        self._update_state()

    @_while_open
    def _inbox_notice(self, notice: Notice) -> None:
        if notice.kind != "filed":
            return
        self.refresh_recent()
        reload = getattr(self.history_window, "reload", None)
        if reload is not None and self.history_window is not None:
            if self.history_window.isVisible():
                reload()
        if self.tray is not None:
            self.tray.notify(f"deskhand: {notice.name}: {notice.outcome}", notice.message)

    @_while_open
    def _approval_requested(self, pending: PendingApproval) -> None:
        if pending.settled:
            return
        dialog = ApprovalDialog(pending)
        self.dialogs[id(pending)] = dialog
        _raise(dialog)
        self._update_state()

    @_while_open
    def _approval_settled(self, pending: PendingApproval) -> None:
        dialog = self.dialogs.pop(id(pending), None)
        if dialog is not None and dialog.isVisible():
            dialog.settled_elsewhere()
        self._update_state()

    @_while_open
    def _hotkeys_unavailable(self, message: str) -> None:
        log.warning("%s", message)
        if self.tray is not None:
            self.tray.notify("deskhand: no global hotkey", message)

    def _update_state(self) -> None:
        state: State = "idle"
        if self.approver.pending():
            state = "approval"
        elif self._busy:
            state = "working"
        elif self._loading:
            state = "loading"
        elif self._error:
            state = "error"
        if self.tray is not None:
            self.tray.set_state(state, self._error if state == "error" else "")
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)


def _recent(journal: Journal) -> list[dict[str, Any]]:
    return journal.runs(limit=RECENT_RUNS)


def _task_files(folder: Path) -> list[Path]:
    """Runs on the store thread (it reads the disk)."""
    try:
        return sorted(p for p in folder.glob("*.task.yaml") if p.is_file())
    except OSError as exc:
        log.warning("cannot list the tasks folder %s: %s", folder, exc)
        return []


def _raise(window: QWidget) -> None:
    window.show()
    window.raise_()
    window.activateWindow()


# -- entry points ------------------------------------------------------------------------


def _qt_app() -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("deskhand")
    app.setQuitOnLastWindowClosed(False)
    return app


def run_app(settings: Settings, *, show_palette: bool) -> int:
    """Start the tray app (showing the palette at once when asked); returns the exit code.

    When the app is already running for these settings, hand it the command instead.
    """
    qt = _qt_app()
    if instance.is_running(settings):
        if show_palette:
            instance.send(settings, "palette")
        return 0
    server = instance.InstanceServer(settings)
    server.listen()
    app = DeskhandApp(settings, session=desktop_session())
    server.command.connect(app.handle_command)
    app.start(show_palette=show_palette)
    with _quit_on_signals(app):
        code = qt.exec()
    server.close()
    return code


@contextmanager
def _quit_on_signals(app: DeskhandApp) -> Iterator[None]:
    """Ctrl-C and SIGTERM quit cleanly (runs stopped and journaled). Python runs signal
    handlers only between bytecodes, so a timer lets it in while Qt's loop waits."""
    previous = {s: signal.signal(s, lambda *_: app.quit()) for s in (signal.SIGINT, signal.SIGTERM)}
    tick = QTimer()
    tick.timeout.connect(lambda: None)
    tick.start(250)
    try:
        yield
    finally:
        tick.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def send_stop(settings: Settings) -> bool:
    """The kill switch from a shell or a desktop shortcut; False when no app runs."""
    _qt_app()
    return instance.send(settings, "stop")
