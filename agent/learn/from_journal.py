"""Training examples from the journal: any journaled run, as the curriculum exports them.

The journal keeps every model step exactly (agent/journal/trajectory.py), so a run the
user made (a success, a corrected run) becomes training data the same way a curriculum
run does: its steps as `Exchange`s in a `Trajectory`, exported by `chat_lines` /
`write_jsonl` into the one chat-record format `models.train.examples` reads.

Invariants:
- An example's messages and reply are the journal's rebuild, which is byte for byte what
  the model was given and returned (or `BrokenTrajectory`); nothing is re-rendered.
- The record format is `agent.learn.trajectory`'s; this module adds a source, not a format.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agent.journal import Journal, UnknownRun
from agent.journal import Trajectory as Journaled
from agent.learn.teacher import Exchange
from agent.learn.trajectory import Trajectory, chat_lines


def exchanges(journaled: Journaled) -> tuple[Exchange, ...]:
    """The run's model steps as the exchanges a teacher records: messages, then reply."""
    return tuple(Exchange(step.messages, step.reply) for step in journaled.steps)


def from_journal(
    journal: Journal, run_id: str, *, template: str = "journal", family: str = "", seed: int = 0
) -> Trajectory:
    """The journaled run `run_id` as a trajectory; `template` labels its examples (the
    unit of the held-out split). Raises `UnknownRun`, or `BrokenTrajectory`."""
    run = journal.run_record(run_id)
    if run is None:
        raise UnknownRun(f"no run with id {run_id!r}")
    steps = exchanges(journal.trajectory(run_id))
    return Trajectory(template, family, seed, run.goal, steps, run.message)


def chat_records(
    journal: Journal, run_id: str, *, template: str = "journal"
) -> Iterator[dict[str, Any]]:
    """One chat record per model step of the run, as `write_jsonl` writes them."""
    yield from chat_lines(from_journal(journal, run_id, template=template))
