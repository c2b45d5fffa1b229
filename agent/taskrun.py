"""The run of one task file: fixed steps, model stretches, fallback, checks, one journal run.

`run_task` turns a prepared `TaskRun` (built by `agent.runner.prepare`, which checked
everything that can be checked beforehand) into events. Fixed steps (``tool:``) go
through the `Executor` like any model action, so the permission policy, approvals,
timeouts and the journal treat them alike; they need no model and are journaled with an
empty model id. ``agent:`` steps and a ``goal`` hand a sub-goal to the model
(`agent.loop.model_steps`) with their own step budget. When a fixed step fails and the run
allows it (``on_step_failure: agent``), the model gets that step's intent as a sub-goal
(rendered from prompts/fallback.j2; the error and the workspace listing go in as data),
and the journal gets a ``step_fallback`` event; otherwise the steps stop there
(``step_failed``). Then the task's checks, when it has any, decide the outcome.

Invariants:
- The model is opened lazily, on the first step that needs it, on the thread that
  iterates the run; a task of fixed steps never loads one. The run closes what it opened.
- A denied fixed step never falls back to the model: the model would be refused the same.
- The outcome, the check results and how many steps were replayed (fixed) and how many
  the model chose are journaled also when the consumer stops iterating early.
  `RunFinished` is always the last event; `ChecksFinished` comes just before it.
- Every step of the run, fixed or not, counts against the task's step budget.
- The run's own tools (`assemble.RunTools`: the browser, the shell) serve its steps and
  its checks (``page_contains`` reads that browser's page) and are closed when the run
  ends, however it ends, on the thread that iterated it.
- A fixed browser step with ``expect: ROLE "NAME"`` acts only when its element number
  names that element now (read from the effect of `_ELEMENT_PROBE`, which does nothing);
  otherwise it is a failed step (``unexpected_element``, journaled, nothing done) and
  falls back or stops like any other.
- ``{{ outputs.NAME }}`` in a fixed step's args is replaced just before the step runs by
  the output of the fixed step saved as NAME; when that step failed (or the model stood
  in for it) there is no output and the run stops there with a clear failure.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from agent import templates
from agent.approval import Approver
from agent.assemble import RunTools
from agent.checks import CheckResult, evaluate_checks
from agent.events import (
    ActionFinished,
    ActionProposed,
    ChecksFinished,
    Event,
    Outcome,
    RunFinished,
    RunStarted,
    StepStarted,
    SubgoalStarted,
)
from agent.executor import Executor, ModelTrace, Proposal
from agent.journal import Journal, StepRecord
from agent.loop import Segment, model_steps
from agent.policy import Policy, Rule
from agent.prompt import Transcript
from agent.task import Limits
from agent.taskfile import AgentStep, TaskFile, ToolStep, parse_expect
from models.base import ModelError, Usage
from models.router import ModelRouter
from tools import placeholders
from tools.base import ToolFailure, ToolResult
from tools.paths import Workspace
from tools.registry import Registry

log = logging.getLogger(__name__)

#: What a run does when a fixed step fails: let the model stand in for it, or stop.
StepFailure = Literal["agent", "stop"]
#: Most steps the model gets to stand in for one failed fixed step.
FALLBACK_MAX_STEPS = 10


@dataclass(slots=True)
class TaskRun:
    """One task file, checked and ready to run (build it with `prepare`)."""

    task: TaskFile
    source: str
    roots: tuple[Path, ...]
    registry: Registry
    rules: tuple[Rule, ...]
    limits: Limits
    approver: Approver
    #: Opens the model on first use; None when no model could be resolved.
    open_model: Callable[[], ModelRouter] | None
    #: The model's name, or why there is none (shown when a step needs one).
    model_name: str
    context: Callable[[], str]
    #: False when `open_model` hands out a model the caller keeps open (the tray app's).
    owns_model: bool = True
    on_step_failure: StepFailure = "stop"
    stop: threading.Event = field(default_factory=threading.Event)
    #: The browser and shell this run was given (its registry holds their actions).
    tools: RunTools = field(default_factory=RunTools)


@dataclass(slots=True)
class _Progress:
    """What the run has done so far; the generator functions below share it."""

    run_id: str
    started: float
    last_step: int = 0
    replayed: int = 0
    router: ModelRouter | None = None
    #: Outputs of fixed steps with ``save_as``, by name.
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _End:
    outcome: Outcome
    message: str


def run_task(plan: TaskRun, journal: Journal) -> Generator[Event, None, None]:
    """Run a prepared task file as one journaled run, yielding its events."""
    task = plan.task
    goal = task.goal or task.name
    run_id = journal.start_run(
        goal=goal,
        workspace=str(plan.roots[0]),
        model_id=plan.model_name,
        task_json=_task_json(plan),
        tools_hash=plan.registry.fingerprint(),
    )
    executor = Executor(
        plan.registry, Policy.for_workspace(plan.roots, plan.rules), plan.approver, journal, run_id
    )
    progress = _Progress(run_id, time.monotonic())
    end = _End("error", "the run ended unexpectedly")
    checks: tuple[CheckResult, ...] = ()
    try:
        yield RunStarted(
            run_id, goal, plan.model_name, str(plan.roots[0]), tuple(plan.registry.names())
        )
        end = yield from _steps(plan, progress, executor, journal)
        if task.checks and end.outcome in ("success", "failed"):
            policy = Policy.for_workspace(plan.roots, plan.rules)
            checks = evaluate_checks(
                task.checks,
                Workspace(plan.roots),
                policy,
                browser=plan.tools.browser,
                stop=plan.stop,
            )
            end = _judged(end, checks)
    except GeneratorExit:
        end = _End("stopped", "the caller stopped the run")
        raise
    except BaseException as exc:
        end = _End("error", f"internal error: {type(exc).__name__}: {exc}")
        raise
    finally:
        try:
            journal.set_step_sources(run_id, replayed=progress.replayed)
            journal.finish_run(
                run_id,
                outcome=end.outcome,
                message=end.message,
                checks=[c.to_json() for c in checks],
            )
        finally:
            try:
                plan.tools.close()
            finally:
                if progress.router is not None and plan.owns_model:
                    progress.router.close()
    if checks:
        yield ChecksFinished(run_id, checks)
    seconds = time.monotonic() - progress.started
    yield RunFinished(run_id, end.outcome, end.message, progress.last_step, seconds)


def _judged(end: _End, checks: tuple[CheckResult, ...]) -> _End:
    """The task's checks decide the outcome; the steps' story stays in the message."""
    failed = [c for c in checks if not c.ok]
    if not failed:
        note = f"all {len(checks)} checks passed"
        if end.outcome == "success":
            return _End("success", f"{end.message}; {note}")
        return _End("success", f"{note}, although {end.message}")
    note = f"{len(failed)} of {len(checks)} checks failed: {failed[0].kind}: {failed[0].detail}"
    return _End("failed", f"{end.message}; {note}")


def _steps(
    plan: TaskRun, progress: _Progress, executor: Executor, journal: Journal
) -> Generator[Event, None, _End]:
    task = plan.task
    items: list[ToolStep | AgentStep] = list(task.steps or [])
    if task.goal is not None:
        items = [AgentStep(agent=task.goal)]
    message = f"all {len(items)} steps done"
    for n, item in enumerate(items, start=1):
        halt = _halt(plan, progress)
        if halt is not None:
            return halt
        if isinstance(item, AgentStep):
            segment = yield from _agent(
                plan, progress, executor, journal, item.agent, item.max_steps
            )
            if segment.outcome != "success":
                return _End(segment.outcome, segment.message)
            message = segment.message
            continue
        args, missing = placeholders.fill_outputs(item.args, progress.outputs)
        if missing is not None:
            failure = (
                f"step {n} ({item.tool}) needs the output saved as {missing!r}, "
                "and the step that saves it did not give one"
            )
            journal.record_event(
                progress.run_id,
                "step_failed",
                {"step": n, "tool": item.tool, "kind": "missing_output", "error": failure},
                step_idx=progress.last_step,
            )
            return _End("failed", failure)
        result = yield from _fixed(plan, progress, executor, journal, item, n, args)
        if result.ok and item.save_as:
            progress.outputs[item.save_as] = result.output
        if result.finish:
            return _End("success", result.output)
        if not result.ok:
            end = yield from _recover(plan, progress, executor, journal, item, n, result)
            if end is not None:
                return end
    return _End("success", message)


def _halt(plan: TaskRun, progress: _Progress) -> _End | None:
    if plan.stop.is_set():
        return _End("stopped", "stopped by the user")
    if time.monotonic() - progress.started > plan.limits.max_seconds:
        return _End("failed", f"time budget of {plan.limits.max_seconds:g} s used up")
    if progress.last_step >= plan.limits.max_steps:
        return _End("failed", f"step budget of {plan.limits.max_steps} used up")
    return None


def _fixed(
    plan: TaskRun,
    progress: _Progress,
    executor: Executor,
    journal: Journal,
    item: ToolStep,
    n: int,
    args: dict[str, Any],
) -> Generator[Event, None, ToolResult]:
    """One fixed step through the executor: no model, so no model id and no usage. A step
    whose element is no longer the one it `expect`s fails without acting (journaled)."""
    run_id = progress.run_id
    progress.last_step += 1
    idx = progress.last_step
    thought = f"step {n} of the task file"
    yield StepStarted(run_id, idx)
    yield ActionProposed(run_id, idx, thought, item.tool, args, "", Usage())
    started = time.perf_counter()
    progress.replayed += 1  # counted before it runs: the executor journals it whatever happens
    mismatch = _unexpected_element(plan.registry, item, args)
    if mismatch is not None:
        result = mismatch
        journal.record_step(
            run_id,
            StepRecord(idx, thought=thought, tool=item.tool, args=args, ok=False,
                       result_kind=result.kind, result_text=result.output),
        )  # fmt: skip
    else:
        result = yield from executor.execute(idx, Proposal(thought, item.tool, args), ModelTrace())
    yield ActionFinished(run_id, idx, item.tool, result, time.perf_counter() - started)
    return result


#: The browser action whose effect names an element without doing anything to it; its
#: scope is ``HOST ROLE "NAME"`` (tools/browser/tool.py), read here as the element's identity.
_ELEMENT_PROBE = "browser.hover"


def expects_element(step: ToolStep) -> bool:
    """Whether `step` names a browser element, so that an ``expect`` can be checked."""
    element = step.args.get("element")
    return step.tool.startswith("browser.") and isinstance(element, int) and element >= 1


def _unexpected_element(
    registry: Registry, item: ToolStep, args: dict[str, Any]
) -> ToolResult | None:
    """A failure when the step's element is not (or no longer) the one it expects."""
    expected = parse_expect(item.expect) if item.expect is not None else None
    probe = registry.get(_ELEMENT_PROBE)
    if expected is None or probe is None:
        return None
    element = args.get("element")
    try:
        scope = probe.effect(probe.args.model_validate({"element": element})).scope
    except ValidationError:
        return None  # the executor reports bad args the usual way
    except ToolFailure as failure:
        return ToolResult.failure(failure.kind, failure.message)
    found = scope.partition(" ")[2]
    seen = parse_expect(found)
    role, name = expected
    if seen is not None and seen[0] == role and seen[1] == name[:60]:
        return None
    return ToolResult.failure(
        "unexpected_element",
        f"element {element} is {found or 'not there'}, not the expected {item.expect}; "
        "the page changed, so nothing was done",
    )


def _recover(
    plan: TaskRun,
    progress: _Progress,
    executor: Executor,
    journal: Journal,
    item: ToolStep,
    n: int,
    result: ToolResult,
) -> Generator[Event, None, _End | None]:
    """After fixed step `n` failed: the model stands in for it (None: carry on) or the
    run ends. A denial never falls back: the model would be refused the same."""
    idx = progress.last_step
    failure = f"step {n} ({item.tool}) failed: {result.output}"
    detail = {"step": n, "tool": item.tool, "kind": result.kind, "error": result.output}
    if plan.on_step_failure != "agent" or result.kind == "denied":
        why = "denied" if result.kind == "denied" else "on_step_failure is stop"
        journal.record_event(progress.run_id, "step_failed", {**detail, "why": why}, step_idx=idx)
        return _End("failed", failure)
    spec = plan.registry.get(item.tool)
    description = spec.description if spec is not None else item.tool
    goal = fallback_goal(plan.task.name, item, description)
    journal.record_event(progress.run_id, "step_fallback", {**detail, "goal": goal}, step_idx=idx)
    context = f"The step failed: {result.kind}: {result.output}\n\n{plan.context()}"
    segment = yield from _agent(
        plan,
        progress,
        executor,
        journal,
        goal,
        FALLBACK_MAX_STEPS,
        fallback_for=idx,
        context=context,
    )
    if segment.outcome == "success":
        return None
    return _End(segment.outcome, f"{failure}; the model could not do it instead: {segment.message}")


def _agent(
    plan: TaskRun,
    progress: _Progress,
    executor: Executor,
    journal: Journal,
    goal: str,
    max_steps: int | None,
    *,
    fallback_for: int | None = None,
    context: str | None = None,
) -> Generator[Event, None, Segment]:
    """Hand `goal` to the model for at most `max_steps` (and what the run has left)."""
    left = plan.limits.max_steps - progress.last_step
    budget = min(max_steps or left, left)
    first = progress.last_step + 1
    if budget <= 0:
        return Segment("failed", f"step budget of {plan.limits.max_steps} used up", first - 1, 0)
    yield SubgoalStarted(progress.run_id, first, goal, budget, fallback_for)
    if progress.router is None:
        if plan.open_model is None:
            message = f"this step needs a model, and there is none: {plan.model_name}"
            return Segment("error", message, first - 1, 0)
        try:
            progress.router = plan.open_model()
        except ModelError as exc:
            return Segment("error", f"cannot open model {plan.model_name}: {exc}", first - 1, 0)
    transcript = Transcript.start(
        plan.registry, goal, plan.context() if context is None else context
    )
    segment = yield from model_steps(
        transcript,
        plan.registry,
        progress.router,
        executor,
        journal,
        progress.run_id,
        stop=plan.stop,
        limits=plan.limits,
        started=progress.started,
        first_step=first,
        budget=budget,
    )
    progress.last_step = segment.last_step
    return segment


def _task_json(plan: TaskRun) -> str:
    task = plan.task
    return json.dumps(
        {
            "task_file": plan.source,
            "name": task.name,
            "goal": task.goal,
            "steps": [s.model_dump() for s in task.steps] if task.steps else None,
            "inputs": dict(task.input_values),
            "workspace": [str(p) for p in plan.roots],
            "grants": [[r.capability, r.scope, r.decision] for r in plan.rules],
            "limits": {"max_steps": plan.limits.max_steps, "max_seconds": plan.limits.max_seconds},
            "on_step_failure": plan.on_step_failure,
            "model": plan.model_name,
        },
        ensure_ascii=False,
    )


def fallback_goal(task_name: str, step: ToolStep, description: str) -> str:
    """The sub-goal that stands in for a failed fixed step: what the step was for."""
    args = json.dumps(step.args, ensure_ascii=False)
    return templates.render(
        "fallback.j2",
        task=task_name,
        description=description.rstrip("."),
        tool=step.tool,
        args=args,
    )


__all__ = ["FALLBACK_MAX_STEPS", "StepFailure", "TaskRun", "fallback_goal", "run_task"]
