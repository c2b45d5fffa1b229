"""Takes the README's picture of a palette run that used a past run ("How deskhand learns"),
from the real app on a real X server.

    .venv/bin/python tests/screenshots/take_palette_memory.py   # writes tests/screenshots/palette-memory.png

The journal is seeded with one past run, as if from yesterday: "The document
inbox/ideas.txt can go: would you delete it", played through the real engine
(agent.prepare, as every run) and rated good, so it may teach. Then a like goal is typed
into the palette: retrieval (agent/experience.py) finds the past run, the palette says
``using 1 past run: …``, and the model is given that run as earlier turns; the script
checks both before it saves the picture.

The model in both runs is scripted (models/scripted.py, behind the ChatModel seam), and
so is the delete it proposes: the embedded 135M model (with the shipped adapter), shown a
past run, answered ``finish`` at once without acting in each of three tries here (two
goals, two forms of the past run; 2026-12-02), which shows nothing of the mechanism. The line, the approval and the examples the model was
given are the real app's and the real engine's.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.settings import Settings
    from models.router import ModelRouter
    from models.scripted import ScriptedModel

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # the project, and tests/xserver.py

from qt_wait import wait_signal as wait  # noqa: E402
from take import on_own_xvfb, save  # noqa: E402

PAST = "The document inbox/ideas.txt can go: would you delete it"
NEW = "The file 'budget.json' can go: would you delete it"


def main() -> None:
    on_own_xvfb(shoot)


def act(thought: str, tool: str, **args: Any) -> dict[str, Any]:
    return {"thought": thought, "tool": tool, "args": args}


def scripted(replies: list[dict[str, Any]]) -> tuple[ModelRouter, ScriptedModel]:
    """A router over a scripted model, and the model (its `calls` are what it was given)."""
    from models.router import FallbackPolicy, ModelRouter
    from models.scripted import ScriptedModel

    model = ScriptedModel(replies)
    return ModelRouter(model, None, FallbackPolicy(remote_allowed=False)), model


def seed_past_run(settings: Settings) -> str:
    """The run from yesterday: inbox/ideas.txt deleted, rated good; its id."""
    from agent import assemble
    from agent.approval import AlwaysAllow
    from agent.events import RunStarted
    from agent.prepare import RunRequest, prepare_run
    from agent.taskrun import run_task

    replies = [
        act("Delete the file 'inbox/ideas.txt'.", "files.delete", path="inbox/ideas.txt"),
        act("It is in the trash.", "finish", message="inbox/ideas.txt is in the trash"),
    ]
    request = RunRequest(
        goal=PAST, model=scripted(replies)[0], grants=["fs.delete"], approver=AlwaysAllow()
    )
    with assemble.open_journal(settings) as journal:
        events = list(run_task(prepare_run(request, settings), journal))
        first = events[0]
        assert isinstance(first, RunStarted), events
        journal.add_feedback(first.run_id, rating=1)
    return first.run_id


def shoot() -> None:
    from PySide6.QtWidgets import QApplication

    from agent.events import ExperienceUsed, RunFinished
    from agent.settings import load_settings
    from app.qt.app import DeskhandApp

    qt = QApplication([])
    settings = load_settings().model_copy(update={"max_steps": 4})
    ws = settings.default_workspace
    (ws / "inbox").mkdir(parents=True)
    (ws / "inbox" / "ideas.txt").write_text("a tray app that learns\n")
    past = seed_past_run(settings)
    (ws / "budget.json").write_text('{"rent": 900}\n')
    (ws / "budget-old.json").write_text('{"rent": 850}\n')

    router, model = scripted(
        [
            act("Delete the file 'budget.json'.", "files.delete", path="budget.json"),
            act("It is in the trash.", "finish", message="budget.json is in the trash"),
        ]
    )
    app = DeskhandApp(
        settings, session="x11", use_tray=False, use_hotkeys=False, open_model=lambda s: router
    )
    app.approver.requested.connect(lambda pending: pending.settle("once"))
    used: list[ExperienceUsed] = []
    app.worker.signals.engine_event.connect(
        lambda e: used.append(e) if isinstance(e, ExperienceUsed) else None
    )
    app.start()
    app.palette.summon()
    app.palette.field.setText(NEW)
    wait(
        app.worker.signals.engine_event,
        app.palette._submit,
        check=lambda e: isinstance(e, RunFinished),
    )
    given = "\n".join(m.content for m in model.calls[0])
    if [u.runs for u in used] != [(past,)] or PAST not in given:
        sys.exit(f"the run did not use the past run {past}: {used}")
    if (ws / "budget.json").exists() or not (ws / "budget-old.json").exists():
        sys.exit("the run did not delete budget.json alone")
    save(app.palette, "palette-memory.png")
    app.shutdown()
    qt.processEvents()


if __name__ == "__main__":
    main()
