"""The task-file runner with real files, a real journal and a scripted model: one run per
task, fixed steps without a model, lazy model opening, grants, fallback, checks, budgets."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.approval import AlwaysAllow
from agent.assemble import BadInput
from agent.events import (
    ActionFinished,
    ActionProposed,
    ChecksFinished,
    Event,
    RunFinished,
    RunStarted,
    StepStarted,
    SubgoalStarted,
)
from agent.journal import Journal
from agent.prepare import RunRequest, prepare_run
from agent.runner import TaskReport, drive, run_task_path
from agent.settings import Settings, load_settings
from agent.taskfile import TaskFileError, parse_task_text
from agent.taskrun import TaskRun, run_task
from models.router import FallbackPolicy, ModelRouter
from models.scripted import Reply, ScriptedModel

FINISH = {"thought": "done", "tool": "finish", "args": {"message": "sub-goal done"}}


def act(tool: str, **args: Any) -> dict[str, Any]:
    return {"thought": f"use {tool}", "tool": tool, "args": args}


class Opener:
    """Counts how often the runner opens the model; `None` replies: must never open."""

    def __init__(self, replies: Sequence[Reply] | None) -> None:
        self.replies = replies
        self.opened = 0
        self.model: ScriptedModel | None = None

    def __call__(self) -> ModelRouter:
        self.opened += 1
        if self.replies is None:
            raise AssertionError("the model was opened")
        self.model = ScriptedModel(self.replies)
        return ModelRouter(self.model, None, FallbackPolicy(remote_allowed=False))


@pytest.fixture
def settings() -> Settings:
    return load_settings()


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "reports").mkdir(parents=True)
    (root / "reports" / "weekly.md").write_text("# week\n")
    return root


def plan_for(
    text: str,
    settings: Settings,
    ws: Path,
    replies: Sequence[Reply] | None = None,
    **options: Any,
) -> tuple[TaskRun, Opener]:
    task = parse_task_text(text, "t.task.yaml", options.pop("overrides", None))
    stop = options.pop("stop", None)
    request = RunRequest(task_file=task, source="t.task.yaml", workspace=[ws], **options)
    plan = prepare_run(request, settings, stop)
    opener = Opener(replies)
    plan.open_model = opener
    return plan, opener


def go(plan: TaskRun, settings: Settings) -> tuple[list[Event], TaskReport, Journal]:
    journal = Journal(settings.journal_path)
    events: list[Event] = []
    report = drive(run_task(plan, journal), journal, events.append)
    return events, report, journal


ARCHIVE = """
name: Archive
inputs:
  week: {type: int}
permissions: ["fs.write:archive", "fs.write:archive/*"]
steps:
  - tool: files.make_folder
    args: {path: archive}
  - tool: files.copy
    args: {source: reports/weekly.md, destination: "archive/week-{{ inputs.week }}.md"}
  - tool: files.append
    args: {path: archive/log.txt, content: "week {{ inputs.week }} archived\\n"}
checks:
  - {kind: file_exists, path: "archive/week-{{ inputs.week }}.md"}
  - {kind: file_contains, path: archive/log.txt, text: "week {{ inputs.week }} archived"}
"""


def test_fixed_steps_run_without_a_model_as_one_journaled_run(settings: Settings, ws: Path) -> None:
    plan, opener = plan_for(ARCHIVE, settings, ws, overrides={"week": "7"})
    events, report, journal = go(plan, settings)

    assert opener.opened == 0
    assert (ws / "archive" / "week-7.md").read_text() == "# week\n"
    kinds = [type(e) for e in events]
    assert kinds[0] is RunStarted and kinds[-2:] == [ChecksFinished, RunFinished]
    assert kinds.count(StepStarted) == 3 and kinds.count(SubgoalStarted) == 0
    proposed = [e for e in events if isinstance(e, ActionProposed)]
    assert [e.model_id for e in proposed] == ["", "", ""]
    assert report.outcome == "success" and "all 2 checks passed" in report.message
    assert (report.replayed_steps, report.model_steps) == (3, 0)
    assert [c.ok for c in report.checks] == [True, True]

    assert len(journal.runs()) == 1
    run = journal.run(report.run_id or "")
    assert run is not None and run["outcome"] == "success"
    assert (run["replayed_steps"], run["model_steps"], run["steps"]) == (3, 0, 3)
    steps = journal.steps(report.run_id or "")
    assert [s["idx"] for s in steps] == [1, 2, 3]
    assert all(s["model_id"] == "" and s["prompt_tokens"] == 0 for s in steps)
    approvals = journal.approvals(report.run_id or "")
    assert {(a["decision"], a["source"]) for a in approvals} == {("allow", "policy:grant")}
    outcome = journal.db.execute("SELECT checks_json FROM outcomes").fetchone()[0]
    assert '"ok": true' in outcome
    assert report.to_json()["checks"][0]["kind"] == "file_exists"
    assert set(report.to_json()) == {
        "outcome",
        "message",
        "run_id",
        "checks",
        "replayed_steps",
        "model_steps",
        "seconds",
    }


def without_a_model(settings: Settings) -> Settings:
    """`settings` whose default model names nothing: resolving it is bad input, and
    there is nothing to open."""
    model = settings.model.model_copy(update={"default": "no-such-model"})
    return settings.model_copy(update={"model": model})


def test_a_fixed_task_never_resolves_or_opens_a_model(
    settings: Settings, ws: Path, tmp_path: Path
) -> None:
    path = tmp_path / "archive.task.yaml"
    path.write_text(ARCHIVE)
    settings = without_a_model(settings)
    report = run_task_path(path, settings=settings, workspace=[ws], overrides={"week": "3"})
    assert report.outcome == "success" and report.model_steps == 0


MIXED = """
name: Mixed
permissions: ["fs.write:out", "fs.write:out/*"]
steps:
  - tool: files.make_folder
    args: {path: out}
  - agent: Write a note into out/a.txt
    max_steps: 3
  - tool: files.write
    args: {path: out/b.txt, content: fixed}
  - agent: Write a note into out/c.txt
checks:
  - {kind: count_matching, pattern: "out/*.txt", equals: 3}
"""


def test_agent_steps_open_the_model_once_and_share_the_run(settings: Settings, ws: Path) -> None:
    replies = [
        act("files.write", path="out/a.txt", content="a"),
        FINISH,
        act("files.write", path="out/c.txt", content="c"),
        FINISH,
    ]
    plan, opener = plan_for(MIXED, settings, ws, replies)
    events, report, journal = go(plan, settings)

    assert opener.opened == 1
    assert report.outcome == "success", report.message
    assert (report.replayed_steps, report.model_steps) == (2, 4)
    subgoals = [e for e in events if isinstance(e, SubgoalStarted)]
    assert [(s.step, s.max_steps, s.fallback_for) for s in subgoals] == [
        (2, 3, None),
        (5, 13, None),
    ]
    assert subgoals[0].goal == "Write a note into out/a.txt"
    steps = journal.steps(report.run_id or "")
    assert [(s["idx"], s["tool"], bool(s["model_id"])) for s in steps] == [
        (1, "files.make_folder", False),
        (2, "files.write", True),
        (3, "finish", True),
        (4, "files.write", False),
        (5, "files.write", True),
        (6, "finish", True),
    ]
    # The sub-goal is the model's goal, after a fresh system prompt.
    assert opener.model is not None
    assert "out/c.txt" in opener.model.calls[2][-1].content
    run = journal.run(report.run_id or "")
    assert run is not None and (run["replayed_steps"], run["model_steps"]) == (2, 4)


def test_a_goal_task_is_judged_by_its_checks(settings: Settings, ws: Path) -> None:
    text = """
name: Goal
goal: Write hello into hello.txt
permissions: ["fs.write:hello.txt"]
checks:
  - {kind: file_contains, path: hello.txt, text: hello}
"""
    plan, _ = plan_for(
        text, settings, ws, [act("files.write", path="hello.txt", content="bye"), FINISH]
    )
    events, report, _ = go(plan, settings)
    assert report.outcome == "failed"
    assert "1 of 1 checks failed" in report.message and "does not contain 'hello'" in report.message
    assert isinstance(events[-2], ChecksFinished) and not events[-2].ok

    (ws / "hello.txt").unlink()
    reply = act("files.write", path="hello.txt", content="hello")
    plan, _ = plan_for(text, settings, ws, [reply], max_steps=1)
    _, report, _ = go(plan, settings)
    # The model never called finish (its budget ran out), but the end state is right.
    assert report.outcome == "success"
    assert report.message == "all 1 checks passed, although step budget of 1 used up"


def test_without_a_grant_writes_are_denied_unattended(settings: Settings, ws: Path) -> None:
    text = """
name: No grant
steps:
  - tool: files.write
    args: {path: x.txt, content: x}
  - tool: files.write
    args: {path: y.txt, content: y}
"""
    plan, opener = plan_for(text, settings, ws, None, on_step_failure="agent")
    events, report, journal = go(plan, settings)
    assert report.outcome == "failed" and "permission denied" in report.message
    assert not (ws / "x.txt").exists() and not (ws / "y.txt").exists()
    assert opener.opened == 0  # a denial never falls back to the model
    (approval,) = journal.approvals(report.run_id or "")
    assert (approval["decision"], approval["source"]) == ("deny", "noninteractive")
    (event,) = journal.events(report.run_id or "")
    assert event["kind"] == "step_failed" and event["detail"]["why"] == "denied"


def test_another_approver_can_allow_what_is_not_granted(settings: Settings, ws: Path) -> None:
    text = "name: t\nsteps:\n  - tool: files.write\n    args: {path: x.txt, content: x}\n"
    plan, _ = plan_for(text, settings, ws, approver=AlwaysAllow())
    _, report, _ = go(plan, settings)
    assert report.outcome == "success" and (ws / "x.txt").read_text() == "x"


CHANGED = """
name: Move it
permissions: ["fs.write:images/*", "fs.write:images", "fs.delete:*.png"]  # a move deletes its source
steps:
  - tool: files.move
    args: {source: photo.png, destination: images/photo.png}
  - tool: files.write
    args: {path: images/index.txt, content: sorted}
checks:
  - {kind: count_matching, pattern: "images/*.png", at_least: 1}
"""


def test_a_failed_step_stops_the_run_unless_fallback_is_allowed(
    settings: Settings, ws: Path
) -> None:
    (ws / "picture.png").write_bytes(b"png")
    plan, opener = plan_for(CHANGED, settings, ws, None)
    events, report, journal = go(plan, settings)
    assert opener.opened == 0
    assert report.outcome == "failed"
    assert report.message.startswith("step 1 (files.move) failed: photo.png does not exist")
    assert "1 of 1 checks failed" in report.message
    assert not (ws / "images" / "index.txt").exists()  # nothing after the failed step ran
    (event,) = journal.events(report.run_id or "")
    assert event["kind"] == "step_failed" and event["step_idx"] == 1
    assert (report.replayed_steps, report.model_steps) == (1, 0)


def test_fallback_hands_the_failed_step_to_the_model_and_carries_on(
    settings: Settings, ws: Path
) -> None:
    (ws / "picture.png").write_bytes(b"png")
    replies = [act("files.move", source="picture.png", destination="images/picture.png"), FINISH]
    plan, opener = plan_for(CHANGED, settings, ws, replies, on_step_failure="agent")
    events, report, journal = go(plan, settings)

    assert opener.opened == 1
    assert report.outcome == "success", report.message
    assert (ws / "images" / "picture.png").exists()
    assert (ws / "images" / "index.txt").read_text() == "sorted"  # the fixed steps went on
    (subgoal,) = [e for e in events if isinstance(e, SubgoalStarted)]
    assert subgoal.fallback_for == 1 and subgoal.step == 2
    assert "files.move" in subgoal.goal and "photo.png" in subgoal.goal
    assert opener.model is not None
    goal_message = opener.model.calls[0][-1].content
    assert "<data>" in goal_message and "does not exist" in goal_message  # the error is data
    (event,) = journal.events(report.run_id or "")
    assert event["kind"] == "step_fallback" and event["step_idx"] == 1
    assert event["detail"]["kind"] == "not_found" and event["detail"]["goal"] == subgoal.goal
    assert (report.replayed_steps, report.model_steps) == (2, 2)
    tools = [(s["tool"], bool(s["model_id"])) for s in journal.steps(report.run_id or "")]
    assert tools == [
        ("files.move", False),
        ("files.move", True),
        ("finish", True),
        ("files.write", False),
    ]


def test_a_fallback_that_fails_ends_the_run(settings: Settings, ws: Path) -> None:
    replies = [act("files.list", path=".")] * 20
    plan, _ = plan_for(CHANGED, settings, ws, replies, on_step_failure="agent")
    _, report, _ = go(plan, settings)
    assert report.outcome == "failed"
    assert "the model could not do it instead: step budget of 10 used up" in report.message


def test_a_model_that_cannot_open_is_an_error_of_the_run(settings: Settings, ws: Path) -> None:
    from models.base import ModelUnavailable

    plan, _ = plan_for(CHANGED, settings, ws, None, on_step_failure="agent")

    def broken() -> ModelRouter:
        raise ModelUnavailable("cannot load x.gguf")

    plan.open_model = broken
    plan.model_name = "x"
    _, report, _ = go(plan, settings)
    assert report.outcome == "error" and "cannot open model x: cannot load x.gguf" in report.message

    plan.open_model = None
    plan.model_name = "none (model 'embedded' is not installed)"
    _, report, _ = go(plan, settings)
    assert report.outcome == "error" and "needs a model, and there is none" in report.message


def test_step_budget_counts_fixed_steps(settings: Settings, ws: Path) -> None:
    text = ARCHIVE.replace("checks:", "limits: {max_steps: 2}\nchecks:")
    plan, _ = plan_for(text, settings, ws, overrides={"week": "1"})
    events, report, _ = go(plan, settings)
    assert report.outcome == "failed" and "step budget of 2 used up" in report.message
    assert sum(isinstance(e, ActionFinished) for e in events) == 2


def test_stop_before_a_step_and_closing_early_are_journaled(settings: Settings, ws: Path) -> None:
    stop = threading.Event()
    stop.set()
    plan, _ = plan_for(ARCHIVE, settings, ws, overrides={"week": "1"}, stop=stop)
    events, report, _ = go(plan, settings)
    assert report.outcome == "stopped" and not any(isinstance(e, ChecksFinished) for e in events)
    assert not (ws / "archive").exists()

    plan, _ = plan_for(ARCHIVE, settings, ws, overrides={"week": "1"})
    journal = Journal(settings.journal_path)
    events_iter = run_task(plan, journal)
    first = next(events_iter)
    assert isinstance(first, RunStarted)
    events_iter.close()
    run = journal.run(first.run_id)
    assert run is not None and run["outcome"] == "stopped" and run["status"] == "finished"


def test_an_event_consumer_that_raises_leaves_a_finished_run(settings: Settings, ws: Path) -> None:
    plan, _ = plan_for(ARCHIVE, settings, ws, overrides={"week": "1"})
    journal = Journal(settings.journal_path)

    def explode(event: Event) -> None:
        if isinstance(event, ActionFinished):
            raise RuntimeError("display bug")

    with pytest.raises(RuntimeError, match="display bug"):
        drive(run_task(plan, journal), journal, explode)
    (run,) = journal.runs()
    assert run["status"] == "finished" and run["outcome"] == "stopped"


@pytest.mark.parametrize(
    "step, field, message",
    [
        ("{tool: files.teleport, args: {path: a}}", "steps[0].tool", "no tool 'files.teleport'"),
        ("{tool: shell.run, args: {command: ls}}", "steps[0].tool", "no tool 'shell.run'"),
        ("{tool: browser.open, args: {address: 'http://x'}}", "steps[0].args", "url"),
        ("{tool: files.write, args: {path: a.txt}}", "steps[0].args", "content: Field required"),
        ("{tool: files.write, args: {path: a, content: x, mode: w}}", "steps[0].args", "mode"),
    ],
)
def test_bad_fixed_steps_are_refused_before_anything_runs(
    settings: Settings, ws: Path, tmp_path: Path, step: str, field: str, message: str
) -> None:
    path = tmp_path / "bad.task.yaml"
    path.write_text(f"name: bad\nsteps:\n  - {step}\n")
    with pytest.raises(TaskFileError) as caught:
        run_task_path(path, settings=settings, workspace=[ws])
    text = str(caught.value)
    assert text.startswith(str(path)) and field in text and message in text
    assert "\n" not in text
    assert not settings.journal_path.exists() or Journal(settings.journal_path).runs() == []


@pytest.mark.parametrize(
    "step, field",
    [
        ("{tool: files.write, args: {path: a.txt, content: '{{ secrets.token }}'}}", "content"),
        ("{tool: files.write, args: {path: a.txt, content: 'x{{secret:token}}'}}", "content"),
        ("{tool: browser.open, args: {url: 'http://h/{{ secrets.token }}'}}", "url"),
    ],
)
def test_secrets_only_where_a_tool_resolves_them(
    settings: Settings, ws: Path, tmp_path: Path, step: str, field: str
) -> None:
    """Anywhere but browser.type's text the placeholder would be used as it is: refused."""
    path = tmp_path / "s.task.yaml"
    path.write_text(f"name: s\nsecrets: [token]\nsteps:\n  - {step}\n")
    with pytest.raises(TaskFileError, match="only be typed by a tool that resolves it") as caught:
        run_task_path(path, settings=settings, workspace=[ws])
    assert f"steps[0].args.{field}" in str(caught.value)
    assert not (ws / "a.txt").exists()
    assert not settings.journal_path.exists() or Journal(settings.journal_path).runs() == []


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda p, ws: {"workspace": [p / "missing"]}, "workspace does not exist"),
        (lambda p, ws: {"workspace": [ws], "model": "gpt-17"}, "unknown model"),
        (lambda p, ws: {"workspace": [ws], "grants": ["fs.wrte"]}, "unknown capability"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(
    settings: Settings,
    ws: Path,
    tmp_path: Path,
    setup: Callable[[Path, Path], dict[str, Any]],
    message: str,
) -> None:
    path = tmp_path / "t.task.yaml"
    path.write_text(ARCHIVE)
    with pytest.raises(BadInput, match=message):
        run_task_path(path, settings=settings, overrides={"week": "1"}, **setup(tmp_path, ws))
    assert not (ws / "archive").exists()


def test_a_model_named_by_the_task_must_resolve(settings: Settings, ws: Path) -> None:
    with pytest.raises(BadInput, match="unknown model"):
        plan_for("name: t\nmodel: nope-9\ngoal: do it\n", settings, ws)


def test_default_step_budget_covers_every_step(settings: Settings, ws: Path) -> None:
    plan, _ = plan_for(MIXED, settings, ws)
    assert plan.limits.max_steps == 2 + 3 + settings.max_steps
    plan, _ = plan_for(MIXED, settings, ws, max_steps=4)
    assert plan.limits.max_steps == 4


def test_a_goal_run_and_a_task_run_journal_the_same_run_fields(
    settings: Settings, ws: Path
) -> None:
    """One lifecycle: the model's backend id, the prompt and tools hashes and the same
    task_json keys on both rows; a goal's task_json keeps the context it started from."""
    request = RunRequest(
        goal="Write a note", workspace=[ws], model=ScriptedModel([FINISH]), memory=False
    )
    journal = Journal(settings.journal_path)
    goal = drive(run_task(prepare_run(request, settings), journal), journal)
    replies = [act("files.write", path="out/a.txt", content="a"), FINISH] * 2
    plan, _ = plan_for(MIXED, settings, ws, replies)
    task = drive(run_task(plan, journal), journal)
    rows = [journal.run(r.run_id or "") for r in (goal, task)]
    assert all(row is not None for row in rows)
    for row in rows:
        assert row is not None and row["model_id"] == "scripted"
        assert row["prompt_hash"] and row["tools_hash"]
    goal_json, task_json = (json.loads(row["task_json"]) for row in rows if row is not None)
    assert goal_json.keys() == task_json.keys()
    assert "Workspace contents" in goal_json["context"] and task_json["context"] is None
    assert task_json["task_file"] == "t.task.yaml" and goal_json["task_file"] is None


CHECKED = """
name: Checked
permissions: ["fs.write:out", "shell.exec:ls reports"]
steps:
  - tool: files.make_folder
    args: {path: out}
checks:
  - {kind: command_exits_zero, command: "ls reports"}
  - {kind: command_exits_zero, command: "touch x"}
"""


def test_checks_act_through_the_executor_and_are_journaled_as_checks(
    settings: Settings, ws: Path
) -> None:
    plan, opener = plan_for(CHECKED, settings, ws)
    _, report, journal = go(plan, settings)
    assert opener.opened == 0
    assert [c.ok for c in report.checks] == [True, False]
    events = journal.events(report.run_id or "")
    acted = [e["detail"] for e in events if e["kind"] == "check_action"]
    assert [(a["check"], a["tool"], a["kind"]) for a in acted] == [
        (1, "shell.run", "ok"),
        (2, "shell.run", "denied"),
    ]
    assert not (ws / "x").exists()
    # Neither the model's steps nor replayed ones: the journal's steps are the task's.
    assert [s["tool"] for s in journal.steps(report.run_id or "")] == ["files.make_folder"]
    assert (report.replayed_steps, report.model_steps) == (1, 0)
