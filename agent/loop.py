"""The agent loop: a generator of events for one run.

Each step: the transcript (append-only) → the model, constrained to the action schema of
this task's tools → one `Proposal` → the executor (policy, approval, tool, journal) → the
result is appended as the newest message. The run ends with `finish`, the step or time
budget, the stop flag, or a model error; `RunFinished` is always the last event and the
run's outcome is always journaled, also when the consumer stops iterating early.

"The model erred" (an invalid or refused action) is a result the model reads on the next
step; "our code erred" propagates, after the run is marked as an error in the journal.

`model_steps` is the step loop on its own: `run` wraps it in a run of its own, and the
task-file runner (agent/taskrun.py) calls it for each stretch the model drives inside a
larger run (an ``agent:`` step, a fallback), numbering steps on from where it is.
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
    RunFinished,
    RunStarted,
    StepStarted,
)
from agent.executor import Executor, ModelTrace, Proposal
from agent.journal import Journal
from agent.policy import Policy
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
    registry = engine.registry if task.tools is None else engine.registry.only(task.tools)
    transcript = Transcript.start(registry, task.goal, task.context)
    journal = engine.journal
    run_id = journal.start_run(
        goal=task.goal,
        workspace=str(task.workspace[0]),
        model_id=engine.model.model_id,
        task_json=_task_json(task),
        prompt_hash=transcript.template_hash(),
        tools_hash=registry.fingerprint(),
    )
    policy = Policy.for_workspace(task.workspace, task.grants)
    executor = Executor(registry, policy, engine.approver, journal, run_id)
    started = time.monotonic()
    end = Segment("error", "the run ended unexpectedly", 0, 0)
    try:
        yield RunStarted(
            run_id,
            task.goal,
            engine.model.model_id,
            str(task.workspace[0]),
            tuple(registry.names()),
        )
        end = yield from model_steps(
            transcript,
            registry,
            engine.model,
            executor,
            journal,
            run_id,
            stop=engine.stop,
            limits=task.limits,
            started=started,
            first_step=1,
            budget=task.limits.max_steps,
        )
    except GeneratorExit:
        end = Segment("stopped", "the caller stopped the run", end.last_step, end.model_steps)
        raise
    except BaseException as exc:
        message = f"internal error: {type(exc).__name__}: {exc}"
        end = Segment("error", message, end.last_step, end.model_steps)
        raise
    finally:
        journal.set_step_sources(run_id, replayed=0)
        journal.finish_run(run_id, outcome=end.outcome, message=end.message)
    yield RunFinished(run_id, end.outcome, end.message, end.last_step, time.monotonic() - started)


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


def _task_json(task: Task) -> str:
    return json.dumps(
        {
            "goal": task.goal,
            "workspace": [str(p) for p in task.workspace],
            "grants": [[g.capability, g.scope] for g in task.grants],
            "limits": {"max_steps": task.limits.max_steps, "max_seconds": task.limits.max_seconds},
            "tools": list(task.tools) if task.tools is not None else None,
        }
    )
