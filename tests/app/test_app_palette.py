"""The palette against the real engine and the real embedded model (llama.cpp on the
app's worker thread): a typed goal runs, its steps stream into the palette, Stop ends a
run mid-generation; and the palette's own behaviour (built once, suggestions, context).

Assertions are about what the app shows and records, not about the tiny model's skill.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from qt_support import FINISH, list_action, scripted

from agent.events import ActionProposed, Event, RunFinished, StepStarted
from agent.journal import Journal
from agent.settings import Settings


def record(app: Any) -> list[Event]:
    events: list[Event] = []
    app.worker.signals.engine_event.connect(events.append)
    return events


def type_goal(qtbot: Any, app: Any, goal: str) -> None:
    qtbot.keyClicks(app.palette.field, goal)
    qtbot.keyClick(app.palette.field, Qt.Key.Key_Return)


def is_end(event: Event) -> bool:
    return isinstance(event, RunFinished)


@pytest.mark.model
def test_the_palette_runs_a_goal_with_the_embedded_model(
    qtbot: Any, make_app: Any, settings: Settings, embedded_gguf: Path
) -> None:
    (settings.default_workspace).mkdir(parents=True, exist_ok=True)
    (settings.default_workspace / "notes.txt").write_text("buy milk\n")
    app = make_app(settings=settings.model_copy(update={"max_steps": 4}))
    app.approver.requested.connect(lambda pending: pending.settle("deny"))
    events = record(app)
    states: list[str] = []
    app.state_changed.connect(states.append)

    with qtbot.waitSignal(app.palette.summoned, timeout=10_000):
        app.start(show_palette=True)
    # Usable before the model is loaded: the goal waits for it.
    type_goal(qtbot, app, "Read notes.txt and tell me what it says")
    with qtbot.waitSignal(app.worker.signals.engine_event, check_params_cb=is_end, timeout=300_000):
        pass

    assert "loading" in states and "working" in states
    end = events[-1]
    assert isinstance(end, RunFinished)
    proposed = [e for e in events if isinstance(e, ActionProposed)]
    assert proposed, "the model proposed no action"
    shown = app.palette.step_texts()
    assert any(t.startswith("→ ") for t in shown)  # actions
    assert any(t.startswith(("✓", "✗")) for t in shown)  # results
    assert shown[-1].startswith(end.outcome)
    assert app.palette.status.text().startswith(end.outcome)
    with Journal(settings.journal_path) as journal:
        run = journal.run(end.run_id)
        steps = journal.steps(end.run_id)
    assert run is not None and run["goal"] == "Read notes.txt and tell me what it says"
    assert "smollm2" in run["model_id"].lower()
    assert [s["tool"] for s in steps] == [e.tool for e in proposed]


@pytest.mark.model
def test_stop_ends_a_run_of_the_embedded_model(
    qtbot: Any, make_app: Any, settings: Settings, embedded_gguf: Path
) -> None:
    app = make_app()
    app.approver.requested.connect(lambda pending: pending.settle("deny"))
    events = record(app)
    app.start()
    app.palette.summon()

    with qtbot.waitSignal(
        app.worker.signals.engine_event,
        check_params_cb=lambda e: isinstance(e, StepStarted),
        timeout=300_000,
    ):
        type_goal(qtbot, app, "Write a long poem into poem.txt, then read it back")
    with qtbot.waitSignal(app.worker.signals.engine_event, check_params_cb=is_end, timeout=60_000):
        qtbot.mouseClick(app.palette.stop_button, Qt.MouseButton.LeftButton)

    end = events[-1]
    assert isinstance(end, RunFinished) and end.outcome == "stopped"
    assert end.steps <= 2
    assert not app.palette.stop_button.isEnabled()


def test_the_palette_is_built_once_and_suggests_recent_goals(
    qtbot: Any, make_app: Any, settings: Settings
) -> None:
    opener, _ = scripted([list_action(), FINISH])
    app = make_app(open_model=opener)
    palette = app.palette
    app.start()
    with qtbot.waitSignal(app.worker.signals.busy_changed, check_params_cb=lambda b: not b):
        palette.summon()
        type_goal(qtbot, app, "sort my downloads by type")
    palette.hide()
    palette.field.clear()

    with qtbot.waitSignal(palette.summoned, timeout=5_000):
        app.handle_command("palette")
    assert app.palette is palette and palette.isVisible()
    assert palette.steps.isVisible()  # the last run stays in view until one types
    qtbot.keyClicks(palette.field, "srt dwn")
    assert not palette.steps.isVisible()
    qtbot.waitUntil(lambda: palette.suggestions.count() > 0)
    assert palette.suggestions.item(0).text() == "sort my downloads by type"
    qtbot.keyClick(palette.field, Qt.Key.Key_Escape)
    assert not palette.isVisible()


def test_attached_context_is_shown_removable_and_sent(
    qtbot: Any, make_app: Any, settings: Settings
) -> None:
    seen: list[str] = []

    def reply(messages: Any) -> str:
        seen.append("\n".join(m.content for m in messages))
        return '{"thought": "done", "tool": "finish", "args": {"message": "ok"}}'

    opener, _ = scripted([reply])
    app = make_app(open_model=opener)
    palette = app.palette
    app.start()
    palette.summon()
    palette.set_context("quarterly numbers: 1, 2, 3")
    assert palette.context_bar.isVisible() and "quarterly" in palette.context_label.text()
    qtbot.mouseClick(palette.remove_context, Qt.MouseButton.LeftButton)
    assert not palette.context_bar.isVisible()
    palette.set_context("quarterly numbers: 1, 2, 3")

    with qtbot.waitSignal(app.worker.signals.busy_changed, check_params_cb=lambda b: not b):
        type_goal(qtbot, app, "summarise the attached text")

    assert "quarterly numbers: 1, 2, 3" in seen[0]
    assert not palette.context_bar.isVisible()
