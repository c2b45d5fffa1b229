"""Judging a task's checks outside a whole run: they act only through an executor (the
one chokepoint), so a test gives them one, journaling into a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from agent.approval import AlwaysDeny
from agent.executor import Executor
from agent.journal import Journal
from agent.policy import Policy
from tools.registry import Registry


def check_actor(root: Path, policy: Policy) -> Executor:
    """An executor under `policy` for a run in workspace `root`, journaled beside it."""
    journal = Journal(root.parent / f"{root.name}-checks.sqlite")
    run_id = journal.start_run(goal="judge checks", workspace=str(root), model_id="none")
    return Executor(Registry([]), policy, AlwaysDeny(), journal, run_id)
