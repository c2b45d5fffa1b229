"""The history window against a real journal: runs and their steps are listed, and
thumbs, correction notes and "this one was better" land in the journal's feedback and
preferences tables (through the app's journal thread, as in the running app)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from qt_support import FINISH, list_action

from agent.events import RunStarted
from agent.journal import Journal
from agent.settings import Settings
from app.qt.history import HistoryWindow
from app.qt.store import JournalThread


@pytest.fixture
def two_runs(scripted_run: Any, workspace: Path) -> tuple[str, str]:
    """Two runs of the same goal ("tidy up"): the first lists files, the second not."""
    first = scripted_run(workspace, [list_action(), FINISH])
    second = scripted_run(workspace, [FINISH])
    assert isinstance(first[0], RunStarted) and isinstance(second[0], RunStarted)
    return first[0].run_id, second[0].run_id


@pytest.fixture
def history(qtbot: Any, settings: Settings, two_runs: Any) -> Iterator[HistoryWindow]:
    store = JournalThread(settings.journal_path)
    window = HistoryWindow(store)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.run_shown, timeout=10_000):
        window.reload()
        window.show()
    yield window
    store.close()


def show_run(qtbot: Any, window: HistoryWindow, run_id: str) -> None:
    if window.detail is not None and window.detail.run["id"] == run_id:
        return
    with qtbot.waitSignal(window.run_shown, check_params_cb=lambda rid: rid == run_id):
        window.select_run(run_id)


def test_runs_and_steps_are_listed(qtbot: Any, history: HistoryWindow, two_runs: Any) -> None:
    first, second = two_runs
    assert history.runs.rowCount() == 2
    assert [history.runs.item(r, 1).text() for r in range(2)] == ["tidy up", "tidy up"]
    assert history.detail is not None and history.detail.run["id"] == second  # newest first
    show_run(qtbot, history, first)
    texts = [history.timeline.item(i).text() for i in range(history.timeline.count())]
    assert any("files.list" in t for t in texts) and any(t.startswith("✓") for t in texts)
    assert "success" in history.summary.text()


def test_run_and_step_feedback_land_in_the_journal(
    qtbot: Any, history: HistoryWindow, two_runs: Any, settings: Settings
) -> None:
    first, second = two_runs
    show_run(qtbot, history, second)
    qtbot.mouseClick(history.bad, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(history.note, "it should have listed the files first")
    assert history.target.text() == "for the whole run"
    with qtbot.waitSignal(history.feedback_saved, timeout=10_000):
        qtbot.mouseClick(history.save_feedback, Qt.MouseButton.LeftButton)

    show_run(qtbot, history, first)
    history.timeline.setCurrentRow(0)  # a line of step 1
    assert history.target.text() == "for step 1"
    qtbot.mouseClick(history.good, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(history.feedback_saved, timeout=10_000):
        qtbot.mouseClick(history.save_feedback, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "▲ step 1" in history.existing.text())

    with Journal(settings.journal_path) as journal:
        (on_run,) = journal.feedback(second)
        (on_step,) = journal.feedback(first)
    assert on_run["rating"] == -1 and on_run["step_idx"] is None
    assert on_run["note"] == "it should have listed the files first"
    assert on_step["rating"] == 1 and on_step["step_idx"] == 1 and on_step["note"] == ""


def test_nothing_is_saved_without_a_rating_or_a_note(
    qtbot: Any, history: HistoryWindow, two_runs: Any, settings: Settings
) -> None:
    history.submit_feedback()
    assert "choose" in history.existing.text()
    with Journal(settings.journal_path) as journal:
        assert not journal.feedback(two_runs[0]) and not journal.feedback(two_runs[1])


def test_the_better_of_two_runs_is_a_preference(
    qtbot: Any, history: HistoryWindow, two_runs: Any, settings: Settings
) -> None:
    first, second = two_runs
    show_run(qtbot, history, second)
    assert history.compare_button.isEnabled()  # the other run of the same goal
    history.compare()
    dialog = history.compare_dialog
    assert dialog is not None
    if not all(t.count() for t in dialog.timelines):
        with qtbot.waitSignal(dialog.loaded, timeout=10_000):
            pass
    assert {r["id"] for r in dialog.runs} == {first, second}
    better = [r["id"] for r in dialog.runs].index(first)
    qtbot.keyClicks(dialog.note, "it looked before finishing")
    with qtbot.waitSignal(history.preference_saved, timeout=10_000):
        qtbot.mouseClick(dialog.better_buttons[better], Qt.MouseButton.LeftButton)

    with Journal(settings.journal_path) as journal:
        rows = list(journal.db.query("SELECT * FROM preferences"))
    assert len(rows) == 1
    assert rows[0]["better_run_id"] == first and rows[0]["worse_run_id"] == second
    assert rows[0]["note"] == "it looked before finishing"
