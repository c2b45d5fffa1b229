"""Experience retrieval against real runs: goal runs prepared as ``deskhand run`` prepares
them (agent.prepare), through the real engine, file tool and SQLite journal, with a
scripted model building the history; one test with the real embedded model.

A past run that may teach (rated good) and is like the new goal is shown to the model as
earlier turns, before the goal; one rated bad never is; ``--no-memory`` and the setting
turn it off; the CLI says which runs were used and the journal keeps it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent import assemble
from agent.approval import AlwaysAllow
from agent.events import Event, ExperienceUsed, RunStarted
from agent.experience import USED_EVENT
from agent.journal import Journal
from agent.prepare import RunRequest, prepare_run
from agent.settings import Settings, load_settings
from agent.taskrun import run_task
from models.base import ChatModel, Message
from models.scripted import ScriptedModel


def finish(message: str = "done") -> dict[str, Any]:
    return {"thought": "done", "tool": "finish", "args": {"message": message}}


def act(tool: str, **args: Any) -> dict[str, Any]:
    return {"thought": f"I use {tool}.", "tool": tool, "args": args}


def goal_run(
    settings: Settings,
    model: ChatModel,
    goal: str,
    ws: Path,
    *,
    memory: bool = True,
) -> list[Event]:
    """One goal run as ``deskhand run GOAL -y`` does it; its events."""
    request = RunRequest(
        goal=goal,
        workspace=[ws],
        model=model,
        grants=["fs.write", "fs.delete"],
        approver=AlwaysAllow(),
        memory=memory,
    )
    plan = prepare_run(request, settings)
    with assemble.open_journal(settings) as journal:
        return list(run_task(plan, journal))


def run_id(events: Sequence[Event]) -> str:
    first = events[0]
    assert isinstance(first, RunStarted)
    return first.run_id


def rate(settings: Settings, run: str, rating: int) -> None:
    with Journal(settings.journal_path) as journal:
        journal.add_feedback(run, rating=rating)


@pytest.fixture
def settings(deskhand_home: Path) -> Settings:
    return load_settings()


@pytest.fixture
def history(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """Three past runs: a good rename, a bad rename (the wrong file), an unrelated one."""
    runs = {}
    for name, goal, replies, rating in [
        (
            "good",
            "Rename draft.txt to final.txt",
            [act("files.move", source="draft.txt", destination="final.txt"), finish()],
            1,
        ),
        (
            "bad",
            "Rename the draft.txt file to final.txt please",
            [act("files.delete", path="draft.txt"), finish()],
            -1,
        ),
        ("other", "Create a folder named photos", [act("files.make_folder", path="photos")], 1),
    ]:
        ws = tmp_path / name
        ws.mkdir()
        (ws / "draft.txt").write_text("text")
        events = goal_run(settings, ScriptedModel([*replies, finish()]), goal, ws)
        runs[name] = run_id(events)
        rate(settings, runs[name], rating)
    return runs


def prompt_of(model: ScriptedModel) -> list[Message]:
    return model.calls[0]


def test_the_good_past_run_is_shown_and_the_bad_one_is_not(
    settings: Settings, history: dict[str, str], workspace: Path
) -> None:
    (workspace / "memo.txt").write_text("x")
    model = ScriptedModel(
        [act("files.move", source="memo.txt", destination="memo-old.txt"), finish()]
    )
    events = goal_run(settings, model, "Rename memo.txt to memo-old.txt", workspace)

    used = [e for e in events if isinstance(e, ExperienceUsed)]
    assert len(used) == 1 and used[0].runs == (history["good"],)
    assert isinstance(events[1], ExperienceUsed)  # right after RunStarted
    texts = [m.content for m in prompt_of(model)]
    goal_at = max(i for i, t in enumerate(texts) if "Rename memo.txt to memo-old.txt" in t)
    past_at = texts.index(next(t for t in texts if "Rename draft.txt to final.txt" in t))
    assert 0 < past_at < goal_at  # earlier turns, before this run's goal
    assert any('"destination": "final.txt"' in t for t in texts[past_at:goal_at])
    assert not any("Rename the draft.txt file" in t for t in texts)  # rated bad
    assert not any('"tool": "files.delete"' in t for t in texts[past_at:goal_at])

    with Journal(settings.journal_path) as journal:
        (row,) = [e for e in journal.events(run_id(events)) if e["kind"] == USED_EVENT]
    assert row["detail"]["runs"] == [history["good"]]


def test_no_memory_and_the_setting_turn_it_off(
    settings: Settings, history: dict[str, str], workspace: Path
) -> None:
    model = ScriptedModel([finish()])
    events = goal_run(settings, model, "Rename memo.txt to memo-old.txt", workspace, memory=False)
    assert not any(isinstance(e, ExperienceUsed) for e in events)
    assert not any("draft.txt" in m.content for m in prompt_of(model))

    off = settings.model_copy(
        update={"memory": settings.memory.model_copy(update={"enabled": False})}
    )
    model = ScriptedModel([finish()])
    events = goal_run(off, model, "Rename memo.txt to memo-old.txt", workspace)
    assert not any(isinstance(e, ExperienceUsed) for e in events)


def test_an_unlike_goal_gets_no_past_run(
    settings: Settings, history: dict[str, str], workspace: Path
) -> None:
    model = ScriptedModel([finish()])
    events = goal_run(settings, model, "Write a poem about the sea", workspace)
    assert not any(isinstance(e, ExperienceUsed) for e in events)


def test_the_cli_has_no_memory(settings: Settings) -> None:
    from app.cli import cli

    result = CliRunner().invoke(cli, ["run", "--help"])
    assert "--no-memory" in result.output


def test_the_embedded_model_sees_the_past_run(
    settings: Settings, history: dict[str, str], workspace: Path, embedded_gguf: Path
) -> None:
    """Through the real CLI and the real embedded model: the past run is announced and
    the model's prompt held its turns (the journal keeps the exact messages)."""
    from app.cli import cli

    (workspace / "plan.txt").write_text("p")
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "Rename plan.txt to plan-final.txt",
            "-w",
            str(workspace),
            "-y",
            "--max-steps",
            "2",
        ],
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert f"using 1 past run: {history['good']}" in " ".join(result.output.split())
    with Journal(settings.journal_path) as journal:
        newest = journal.runs(limit=1)[0]
        first = journal.trajectory(newest["id"]).steps[0]
    texts = [m.content for m in first.messages]
    assert any("Rename draft.txt to final.txt" in t for t in texts[:-1])
    assert "Rename plan.txt to plan-final.txt" in texts[-1]
