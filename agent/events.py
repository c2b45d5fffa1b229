"""The events a run yields, in order. Frozen values: the CLI prints them, the Qt app turns
them into signals, tests assert on them. The journal is written by the engine itself,
not by consumers of these events, so a run is recorded whoever watches it.

A run yields: RunStarted, [ExperienceUsed], then per step StepStarted, ActionProposed,
[ApprovalNeeded, ApprovalAnswered], ActionFinished (and ModelSwitched whenever the router
changes model), and finally RunFinished, also when the run failed or the user stopped it.
Two endings yield no RunFinished: the consumer closing the generator, and an error in our
own code (which propagates); both are still journaled as the run's outcome.

A task-file run (agent/taskrun.py) is one run too: its fixed steps yield the same step
events with an empty model id; SubgoalStarted marks where the model takes over (an
`agent:` step, the task's goal, or a fallback for a fixed step that failed); and
ChecksFinished comes just before RunFinished when the task has checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from agent.checks import CheckResult
from models.base import Usage
from tools.base import Effect, ToolResult

Outcome = Literal["success", "failed", "stopped", "error"]


@dataclass(frozen=True, slots=True)
class RunStarted:
    run_id: str
    goal: str
    model_id: str
    workspace: str
    tools: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExperienceUsed:
    """Past runs of the user's were given to the model as worked examples (right after
    RunStarted; agent/experience.py)."""

    run_id: str
    runs: tuple[str, ...]
    goals: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StepStarted:
    run_id: str
    step: int


@dataclass(frozen=True, slots=True)
class ActionProposed:
    run_id: str
    step: int
    thought: str
    tool: str
    args: dict[str, Any]
    model_id: str
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True)
class ApprovalNeeded:
    run_id: str
    step: int
    tool: str
    effect: Effect


@dataclass(frozen=True, slots=True)
class ApprovalAnswered:
    run_id: str
    step: int
    decision: Literal["allow", "deny"]
    source: str


@dataclass(frozen=True, slots=True)
class ActionFinished:
    run_id: str
    step: int
    tool: str
    result: ToolResult
    seconds: float


@dataclass(frozen=True, slots=True)
class ModelSwitched:
    run_id: str
    step: int
    from_model: str
    to_model: str
    reason: str


@dataclass(frozen=True, slots=True)
class SubgoalStarted:
    """The model takes over from `step` on, for at most `max_steps` steps."""

    run_id: str
    step: int
    goal: str
    max_steps: int
    #: The fixed step whose failure this stretch recovers from; None for a planned one.
    fallback_for: int | None = None


@dataclass(frozen=True, slots=True)
class ChecksFinished:
    run_id: str
    results: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


@dataclass(frozen=True, slots=True)
class RunFinished:
    run_id: str
    outcome: Outcome
    message: str
    steps: int
    seconds: float


Event = (
    RunStarted
    | ExperienceUsed
    | StepStarted
    | ActionProposed
    | ApprovalNeeded
    | ApprovalAnswered
    | ActionFinished
    | ModelSwitched
    | SubgoalStarted
    | ChecksFinished
    | RunFinished
)
