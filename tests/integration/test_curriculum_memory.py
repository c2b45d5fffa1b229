"""Memory samples of the curriculum (agent/learn/memory.py), file family only: a past run
played by the teacher and checked, then the sample run with memory on, through the real
engine, file tool, SQLite journal and retrieval (agent/experience.py).

The prompt a memory sample trains on holds the past run's goal and replies as earlier
turns, and equals what `agent.prepare` builds for that goal with that journal; the past
run may teach because its end-state check passed and was journaled, never because of a
rating; a past run rated bad or failing its check is never shown; a share of 0 changes
nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from agent import assemble
from agent.approval import AlwaysAllow
from agent.journal import experience_index
from agent.learn import generate, run_sample
from agent.learn.attempt import attempt
from agent.learn.memory import (
    CHECK_KIND,
    OwnTurns,
    memory_pair,
    past_sample,
    record_check,
    remember_then_attempt,
    run_with_memory,
    wants_memory,
)
from agent.learn.registry import by_template, make, sample_seed
from agent.learn.sample import Sample, Script, Step, finish
from agent.learn.teacher import Teacher
from agent.learn.trajectory import chat_lines
from agent.prepare import RunRequest, prepare_run
from agent.prompt import COMPACT
from agent.settings import Settings, load_settings
from agent.taskrun import run_task
from models.base import Message

TEMPLATE = "files.copy"


def like_sample(template: str = TEMPLATE) -> tuple[Sample, Sample]:
    """A sample of `template` whose past sample is of the same template and worded alike."""
    gen = by_template(template)
    for index in range(50):
        sample = make(gen, sample_seed(3, template, index))
        past = past_sample(sample)
        if past.template == template:
            return sample, past
    raise AssertionError(f"no sample of {template} has a past run of its own template")


def home(tmp_path: Path, name: str) -> Settings:
    return load_settings({"DESKHAND_HOME": str(tmp_path / name)})


def test_a_memory_prompt_holds_the_past_run_as_retrieval_shows_it(tmp_path: Path) -> None:
    settings = home(tmp_path, "memory")
    sample, past = like_sample()
    ran = remember_then_attempt(sample, past, settings)
    assert ran.past.passed and ran.now.passed
    assert ran.now.shown == (ran.past.run_id,)
    first = ran.now.examples[0].messages
    # The past run's goal, then every reply it gave, as earlier turns before the goal.
    assert first[0].role == "system"
    assert past.goal in first[1].content and first[1].role == "user"
    replies = [m.content for m in first if m.role == "assistant"]
    assert replies == [ex.reply for ex in ran.past.examples]
    assert sample.goal in first[-1].content and past.goal not in first[-1].content
    # Each later prompt extends the first (append-only) and ends with the teacher's gold.
    assert all(ex.messages[: len(first)] == first for ex in ran.now.examples)
    assert ran.now.examples[-1].reply.startswith('{"tool": "finish"')

    # What the one goal-run preparation shows for this goal with this journal, built
    # apart from the curriculum: a fresh workspace, a model that only records.
    ws = tmp_path / "again"
    ws.mkdir()
    sample.fixture.build(ws)
    recorder = Teacher(Script((finish("done"),)), prompt_style=COMPACT)
    request = RunRequest(
        goal=sample.goal, workspace=[ws], model=recorder, approver=AlwaysAllow(), memory=True
    )
    with assemble.open_journal(settings) as journal:
        list(run_task(prepare_run(request, settings), journal))
    assert recorder.exchanges[0].messages == first


def test_the_past_run_teaches_by_its_checks_not_by_a_rating(tmp_path: Path) -> None:
    settings = home(tmp_path, "checked")
    sample, past = like_sample()
    ran = remember_then_attempt(sample, past, settings)
    with assemble.open_journal(settings) as journal:
        assert journal.feedback(ran.past.run_id) == []
        rows = experience_index.similar_runs(journal, past.goal)
    row = next(r for r in rows if r["id"] == ran.past.run_id)
    assert row["rating"] is None and row["outcome"] == "success"
    assert CHECK_KIND in row["checks_json"] and experience_index.usable(row)


def test_a_past_run_that_fails_its_check_is_never_shown(tmp_path: Path) -> None:
    settings = home(tmp_path, "failed")
    sample, past = like_sample()
    wrong = replace(past, check=lambda _ws, _message: False)
    ran = remember_then_attempt(sample, wrong, settings)
    assert not ran.past.passed and ran.now.passed
    assert ran.now.shown == ()
    assert [m.role for m in ran.now.examples[0].messages] == ["system", "user"]
    with assemble.open_journal(settings) as journal:
        run = journal.run(ran.past.run_id)
    assert run is not None and run["outcome"] == "failed"


def test_a_past_run_rated_bad_is_never_shown(tmp_path: Path) -> None:
    settings = home(tmp_path, "bad")
    sample, past = like_sample()
    before = attempt(past, settings, Teacher(past.gold))
    record_check(settings, before)
    with assemble.open_journal(settings) as journal:
        journal.add_feedback(before.run_id, rating=-1)
    now = attempt(sample, settings, Teacher(OwnTurns(sample.gold)), memory=True)
    assert now.passed and now.shown == ()
    assert past.goal not in "".join(m.content for m in now.examples[0].messages)


def test_run_with_memory_says_so_and_leaves_the_callers_journal_alone(tmp_path: Path) -> None:
    settings = home(tmp_path, "caller")
    sample, _ = like_sample()
    trajectory = run_with_memory(sample, settings)
    assert trajectory is not None and trajectory.memory == 1
    assert all(record["memory"] == 1 for record in chat_lines(trajectory))
    assert not settings.journal_path.exists()


def test_share_zero_changes_nothing(tmp_path: Path) -> None:
    samples = list(generate(4, 5, ["files"]))
    assert not any(wants_memory(s, 0.0) for s in samples)
    assert all(wants_memory(s, 1.0) for s in samples)
    trajectory = run_sample(samples[0], home(tmp_path, "plain"))
    assert trajectory is not None and trajectory.memory is None
    assert all(set(r) == {"messages", "template", "seed"} for r in chat_lines(trajectory))


def test_memory_draws_are_deterministic_and_mostly_of_the_same_template() -> None:
    samples = list(generate(8, 1, ["files"]))
    drawn = [s for s in samples if wants_memory(s, 0.3)]
    assert drawn == [s for s in samples if wants_memory(s, 0.3)]
    assert 0.15 * len(samples) <= len(drawn) <= 0.45 * len(samples)
    pasts = [past_sample(s) for s in samples]
    assert [p.goal for p in pasts] == [past_sample(s).goal for s in samples]
    assert all(
        p.family == "files" and p.seed != s.seed for p, s in zip(pasts, samples, strict=True)
    )
    same = sum(p.template == s.template for p, s in zip(pasts, samples, strict=True))
    assert 0.5 * len(samples) < same < len(samples)


def test_some_memory_samples_ask_the_same_task_again_in_other_words(tmp_path: Path) -> None:
    samples = list(generate(6, 1, ["files"]))
    pairs = [memory_pair(s) for s in samples]
    assert [(n.goal, p.goal) for n, p in pairs] == [
        (n.goal, p.goal) for n, p in map(memory_pair, samples)
    ]
    again = [(s, n, p) for s, (n, p) in zip(samples, pairs, strict=True) if n is not s]
    assert 0.15 * len(samples) <= len(again) <= 0.5 * len(samples)
    for sample, now, past in again:
        assert now.template == past.template == sample.template
        assert now.fixture == past.fixture and now.gold == past.gold
    assert sum(now.goal != past.goal for _, now, past in again) > 0.7 * len(again)
    sample, now, past = next((s, n, p) for s, n, p in again if n.goal != p.goal)
    trajectory = run_with_memory(sample, home(tmp_path, "again"))
    assert trajectory is not None and trajectory.memory == 1
    prompt = "".join(m.content for m in trajectory.examples[0].messages)
    assert past.goal in prompt and now.goal in prompt


@dataclass
class Asked:
    """A gold that keeps the messages it is asked with."""

    seen: list[Sequence[Message]] = field(default_factory=list)

    def next_step(self, messages: Sequence[Message], index: int) -> Step:
        self.seen.append(list(messages))
        return finish("done")


def test_the_gold_is_asked_with_the_runs_own_turns() -> None:
    system, goal = Message("system", "S"), Message("user", "goal")
    example = [Message("user", "past goal"), Message("assistant", "past reply")]
    asked = Asked()
    gold = OwnTurns(asked)
    gold.next_step([system, *example, goal], 0)
    gold.next_step([system, *example, goal, Message("assistant", "r"), Message("user", "o")], 1)
    assert asked.seen[0] == [system, goal]
    assert asked.seen[1] == [system, goal, Message("assistant", "r"), Message("user", "o")]


@pytest.mark.parametrize("template", ["files.refuse_outside", "files.by_content"])
def test_other_file_templates_make_memory_samples(template: str, tmp_path: Path) -> None:
    sample, _ = like_sample(template)
    trajectory = run_with_memory(sample, home(tmp_path, template))
    assert trajectory is not None and trajectory.memory == 1
