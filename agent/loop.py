"""The agent loop: the steps the model drives, as a generator of events.

Each step: the transcript (append-only) → the model, constrained to the action schema of
this run's tools → one `Proposal` → the executor (policy, approval, tool, journal) → the
result is appended as the newest message. A stretch of steps ends with `finish`, the step
or time budget, the stop flag, or a model error (`Segment` says which).

"The model erred" (an invalid or refused action) is a result the model reads on the next
step; "our code erred" propagates, after the run is marked as an error in the journal.

`model_steps` is the step loop on its own: the one run lifecycle (agent/taskrun.py)
calls it for each stretch the model drives (a plain goal, an ``agent:`` step, a
fallback), numbering steps on from where the run is. `Engine` and `run` run a plain goal
on parts built by hand (the curriculum, the loop's unit tests) through that lifecycle.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from agent.approval import Approver
from agent.events import (
    ActionFinished,
    ActionProposed,
    Event,
    ModelSwitched,
    Outcome,
    StepStarted,
)
from agent.executor import Executor, ModelTrace, Proposal
from agent.journal import Journal
from agent.prompt import Transcript, observation
from agent.task import Limits, Task
from models.base import (
    Completion,
    ContextOverflow,
    ModelCancelled,
    ModelError,
    ModelOutputInvalid,
)
from models.router import ModelRouter, ModelSwitch
from tools.registry import Registry

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Engine:
    """What a run needs besides its task. Built by an entry point; used by one thread."""

    model: ModelRouter
    registry: Registry
    journal: Journal
    approver: Approver
    stop: threading.Event = field(default_factory=threading.Event)


def parse_reply(text: str, registry: Registry) -> Proposal:
    """Turn a reply into a Proposal, or raise ModelOutputInvalid."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelOutputInvalid(f"reply is not JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ModelOutputInvalid("reply is not a JSON object")
    tool, args, thought = data.get("tool"), data.get("args", {}), data.get("thought", "")
    if not isinstance(tool, str) or tool not in registry:
        raise ModelOutputInvalid(f"reply names no available tool: {tool!r}")
    if not isinstance(args, dict) or not isinstance(thought, str):
        raise ModelOutputInvalid("reply has malformed 'args' or 'thought'")
    return Proposal(thought=thought, tool=tool, args=args)


def run(task: Task, engine: Engine) -> Iterator[Event]:
    """A plain goal's run on an engine built by hand (a tool set of the caller's, as the
    curriculum and the loop's unit tests build one), through the one run lifecycle
    (`agent.taskrun.run_task`); entry points prepare theirs with `agent.prepare`."""
    from agent.prepare import TaskRun
    from agent.taskrun import run_task  # that module drives `model_steps` below

    registry = engine.registry if task.tools is None else engine.registry.only(task.tools)
    model = engine.model
    plan = TaskRun(
        task=None,
        goal=task.goal,
        source="",
        roots=task.workspace,
        registry=registry,
        rules=task.grants,
        limits=task.limits,
        approver=engine.approver,
        open_model=lambda: model,
        model_name=model.model_id,
        context=lambda: task.context,
        owns_model=False,
        stop=engine.stop,
        examples=task.examples,
    )
    return run_task(plan, engine.journal)


@dataclass(frozen=True, slots=True)
class Segment:
    """How a stretch of model-driven steps ended (`model_steps` returns it).

    outcome "success" means the model called `finish`; last_step is the index of the
    last step started (the next stretch of the same run starts after it).
    """

    outcome: Outcome
    message: str
    last_step: int
    #: Steps whose action the model proposed (and the executor then handled).
    model_steps: int


def model_steps(
    transcript: Transcript,
    registry: Registry,
    model: ModelRouter,
    executor: Executor,
    journal: Journal,
    run_id: str,
    *,
    stop: threading.Event,
    limits: Limits,
    started: float,
    first_step: int,
    budget: int,
) -> Generator[Event, None, Segment]:
    """Let the model act for at most `budget` steps, numbered from `first_step`, within
    the run `run_id` that `executor` journals to. Shared by `run` and the task-file runner."""
    end: tuple[Outcome, str] = ("failed", f"step budget of {budget} used up")
    step, proposed = first_step - 1, 0
    for step in range(first_step, first_step + budget):
        halted = _halted(stop, limits, started)
        if halted is not None:
            end = halted
            break
        yield StepStarted(run_id, step)
        reply = yield from _ask(transcript, registry, model, journal, run_id, step, stop, limits)
        if isinstance(reply, tuple):
            end = reply
            break
        journal.record_model_call(
            run_id,
            step,
            transcript.messages,
            reply,
            schema=registry.action_schema(),
            max_tokens=limits.max_reply_tokens,
        )
        proposal = parse_reply(reply.text, registry)
        proposed += 1
        yield ActionProposed(
            run_id,
            step,
            proposal.thought,
            proposal.tool,
            proposal.args,
            reply.model_id,
            reply.usage,
        )
        trace = ModelTrace(reply.model_id, transcript.prompt_hash(), reply.usage)
        tool_started = time.perf_counter()
        result = yield from executor.execute(step, proposal, trace)
        yield ActionFinished(
            run_id, step, proposal.tool, result, time.perf_counter() - tool_started
        )
        transcript.add(reply.text, observation(proposal.tool, result))
        if result.finish:
            end = ("success", result.output)
            break
    return Segment(end[0], end[1], step, proposed)


def _halted(stop: threading.Event, limits: Limits, started: float) -> tuple[Outcome, str] | None:
    """Why the run must end before its next step, if it must."""
    if stop.is_set():
        return "stopped", "stopped by the user"
    if time.monotonic() - started > limits.max_seconds:
        return "failed", f"time budget of {limits.max_seconds:g} s used up"
    return None


def _ask(
    transcript: Transcript,
    registry: Registry,
    model: ModelRouter,
    journal: Journal,
    run_id: str,
    step: int,
    stop: threading.Event,
    limits: Limits,
) -> Generator[Event, None, Completion | tuple[Outcome, str]]:
    """One reply from the model for `step`, or the way the run ends when there is none.
    Switches between models (local ↔ remote) are journaled and yielded as events."""
    switches: list[ModelSwitch] = []
    model.on_switch = switches.append
    reply: Completion | tuple[Outcome, str]
    try:
        reply = model.complete(
            transcript.messages,
            schema=registry.action_schema(),
            max_tokens=limits.max_reply_tokens,
            should_stop=stop.is_set,
            validate=lambda text: _check_reply(text, registry),
        )
    except ModelCancelled:
        reply = ("stopped", "stopped by the user")
    except ContextOverflow as exc:
        reply = ("failed", f"the conversation no longer fits the model: {exc}")
    except ModelError as exc:
        reply = ("error", f"model error: {exc}")
    finally:
        for switch in switches:
            journal.record_event(run_id, "model_switched", _switch_detail(switch), step_idx=step)
    for switch in switches:
        yield ModelSwitched(run_id, step, switch.from_model, switch.to_model, switch.reason)
    return reply


def _check_reply(text: str, registry: Registry) -> None:
    parse_reply(text, registry)


def _switch_detail(switch: ModelSwitch) -> dict[str, Any]:
    return {
        "from": switch.from_model,
        "to": switch.to_model,
        "reason": str(switch.reason),
        "detail": switch.detail,
    }
