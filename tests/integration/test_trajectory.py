"""The journal keeps the trajectory exactly (issues 12 and 13), with the real embedded
model in real runs: a file goal run, a browser run on a loopback page, and a task file
with a fixed step and an ``agent:`` step.

A wrapper at the `ChatModel` seam captures what `complete` received and returned; for
every model step, the messages and reply the journal rebuilds must equal the captured
ones byte for byte, and a training example rebuilt from the journal must equal the one
built from the captured prompt."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pages.server import Site, serve_pages

import models
from agent.approval import AlwaysAllow
from agent.events import ActionProposed, Event, RunStarted, StepStarted
from agent.journal import Journal
from agent.journal.trajectory import schema_hash
from agent.learn.from_journal import chat_records
from agent.learn.teacher import Exchange
from agent.learn.trajectory import Trajectory, chat_lines
from agent.prepare import RunRequest, prepare_run
from agent.settings import Settings, load_settings
from agent.taskfile import parse_task_text
from agent.taskrun import run_task
from models.base import (
    ChatModel,
    Completion,
    JsonSchema,
    Message,
    ModelInfo,
    ShouldStop,
    adapter_id,
)
from models.host import HostedModel, LoadSpec
from models.router import FallbackPolicy, ModelRouter
from models.train.examples import ChatExample

pytestmark = pytest.mark.model

ADAPTER = Path(models.__file__).parent / "adapters" / "smollm2-deskhand.gguf"


@dataclass(frozen=True)
class Call:
    step: int
    messages: tuple[Message, ...]
    reply: str
    schema: JsonSchema | None
    max_tokens: int
    completion: Completion


class Capturing:
    """A `ChatModel` that passes every call on and keeps a copy of what it received and
    returned, tagged with the step the run was on (`step`, set from StepStarted)."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.step = 0
        self.calls: list[Call] = []

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def info(self) -> ModelInfo:
        return self.inner.info()

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: JsonSchema | None = None,
        max_tokens: int = 512,
        should_stop: ShouldStop | None = None,
    ) -> Completion:
        seen = tuple(Message(m.role, m.content) for m in messages)  # before the run appends
        done = self.inner.complete(
            messages, schema=schema, max_tokens=max_tokens, should_stop=should_stop
        )
        self.calls.append(Call(self.step, seen, done.text, schema, max_tokens, done))
        return done

    def close(self) -> None:
        pass  # the session's model outlives every run

    def follow(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self.step = event.step


def _router(model: Capturing) -> ModelRouter:
    return ModelRouter(model, None, FallbackPolicy(remote_allowed=False))


def _bytes(messages: Sequence[Message]) -> list[tuple[bytes, bytes]]:
    return [(m.role.encode(), m.content.encode("utf-8", "surrogatepass")) for m in messages]


def assert_kept_exactly(
    journal: Journal, run_id: str, model: Capturing, events: list[Event]
) -> None:
    """Every model step the run took is journaled as the model saw and answered it."""
    accepted = {call.step: call for call in model.calls}  # a retried step: its last call
    proposed = [e.step for e in events if isinstance(e, ActionProposed)]
    steps = journal.trajectory(run_id).steps
    # every step the model answered, and only those (a fixed step proposes without one)
    assert accepted and [s.step for s in steps] == sorted(accepted)
    assert set(accepted) <= set(proposed)
    for step in steps:
        call = accepted[step.step]
        assert _bytes(step.messages) == _bytes(call.messages), f"step {step.step}"
        assert step.reply.encode() == call.reply.encode(), f"step {step.step}"
        assert step.model_id == call.completion.model_id
        assert step.adapter_id == call.completion.adapter_id
        assert step.decoding.max_tokens == call.max_tokens
        assert step.decoding.schema_hash == schema_hash(call.schema) != ""
    # issue 13: a training example rebuilt from the journal equals the prompt the model saw
    captured = Trajectory(
        "journal",
        "",
        0,
        "",
        tuple(Exchange(accepted[s].messages, accepted[s].reply) for s in sorted(accepted)),
        "",
    )
    from_captured = list(chat_lines(captured))
    from_journal = list(chat_records(journal, run_id))
    assert from_journal == from_captured
    assert [ChatExample.from_record(r) for r in from_journal] == [
        ChatExample.from_record(r) for r in from_captured
    ]


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve_pages() as s:
        yield s


@pytest.fixture
def settings(deskhand_home: Path) -> Settings:
    (deskhand_home / "config").mkdir(parents=True, exist_ok=True)
    (deskhand_home / "config" / "config.toml").write_text("[browser]\nheadless = true\n")
    return load_settings({"DESKHAND_HOME": str(deskhand_home)})


def _run(settings: Settings, request: RunRequest, model: Capturing) -> tuple[str, list[Event]]:
    """Prepare and run `request` as every entry point does; its run id and events."""
    plan = prepare_run(request, settings)
    events: list[Event] = []
    with Journal(settings.journal_path) as journal:
        for event in run_task(plan, journal):
            model.follow(event)
            events.append(event)
    started = events[0]
    assert isinstance(started, RunStarted)
    return started.run_id, events


def test_a_file_goal_run_with_an_adapter_is_kept_exactly(
    embedded_gguf: Path, settings: Settings, workspace: Path
) -> None:
    """The model as the command line runs it: hosted in its own process, with an adapter."""
    (workspace / "notes.txt").write_text("buy milk\n")
    (workspace / "todo.md").write_text("# todo\n- café ☕\n")
    inner = HostedModel(LoadSpec(embedded_gguf, n_ctx=4096, lora_path=ADAPTER))
    model = Capturing(inner)
    try:
        request = RunRequest(
            goal="Read notes.txt and tell me what it says",
            workspace=[workspace],
            model=model,
            approver=AlwaysAllow(),
            max_steps=3,
            memory=False,
        )
        run_id, events = _run(settings, request, model)
    finally:
        inner.close()
    with Journal(settings.journal_path) as journal:
        assert_kept_exactly(journal, run_id, model, events)
        steps = journal.trajectory(run_id).steps
    assert {s.adapter_id for s in steps} == {adapter_id(ADAPTER)}
    assert all(s.model_id == model.model_id for s in steps)


def test_a_browser_run_is_kept_exactly(
    embedded_model: Any, settings: Settings, workspace: Path, site: Site
) -> None:
    model = Capturing(embedded_model)
    request = RunRequest(
        goal="Type Ada into the Full name box",
        workspace=[workspace],
        model=model,
        grants=["browser.input:127.0.0.1"],
        start_url=site.url("form.html"),
        approver=AlwaysAllow(),
        max_steps=2,
        memory=False,
    )
    run_id, events = _run(settings, request, model)
    with Journal(settings.journal_path) as journal:
        assert_kept_exactly(journal, run_id, model, events)
        first = journal.trajectory(run_id).steps[0]
    assert 'textbox "Full name"' in first.messages[-1].content  # the page, as it was shown


TASK = """
name: Note
permissions: ["fs.write:out", "fs.write:out/*"]
steps:
  - tool: files.make_folder
    args: {path: out}
  - agent: Write a note into out/a.txt
    max_steps: 2
  - agent: Write another note into out/b.txt
    max_steps: 2
"""


def test_a_task_file_with_fixed_and_agent_steps_is_kept_exactly(
    embedded_model: Any, settings: Settings, workspace: Path
) -> None:
    model = Capturing(embedded_model)
    request = RunRequest(
        task_file=parse_task_text(TASK, "note.task.yaml", None),
        source="note.task.yaml",
        workspace=[workspace],
        model=model,
        approver=AlwaysAllow(),
    )
    run_id, events = _run(settings, request, model)
    with Journal(settings.journal_path) as journal:
        assert journal.run_record(run_id).replayed_steps == 1  # type: ignore[union-attr]
        assert_kept_exactly(journal, run_id, model, events)
        steps = journal.trajectory(run_id).steps
    assert steps[0].step == 2  # the fixed step came first and asked no model
