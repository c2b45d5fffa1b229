"""The palette says when a run uses the user's past runs (agent/experience.py): a goal run
from the palette after a like one that was rated good shows ``using 1 past run: ID
“GOAL”`` right after the run line, and the model is given that run as earlier turns; one
rated bad is never shown, and nothing is said then. History says it too, afterwards, from
the journal's `experience_used` event: ``used 1 past run: ID “GOAL”`` in the run's summary,
and nothing for a run that used none.

Real app, real worker thread, real engine and SQLite journal; the model is scripted."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from qt_support import FINISH, scripted

from agent.events import Event, ExperienceUsed, RunFinished, RunStarted
from agent.journal import Journal
from agent.settings import Settings

WAIT_MS = 60_000
PAST = "Read notes.txt and tell me what it says"
NEW = "Read todo.txt and tell me what it says"


def read(path: str) -> dict[str, Any]:
    return {"thought": f"read {path}", "tool": "files.read", "args": {"path": path}}


def run_in_palette(qtbot: Any, app: Any, goal: str) -> list[Event]:
    """Type `goal` into the palette and wait for its run to end; the run's events."""
    events: list[Event] = []
    app.worker.signals.engine_event.connect(events.append)
    with qtbot.waitSignal(
        app.worker.signals.engine_event,
        timeout=WAIT_MS,
        check_params_cb=lambda e: isinstance(e, RunFinished),
    ):
        qtbot.keyClicks(app.palette.field, goal)
        qtbot.keyClick(app.palette.field, Qt.Key.Key_Return)
    app.worker.signals.engine_event.disconnect(events.append)
    return events


def started(events: list[Event]) -> str:
    first = events[0]
    assert isinstance(first, RunStarted)
    return first.run_id


def history_summary(qtbot: Any, app: Any, run_id: str) -> str:
    """Open `run_id` in the History window (as the tray's recent runs do); its summary."""
    app.show_history(run_id)
    window = app.history_window
    if window.detail is None or window.detail.run["id"] != run_id:
        with qtbot.waitSignal(
            window.run_shown, timeout=WAIT_MS, check_params_cb=lambda rid: rid == run_id
        ):
            pass
    assert window.detail.run["id"] == run_id
    return str(window.summary.text())


def two_runs(qtbot: Any, make_app: Any, settings: Settings, rating: int) -> tuple[Any, Any, str]:
    """A past run of PAST rated `rating`, then a run of NEW; the app, model and past id."""
    ws = settings.default_workspace
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "notes.txt").write_text("buy milk\n")
    (ws / "todo.txt").write_text("call Ana\n")
    opener, model = scripted([read("notes.txt"), FINISH, read("todo.txt"), FINISH])
    app = make_app(open_model=opener)
    app.start(show_palette=True)
    past = started(run_in_palette(qtbot, app, PAST))
    with Journal(settings.journal_path) as journal:
        journal.add_feedback(past, rating=rating)
    app.palette.field.clear()
    return app, model, past


def test_a_run_that_uses_a_past_run_says_so_in_the_palette(
    qtbot: Any, make_app: Any, settings: Settings
) -> None:
    app, model, past = two_runs(qtbot, make_app, settings, rating=1)
    events = run_in_palette(qtbot, app, NEW)

    used = [e for e in events if isinstance(e, ExperienceUsed)]
    assert [u.runs for u in used] == [(past,)]
    lines = app.palette.step_texts()
    assert lines[0].startswith(f"run {started(events)} ")
    assert lines[1] == f"using 1 past run: {past} “{PAST}”", lines
    item = app.palette.steps.item(1)
    assert item.data(Qt.ItemDataRole.UserRole) == "note"
    # What the line says is what the model was given: the past run, before this goal.
    texts = [m.content for m in model.calls[-2]]
    goal_at = max(i for i, t in enumerate(texts) if NEW in t)
    past_at = min(i for i, t in enumerate(texts) if PAST in t)
    assert 0 < past_at < goal_at
    assert any('"path": "notes.txt"' in t for t in texts[past_at:goal_at])
    # History reads it back from the journal: the new run used the past one; the past
    # run, which used none, says nothing of past runs.
    summary = history_summary(qtbot, app, started(events)).splitlines()
    assert summary[2] == f"used 1 past run: {past} “{PAST}”", summary
    assert summary[0] == NEW
    assert "past run" not in history_summary(qtbot, app, past)


def test_a_past_run_rated_bad_is_not_used_and_the_palette_says_nothing(
    qtbot: Any, make_app: Any, settings: Settings
) -> None:
    app, model, _ = two_runs(qtbot, make_app, settings, rating=-1)
    events = run_in_palette(qtbot, app, NEW)

    assert not any(isinstance(e, ExperienceUsed) for e in events)
    assert not any("past run" in line for line in app.palette.step_texts())
    assert not any(PAST in m.content for m in model.calls[-2])
    assert "past run" not in history_summary(qtbot, app, started(events))
