"""The tray icon: the app's state at a glance, and its menu.

Menu: New task…, Recent runs (opens one in History), Stop, Pause/resume watching (the
watched inbox, with its state in the item's text), Learn from my runs (its progress in
the item's text, app/qt/learn_action.py), History, Settings, Quit.
The icon (drawn in `icons`) and its tooltip follow the app's state. Where the desktop
has no tray (some Wayland and bare X sessions), the app still runs: the palette is
reached by hotkey or ``deskhand palette``, and `available` is False.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.qt.icons import LABELS, State, state_icon
from app.timeline import short

log = logging.getLogger(__name__)

LEARN_TEXT = "Learn from my runs"
_OUTCOME_MARK = {"success": "✓", "failed": "✗", "stopped": "■", "error": "!"}


class Tray(QObject):
    new_task = Signal()
    stop = Signal()
    history = Signal()
    settings = Signal()
    quit = Signal()
    #: Pause or resume the watched inbox.
    toggle_watch = Signal()
    #: A recent run was picked: its id.
    open_run = Signal(str)
    #: "Learn from my runs" was picked (asked: learn now).
    learn = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state: State = "idle"
        self.icon = QSystemTrayIcon(state_icon("idle"), self)
        self.menu = QMenu()
        self.menu.setObjectName("tray-menu")
        self.new_task_action = self._action("New task…", self.new_task)
        self.recent_menu = self.menu.addMenu("Recent runs")
        self.recent_menu.setEnabled(False)
        self.stop_action = self._action("Stop", self.stop)
        self.stop_action.setEnabled(False)
        self.watch_action = self._action("Pause watching", self.toggle_watch)
        self.set_watching("off")
        self.learn_action = self._action(LEARN_TEXT, self.learn)
        self.menu.addSeparator()
        self.history_action = self._action("History", self.history)
        self.settings_action = self._action("Settings", self.settings)
        self.menu.addSeparator()
        self.quit_action = self._action("Quit", self.quit)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.set_state("idle")

    def _action(self, text: str, signal: Any) -> QAction:
        action = self.menu.addAction(text)
        action.triggered.connect(lambda _checked=False: signal.emit())
        return action

    @property
    def available(self) -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> bool:
        """Show the icon; False (and a log line) when the desktop has no tray."""
        if not self.available:
            log.warning("no system tray here: use the hotkey or `deskhand palette`")
            return False
        self.icon.show()
        return True

    def close(self) -> None:
        """Hide the icon and let its menu go (before the QApplication does)."""
        self.icon.hide()
        self.menu.deleteLater()  # the icon holds it by a guarded pointer

    def set_state(self, state: State, detail: str = "") -> None:
        self.state = state
        self.icon.setIcon(state_icon(state))
        tip = f"deskhand: {LABELS[state]}"
        self.icon.setToolTip(f"{tip}\n{short(detail, 120)}" if detail else tip)
        self.stop_action.setEnabled(state in ("working", "approval"))

    def set_watching(self, state: str, detail: str = "") -> None:
        """Show the watched inbox's state (`app.qt.watcher.WatchState`) in its menu item."""
        name = Path(detail).name if detail else ""
        text, enabled = {
            "off": ("Pause/resume watching (no watch folder set)", False),
            "starting": (f"Starting to watch {name}…", False),
            "watching": (f"Pause watching {name}", True),
            "pausing": (f"Pausing {name} (after its current task)…", False),
            "paused": (f"Resume watching {name} (paused)", True),
            "failed": ("Resume watching (failed: see the tooltip)", True),
        }[state]
        self.watch_action.setText(text)
        self.watch_action.setToolTip(detail)
        self.watch_action.setEnabled(enabled)

    def set_learning(self, progress: str | None) -> None:
        """Show learning's progress in its menu item (None: not learning, offer it)."""
        self.learn_action.setText(LEARN_TEXT if progress is None else f"Learning: {progress}")
        self.learn_action.setEnabled(progress is None)

    def set_recent_runs(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.recent_menu.clear()
        for row in rows:
            mark = _OUTCOME_MARK.get(row.get("outcome") or "", "…")
            action = self.recent_menu.addAction(f"{mark} {short(row.get('goal') or '', 50)}")
            run_id = str(row["id"])
            action.triggered.connect(lambda _checked=False, rid=run_id: self.open_run.emit(rid))
        self.recent_menu.setEnabled(bool(rows))

    def notify(self, title: str, message: str) -> None:
        if self.icon.isVisible():
            self.icon.showMessage(title, message, state_icon(self.state), 5000)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.new_task.emit()
