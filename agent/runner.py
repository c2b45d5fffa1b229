"""Running task files to a report: the way the CLI, the inbox and the tray run one.

`run_task_path` loads a task file, prepares its run (`agent.prepare.prepare_run`, which
checks everything that can be checked first), runs it (`agent.taskrun.run_task`, the one
run lifecycle) in a journal of its own, and returns a `TaskReport`; `drive` sums up the
events of any prepared run as a report; `unattended` is the watched inbox's way in.

Invariants:
- When anything fails before the run (`TaskFileError`, `BadInput`), nothing runs and no
  journal row is written.
- Whatever would still ask the policy goes to the approver, which is `AlwaysDeny`
  (unattended) unless the caller passes another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent import assemble
from agent.approval import AlwaysDeny, Approver
from agent.assemble import BadInput
from agent.checks import CheckResult
from agent.events import ChecksFinished, Event, RunFinished, RunStarted
from agent.journal import Journal
from agent.policy import BadGrant, Rule, parse_grant
from agent.preflight import SECRET_ARGS, check_steps, task_tools
from agent.prepare import RunRequest, prepare_run
from agent.settings import Settings
from agent.taskfile import load_task_file
from agent.taskrun import StepFailure, run_task
from models.base import ChatModel

log = logging.getLogger(__name__)


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


def run_task_path(
    path: Path,
    *,
    settings: Settings,
    workspace: Sequence[Path] = (),
    overrides: Mapping[str, str] | None = None,
    approver: Approver | None = None,
    stop: threading.Event | None = None,
    on_event: Callable[[Event], None] | None = None,
    model: str | ChatModel | None = None,
    grants: Sequence[str] = (),
    max_steps: int | None = None,
    on_step_failure: StepFailure | None = None,
    only_declared: bool = False,
    unattended_allow: Sequence[Rule] | None = None,
) -> TaskReport:
    """Load, check and run one task file; call `on_event` with each event as it happens.
    `model`: a name, or an open model the caller keeps (`RunRequest.model`).

    With `only_declared`, `overrides` the task does not declare as inputs are ignored
    (the inbox's ``--set`` applies to every task that takes that input).

    Raises TaskFileError (the file) or BadInput (anything else the caller gave) before
    anything runs. A bug propagates after the run is journaled as an error.
    """
    task = load_task_file(path, overrides, only_declared=only_declared)
    request = RunRequest(
        task_file=task,
        source=str(path),
        workspace=workspace,
        model=model,
        grants=grants,
        approver=approver,
        max_steps=max_steps,
        on_step_failure=on_step_failure,
        unattended_allow=unattended_allow,
    )
    plan = prepare_run(request, settings, stop)
    with assemble.open_journal(settings) as journal:
        return drive(run_task(plan, journal), journal, on_event)


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


__all__ = [
    "SECRET_ARGS",
    "TaskReport",
    "check_steps",
    "drive",
    "run_task_path",
    "task_tools",
    "unattended",
]
