"""One run's steps as a timeline, shared by the history window and the compare dialog.

`load_detail` runs on the journal thread: it reads the run, its steps and feedback, the
past runs it was shown (the journal's `experience_used` event, agent/experience.py), and
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

from agent.events import ExperienceUsed
from agent.experience import USED_EVENT
from agent.journal import Journal
from app.timeline import duration_text, experience_text, short, step_lines

Row = Mapping[str, Any]
THUMBNAIL = QSize(160, 100)


@dataclass(frozen=True)
class RunDetail:
    run: Row
    steps: Sequence[Row]
    feedback: Sequence[Row]
    thumbnails: Mapping[int, QImage] = field(default_factory=dict)
    #: The past runs the model was shown as worked examples, as journaled (None: none).
    used: ExperienceUsed | None = None


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
    used = _used(run_id, journal.events(run_id, kind=USED_EVENT))
    return RunDetail(run, steps, journal.feedback(run_id), thumbnails, used)


def _used(run_id: str, events: Sequence[Row]) -> ExperienceUsed | None:
    """The journaled `experience_used` event (agent/taskrun.py writes its runs and goals)."""
    if not events:
        return None
    detail = events[-1].get("detail") or {}
    runs = tuple(str(r) for r in detail.get("runs") or ())
    goals = tuple(str(g) for g in detail.get("goals") or ())
    return ExperienceUsed(run_id, runs, goals) if runs else None


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


def run_summary(run: Row, used: ExperienceUsed | None = None) -> str:
    """Goal, outcome · duration · model, the past runs it used (if any), its message."""
    parts = [run.get("outcome") or run.get("status") or "", duration_text(run), run.get("model_id")]
    head = " · ".join(p for p in parts if p)
    lines = [run.get("goal") or "", head]
    if used is not None:
        lines.append(experience_text(used, "used"))
    lines.append(short(run.get("message") or "", 160))
    return "\n".join(lines).strip()
