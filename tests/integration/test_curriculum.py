"""The curriculum end to end: every template's sample runs through the real engine, file
tools and journal with the teacher, passes its own end-state check, and exports exactly
the prompts the engine handed the model."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from agent import assemble
from agent.learn import generate, generators, run_sample, split_by_template, write_jsonl
from agent.learn.registry import make, sample_seed
from agent.loop import parse_reply
from agent.prompt import COMPACT, FULL, Transcript, style_of_system
from agent.settings import Settings, load_settings

TEMPLATES = [g.template for g in generators()]


@pytest.fixture
def settings(deskhand_home: Path) -> Settings:
    return load_settings({"DESKHAND_HOME": str(deskhand_home)})


@pytest.mark.parametrize("template", TEMPLATES)
def test_each_template_passes_its_own_check(template: str, settings: Settings) -> None:
    gen = next(g for g in generators() if g.template == template)
    for index in range(2):
        sample = make(gen, sample_seed(13, template, index))
        trajectory = run_sample(sample, settings)
        assert trajectory is not None, f"{template}: {sample.goal!r} not kept"
        assert trajectory.examples[-1].reply.startswith('{"tool": "finish"')


def test_templates_cover_the_file_family() -> None:
    assert len([t for t in TEMPLATES if t.startswith("files.")]) >= 10
    assert {"files.refuse_outside", "files.list_then_choose", "files.by_content"} <= set(TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES)
def test_wording_varies_across_seeds(template: str) -> None:
    gen = next(g for g in generators() if g.template == template)
    goals = {make(gen, sample_seed(seed, template, 0)).goal for seed in range(20)}
    assert len(goals) >= 12, sorted(goals)


def test_export_is_exactly_what_the_engine_gave_the_model(
    settings: Settings, tmp_path: Path
) -> None:
    sample = next(s for s in generate(1, 7) if s.template == "files.by_extension")
    trajectory = run_sample(sample, settings)
    assert trajectory is not None and len(trajectory.examples) >= 4
    out = io.StringIO()
    assert write_jsonl([trajectory], out) == len(trajectory.examples)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    for line, ex in zip(lines, trajectory.examples, strict=True):
        seen = [{"role": m.role, "content": m.content} for m in ex.messages]
        assert line["messages"] == [*seen, {"role": "assistant", "content": ex.reply}]
        assert (line["template"], line["seed"]) == (sample.template, sample.seed)
    # The first prompt is the run-time prompt of a tuned model (compact), rebuilt here
    # independently of the teacher.
    ws = tmp_path / "rebuilt"
    ws.mkdir()
    sample.fixture.build(ws)
    registry = assemble.registry(settings, [ws])
    context = "Workspace contents:\n" + assemble.file_tool(settings, [ws]).listing(".")
    first = trajectory.examples[0].messages
    assert first == tuple(Transcript.start(registry, sample.goal, context, COMPACT).messages)
    # Later prompts extend earlier ones: the reply, then the tool's observation.
    for before, after in zip(trajectory.examples, trajectory.examples[1:], strict=False):
        assert after.messages[: len(before.messages)] == before.messages
        assert after.messages[len(before.messages)].content == before.reply
        assert parse_reply(before.reply, registry).tool


def test_a_broken_gold_is_not_kept(settings: Settings) -> None:
    sample = next(s for s in generate(1, 3) if s.template == "files.delete")
    wrong = type(sample)(
        sample.template, sample.family, sample.seed, sample.goal, sample.fixture,
        sample.gold, lambda ws, message: False,
    )  # fmt: skip
    assert run_sample(wrong, settings) is None


def test_held_out_split_keeps_templates_whole() -> None:
    train, held = split_by_template(TEMPLATES, 0.2, seed=0)
    samples = list(generate(2, 0))
    assert {s.template for s in samples if s.template in held} == held
    assert not train & held


def test_the_curriculum_shows_the_compact_prompt_unless_asked_for_the_full_one(
    settings: Settings,
) -> None:
    sample = next(s for s in generate(1, 5) if s.template == "files.copy")
    compact = run_sample(sample, settings)
    full = run_sample(sample, settings, FULL)
    assert compact is not None and full is not None
    assert style_of_system(compact.examples[0].messages[0].content) == COMPACT
    assert style_of_system(full.examples[0].messages[0].content) == FULL
    # the same gold, the same replies: only what the model is shown differs
    assert [e.reply for e in compact.examples] == [e.reply for e in full.examples]
    assert len(compact.examples[0].messages) < len(full.examples[0].messages)
