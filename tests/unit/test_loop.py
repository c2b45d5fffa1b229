"""The loop and the executor with a scripted model and a toy tool: event order, the
permission chokepoint, approvals, budgets, stop, append-only prompts, journaling."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from agent.approval import AlwaysAllow, AlwaysDeny, Answer, ApprovalRequest
from agent.events import (
    ActionFinished,
    ActionProposed,
    ApprovalAnswered,
    ApprovalNeeded,
    Event,
    ModelSwitched,
    RunFinished,
    RunStarted,
    StepStarted,
)
from agent.journal import Journal
from agent.loop import Engine, run
from agent.task import Limits, Task
from models.base import Message
from models.router import FallbackPolicy, ModelRouter
from models.scripted import Reply, ScriptedModel
from tools.base import Effect, ToolArgs, ToolFailure, ToolResult, ToolSpec
from tools.registry import Registry, finish_spec


class NoteArgs(ToolArgs):
    text: str = Field(min_length=1)


class Notes:
    """A toy tool: appends text to a list. Capability fs.write, scope /notes."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.block = threading.Event()

    def specs(self) -> list[ToolSpec[Any]]:
        def add(a: NoteArgs) -> ToolResult:
            if a.text == "boom":
                raise RuntimeError("a bug in the tool")
            if a.text == "refuse":
                raise ToolFailure("not_found", "no such note")
            if a.text == "hang":
                self.block.wait(5)
            self.items.append(a.text)
            return ToolResult(ok=True, output=f"added {a.text}")

        return [
            ToolSpec(
                name="notes.add",
                description="Add a note.",
                args=NoteArgs,
                effect=lambda a: Effect("fs.write", "/notes", f"add note {a.text!r}"),
                run=add,
                timeout_s=0.2,
                example={"text": "hello"},
            ),
            finish_spec(),
        ]


def act(text: str) -> dict[str, Any]:
    return {"thought": f"add {text}", "tool": "notes.add", "args": {"text": text}}


FINISH = {"thought": "done", "tool": "finish", "args": {"message": "all done"}}


class Recorder:
    source = "user"

    def __init__(self, answers: Sequence[Answer]) -> None:
        self.answers = list(answers)
        self.requests: list[ApprovalRequest] = []

    def approve(self, request: ApprovalRequest) -> Answer:
        self.requests.append(request)
        return self.answers.pop(0)


def go(
    replies: Sequence[Reply],
    tmp_path: Path,
    approver: Any = None,
    max_steps: int = 6,
    notes: Notes | None = None,
) -> tuple[list[Event], Notes, Journal, ScriptedModel]:
    notes = notes or Notes()
    model = ScriptedModel(replies)
    journal = Journal(tmp_path / "j.sqlite")
    engine = Engine(
        ModelRouter(model, None, FallbackPolicy(remote_allowed=False)),
        Registry(notes.specs()),
        journal,
        approver or AlwaysAllow(),
    )
    task = Task(goal="take notes", workspace=(tmp_path,), limits=Limits(max_steps=max_steps))
    return list(run(task, engine)), notes, journal, model


def test_success_path_events_and_journal(tmp_path: Path) -> None:
    events, notes, journal, _ = go([act("a"), FINISH], tmp_path)
    kinds = [type(e) for e in events]
    assert kinds == [
        RunStarted,
        StepStarted,
        ActionProposed,
        ApprovalNeeded,
        ApprovalAnswered,
        ActionFinished,
        StepStarted,
        ActionProposed,
        ActionFinished,
        RunFinished,
    ]
    end = events[-1]
    assert isinstance(end, RunFinished) and end.outcome == "success" and end.message == "all done"
    assert notes.items == ["a"]
    steps = journal.steps(end.run_id)
    assert [s["tool"] for s in steps] == ["notes.add", "finish"]
    assert journal.run(end.run_id)["outcome"] == "success"  # type: ignore[index]
    approvals = journal.approvals(end.run_id)
    assert [(a["capability"], a["decision"], a["source"]) for a in approvals] == [
        ("fs.write", "allow", "yes-flag")
    ]


def test_denial_is_a_result_the_model_reads_and_nothing_runs(tmp_path: Path) -> None:
    seen: list[str] = []

    def check(messages: Sequence[Message]) -> str:
        seen.append(messages[-1].content)
        return '{"thought": "ok", "tool": "finish", "args": {"message": "gave up"}}'

    events, notes, journal, _ = go([act("secret"), check], tmp_path, approver=AlwaysDeny())
    assert notes.items == []
    assert "permission denied" in seen[0] and "error (denied)" in seen[0]
    finished = [e for e in events if isinstance(e, ActionFinished)]
    assert finished[0].result.kind == "denied"
    run_id = events[0].run_id  # type: ignore[union-attr]
    assert journal.approvals(run_id)[0]["decision"] == "deny"
    assert journal.approvals(run_id)[0]["source"] == "noninteractive"


def test_allow_for_this_run_is_not_asked_again(tmp_path: Path) -> None:
    approver = Recorder(["run"])
    _, notes, _, _ = go([act("a"), act("b"), FINISH], tmp_path, approver=approver)
    assert notes.items == ["a", "b"]
    assert len(approver.requests) == 1
    assert approver.requests[0].effect.summary == "add note 'a'"


def test_invalid_args_and_tool_failures_are_results_and_the_loop_goes_on(tmp_path: Path) -> None:
    bad_args = {"thought": "", "tool": "notes.add", "args": {"text": "", "extra": 1}}
    events, notes, _, _ = go([bad_args, act("refuse"), act("ok"), FINISH], tmp_path)
    results = [e.result for e in events if isinstance(e, ActionFinished)]
    assert [r.kind for r in results] == ["invalid_args", "not_found", "ok", "ok"]
    assert notes.items == ["ok"]


def test_step_budget_ends_the_run_as_failed(tmp_path: Path) -> None:
    events, _, journal, _ = go([act("a")] * 3, tmp_path, max_steps=3)
    end = events[-1]
    assert isinstance(end, RunFinished) and end.outcome == "failed" and "step budget" in end.message
    assert journal.run(end.run_id)["outcome"] == "failed"  # type: ignore[index]


def test_prompts_are_append_only(tmp_path: Path) -> None:
    _, _, _, model = go([act("a"), act("b"), FINISH], tmp_path)
    first, second, third = model.calls
    assert second[: len(first)] == first and third[: len(second)] == second
    assert len(third) == len(second) + 2


def test_tool_timeout_is_a_result(tmp_path: Path) -> None:
    notes = Notes()
    events, _, _, _ = go([act("hang"), FINISH], tmp_path, notes=notes)
    notes.block.set()
    results = [e.result for e in events if isinstance(e, ActionFinished)]
    assert results[0].kind == "timeout"


def test_a_bug_in_a_tool_propagates_and_the_run_is_journaled_as_error(tmp_path: Path) -> None:
    notes = Notes()
    model = ScriptedModel([act("boom")])
    journal = Journal(tmp_path / "j.sqlite")
    engine = Engine(
        ModelRouter(model, None, FallbackPolicy(remote_allowed=False)),
        Registry(notes.specs()),
        journal,
        AlwaysAllow(),
    )
    with pytest.raises(RuntimeError, match="a bug in the tool"):
        list(run(Task(goal="g", workspace=(tmp_path,)), engine))
    (row,) = journal.runs()
    assert row["outcome"] == "error" and "RuntimeError" in row["message"]
    assert journal.steps(row["id"])[0]["result_kind"] == "internal_error"


def test_stop_flag_ends_the_run_as_stopped(tmp_path: Path) -> None:
    notes = Notes()
    model = ScriptedModel([act("a"), act("b"), FINISH])
    journal = Journal(tmp_path / "j.sqlite")
    engine = Engine(
        ModelRouter(model, None, FallbackPolicy(remote_allowed=False)),
        Registry(notes.specs()),
        journal,
        AlwaysAllow(),
    )
    events: list[Event] = []
    for event in run(Task(goal="g", workspace=(tmp_path,)), engine):
        events.append(event)
        if isinstance(event, ActionFinished):
            engine.stop.set()
    end = events[-1]
    assert isinstance(end, RunFinished) and end.outcome == "stopped"
    assert notes.items == ["a"]


def test_closing_the_event_stream_marks_the_run_stopped(tmp_path: Path) -> None:
    model = ScriptedModel([act("a"), FINISH])
    journal = Journal(tmp_path / "j.sqlite")
    engine = Engine(
        ModelRouter(model, None, FallbackPolicy(remote_allowed=False)),
        Registry(Notes().specs()),
        journal,
        AlwaysAllow(),
    )
    events = run(Task(goal="g", workspace=(tmp_path,)), engine)
    first = next(events)
    events.close()
    assert journal.run(first.run_id)["outcome"] == "stopped"  # type: ignore[union-attr,index]


def test_model_running_out_ends_the_run_with_an_error_outcome(tmp_path: Path) -> None:
    events, _, _, _ = go([act("a")], tmp_path)
    end = events[-1]
    assert isinstance(end, RunFinished) and end.outcome == "error" and "model error" in end.message


def test_invalid_local_output_switches_to_the_remote_model_with_an_event_and_a_row(
    tmp_path: Path,
) -> None:
    local = ScriptedModel(["not json", '{"tool": "nope"}', FINISH], model_id="local")
    remote = ScriptedModel([act("a")], model_id="remote")
    journal = Journal(tmp_path / "j.sqlite")
    engine = Engine(
        ModelRouter(local, remote, FallbackPolicy(remote_allowed=True)),
        Registry(Notes().specs()),
        journal,
        AlwaysAllow(),
    )
    task = Task(goal="take notes", workspace=(tmp_path,), limits=Limits(max_steps=4))
    events = list(run(task, engine))

    switches = [e for e in events if isinstance(e, ModelSwitched)]
    assert [(s.step, s.from_model, s.to_model) for s in switches] == [(1, "local", "remote")]
    assert "invalid" in switches[0].reason
    end = events[-1]
    assert isinstance(end, RunFinished) and end.outcome == "success"
    rows = [e for e in journal.events(end.run_id) if e["kind"] == "model_switched"]
    assert len(rows) == 1 and rows[0]["step_idx"] == 1
    # Local first again on the next step.
    assert [s["model_id"] for s in journal.steps(end.run_id)] == ["remote", "local"]
    assert len(local.calls) == 3  # the step, one retry, then the switch; then step 2


def test_without_an_allowed_remote_invalid_output_ends_the_run_as_an_error(
    tmp_path: Path,
) -> None:
    events, _, journal, _ = go(["not json", "still not json"], tmp_path)
    end = events[-1]
    assert isinstance(end, RunFinished) and end.outcome == "error"
    assert not any(isinstance(e, ModelSwitched) for e in events)
    assert journal.run(end.run_id)["outcome"] == "error"  # type: ignore[index]
