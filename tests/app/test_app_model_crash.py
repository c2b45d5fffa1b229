"""The palette when the model's process crashes mid-run: the run ends as ``error`` with
the reason, the app shows the error state and lives on, and the next goal runs on a
restarted model, which clears the error state. Real llama.cpp child, real SIGSEGV."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from model_processes import model_children
from PySide6.QtCore import Qt

from agent.events import ActionProposed, Event, RunFinished
from agent.journal import Journal
from agent.settings import Settings

CRASHED = "the model process crashed (SIGSEGV, signal 11); it will be restarted"


def is_end(event: Event) -> bool:
    return isinstance(event, RunFinished)


def type_goal(qtbot: Any, app: Any, goal: str) -> None:
    qtbot.keyClicks(app.palette.field, goal)
    qtbot.keyClick(app.palette.field, Qt.Key.Key_Return)


@pytest.mark.model
def test_a_model_crash_mid_run_shows_an_error_and_the_next_goal_works(
    qtbot: Any, make_app: Any, settings: Settings, embedded_gguf: Path
) -> None:
    settings.default_workspace.mkdir(parents=True, exist_ok=True)
    (settings.default_workspace / "notes.txt").write_text("buy milk\n")
    app = make_app(settings=settings.model_copy(update={"max_steps": 4}))
    app.approver.requested.connect(lambda pending: pending.settle("deny"))
    killed: list[int] = []

    def kill_at_first_action(event: Event) -> None:
        if isinstance(event, ActionProposed) and not killed:
            (child,) = model_children(os.getpid())
            os.kill(child.pid, signal.SIGSEGV)
            killed.append(child.pid)

    app.worker.signals.engine_event.connect(kill_at_first_action)
    with qtbot.waitSignal(app.palette.summoned, timeout=10_000):
        app.start(show_palette=True)
    with qtbot.waitSignal(
        app.worker.signals.engine_event, check_params_cb=is_end, timeout=300_000
    ) as crashed:
        type_goal(qtbot, app, "List the files in the workspace")
    end = crashed.args[0]
    assert killed and end.outcome == "error" and end.message == f"model error: {CRASHED}"
    if app.state != "error":  # the worker reports "not busy" just after the run's end
        with qtbot.waitSignal(app.state_changed, timeout=10_000) as state:
            pass
        assert state.args == ["error"]
    assert app.palette.status.text().startswith("error")
    with Journal(settings.journal_path) as journal:
        run = journal.run(end.run_id)
    assert run is not None and run["outcome"] == "error"

    app.palette.field.clear()
    with qtbot.waitSignal(
        app.worker.signals.engine_event, check_params_cb=is_end, timeout=300_000
    ) as again:
        type_goal(qtbot, app, "List the files in the workspace")
    assert again.args[0].outcome in ("success", "failed")
    (restarted,) = model_children(os.getpid())
    assert restarted.pid != killed[0]
    if app.state != "idle":
        with qtbot.waitSignal(app.state_changed, timeout=10_000) as state:
            pass
        assert state.args == ["idle"]
