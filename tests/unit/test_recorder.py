"""Saving a run as a task file: which steps are kept, the checks folded from the file
changes, inputs lifted from the goal, atomic writes, and a replay without a model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.approval import AlwaysAllow
from agent.journal import Journal
from agent.prepare import RunRequest, prepare_run
from agent.runner import run_task_path
from agent.settings import Settings, load_settings
from agent.taskfile import parse_task_text
from agent.taskfile.from_run import SaveError, save_run, task_from_run
from agent.taskrun import run_task
from models.scripted import ScriptedModel


def act(tool: str, **args: Any) -> dict[str, Any]:
    return {"thought": f"use {tool}", "tool": tool, "args": args}


def finish(message: str = "done") -> dict[str, Any]:
    return act("finish", message=message)


@pytest.fixture
def settings() -> Settings:
    return load_settings()


def record(settings: Settings, ws: Path, goal: str, replies: list[dict[str, Any]]) -> str:
    """A run of the real engine (real file tool, real journal) with a scripted model."""
    request = RunRequest(
        goal=goal,
        workspace=[ws.resolve()],
        model=ScriptedModel(replies),
        approver=AlwaysAllow(),
        memory=False,
    )
    plan = prepare_run(request, settings)
    with Journal(settings.journal_path) as journal:
        events = list(run_task(plan, journal))
    return events[0].run_id  # type: ignore[union-attr]


def without_a_model(settings: Settings) -> Settings:
    """`settings` whose default model names nothing: there is no model to open."""
    model = settings.model.model_copy(update={"default": "no-such-model"})
    return settings.model_copy(update={"model": model})


def tree(root: Path) -> dict[str, str | None]:
    return {
        p.relative_to(root).as_posix(): (p.read_text() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


GOAL = 'Make a folder named "reports" and write hello into reports/summary.txt'
REPLIES = [
    act("files.list", path="."),
    act("files.make_folder", path="reports"),
    act("files.write", path="reports/summary.txt", content="hello\nworld"),
    act("files.read", path="reports/summary.txt"),
    act("files.write", path="/nowhere/x.txt", content="x"),  # fails: outside
    finish(),
]


def test_a_saved_run_keeps_the_steps_that_changed_something(
    settings: Settings, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    run_id = record(settings, ws, GOAL, REPLIES)
    with Journal(settings.journal_path) as journal:
        saved = task_from_run(journal, run_id[:12])
    assert (saved.steps, saved.skipped) == (2, 4)
    data = yaml.safe_load(saved.text)
    assert [s["tool"] for s in data["steps"]] == ["files.make_folder", "files.write"]
    # "reports" (quoted) and the path reports/summary.txt came from the goal.
    assert data["inputs"] == {
        "file": {
            "type": "path",
            "default": "reports/summary.txt",
            "description": "from the recorded goal",
        },
        "folder": {"type": "path", "default": "reports", "description": "from the recorded goal"},
    }
    assert data["steps"][0]["args"] == {"path": "{{ inputs.folder }}"}
    assert data["steps"][1]["args"]["path"] == "{{ inputs.file }}"
    assert data["checks"] == [
        {"kind": "file_contains", "path": "{{ inputs.file }}", "text": "hello"},
    ]
    assert data["permissions"] == ["fs.write:reports", "fs.write:reports/summary.txt"]
    task = parse_task_text(saved.text, "saved.task.yaml")
    assert task.input_values == {"file": "reports/summary.txt", "folder": "reports"}


def test_save_then_replay_reaches_the_same_end_state_without_a_model(
    settings: Settings, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    run_id = record(settings, ws, GOAL, REPLIES)
    out = tmp_path / "saved.task.yaml"
    with Journal(settings.journal_path) as journal:
        save_run(journal, run_id, out)

    again = tmp_path / "again"
    again.mkdir()
    report = run_task_path(out, settings=without_a_model(settings), workspace=[again])
    assert report.outcome == "success", report.message
    assert (report.replayed_steps, report.model_steps) == (2, 0)
    assert all(c.ok for c in report.checks) and report.checks
    assert tree(again) == tree(ws)


def test_moves_and_deletes_become_checks_that_the_old_paths_are_gone(
    settings: Settings, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    (ws / "Downloads").mkdir(parents=True)
    (ws / "Downloads" / "a.png").write_bytes(b"png")
    (ws / "Downloads" / "old[1].txt").write_text("old")
    replies = [
        act("files.make_folder", path="Downloads/images"),
        act("files.move", source="Downloads/a.png", destination="Downloads/images"),
        act("files.delete", path="Downloads/old[1].txt"),
        act("files.write", path="tmp.txt", content="scratch"),
        act("files.delete", path="tmp.txt"),
        finish(),
    ]
    run_id = record(settings, ws, "Sort Downloads", replies)
    with Journal(settings.journal_path) as journal:
        data = yaml.safe_load(task_from_run(journal, run_id).text)
    assert data["checks"] == [
        {"kind": "file_exists", "path": "Downloads/images/a.png"},
        {"kind": "count_matching", "pattern": "Downloads/a.png", "equals": 0},
        {"kind": "count_matching", "pattern": "Downloads/old[[]1].txt", "equals": 0},
    ]
    assert "fs.delete:Downloads/old[[]1].txt" in data["permissions"]


def test_only_a_successful_run_that_changed_something_is_saved(
    settings: Settings, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    failed = record(settings, ws, "write", [act("files.write", path="a.txt", content="a")])
    reader = record(settings, ws, "look", [act("files.list", path="."), finish()])
    with Journal(settings.journal_path) as journal:
        with pytest.raises(SaveError, match="did not succeed"):
            task_from_run(journal, failed)
        with pytest.raises(SaveError, match="changed nothing"):
            task_from_run(journal, reader)
        with pytest.raises(SaveError, match="no run with id"):
            task_from_run(journal, "nope")


def test_saving_is_atomic_and_never_replaces_a_file_unasked(
    settings: Settings, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    run_id = record(settings, ws, GOAL, REPLIES)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "t.task.yaml"
    out.write_text("mine")
    with Journal(settings.journal_path) as journal:
        with pytest.raises(SaveError, match="already exists"):
            save_run(journal, run_id, out)
        assert out.read_text() == "mine"
        with pytest.raises(SaveError, match="no such folder"):
            save_run(journal, run_id, tmp_path / "missing" / "t.task.yaml")
        saved = save_run(journal, run_id, out, force=True, name="Reports")
    assert out.read_text() == saved.text and "name: Reports" in saved.text
    assert [p.name for p in out_dir.iterdir()] == ["t.task.yaml"]  # no temporary left


@pytest.mark.parametrize(
    "goal, args, lifted",
    [
        ("Create a folder called drafts", {"path": "drafts"}, {"folder": "drafts"}),
        (
            "Write 'hi there' to a.txt",
            {"path": "a.txt", "content": "hi there"},
            {"file": "a.txt", "text": "hi there"},
        ),
        ("Create a folder for the week", {"path": "week"}, {}),  # not a clear literal
    ],
)
def test_lifting_goal_literals(
    settings: Settings, tmp_path: Path, goal: str, args: dict[str, str], lifted: dict[str, str]
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    tool = "files.write" if "content" in args else "files.make_folder"
    run_id = record(settings, ws, goal, [act(tool, **args), finish()])
    with Journal(settings.journal_path) as journal:
        data = yaml.safe_load(task_from_run(journal, run_id).text)
    assert {k: v["default"] for k, v in data.get("inputs", {}).items()} == lifted


@pytest.mark.parametrize(
    "content",
    ["one line", "a\nb\n", "  indented\nline  \n", "tab\there\n\n\nend", "\n\nx", "ünï cödé\r\nx"],
)
def test_written_text_survives_the_yaml_exactly(
    settings: Settings, tmp_path: Path, content: str
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    run_id = record(
        settings, ws, "write", [act("files.write", path="f.txt", content=content), finish()]
    )
    with Journal(settings.journal_path) as journal:
        text = task_from_run(journal, run_id).text
    task = parse_task_text(text, "saved.task.yaml")
    assert task.steps is not None and task.steps[0].args["content"] == content  # type: ignore[union-attr]
