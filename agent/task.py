"""`Task`: what a run for one plain goal is asked to do, and `Limits`: within which bounds.

``deskhand run "goal"`` (app/cli.py) and the palette (app/qt/worker.py) build a Task and
hand it to `agent.loop.run`, which only reads it. A task file is not a Task: it is loaded
by agent/taskfile/ and run as an `agent.taskrun.TaskRun`, which takes the same
`Limits`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.policy import Rule


@dataclass(frozen=True, slots=True)
class Limits:
    max_steps: int = 12
    max_seconds: float = 600.0
    #: Token budget of one model reply.
    max_reply_tokens: int = 256


@dataclass(frozen=True, slots=True)
class Task:
    goal: str
    workspace: tuple[Path, ...]
    #: Extra permission rules for this run (from --allow, a task file's grants).
    grants: tuple[Rule, ...] = ()
    limits: Limits = field(default_factory=Limits)
    #: Tool names this task may use; None means every registered tool.
    tools: tuple[str, ...] | None = None
    #: A first observation for the model (for example the workspace listing).
    context: str = ""
    #: Send every step to the remote model (the task asks for it).
    prefer_remote: bool = False
    #: The user's past runs shown as worked examples (agent/experience.py `recall`).
    examples: tuple[dict[str, Any], ...] = ()
