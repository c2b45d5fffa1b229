"""Two runs side by side, and "this one was better" stored as a preference.

Preferences (better run, worse run, optional note) are the pairwise judgements that
later feed the model back; the journal owns them. Reads and the write go through the
`JournalThread`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent.journal import Journal
from app.qt.runview import RunDetail, fill_timeline, load_detail, run_summary
from app.qt.store import JournalThread

Row = Mapping[str, Any]


class CompareDialog(QDialog):
    #: The preference row was written: its id.
    preference_saved = Signal(int)
    #: Both runs' steps are shown.
    loaded = Signal()

    def __init__(
        self, store: JournalThread, left: Row, right: Row, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("deskhand: compare two runs")
        self.setObjectName("compare")
        self.resize(1000, 560)
        self.store = store
        self.runs = (left, right)
        self._pending = 2
        grid = QGridLayout()
        self.timelines: list[QListWidget] = []
        self.better_buttons: list[QPushButton] = []
        for column, run in enumerate(self.runs):
            summary = QLabel(f"run {run['id']}\n{run_summary(run)}")
            summary.setTextFormat(Qt.TextFormat.PlainText)
            summary.setWordWrap(True)
            timeline = QListWidget()
            timeline.setWordWrap(True)
            button = QPushButton("This one was better")
            button.clicked.connect(lambda _c=False, i=column: self.choose(i))
            grid.addWidget(summary, 0, column)
            grid.addWidget(timeline, 1, column)
            grid.addWidget(button, 2, column)
            self.timelines.append(timeline)
            self.better_buttons.append(button)
            run_id = str(run["id"])

            store.submit(partial(load_detail, run_id=run_id), partial(self._shown, timeline))
        self.note = QLineEdit()
        self.note.setPlaceholderText("why (optional)")
        self.status = QLabel("")
        layout = QVBoxLayout(self)
        layout.addLayout(grid, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.status)

    def _shown(self, view: QListWidget, detail: RunDetail | None) -> None:
        if detail is not None:
            fill_timeline(view, detail)
        self._pending -= 1
        if self._pending == 0:
            self.loaded.emit()

    def choose(self, better: int) -> None:
        better_id = str(self.runs[better]["id"])
        worse_id = str(self.runs[1 - better]["id"])
        note = self.note.text().strip()

        def write(journal: Journal) -> int:
            return journal.add_preference(better_id, worse_id, note)

        for button in self.better_buttons:
            button.setEnabled(False)
        self.store.submit(write, self._written)

    def _written(self, preference_id: int) -> None:
        self.status.setText("saved")
        self.preference_saved.emit(preference_id)
        self.accept()
