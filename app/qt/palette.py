"""The command palette: a frameless window with one text field, summoned by the hotkey.

Built once and re-shown, so it appears at once. Enter runs the goal (or the suggestion
picked with the arrow keys); suggestions are recent goals and saved task files (the
``*.task.yaml`` in the tasks folder, shown by file name), fuzzy matched. Picking a task
file runs that file (`task_submitted`), not its name as a goal. Text from the
current selection or clipboard can be attached as context; it is shown, and removable,
before the run. While a run goes, its steps stream in (thought, action, result) and the
Stop button stays in view. Escape hides the palette; a run goes on and the tray shows it.

The palette knows nothing of the engine: it emits `goal_submitted`, `task_submitted`
and `stop_requested`, and shows the events it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import (
    QClipboard,
    QColor,
    QCursor,
    QGuiApplication,
    QKeyEvent,
    QPaintEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import fuzzy
from app.timeline import Line, LineKind, event_lines, short, status_text

if TYPE_CHECKING:
    from agent.events import Event

MAX_LINES = 400
CONTEXT_MAX_CHARS = 4000

_LINE_COLOURS: dict[LineKind, str] = {
    "run": "#7a8594",
    "thought": "#e8eaed",
    "action": "#8ab4f8",
    "result": "#81c995",
    "failure": "#f28b82",
    "approval": "#fdd663",
    "note": "#c58af9",
    "end": "#ffffff",
}

_STYLE = """
#frame { background: #202124; border: 1px solid #5f6368; border-radius: 10px; }
QLineEdit { background: #303134; color: #e8eaed; border: none; border-radius: 6px;
            padding: 8px; font-size: 16px; }
QListWidget { background: #202124; color: #e8eaed; border: none; }
QLabel { color: #bdc1c6; }
QPushButton, QToolButton { background: #3c4043; color: #e8eaed; border: none;
                           border-radius: 5px; padding: 4px 10px; }
QPushButton:disabled { color: #80868b; }
#stop:enabled { background: #d33c3c; color: white; }
"""


class Palette(QWidget):
    #: The goal to run, and the attached context ("" when none).
    goal_submitted = Signal(str, str)
    #: A saved task file to run: its path.
    task_submitted = Signal(object)
    stop_requested = Signal()
    #: The first paint after being shown: the palette is on screen.
    summoned = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowFlags(
            Qt.WindowType.Tool
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
        )
        self.setWindowTitle("deskhand")
        self.setObjectName("palette")
        self.setStyleSheet(_STYLE)
        self.resize(680, 120)
        self._goals: list[str] = []
        self._tasks: dict[str, Path] = {}
        self._running = False
        self._context = ""
        self._painted_since_show = False
        self._build()

    # -- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        frame = QFrame(self)
        frame.setObjectName("frame")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        layout = QVBoxLayout(frame)
        layout.setContentsMargins(10, 10, 10, 8)

        self.field = QLineEdit()
        self.field.setPlaceholderText("What should I do?")
        self.field.installEventFilter(self)
        self.field.textEdited.connect(self._typed)
        self.field.returnPressed.connect(self._submit)
        self.attach = QToolButton()
        self.attach.setText("+ selection")
        self.attach.setToolTip("Attach the selected text (or the clipboard) as context")
        self.attach.clicked.connect(self.attach_selection)
        top = QHBoxLayout()
        top.addWidget(self.field, 1)
        top.addWidget(self.attach)
        layout.addLayout(top)
        self._build_context_bar(layout)
        self._build_lists(layout)
        self._build_bottom(layout)

    def _build_context_bar(self, layout: QVBoxLayout) -> None:
        """The attached text, with a button that removes it (hidden while there is none)."""
        self.context_bar = QWidget()
        bar = QHBoxLayout(self.context_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        self.context_label = QLabel()
        self.context_label.setTextFormat(Qt.TextFormat.PlainText)
        self.remove_context = QToolButton()
        self.remove_context.setText("×")
        self.remove_context.setToolTip("Remove the attached text")
        self.remove_context.clicked.connect(lambda: self.set_context(""))
        bar.addWidget(self.context_label, 1)
        bar.addWidget(self.remove_context)
        self.context_bar.hide()
        layout.addWidget(self.context_bar)

    def _build_lists(self, layout: QVBoxLayout) -> None:
        """Suggestions while typing; the steps of the run being shown."""
        self.suggestions = QListWidget()
        self.suggestions.setObjectName("suggestions")
        self.suggestions.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.suggestions.itemClicked.connect(self._pick)
        self.suggestions.hide()
        layout.addWidget(self.suggestions)

        self.steps = QListWidget()
        self.steps.setObjectName("steps")
        self.steps.setWordWrap(True)
        self.steps.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.steps.hide()
        layout.addWidget(self.steps, 1)

    def _build_bottom(self, layout: QVBoxLayout) -> None:
        """The status line and the Stop button."""
        self.status = QLabel("")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stop")
        self.stop_button.setEnabled(False)
        self.stop_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stop_button.clicked.connect(self.stop_requested)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.stop_button)
        layout.addLayout(bottom)

    # -- showing ------------------------------------------------------------------------

    def summon(self) -> None:
        """Show the palette on the screen under the pointer, focused, text selected."""
        screen = QGuiApplication.screenAt(QCursor.pos()) or QGuiApplication.primaryScreen()
        if screen is not None and not self.isVisible():
            area = screen.availableGeometry()
            self.move(area.center().x() - self.width() // 2, area.top() + area.height() // 5)
        self._refresh_suggestions()
        self.show()
        self.raise_()
        self.activateWindow()
        self.field.setFocus(Qt.FocusReason.ActiveWindowFocusReason)
        self.field.selectAll()

    def showEvent(self, event: QShowEvent) -> None:
        self._painted_since_show = False
        super().showEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted_since_show:
            self._painted_since_show = True
            self.summoned.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.field and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            return self._field_key(event)
        return super().eventFilter(watched, event)

    def _field_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.hide()
            return True
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.suggestions.count():
            row = self.suggestions.currentRow() + (1 if key == Qt.Key.Key_Down else -1)
            self.suggestions.setCurrentRow(max(-1, min(row, self.suggestions.count() - 1)))
            return True
        if key == Qt.Key.Key_Tab and self.suggestions.currentItem() is not None:
            self.field.setText(self.suggestions.currentItem().text())
            self._refresh_suggestions()
            return True
        return False

    # -- suggestions and context ----------------------------------------------------------

    def set_recent_goals(self, goals: Sequence[str]) -> None:
        """Goals to suggest, newest first."""
        self._goals = list(goals)
        if self.isVisible() and not self.steps.isVisible():
            self._refresh_suggestions()

    def set_task_files(self, paths: Sequence[Path]) -> None:
        """Saved task files to suggest (by file name)."""
        self._tasks = {p.name: p for p in paths}
        if self.isVisible() and not self.steps.isVisible():
            self._refresh_suggestions()

    def _typed(self) -> None:
        # Typing a new goal puts the last run's steps away (History keeps them).
        if not self._running:
            self.steps.hide()
        self._refresh_suggestions()

    def _refresh_suggestions(self) -> None:
        typed = self.field.text().strip()
        goals = [g for g in self._goals if g.strip() != typed]
        # Goals first: of two equal matches, the recent goal wins.
        candidates = [*goals, *(n for n in self._tasks if n not in self._goals)]
        matches = [] if self._running else fuzzy.rank(typed, candidates, limit=6)
        self.suggestions.clear()
        for text in matches:
            item = QListWidgetItem(text)
            task = self._tasks.get(text)
            if task is not None:
                item.setData(Qt.ItemDataRole.UserRole, str(task))
                item.setToolTip(f"run the task file {task}")
                item.setForeground(QColor(_LINE_COLOURS["note"]))
            self.suggestions.addItem(item)
        self.suggestions.setCurrentRow(-1)
        self.suggestions.setVisible(bool(matches))
        self.suggestions.setFixedHeight(min(len(matches), 6) * 26 + 4)
        self._fit()

    def attach_selection(self) -> None:
        clipboard = QGuiApplication.clipboard()
        text = ""
        if clipboard.supportsSelection():
            text = clipboard.text(QClipboard.Mode.Selection)
        self.set_context(text or clipboard.text(QClipboard.Mode.Clipboard))

    def set_context(self, text: str) -> None:
        self._context = text.strip()[:CONTEXT_MAX_CHARS]
        self.context_label.setText(f"context: {short(self._context, 90)}")
        self.context_bar.setVisible(bool(self._context))
        self._fit()

    # -- running ------------------------------------------------------------------------

    def _submit(self) -> None:
        item = self.suggestions.currentItem()
        if item is not None:
            self._pick(item)
        elif self.field.text().strip() in self._tasks:
            self._run_task(self._tasks[self.field.text().strip()])
        else:
            self._run(self.field.text())

    def _pick(self, item: QListWidgetItem) -> None:
        task = item.data(Qt.ItemDataRole.UserRole)
        if task:
            self._run_task(Path(task))
        else:
            self._run(item.text())

    def _run_task(self, path: Path) -> None:
        if self._start(path.name):
            self.task_submitted.emit(path)

    def _run(self, goal: str) -> None:
        goal = goal.strip()
        context = self._context
        if goal and self._start(goal):
            self.goal_submitted.emit(goal, context)

    def _start(self, shown: str) -> bool:
        """Switch to the live view for a run of `shown`; False while another run goes."""
        if self._running:
            self.status.setText("a run is going: Stop it first")
            return False
        self._context = ""
        self.context_bar.hide()
        self.field.setText(shown)
        self.steps.clear()
        self.set_running(True)
        self.status.setText("queued…")
        return True

    def set_running(self, running: bool) -> None:
        self._running = running
        self.stop_button.setEnabled(running)
        if running:
            self.suggestions.hide()
            self.steps.show()
        self._fit()

    @property
    def running(self) -> bool:
        return self._running

    def show_event(self, event: Event) -> None:
        """Add an engine event to the live view."""
        from agent.events import RunFinished, RunStarted

        if isinstance(event, RunStarted):
            self.steps.clear()
            self.set_running(True)
        for line in event_lines(event):
            self._add_line(line)
        status = status_text(event)
        if status is not None:
            self.status.setText(status)
        if isinstance(event, RunFinished):
            self.set_running(False)

    def show_failure(self, message: str) -> None:
        self._add_line(Line("failure", f"✗ {message}"))
        self.status.setText(short(message, 80))
        self.set_running(False)

    def set_status(self, text: str) -> None:
        if not self._running:
            self.status.setText(text)

    def step_texts(self) -> list[str]:
        return [self.steps.item(i).text() for i in range(self.steps.count())]

    def _add_line(self, line: Line) -> None:
        item = QListWidgetItem(line.text)
        item.setForeground(QColor(_LINE_COLOURS[line.kind]))
        item.setData(Qt.ItemDataRole.UserRole, line.kind)
        self.steps.addItem(item)
        while self.steps.count() > MAX_LINES:
            self.steps.takeItem(0)
        self.steps.show()
        self.steps.scrollToBottom()
        self._fit()

    def _fit(self) -> None:
        height = 120 if not self.steps.isVisible() else 420
        if self.suggestions.isVisible():
            height += self.suggestions.height()
        if self.context_bar.isVisible():
            height += 28
        self.resize(self.width(), height)
