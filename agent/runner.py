"""Running task files: the entry point every way in (CLI, inbox, tray) calls.

`run_task_path` loads a task file, checks it, runs it as one journaled run
(agent/taskrun.py) and returns a `TaskReport`. `prepare` does the checking part for
callers that drive the events themselves.

Invariants:
- Everything that can be checked before the run is checked before the run: the file
  (`TaskFileError`), each fixed step's tool and arguments against the registry
  (`TaskFileError`, with the step's field), the workspace, grants and model name
  (`BadInput`). When any of these fails nothing runs and no journal row is written.
- The task's ``permissions`` become policy rules ahead of the configured ones and the
  defaults (like ``--allow``); whatever would still ask goes to the approver, which is
  `AlwaysDeny` (unattended) unless the caller passes another.
- A task that plans to use the model (a goal, an ``agent:`` step) or names one must
  resolve it up front; a model wanted only for a possible fallback may be missing, and
  that fallback then fails with the reason.
- A run gets the tools its task uses (`task_tools`): the browser for a fixed
  ``browser.*`` step, a ``page_contains`` check or a granted ``browser.*`` capability;
  the shell when ``shell.exec`` is granted; the GUI tool for a fixed ``gui.*`` step or a
  granted ``gui.input``/``screen.capture`` (`BadInput` in one line without an X
  display). Its browser and GUI tool may type only the secrets the task declares; the
  browser is closed when the run ends (agent/taskrun.py).
- A secret placeholder is accepted only where a tool resolves it at the moment of use
  (`SECRET_ARGS`); anywhere else it would be used as the literal text, so it is refused.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent import assemble
from agent.approval import AlwaysDeny, Approver
from agent.assemble import BadInput
from agent.checks import CheckResult
from agent.events import ChecksFinished, Event, RunFinished, RunStarted
from agent.journal import Journal
from agent.policy import BadGrant, Rule, parse_grant
from agent.settings import Settings
from agent.task import Limits
from agent.taskfile import (
    AgentStep,
    PageContains,
    Problem,
    TaskFile,
    TaskFileError,
    ToolStep,
    load_task_file,
)
from agent.taskrun import FALLBACK_MAX_STEPS, StepFailure, TaskRun, expects_element, run_task
from models.router import ModelRouter
from tools import placeholders
from tools.registry import Registry

log = logging.getLogger(__name__)

#: The arguments in which a tool resolves secret placeholders itself, at the moment of use
#: (tools/placeholders.py); the value never reaches the journal or the model.
SECRET_ARGS = {"browser.type": "text", "gui.type": "text"}


@dataclass(frozen=True)
class TaskReport:
    """What one run of a task file came to (the inbox writes it as ``NAME.result.json``)."""

    outcome: str  # "success" | "failed" | "stopped" | "error"
    message: str
    run_id: str | None
    checks: tuple[CheckResult, ...]
    replayed_steps: int
    model_steps: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "message": self.message,
            "run_id": self.run_id,
            "checks": [c.to_json() for c in self.checks],
            "replayed_steps": self.replayed_steps,
            "model_steps": self.model_steps,
            "seconds": round(self.seconds, 3),
        }


def prepare(
    task: TaskFile,
    *,
    source: str,
    settings: Settings,
    workspace: Sequence[Path] = (),
    approver: Approver | None = None,
    stop: threading.Event | None = None,
    model: str | None = None,
    grants: Sequence[str] = (),
    max_steps: int | None = None,
    on_step_failure: StepFailure | None = None,
    loaded: ModelRouter | None = None,
    unattended_allow: Sequence[Rule] | None = None,
) -> TaskRun:
    """Check everything that can be checked before the run; raise TaskFileError or BadInput.

    `loaded`: the caller's open router for the configured default model (the tray app
    keeps one loaded). A task that would open that same model uses it instead of loading
    a second copy, and leaves it open.
    `unattended_allow`: for a file nobody is there to watch (the inbox), what its
    permissions may grant beyond files in the workspace (`refuse_beyond`)."""
    roots = assemble.workspace_roots(settings, workspace)
    task_rules = task.grants(roots)
    if unattended_allow is not None:
        refuse_beyond(task_rules, unattended_allow)
    rules = assemble.permission_rules(settings, grants, roots, task_rules)
    stop = stop if stop is not None else threading.Event()
    tools = task_tools(task, settings, roots, rules, stop=stop)
    registry = tools.registry(settings, roots)
    check_steps(task, registry, source)
    failure: StepFailure = on_step_failure or task.on_step_failure
    open_model, model_name = _model(settings, task, model, fallback=failure == "agent")
    reuse = loaded is not None and open_model is not None and _is_default(settings, model_name)
    if loaded is not None and reuse:
        kept = loaded
        open_model = lambda: kept  # noqa: E731

    def context() -> str:
        return assemble.workspace_context(settings, roots)

    budget = default_max_steps(task, settings.max_steps)
    if failure == "agent":
        budget += FALLBACK_MAX_STEPS  # room for the model to stand in for one failed step
    limits = Limits(
        max_steps=max_steps or task.limits.max_steps or budget,
        max_seconds=task.limits.max_seconds or settings.max_seconds,
    )
    return TaskRun(
        task=task,
        source=source,
        roots=roots,
        registry=registry,
        rules=rules,
        limits=limits,
        approver=approver or AlwaysDeny(),
        open_model=open_model,
        model_name=model_name,
        context=context,
        on_step_failure=failure,
        stop=stop,
        tools=tools,
        owns_model=not reuse,
    )


def _is_default(settings: Settings, name: str) -> bool:
    try:
        return assemble.resolve_model(settings, None).name == name
    except assemble.BadInput:
        return False


def task_tools(
    task: TaskFile,
    settings: Settings,
    roots: Sequence[Path],
    rules: Sequence[Rule],
    *,
    stop: threading.Event | None = None,
) -> assemble.RunTools:
    """The tools a run of `task` gets beyond the file tool (nothing starts here)."""
    fixed = [s.tool for s in task.steps or () if isinstance(s, ToolStep)]
    uses_browser = any(t.startswith("browser.") for t in fixed) or any(
        isinstance(c, PageContains) for c in task.checks
    )
    gui = None
    if any(t.startswith("gui.") for t in fixed) or assemble.wants_gui(task.grants(roots)):
        gui = assemble.gui_tool(settings, stop, secrets=task.secrets)  # BadInput: no display
    return assemble.run_tools(
        settings,
        roots,
        rules,
        goal=task.goal or task.name,
        browser=uses_browser,
        gui=gui,
        stop=stop,
        secrets=task.secrets,
    )


def _model(
    settings: Settings, task: TaskFile, name: str | None, *, fallback: bool
) -> tuple[Callable[[], ModelRouter] | None, str]:
    """The model opener, resolved now so a bad name is bad input before anything runs.

    A model named by the caller or the file, or one the steps plan to use, must resolve;
    one wanted only for a possible fallback may be missing (that fallback then fails).
    """
    planned = task.goal is not None or any(isinstance(s, AgentStep) for s in task.steps or ())
    chosen = name or task.model
    if not (planned or chosen or fallback):
        return None, "none"
    try:
        entry = assemble.resolve_model(settings, chosen)
    except assemble.BadInput as exc:
        if planned or chosen:
            raise
        return None, f"none ({exc})"
    return (lambda: assemble.open_router(settings, entry)), entry.name


def run_task_path(
    path: Path,
    *,
    settings: Settings,
    workspace: Sequence[Path] = (),
    overrides: Mapping[str, str] | None = None,
    approver: Approver | None = None,
    stop: threading.Event | None = None,
    on_event: Callable[[Event], None] | None = None,
    model: str | None = None,
    grants: Sequence[str] = (),
    max_steps: int | None = None,
    on_step_failure: StepFailure | None = None,
    only_declared: bool = False,
    unattended_allow: Sequence[Rule] | None = None,
) -> TaskReport:
    """Load, check and run one task file; call `on_event` with each event as it happens.

    With `only_declared`, `overrides` the task does not declare as inputs are ignored
    (the inbox's ``--set`` applies to every task that takes that input).

    Raises TaskFileError (the file) or BadInput (anything else the caller gave) before
    anything runs. A bug propagates after the run is journaled as an error.
    """
    task = load_task_file(path, overrides, only_declared=only_declared)
    plan = prepare(
        task,
        source=str(path),
        settings=settings,
        workspace=workspace,
        approver=approver,
        stop=stop,
        model=model,
        grants=grants,
        max_steps=max_steps,
        on_step_failure=on_step_failure,
        unattended_allow=unattended_allow,
    )
    with assemble.open_journal(settings) as journal:
        return drive(run_task(plan, journal), journal, on_event)


def refuse_beyond(task_rules: Sequence[Rule], allowed: Sequence[Rule]) -> None:
    """Raise BadInput when a task file nobody watches grants itself more than files in
    its workspace and what `allowed` (the watcher's ``--allow``) covers: the shell, a
    site, the screen are the user's to hand out, not a dropped file's to take."""
    for rule in task_rules:
        if rule.decision != "allow" or rule.capability in _FILE_CAPABILITIES:
            continue
        if any(_covers(a, rule) for a in allowed):
            continue
        grant = f"{rule.capability}:{rule.scope}"
        raise BadInput(
            f"this inbox does not allow {grant} (start the watcher with --allow '{grant}')"
        )


#: What an unattended task may always grant itself: files, confined to its workspace.
_FILE_CAPABILITIES = ("fs.read", "fs.write", "fs.delete", "fs.*")


def _covers(allowed: Rule, rule: Rule) -> bool:
    return fnmatch.fnmatchcase(rule.capability, allowed.capability) and fnmatch.fnmatchcase(
        rule.scope, allowed.scope
    )


def unattended(
    settings: Settings,
    roots: Sequence[Path],
    inputs: Mapping[str, str] | None = None,
    *,
    allow: Sequence[str] = (),
    before: Callable[[], None] | None = None,
) -> Callable[..., TaskReport]:
    """The watched inbox's way to run a task file (an `agent.inbox.RunTask`): nobody to
    ask, so whatever the file's permissions do not grant is denied; a file that grants
    itself more than files in the workspace and what `allow` (grant strings, as
    ``--allow``; plus the configured ``watch_allow``) covers is refused; `inputs` go to
    the tasks that declare them. `before` runs first on the inbox's thread (the tray app
    lowers that thread's priority). Raises BadInput for a bad `allow`."""
    texts = (*settings.watch_allow, *allow)
    try:
        allowed = tuple(parse_grant(t, roots) for t in texts)
    except BadGrant as exc:
        raise BadInput(str(exc)) from exc

    def run(path: Path, *, stop: threading.Event, on_event: Callable[[Event], None]) -> TaskReport:
        if before is not None:
            before()
        return run_task_path(
            path,
            settings=settings,
            workspace=roots,
            overrides=inputs,
            only_declared=True,
            approver=AlwaysDeny(),
            stop=stop,
            on_event=on_event,
            unattended_allow=allowed,
        )

    return run


def drive(
    events: Generator[Event, None, None],
    journal: Journal,
    on_event: Callable[[Event], None] | None = None,
) -> TaskReport:
    """Run a task's events to the end and sum them up as a report.

    If `on_event` raises, the run is closed (and journaled as stopped) before the
    exception propagates, while `journal` is still open."""
    run_id: str | None = None
    checks: tuple[CheckResult, ...] = ()
    finished: RunFinished | None = None
    try:
        for event in events:
            if on_event is not None:
                on_event(event)
            if isinstance(event, RunStarted):
                run_id = event.run_id
            elif isinstance(event, ChecksFinished):
                checks = event.results
            elif isinstance(event, RunFinished):
                finished = event
    finally:
        events.close()
    row = journal.run(run_id) if run_id else None
    if finished is None or row is None:  # the consumer of `events` stopped it early
        return TaskReport("stopped", "the run was not driven to its end", run_id, (), 0, 0, 0.0)
    return TaskReport(
        outcome=finished.outcome,
        message=finished.message,
        run_id=run_id,
        checks=checks,
        replayed_steps=int(row["replayed_steps"]),
        model_steps=int(row["model_steps"]),
        seconds=finished.seconds,
    )


def check_steps(task: TaskFile, registry: Registry, source: str) -> None:
    """Each fixed step names a registered tool and gives it valid arguments."""
    problems: list[Problem] = []
    for i, step in enumerate(task.steps or ()):
        if not isinstance(step, ToolStep):
            continue
        spec = registry.get(step.tool)
        if spec is None:
            tools = ", ".join(registry.names())
            message = f"no tool {step.tool!r} (tools: {tools})"
            problems.append(Problem("schema", message, field=f"steps[{i}].tool"))
            continue
        misplaced = _misplaced_secret(step)
        if misplaced is not None:
            where = SECRET_ARGS.get(step.tool)
            hint = f" (only in {where!r} here)" if where else ""
            message = (
                f"a secret placeholder can only be typed by a tool that resolves it "
                f"({', '.join(f'{t} {a}' for t, a in SECRET_ARGS.items())}){hint}"
            )
            problems.append(Problem("placeholder", message, field=f"steps[{i}].args.{misplaced}"))
            continue
        if step.expect is not None and not expects_element(step):
            message = "expect works only on a browser step that names an element"
            problems.append(Problem("schema", message, field=f"steps[{i}].expect"))
            continue
        if placeholders.mentions(
            step.args, placeholders.INPUT
        ):  # inputs unfilled (validating without --set)
            continue
        try:
            # An output is text known only when the run gets there: judge the rest.
            spec.args.model_validate(_without_outputs(step.args))
        except ValidationError as exc:
            message = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'args'}: {e['msg']}"
                for e in exc.errors()[:3]
            )
            problems.append(Problem("schema", message, field=f"steps[{i}].args"))
    if problems:
        raise TaskFileError(source, problems)


def _misplaced_secret(step: ToolStep) -> str | None:
    """The first argument of `step` holding a secret placeholder its tool does not resolve."""
    for name, value in step.args.items():
        if placeholders.mentions(value, placeholders.SECRET) and SECRET_ARGS.get(step.tool) != name:
            return name
    return None


def _without_outputs(value: Any) -> Any:
    return placeholders.walk(value, lambda text, _path: placeholders.OUTPUT.sub("", text))


def default_max_steps(task: TaskFile, per_goal: int) -> int:
    """The step budget of a task without ``limits.max_steps``: one per fixed step, and
    each sub-goal's own budget (`per_goal` where it gives none)."""
    if task.goal is not None:
        return per_goal
    return sum(
        (s.max_steps or per_goal) if isinstance(s, AgentStep) else 1 for s in task.steps or ()
    )


__all__ = [
    "SECRET_ARGS",
    "TaskReport",
    "check_steps",
    "drive",
    "prepare",
    "run_task_path",
    "task_tools",
]
