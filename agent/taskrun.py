"""The one run lifecycle: every run, a plain goal or a task file, starts, is driven, halts
and finishes here (`run_task`), from a `TaskRun` that `agent.prepare.prepare_run` built.

A plain goal is a run with one model-driven step: the model gets the goal (and the start
page, the workspace, attached text and the user's past runs as context) until it calls
`finish` or a budget runs out. A task file's fixed steps (``tool:``) go through the
`Executor` like any model action, so the permission policy, approvals, timeouts and the
journal treat them alike; they need no model and are journaled with an empty model id.
``agent:`` steps and a task's ``goal`` hand a sub-goal to the model
(`agent.loop.model_steps`) with their own step budget (announced by `SubgoalStarted`).
When a fixed step fails and the run allows it (``on_step_failure: agent``), the model
gets that step's intent as a sub-goal (rendered from prompts/fallback.j2; the error and
the workspace listing go in as data), and the journal gets a ``step_fallback`` event;
otherwise the steps stop there (``step_failed``). Then the task's checks, when it has
any, decide the outcome.

Invariants:
- Every run writes the same run-row fields: the goal, the workspace, the model's backend
  id (``none`` for a run that starts without one), `task_json` (a goal run's includes its
  context), the prompt template's hash and the tools' hash. The start page, when there is
  one, is journaled right after the run starts (``start_page``).
- A run that plans to use the model (a goal, an ``agent:`` step) opens it when it starts,
  on the thread that iterates the run; one that may need it only for a fallback opens it
  then; a run of fixed steps never loads one. The run closes what it opened (not a model
  the caller keeps), and a model that cannot open is the run's error.
- A denied fixed step never falls back to the model: the model would be refused the same.
  One that failed because the user stopped the run (the shell command killed) ends the
  run as stopped, not failed.
- The outcome, the check results and how many steps were replayed (fixed) and how many
  the model chose are journaled also when the consumer stops iterating early.
  `RunFinished` is always the last event; `ChecksFinished` comes just before it.
- Every step of the run, fixed or not, counts against the run's step budget.
- The run's own tools (`assemble.RunTools`: the browser, the shell) serve its steps and
  its checks and are closed when the run ends, however it ends, on the thread that
  iterated it.
- A fixed browser step with ``expect: ROLE "NAME"`` acts only when its element is that
  element now (`agent.element_guard`, checked by the executor before anything runs);
  otherwise it is a failed step (``unexpected_element``, journaled, nothing done).
- ``{{ outputs.NAME }}`` in a fixed step's args is replaced just before the step runs by
  the output of the fixed step saved as NAME; when that step failed (or the model stood
  in for it) there is no output and the run stops there with a clear failure.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent import experience, templates
from agent.checks import CheckResult, evaluate_checks
from agent.element_guard import unexpected_element
from agent.events import (
    ActionFinished,
    ActionProposed,
    ChecksFinished,
    Event,
    ExperienceUsed,
    Outcome,
    RunFinished,
    RunStarted,
    StepStarted,
    SubgoalStarted,
)
from agent.executor import Executor, ModelTrace, Proposal
from agent.journal import Journal
from agent.loop import Segment, model_steps
from agent.policy import Policy
from agent.prepare import FALLBACK_MAX_STEPS, StepFailure, TaskRun
from agent.prompt import FULL, Transcript, style_of
from agent.taskfile import AgentStep, ToolStep
from models.base import ModelError, Usage
from models.router import ModelRouter
from tools import placeholders
from tools.base import ToolResult
from tools.paths import Workspace

log = logging.getLogger(__name__)

#: The journal event naming the page a run started on (``deskhand save`` opens it first).
START_PAGE_EVENT = "start_page"


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
    #: The user's past runs shown to the model with a plain goal.
    examples: tuple[experience.Example, ...] = ()


@dataclass(frozen=True, slots=True)
class _End:
    outcome: Outcome
    message: str


def run_task(plan: TaskRun, journal: Journal) -> Generator[Event, None, None]:
    """Run a prepared run as one journaled run, yielding its events."""
    progress = _Progress("", time.monotonic())
    try:
        end: _End | None = _open_planned_model(plan, progress)
        progress.examples = _recall(plan, journal)
        run_id = progress.run_id = _start(plan, progress, journal)
    except BaseException:
        _close(plan, progress)
        raise
    checks: tuple[CheckResult, ...] = ()
    try:
        model_id = progress.router.model_id if progress.router is not None else "none"
        names = tuple(plan.registry.names())
        yield RunStarted(run_id, plan.goal, model_id, str(plan.roots[0]), names)
        yield from _announce(progress, journal)
        executor = Executor(plan.registry, _policy(plan), plan.approver, journal, run_id)
        if end is None:
            end = yield from _steps(plan, progress, executor, journal)
        if plan.task is not None and plan.task.checks and end.outcome in ("success", "failed"):
            checks = evaluate_checks(
                plan.task.checks,
                Workspace(plan.roots),
                executor,
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
        _finish(plan, progress, journal, end, checks)
    if checks:
        yield ChecksFinished(run_id, checks)
    seconds = time.monotonic() - progress.started
    assert end is not None
    yield RunFinished(run_id, end.outcome, end.message, progress.last_step, seconds)


def _policy(plan: TaskRun) -> Policy:
    return Policy.for_workspace(plan.roots, plan.rules)


def _start(plan: TaskRun, progress: _Progress, journal: Journal) -> str:
    """Journal the run's start (the same fields for every kind of run), and its start page."""
    router = progress.router
    style = style_of(router) if router is not None else FULL
    system = Transcript.start(plan.registry, plan.goal, "", style)
    run_id = journal.start_run(
        goal=plan.goal,
        workspace=str(plan.roots[0]),
        model_id=router.model_id if router is not None else "none",
        task_json=plan.task_json(),
        prompt_hash=system.template_hash(),
        tools_hash=plan.registry.fingerprint(),
    )
    if plan.start_url is not None:
        journal.record_event(run_id, START_PAGE_EVENT, {"url": plan.start_url})
    return run_id


def _finish(
    plan: TaskRun,
    progress: _Progress,
    journal: Journal,
    end: _End | None,
    checks: Sequence[CheckResult],
) -> None:
    """Journal how the run ended, then close what it started, whatever happens."""
    end = end or _End("error", "the run ended unexpectedly")
    try:
        journal.set_step_sources(progress.run_id, replayed=progress.replayed)
        journal.finish_run(
            progress.run_id,
            outcome=end.outcome,
            message=end.message,
            checks=[c.to_json() for c in checks],
        )
    finally:
        _close(plan, progress)


def _close(plan: TaskRun, progress: _Progress) -> None:
    """Close what the run started: its tools, and the model it opened."""
    try:
        plan.tools.close()
    finally:
        if progress.router is not None and plan.owns_model:
            progress.router.close()


def _open_planned_model(plan: TaskRun, progress: _Progress) -> _End | None:
    """Open the model now when the run plans to use it; the error when it cannot."""
    task = plan.task
    planned = task is None or task.goal is not None
    planned = planned or any(isinstance(s, AgentStep) for s in (task.steps if task else ()) or ())
    if not planned:
        return None
    problem = _open_model(plan, progress)
    return None if problem is None else _End("error", problem)


def _open_model(plan: TaskRun, progress: _Progress) -> str | None:
    """Open the run's model unless it is open; why it cannot be, if it cannot."""
    if progress.router is not None:
        return None
    if plan.open_model is None:
        return f"this step needs a model, and there is none: {plan.model_name}"
    try:
        progress.router = plan.open_model()
    except ModelError as exc:
        return f"cannot open model {plan.model_name}: {exc}"
    return None


def _recall(plan: TaskRun, journal: Journal) -> tuple[experience.Example, ...]:
    """The user's past runs most like a plain goal's, as worked examples."""
    if plan.task is not None or plan.examples or plan.recall <= 0:
        return plan.examples
    return experience.recall(
        journal,
        plan.goal,
        plan.registry,
        workspace=plan.roots[0],
        start_url=plan.start_url,
        limit=plan.recall,
    )


def _announce(progress: _Progress, journal: Journal) -> Generator[Event, None, None]:
    """Journal and say which past runs the model is shown (right after `RunStarted`)."""
    if not progress.examples:
        return
    runs = tuple(str(e["run_id"]) for e in progress.examples)
    goals = tuple(str(e["goal"]) for e in progress.examples)
    journal.record_event(
        progress.run_id, experience.USED_EVENT, {"runs": list(runs), "goals": list(goals)}
    )
    yield ExperienceUsed(progress.run_id, runs, goals)


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
    if task is None:  # a plain goal: one stretch of model steps, announced by nothing
        segment = yield from _agent(plan, progress, executor, journal, plan.goal, None, plain=True)
        return _End(segment.outcome, segment.message)
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
        end = yield from _tool_step(plan, progress, executor, journal, item, n)
        if end is not None:
            return end
    return _End("success", message)


def _tool_step(
    plan: TaskRun,
    progress: _Progress,
    executor: Executor,
    journal: Journal,
    item: ToolStep,
    n: int,
) -> Generator[Event, None, _End | None]:
    """Fixed step `n`, its output saved, its failure recovered from; how the run ends
    there, or None to carry on."""
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
    result = yield from _fixed(plan, progress, executor, item, n, args)
    if result.ok and item.save_as:
        progress.outputs[item.save_as] = result.output
    if result.finish:
        return _End("success", result.output)
    if not result.ok and plan.stop.is_set():  # cut short because the user stopped the run
        return _End("stopped", "stopped by the user")
    if not result.ok:
        return (yield from _recover(plan, progress, executor, journal, item, n, result))
    return None


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
    expect = item.expect

    def guard() -> ToolResult | None:
        return None if expect is None else unexpected_element(plan.registry, expect, args)

    proposal = Proposal(thought, item.tool, args)
    result = yield from executor.execute(idx, proposal, ModelTrace(), guard=guard)
    yield ActionFinished(run_id, idx, item.tool, result, time.perf_counter() - started)
    return result


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
    goal = fallback_goal(plan.task.name if plan.task else plan.goal, item, description)
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
    plain: bool = False,
) -> Generator[Event, None, Segment]:
    """Hand `goal` to the model for at most `max_steps` (and what the run has left). A
    `plain` goal's stretch is the whole run: it is not announced as a sub-goal."""
    left = plan.limits.max_steps - progress.last_step
    budget = min(max_steps or left, left)
    first = progress.last_step + 1
    if budget <= 0:
        return Segment("failed", f"step budget of {plan.limits.max_steps} used up", first - 1, 0)
    if not plain:
        yield SubgoalStarted(progress.run_id, first, goal, budget, fallback_for)
    problem = _open_model(plan, progress)
    if problem is not None or progress.router is None:
        return Segment("error", problem or "no model", first - 1, 0)
    transcript = Transcript.start(
        plan.registry,
        goal,
        plan.context() if context is None else context,
        style_of(progress.router),
        examples=progress.examples if plain else (),
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


__all__ = [
    "FALLBACK_MAX_STEPS",
    "START_PAGE_EVENT",
    "StepFailure",
    "TaskRun",
    "fallback_goal",
    "run_task",
]
