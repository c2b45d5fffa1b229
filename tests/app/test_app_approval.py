"""Approvals in the desktop app: the dialog parks the engine's step until a person
answers; deny, closing the dialog and Stop all reach the model as a denial.

The real engine (policy, executor, file tool, journal) runs on the app's worker thread;
only the model is scripted, so the tests decide which action is asked for.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from qt_support import FINISH, scripted, write_action
from shiboken6 import isValid

from agent.events import ActionFinished, Event, RunFinished
from agent.journal import Journal
from agent.settings import Settings
from app.qt.approval import ApprovalDialog, PendingApproval


def start_goal(qtbot: Any, app: Any, goal: str = "write a file") -> PendingApproval:
    """Type `goal` into the palette, press Enter; return the approval it leads to."""
    app.start()
    app.palette.summon()
    with qtbot.waitSignal(app.approver.requested, timeout=20_000) as asked:
        qtbot.keyClicks(app.palette.field, goal)
        qtbot.keyClick(app.palette.field, Qt.Key.Key_Return)
    pending = asked.args[0]
    assert isinstance(pending, PendingApproval)
    return pending


def record(app: Any) -> list[Event]:
    events: list[Event] = []
    app.worker.signals.engine_event.connect(events.append)
    return events


def until_idle(qtbot: Any, app: Any) -> Any:
    return qtbot.waitSignal(
        app.worker.signals.busy_changed, check_params_cb=lambda busy: not busy, timeout=20_000
    )


def test_the_dialog_blocks_the_step_and_a_deny_reaches_the_model(
    qtbot: Any, make_app: Any, settings: Settings
) -> None:
    opener, model = scripted([write_action("a.txt"), FINISH])
    app = make_app(open_model=opener)
    events = record(app)

    pending = start_goal(qtbot, app)

    dialog = app.dialogs[id(pending)]
    assert isinstance(dialog, ApprovalDialog) and dialog.isVisible()
    assert pending.request.tool == "files.write"
    assert pending.request.effect.capability == "fs.write"
    assert pending.request.effect.scope.endswith("a.txt")
    assert dialog.findChild(QLabel, "summary").text() == pending.request.effect.summary
    # Parked: asked once, nothing written, no result yet; the UI says it is waiting.
    assert not pending.settled and len(model.calls) == 1
    assert not (settings.default_workspace / "a.txt").exists()
    assert not any(isinstance(e, ActionFinished) for e in events)
    assert app.state == "approval"
    assert "waiting for your approval" in app.palette.status.text()

    with until_idle(qtbot, app):
        qtbot.mouseClick(dialog.deny, Qt.MouseButton.LeftButton)

    finished = next(e for e in events if isinstance(e, ActionFinished))
    assert finished.result.kind == "denied" and not finished.result.ok
    assert "permission denied" in model.calls[1][-1].content
    assert not (settings.default_workspace / "a.txt").exists()
    end = events[-1]
    assert isinstance(end, RunFinished) and end.outcome == "success"
    with Journal(settings.journal_path) as journal:
        (approval,) = journal.approvals(end.run_id)
    assert approval["decision"] == "deny" and approval["source"] == "user"
    assert any("denied" in t for t in app.palette.step_texts())
    assert app.state == "idle"


def test_closing_the_dialog_denies(qtbot: Any, make_app: Any, settings: Settings) -> None:
    opener, model = scripted([write_action("b.txt"), FINISH])
    app = make_app(open_model=opener)
    events = record(app)
    pending = start_goal(qtbot, app)

    with until_idle(qtbot, app):
        app.dialogs[id(pending)].close()

    assert pending.future.result() == "deny"
    finished = next(e for e in events if isinstance(e, ActionFinished))
    assert finished.result.kind == "denied"
    assert "permission denied" in model.calls[1][-1].content


def test_allow_for_this_run_asks_once(qtbot: Any, make_app: Any, settings: Settings) -> None:
    opener, model = scripted([write_action("c.txt"), write_action("c.txt", "again"), FINISH])
    app = make_app(open_model=opener)
    asked: list[PendingApproval] = []
    app.approver.requested.connect(asked.append)
    pending = start_goal(qtbot, app)

    with until_idle(qtbot, app):
        qtbot.mouseClick(app.dialogs[id(pending)].allow_run, Qt.MouseButton.LeftButton)

    assert len(asked) == 1
    assert (settings.default_workspace / "c.txt").read_text() == "again"


def test_stop_while_waiting_for_approval_ends_the_run(
    qtbot: Any, make_app: Any, settings: Settings
) -> None:
    opener, model = scripted([write_action("d.txt"), FINISH])
    app = make_app(open_model=opener)
    events = record(app)
    pending = start_goal(qtbot, app)
    dialog = app.dialogs[id(pending)]
    assert app.palette.stop_button.isVisible() and app.palette.stop_button.isEnabled()

    with until_idle(qtbot, app):
        qtbot.mouseClick(app.palette.stop_button, Qt.MouseButton.LeftButton)

    assert pending.future.result() == "deny"
    assert not isValid(dialog) or not dialog.isVisible()
    assert not app.dialogs
    end = events[-1]
    assert isinstance(end, RunFinished) and end.outcome == "stopped"
    assert len(model.calls) == 1  # the model was not asked again
    assert not (settings.default_workspace / "d.txt").exists()
    assert not app.palette.stop_button.isEnabled() and app.palette.stop_button.isVisible()
