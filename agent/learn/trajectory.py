"""Running a sample through the real engine with the teacher, and exporting what it saw.

`run_sample` builds the sample's fixture in a fresh temporary workspace, prepares the run
the way ``deskhand run GOAL`` does (the file tool and ``finish``, the permission rules of
the settings, the workspace listing as context, the settings' limits), runs the real
`agent.loop.run` with a `Teacher` behind `ModelRouter`, and then checks the end state.

Invariants:
- A trajectory is kept only when the run ended with ``finish``, every action's result
  was ok (a gold action that failed teaches failure), and the sample's own check passed.
- A kept trajectory's examples are exactly the teacher's exchanges: the messages the
  engine handed the model, byte for byte, and the reply.
- The JSONL export writes one line per model step; nothing is re-rendered on the way.
  A record says ``"memory": N`` (past runs shown) only when its trajectory was made
  with memory in play (agent/learn/memory.py), so data made without it is unchanged.
- Runs are journaled to the settings' journal like any run (pass settings with a
  scratch DESKHAND_HOME to keep generated runs out of a user's history).
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from agent import assemble
from agent.approval import AlwaysAllow
from agent.events import ActionFinished, RunFinished
from agent.learn.sample import Sample
from agent.learn.teacher import Exchange, Teacher
from agent.prompt import COMPACT, PromptStyle
from agent.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Trajectory:
    template: str
    family: str
    seed: int
    goal: str
    examples: tuple[Exchange, ...]
    #: The finish message the run ended with.
    message: str
    #: How many past runs retrieval showed the model (agent/learn/memory.py); None when
    #: memory was not in play (the record then says nothing about it).
    memory: int | None = None


def run_sample(
    sample: Sample, settings: Settings, prompt_style: PromptStyle = COMPACT
) -> Trajectory | None:
    """Run `sample` with its teacher; the trajectory if it passed, else None. The run
    shows the prompt of `prompt_style` (compact: what a deskhand adapter is trained on)."""
    if sample.start_page is not None:  # the browser family serves pages and opens one
        from agent.learn.browser_run import run_browser_sample

        return run_browser_sample(sample, settings, prompt_style)
    teacher = Teacher(sample.gold, prompt_style=prompt_style)
    with tempfile.TemporaryDirectory(prefix="deskhand-learn-") as tmp:
        ws = Path(tmp).resolve() / "workspace"
        ws.mkdir()
        sample.fixture.build(ws)
        outcome, message, all_ok = _run(sample, settings, ws, teacher)
        passed = outcome == "success" and all_ok and sample.check(ws, message)
    if not passed:
        log.debug("%s seed %d not kept: outcome %s", sample.template, sample.seed, outcome)
        return None
    examples = tuple(teacher.exchanges)
    return Trajectory(sample.template, sample.family, sample.seed, sample.goal, examples, message)


def _run(sample: Sample, settings: Settings, ws: Path, teacher: Teacher) -> tuple[str, str, bool]:
    """The teacher's run of `sample` in `ws`, prepared as every run is (`agent.prepare`)."""
    from agent.prepare import RunRequest, prepare_run
    from agent.taskrun import run_task

    request = RunRequest(
        goal=sample.goal,
        workspace=(ws,),
        model=teacher,
        approver=AlwaysAllow(),
        memory=False,  # past generated runs must not leak into the next prompt
    )
    journal = assemble.open_journal(settings)
    try:
        outcome, message, all_ok = "error", "", True
        for event in run_task(prepare_run(request, settings), journal):
            if isinstance(event, ActionFinished):
                all_ok = all_ok and event.result.ok
            elif isinstance(event, RunFinished):
                outcome, message = event.outcome, event.message
        return outcome, message, all_ok
    finally:
        journal.close()


def chat_lines(trajectory: Trajectory) -> Iterator[dict[str, Any]]:
    """One chat record per model step: the messages seen, then the reply."""
    for ex in trajectory.examples:
        messages = [{"role": m.role, "content": m.content} for m in ex.messages]
        messages.append({"role": "assistant", "content": ex.reply})
        record: dict[str, Any] = {
            "messages": messages,
            "template": trajectory.template,
            "seed": trajectory.seed,
        }
        if trajectory.memory is not None:
            record["memory"] = trajectory.memory
        yield record


def write_jsonl(trajectories: Iterable[Trajectory], out: IO[str]) -> int:
    """Write every step of every trajectory as one JSON line; returns the line count."""
    count = 0
    for trajectory in trajectories:
        for record in chat_lines(trajectory):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def split_by_template(
    templates: Collection[str], held_out: float, seed: int
) -> tuple[frozenset[str], frozenset[str]]:
    """(train, held-out) template ids: a whole template is either seen or unseen, so the
    held-out score measures new kinds of task, not new seeds of known ones."""
    ordered = sorted(templates)
    n_out = max(1, round(len(ordered) * held_out)) if held_out > 0 else 0
    out = frozenset(random.Random(seed).sample(ordered, n_out))
    return frozenset(ordered) - out, out
