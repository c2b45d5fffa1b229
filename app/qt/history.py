"""The history window: past runs, one run's steps as a timeline, feedback, comparison.

- Runs: goal, model, outcome, duration, newest first.
- A run's steps: thought → action → result per step, with the screenshot a step took
  (a ``screenshot`` path in its result data) as a thumbnail.
- A run's summary says which past runs it was shown as worked examples ("used 1 past run:
  ID “GOAL”"), as the journal's `experience_used` event recorded them.
- Feedback: thumbs up/down and a correction note, for the whole run or for the step
  selected in the timeline; stored in the journal's feedback table.
- Correction: for the selected step, the action that should have happened: a tool and
  its arguments, prefilled with the step's own and filled from what the step observed
  (the page's elements, the files listed; `agent.experience.correction_choices`). Saved
  as a labelled step (the corrections table, with a bad rating of the step), it becomes
  a training example and the wrong action its rejected pair (``deskhand learn export``).
- Compare: two runs of the same goal side by side (`CompareDialog`), and "this one was
  better" stored as a preference.

Every read and write goes through the `JournalThread`; the window only paints rows it
is handed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from agent.experience import Choice, apply_choice, correction_choices, observed_before
from agent.journal import Journal, record_correction
from app.qt.compare import CompareDialog
from app.qt.runview import THUMBNAIL, RunDetail, fill_timeline, load_detail, run_summary
from app.qt.store import JournalThread
from app.timeline import duration_text, short

Row = Mapping[str, Any]
_COLUMNS = ("started", "goal", "model", "outcome", "duration", "steps")


class HistoryWindow(QWidget):
    runs_loaded = Signal()
    run_shown = Signal(str)
    #: A feedback row was written: its id.
    feedback_saved = Signal(int)
    #: A preference row was written: its id (re-emitted from the compare dialog).
    preference_saved = Signal(int)
    #: A correction (a labelled step) was written: its id.
    correction_saved = Signal(int)

    def __init__(self, store: JournalThread, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("deskhand history")
        self.setObjectName("history")
        self.resize(1100, 600)
        self.store = store
        self.rows: list[Row] = []
        self.detail: RunDetail | None = None
        self.compare_dialog: CompareDialog | None = None
        self._select: str | None = None
        self._choices: list[Choice] = []
        self._build()

    def _build(self) -> None:
        self.runs = QTableWidget(0, len(_COLUMNS))
        self.runs.setHorizontalHeaderLabels(list(_COLUMNS))
        self.runs.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.runs.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.runs.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.runs.verticalHeader().hide()
        self.runs.setWordWrap(False)
        self.runs.horizontalHeader().setStretchLastSection(False)
        for index, width in enumerate((130, 230, 170, 70, 70, 50)):
            self.runs.setColumnWidth(index, width)
        self.runs.itemSelectionChanged.connect(self._selection_changed)

        self.summary = QLabel("")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.timeline = QListWidget()
        self.timeline.setWordWrap(True)
        self.timeline.setIconSize(THUMBNAIL)
        self.timeline.itemSelectionChanged.connect(self._target_changed)
        self.existing = QLabel("")
        self.existing.setWordWrap(True)

        self.good = QPushButton("▲ good")
        self.bad = QPushButton("▼ bad")
        self.ratings = QButtonGroup(self)
        for button in (self.good, self.bad):
            button.setCheckable(True)
            self.ratings.addButton(button)
        self.note = QLineEdit()
        self.note.setPlaceholderText("what should it have done? (optional)")
        self.target = QLabel("for the whole run")
        self.save_feedback = QPushButton("Save feedback")
        self.save_feedback.clicked.connect(self.submit_feedback)
        self.compare_button = QPushButton("Compare…")
        self.compare_button.setToolTip("Two runs of the same goal side by side")
        self.compare_button.clicked.connect(self.compare)

        feedback = QHBoxLayout()
        for w in (self.good, self.bad, self.note, self.target, self.save_feedback):
            feedback.addWidget(w, 1 if w is self.note else 0)
        correction = self._build_correction()
        right = QWidget()
        column = QVBoxLayout(right)
        column.addWidget(self.summary)
        column.addWidget(self.timeline, 1)
        column.addWidget(self.existing)
        column.addLayout(feedback)
        column.addLayout(correction)
        column.addWidget(self.compare_button, 0, Qt.AlignmentFlag.AlignRight)
        splitter = QSplitter()
        splitter.addWidget(self.runs)
        splitter.addWidget(right)
        splitter.setSizes([520, 480])
        QVBoxLayout(self).addWidget(splitter)
        self._enable()

    # -- runs -----------------------------------------------------------------------------

    def reload(self, select: str | None = None) -> None:
        self._select = select
        self.store.submit(_all_runs, self._show_runs)

    def _show_runs(self, rows: list[Row]) -> None:
        self.rows = rows
        self.runs.setRowCount(len(rows))
        for i, row in enumerate(rows):
            values = (
                _when(row.get("started_at")),
                short(row.get("goal") or "", 80),
                row.get("model_id") or "",
                row.get("outcome") or row.get("status") or "",
                duration_text(row),
                str(row.get("steps") or 0),
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, row["id"])
                self.runs.setItem(i, column, item)
        if self._select is not None:
            self.select_run(self._select)
        elif rows and not self.runs.selectedItems():
            self.runs.selectRow(0)
        self.runs_loaded.emit()

    def select_run(self, run_id: str) -> None:
        for i, row in enumerate(self.rows):
            if row["id"] == run_id:
                self.runs.clearSelection()
                self.runs.selectRow(i)
                return

    def selected_ids(self) -> list[str]:
        rows = sorted({index.row() for index in self.runs.selectionModel().selectedRows()})
        return [self.rows[r]["id"] for r in rows if r < len(self.rows)]

    def _selection_changed(self) -> None:
        ids = self.selected_ids()
        if ids:
            run_id = ids[0]
            self.store.submit(lambda j: load_detail(j, run_id), self._show_detail)
        self._enable()

    def _show_detail(self, detail: RunDetail | None) -> None:
        if detail is None:
            return
        self.detail = detail
        self.summary.setText(run_summary(detail.run, detail.used))
        fill_timeline(self.timeline, detail)
        self.existing.setText(_feedback_text(detail.feedback))
        self._target_changed()
        self.run_shown.emit(detail.run["id"])

    # -- feedback ---------------------------------------------------------------------------

    def selected_step(self) -> int | None:
        items = self.timeline.selectedItems()
        step = items[0].data(Qt.ItemDataRole.UserRole) if items else None
        return int(step) if step is not None else None

    def _target_changed(self) -> None:
        step = self.selected_step()
        self.target.setText("for the whole run" if step is None else f"for step {step}")
        self._fill_correction(step)
        self.save_correction.setEnabled(step is not None)

    def submit_feedback(self) -> None:
        if self.detail is None:
            return
        value = 1 if self.good.isChecked() else -1 if self.bad.isChecked() else None
        note = self.note.text().strip()
        if value is None and not note:
            self.existing.setText("choose good or bad, or write a note")
            return
        run_id, step = self.detail.run["id"], self.selected_step()

        def write(journal: Journal) -> int:
            return journal.add_feedback(run_id, rating=value, note=note, step_idx=step)

        self.store.submit(write, self._feedback_written)

    def _feedback_written(self, feedback_id: int) -> None:
        self.note.clear()
        self.ratings.setExclusive(False)
        for button in (self.good, self.bad):
            button.setChecked(False)
        self.ratings.setExclusive(True)
        if self.detail is not None:
            run_id = self.detail.run["id"]
            self.store.submit(lambda j: load_detail(j, run_id), self._show_detail)
        self.feedback_saved.emit(feedback_id)

    # -- correcting a step ---------------------------------------------------------------

    def _build_correction(self) -> QHBoxLayout:
        self.correct_tool = QComboBox()
        self.correct_tool.setEditable(True)
        self.correct_tool.setToolTip("the action it should have taken")
        self.correct_choice = QComboBox()
        self.correct_choice.setToolTip("what the step saw: an element or a file")
        self.correct_choice.activated.connect(self._choice_picked)
        self.correct_args = QLineEdit()
        self.correct_args.setPlaceholderText('arguments, e.g. {"path": "notes.txt"}')
        self.save_correction = QPushButton("Do this instead")
        self.save_correction.setToolTip("Save as the right action for this step (rates it bad)")
        self.save_correction.clicked.connect(self.submit_correction)
        self.save_correction.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(QLabel("instead:"))
        for w in (self.correct_tool, self.correct_choice, self.correct_args, self.save_correction):
            row.addWidget(w, 1 if w is self.correct_args else 0)
        return row

    def _fill_correction(self, step: int | None) -> None:
        """Prefill the correction with the selected step's action and what it saw."""
        detail = self.detail
        own = next((s for s in detail.steps if s["idx"] == step), None) if detail else None
        self.correct_tool.clear()
        self.correct_choice.clear()
        self._choices = []
        if detail is None or own is None:
            self.correct_args.clear()
            return
        tools = dict.fromkeys([own["tool"], *(s["tool"] for s in detail.steps), "finish"])
        self.correct_tool.addItems([t for t in tools if t])
        self.correct_args.setText(json.dumps(own.get("args") or {}, ensure_ascii=False))
        self._choices = correction_choices(observed_before(detail.run, detail.steps, own["idx"]))
        self.correct_choice.addItem("from what it saw…")
        self.correct_choice.addItems([c.label for c in self._choices])

    def _choice_picked(self, index: int) -> None:
        if not 1 <= index <= len(self._choices):
            return
        args = self.correction_args() or {}
        self.correct_args.setText(
            json.dumps(apply_choice(args, self._choices[index - 1]), ensure_ascii=False)
        )

    def correction_args(self) -> dict[str, Any] | None:
        try:
            args = json.loads(self.correct_args.text() or "{}")
        except ValueError:
            return None
        return args if isinstance(args, dict) else None

    def submit_correction(self) -> None:
        step, tool, args = self.selected_step(), self.correct_tool.currentText().strip(), None
        if self.detail is None or step is None:
            self.existing.setText("select the step that went wrong")
            return
        args = self.correction_args()
        if not tool or args is None:
            self.existing.setText("name a tool, and arguments as a JSON object")
            return
        run_id, note = self.detail.run["id"], self.note.text().strip()

        def write(journal: Journal) -> int:
            return record_correction(journal, run_id, step, tool=tool, args=args, note=note)

        self.store.submit(write, self._correction_written)

    def _correction_written(self, correction_id: int) -> None:
        self.note.clear()
        if self.detail is not None:
            run_id = self.detail.run["id"]
            self.store.submit(lambda j: load_detail(j, run_id), self._show_detail)
        self.correction_saved.emit(correction_id)

    # -- comparing ----------------------------------------------------------------------------

    def compare_pair(self) -> tuple[Row, Row] | None:
        """Two selected runs; or the selected run and the newest other run of its goal."""
        ids = self.selected_ids()
        by_id = {r["id"]: r for r in self.rows}
        if len(ids) == 2:
            return by_id[ids[0]], by_id[ids[1]]
        if len(ids) == 1:
            first = by_id[ids[0]]
            goal = (first.get("goal") or "").strip().lower()
            for row in self.rows:
                if row["id"] != first["id"] and (row.get("goal") or "").strip().lower() == goal:
                    return first, row
        return None

    def compare(self) -> None:
        pair = self.compare_pair()
        if pair is None:
            return
        self.compare_dialog = CompareDialog(self.store, pair[0], pair[1], self)
        self.compare_dialog.preference_saved.connect(self.preference_saved)
        self.compare_dialog.show()

    def _enable(self) -> None:
        has_run = bool(self.selected_ids())
        self.save_feedback.setEnabled(has_run)
        self.compare_button.setEnabled(self.compare_pair() is not None)


def _all_runs(journal: Journal) -> list[Row]:
    return list(journal.runs(limit=500))


def _feedback_text(rows: Sequence[Row]) -> str:
    marks = {1: "▲", -1: "▼"}
    parts = []
    for r in rows:
        where = f"step {r['step_idx']}" if r.get("step_idx") is not None else "run"
        note = f" “{short(r['note'], 60)}”" if r.get("note") else ""
        parts.append(f"{marks.get(r.get('rating') or 0, '·')} {where}{note}")
    return ("feedback: " + "; ".join(parts)) if parts else ""


def _when(ts: float | None) -> str:
    if not ts:
        return ""
    import datetime as dt

    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")
