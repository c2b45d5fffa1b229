"""The earlier goal-run API, kept for callers not yet moved: each name here is a thin
wrapper over `agent.prepare` (`RunRequest`, `prepare_run`) and `agent.taskrun.run_task`,
so a goal prepared through it is prepared, run and journaled exactly as every other run.
New code uses `agent.prepare` directly; this module goes once its last caller has moved.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.approval import Approver
from agent.events import Event
from agent.journal import Journal
from agent.prepare import RunRequest, prepare_run
from agent.settings import Settings
from agent.taskrun import TaskRun, run_task
from models.base import ChatModel


@dataclass(frozen=True, slots=True)
class GoalRequest:
    """A plain goal as a person gave it (see `agent.prepare.RunRequest`)."""

    goal: str
    workspace: Sequence[Path] = ()
    grants: Sequence[str] = ()
    start_url: str | None = None
    attached: str = ""
    max_steps: int | None = None
    gui: bool = False
    memory: bool = True


@dataclass(frozen=True, slots=True)
class PreparedGoal:
    run: TaskRun
    journal: Journal

    def events(self) -> Iterator[Event]:
        return run_task(self.run, self.journal)

    def close(self) -> None:
        """Nothing to do: the run closes what it started when it ends."""


@dataclass(frozen=True, slots=True)
class GoalPlan:
    request: GoalRequest
    settings: Settings
    stop: threading.Event

    def prepare(self, *, model: ChatModel, journal: Journal, approver: Approver) -> PreparedGoal:
        r = self.request
        request = RunRequest(
            goal=r.goal,
            workspace=r.workspace,
            model=model,
            grants=r.grants,
            start_url=r.start_url,
            attached=r.attached,
            approver=approver,
            max_steps=r.max_steps,
            gui=r.gui,
            memory=r.memory,
        )
        return PreparedGoal(prepare_run(request, self.settings, self.stop), journal)


def plan_goal(request: GoalRequest, settings: Settings, stop: threading.Event) -> GoalPlan:
    return GoalPlan(request, settings, stop)
