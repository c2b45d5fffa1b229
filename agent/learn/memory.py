"""Memory samples: training prompts that hold past runs, exactly as retrieval shows them.

At run time a goal run is shown the user's past successful runs most like it as earlier
turns before its goal (agent/experience.py, agent/prompt.py `Transcript.start`). A model
tuned only on prompts without such turns answered ``finish`` at once when shown one, so
a share of the curriculum's samples is made with memory in play:

1. In a scratch data folder of the sample's own (a fresh journal), the teacher plays a
   *past* sample (`memory_pair`): one time in `SAME_TASK` the very same task asked in
   other words (both the sample and its past run are made `reworded`: the same names,
   files and answer), as a user asks again for what worked yesterday, so the model
   learns to do again what the past run did; otherwise another seed of the same
   template (new names, new wording), or one time in `OTHER_TEMPLATE` another template
   of the same family, so the model learns to read the example rather than copy its
   names (`past_sample`: one whose goal is worded alike enough for retrieval to
   consider it, as a user's past run it is shown would be).
2. The past sample's own end-state check judges that run, and its result is journaled
   with the run's outcome as a task file's checks are (agent/taskrun.py): the run may
   teach because its checks passed (`agent.journal.experience_index.usable`), never
   because a rating says so. A past run that fails its check is journaled as it is,
   and retrieval does not use it.
3. The sample itself runs with memory on, prepared by `agent.prepare` as every run is:
   the real retrieval picks what it picks, so the training prompt is byte for byte what
   the tuned model is shown at run time. When retrieval finds nothing like it, the
   sample is kept as a sample shown no past run (``memory`` 0).

Invariants:
- Deterministic per sample: whether a sample gets memory (`wants_memory`) and its past
  sample (`past_sample`) are drawn from generators seeded with the sample's own seed; a
  share of 0 draws nothing and leaves the curriculum's output as it was.
- The gold is asked with the run's own turns only (`OwnTurns`): a worked example's
  replies are not steps of this run (a browser gold counts the replies it gave).
- The scratch journal is thrown away with the sample; nothing reaches the caller's.
"""

from __future__ import annotations

import logging
import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from agent import assemble
from agent.checks import CheckResult
from agent.experience import similarity
from agent.learn.attempt import Attempt, attempt
from agent.learn.registry import FAMILIES, by_template, make
from agent.learn.sample import Gold, Sample, Step
from agent.learn.teacher import Teacher
from agent.learn.trajectory import Trajectory
from agent.prompt import COMPACT
from agent.settings import Settings
from models.base import Message

log = logging.getLogger(__name__)

#: One past sample in this many comes from another template of the same family.
OTHER_TEMPLATE = 4
#: One memory sample in this many is the same task as its past run, in other words.
SAME_TASK = 3
#: Past samples drawn per pool before taking the first of them.
TRIES = 40
#: The kind of the check journaled with a past run: the sample's own end-state check.
CHECK_KIND = "curriculum_end_state"


def wants_memory(sample: Sample, share: float) -> bool:
    """Whether `sample` is made with a past run in its journal (about `share` of them)."""
    return share > 0 and random.Random(f"memory\x1f{sample.seed}").random() < share


def memory_pair(sample: Sample) -> tuple[Sample, Sample]:
    """(the sample to run, its past run): one time in `SAME_TASK` the task of `sample`
    asked in two other wordings (`reworded`: the same fixture, names and gold), else
    `sample` itself and its `past_sample`. Drawn from a generator of its own, so the
    other samples keep the past runs they had before this choice existed."""
    rng = random.Random(f"same-task\x1f{sample.seed}")
    if rng.randrange(SAME_TASK) != 0:
        return sample, past_sample(sample)
    gen = by_template(sample.template)
    now = make(gen, sample.seed, wording=rng.getrandbits(63))
    return now, make(gen, sample.seed, wording=rng.getrandbits(63))


def past_sample(sample: Sample) -> Sample:
    """The sample played before `sample` as its past run: another seed of its template,
    or one time in `OTHER_TEMPLATE` one of another template of its family; of up to
    `TRIES` drawn, the first whose goal is like enough for retrieval to consider it
    (`agent.experience.similarity`), so that few memory samples are made in vain, else
    the first of its own template drawn; the run's real retrieval still decides what
    is shown."""
    rng = random.Random(f"past\x1f{sample.seed}")
    family = FAMILIES[sample.family]
    same = [g for g in family if g.template == sample.template]
    others = [g for g in family if g.template != sample.template]
    pools = [others, same] if others and rng.randrange(OTHER_TEMPLATE) == 0 else [same]
    first: Sample | None = None
    for pool in pools:
        for _ in range(TRIES):
            past = make(rng.choice(pool), rng.getrandbits(63))
            if past.seed == sample.seed:  # never the sample itself
                continue
            if pool is same:
                first = first or past
            if similarity(sample.goal, {"goal": past.goal}, "", None) > 0:
                return past
    assert first is not None  # TRIES draws of 63 bits never all equal one seed
    return first


@dataclass
class OwnTurns:
    """`gold` asked with the run's own messages: the system prompt, then from the goal on
    (the worked examples between them are skipped)."""

    gold: Gold
    _skip: int | None = field(default=None, init=False)

    def next_step(self, messages: Sequence[Message], index: int) -> Step:
        if self._skip is None:  # the first step's messages end with the run's goal
            self._skip = len(messages) - 1
        return self.gold.next_step([messages[0], *messages[self._skip :]], index)


@dataclass(frozen=True, slots=True)
class Remembered:
    """A memory sample's two runs, in one journal: the past one, then the sample's."""

    past: Attempt
    now: Attempt


def remember_then_attempt(
    sample: Sample,
    past: Sample,
    settings: Settings,
    prompt_style: str = COMPACT,
    *,
    display: str | None = None,
) -> Remembered:
    """Play `past` with its teacher and journal its check, then run `sample` with memory
    on, both in the journal of `settings` (give it a scratch data folder)."""
    before = attempt(past, settings, Teacher(past.gold, prompt_style=prompt_style), display=display)
    record_check(settings, before)
    teacher = Teacher(OwnTurns(sample.gold), prompt_style=prompt_style)
    now = attempt(sample, settings, teacher, display=display, memory=True)
    return Remembered(before, now)


def record_check(settings: Settings, done: Attempt) -> None:
    """Journal the end-state check of a finished attempt with the run's outcome (what
    retrieval reads to decide whether the run may teach). A run whose check failed
    is journaled as failed."""
    if not done.run_id:
        return
    detail = f"{done.sample.template}: the end state is {'right' if done.passed else 'wrong'}"
    check = CheckResult(CHECK_KIND, done.passed, detail)
    outcome = "success" if done.passed else "failed" if done.outcome == "success" else done.outcome
    with assemble.open_journal(settings) as journal:
        journal.finish_run(
            done.run_id, outcome=outcome, message=done.message, checks=[check.to_json()]
        )


def run_with_memory(
    sample: Sample,
    settings: Settings,
    prompt_style: str = COMPACT,
    *,
    display: str | None = None,
    pair: tuple[Sample, Sample] | None = None,
) -> Trajectory | None:
    """`sample` made with its past sample in a scratch journal (see the module
    docstring): the trajectory if it passed, with how many past runs it was shown.
    `pair`: `memory_pair(sample)` when the caller drew it already."""
    sample, past = pair or memory_pair(sample)
    with tempfile.TemporaryDirectory(prefix="deskhand-memory-") as home:
        scratch = settings.model_copy(update={"data_dir": Path(home)})
        ran = remember_then_attempt(sample, past, scratch, prompt_style, display=display)
    if not ran.past.passed:
        log.debug(
            "%s seed %d: past run %s failed its check", sample.template, sample.seed, past.template
        )
    trajectory = ran.now.trajectory()
    return None if trajectory is None else replace(trajectory, memory=len(ran.now.shown))
