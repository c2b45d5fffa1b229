"""One run's steps as a timeline, shared by the history window and the compare dialog.

`load_detail` runs on the journal thread: it reads the run, its steps and feedback, and
decodes step screenshots into thumbnails there (QImage, unlike QPixmap, is safe off the
UI thread). `fill_timeline` only paints what it is handed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from agent.journal import Journal
from app.timeline import duration_text, short, step_lines

Row = Mapping[str, Any]
THUMBNAIL = QSize(160, 100)


@dataclass(frozen=True)
class RunDetail:
    run: Row
    steps: Sequence[Row]
    feedback: Sequence[Row]
    thumbnails: Mapping[int, QImage] = field(default_factory=dict)


def load_detail(journal: Journal, run_id: str) -> RunDetail | None:
    """Runs on the journal thread."""
    run = journal.run(run_id)
    if run is None:
        return None
    steps = journal.steps(run_id)
    thumbnails: dict[int, QImage] = {}
    for step in steps:
        shot = (step.get("result_data") or {}).get("screenshot")
        if isinstance(shot, str) and Path(shot).is_file():
            image = QImage(shot)
            if not image.isNull():
                thumbnails[step["idx"]] = image.scaled(
                    THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio
                )
    return RunDetail(run, steps, journal.feedback(run_id), thumbnails)


def fill_timeline(view: QListWidget, detail: RunDetail) -> None:
    view.clear()
    for step in detail.steps:
        for line in step_lines(step):
            item = QListWidgetItem(line.text)
            item.setData(Qt.ItemDataRole.UserRole, line.step)
            view.addItem(item)
        image = detail.thumbnails.get(step["idx"])
        if image is not None:
            item = QListWidgetItem(QIcon(QPixmap.fromImage(image)), "screenshot")
            item.setData(Qt.ItemDataRole.UserRole, step["idx"])
            view.addItem(item)
    if not detail.steps:
        view.addItem("(no steps)")


def run_summary(run: Row) -> str:
    parts = [run.get("outcome") or run.get("status") or "", duration_text(run), run.get("model_id")]
    head = " · ".join(p for p in parts if p)
    message = short(run.get("message") or "", 160)
    return f"{run.get('goal') or ''}\n{head}\n{message}".strip()
