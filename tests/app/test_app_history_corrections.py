"""Correcting a step in the history window (pytest-qt, a real journal): the action that
should have happened, picked from what the step saw, lands as a labelled step (the
corrections table, the step rated bad) and is an SFT example in ``deskhand learn export``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from qt_support import FINISH, list_action

from agent.events import RunStarted
from agent.journal import Journal
from agent.journal.experience_index import corrections
from agent.settings import Settings
from app.learn import sft_records
from app.qt.history import HistoryWindow
from app.qt.store import JournalThread

DELETE = {"thought": "remove it", "tool": "files.delete", "args": {"path": "a.txt"}}


@pytest.fixture
def wrong_run(scripted_run: Any, workspace: Path) -> str:
    """A run that listed a.txt and b.txt, then deleted a.txt (it should have read b.txt)."""
    (workspace / "a.txt").write_text("a")
    (workspace / "b.txt").write_text("b")
    events = scripted_run(workspace, [list_action(), DELETE, FINISH])
    assert isinstance(events[0], RunStarted)
    return events[0].run_id


@pytest.fixture
def history(qtbot: Any, settings: Settings, wrong_run: str) -> Iterator[HistoryWindow]:
    store = JournalThread(settings.journal_path)
    window = HistoryWindow(store)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.run_shown, timeout=10_000):
        window.reload()
        window.show()
    yield window
    store.close()


def select_step(window: HistoryWindow, step: int) -> None:
    for row in range(window.timeline.count()):
        if window.timeline.item(row).data(Qt.ItemDataRole.UserRole) == step:
            window.timeline.setCurrentRow(row)
            return
    raise AssertionError(f"no line of step {step}")


def test_a_correction_is_a_labelled_step_and_an_sft_example(
    qtbot: Any, history: HistoryWindow, wrong_run: str, settings: Settings
) -> None:
    select_step(history, 2)
    assert history.target.text() == "for step 2"
    assert history.correct_tool.currentText() == "files.delete"  # the step's own action
    assert json.loads(history.correct_args.text()) == {"path": "a.txt"}
    labels = [history.correct_choice.itemText(i) for i in range(history.correct_choice.count())]
    assert labels[1:] == ["a.txt (1 bytes)", "b.txt (1 bytes)"]  # what step 1 listed

    history.correct_tool.setEditText("")
    qtbot.keyClicks(history.correct_tool, "files.read")
    history.correct_choice.setCurrentIndex(2)
    history.correct_choice.activated.emit(2)
    assert json.loads(history.correct_args.text()) == {"path": "b.txt"}
    qtbot.keyClicks(history.note, "read it, do not delete it")
    with qtbot.waitSignal(history.correction_saved, timeout=10_000):
        qtbot.mouseClick(history.save_correction, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "▼ step 2" in history.existing.text())

    with Journal(settings.journal_path) as journal:
        (label,) = corrections(journal, [wrong_run])
        (rating,) = journal.feedback(wrong_run)
        records = list(sft_records(journal))
    assert (label["step_idx"], label["tool"], label["args"]) == (2, "files.read", {"path": "b.txt"})
    assert rating["rating"] == -1 and rating["step_idx"] == 2
    (record,) = records  # the run is no good example; its corrected step is
    taught = json.loads(record["messages"][-1]["content"])
    assert taught == {"tool": "files.read", "args": {"path": "b.txt"}, "thought": label["note"]}
    assert "a.txt (1 bytes)" in record["messages"][-2]["content"]  # what the step saw


def test_bad_arguments_are_refused_in_the_window(
    qtbot: Any, history: HistoryWindow, wrong_run: str, settings: Settings
) -> None:
    select_step(history, 2)
    history.correct_args.setText("[not an object")
    history.submit_correction()
    assert "JSON object" in history.existing.text()
    with Journal(settings.journal_path) as journal:
        assert corrections(journal, [wrong_run]) == []
