"""The browser family of the curriculum end to end: each template's sample is served on
loopback, run through the real engine (the goal run's own preparation, real headless
Chromium) with the teacher, and passes its own end-state check; a wrong gold does not."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from agent.learn import generators, run_sample
from agent.learn.browser_gold import Act, On, Plan
from agent.learn.registry import make, sample_seed
from agent.learn.sample import Sample, finish
from agent.settings import Settings, load_settings

TEMPLATES = [g.template for g in generators(["browser"])]


@pytest.fixture
def settings(deskhand_home: Path) -> Settings:
    return load_settings({"DESKHAND_HOME": str(deskhand_home)})


def sample_of(template: str, index: int = 0) -> Sample:
    gen = next(g for g in generators(["browser"]) if g.template == template)
    return make(gen, sample_seed(4, template, index))


@pytest.mark.parametrize("template", TEMPLATES)
def test_each_browser_template_passes_its_own_check(template: str, settings: Settings) -> None:
    sample = sample_of(template)
    trajectory = run_sample(sample, settings)
    assert trajectory is not None, f"{template}: {sample.goal!r} not kept"
    first = trajectory.examples[0].messages[-1].content
    assert sample.goal in first and "The browser shows this page:\nURL: http://127.0.0.1:" in first
    assert trajectory.examples[-1].reply.startswith('{"tool": "finish"')


def test_the_family_covers_the_widgets() -> None:
    assert len(TEMPLATES) >= 16
    assert {
        "browser.refuse_missing", "browser.refuse_missing_field", "browser.login",
        "browser.dialog", "browser.tabs", "browser.two_pages", "browser.below_fold",
    } <= set(TEMPLATES)  # fmt: skip


#: The shapes of the default MiniWoB++ tasks' utterances (the exam, never the textbook).
MINIWOB_SHAPES = [
    r'click on the ".*" button\.', r'click on the link ".*"\.',
    r'enter ".*" into the text field and press submit\.', r"select .* and click submit\.",
    r"select .* from the list and click submit\.", r'close the dialog box by clicking the "x"\.',
    r'enter the username ".*" and the password ".*" into the text fields and press login\.',
    r"focus into the .* input textbox\.",
]  # fmt: skip


@pytest.mark.parametrize("template", TEMPLATES)
def test_goals_vary_and_never_take_a_miniwob_shape(template: str) -> None:
    goals = {sample_of(template, index).goal for index in range(60)}
    assert len(goals) >= 30
    for goal in goals:
        assert not any(re.fullmatch(s, goal, re.IGNORECASE) for s in MINIWOB_SHAPES), goal
        # Written as a person writes: a capital first, and after every full stop.
        assert not goal[0].islower() and not re.search(r"[.?!] [a-z]", goal), goal


def test_a_click_on_the_look_alike_is_not_kept(settings: Settings) -> None:
    sample = sample_of("browser.click_button", 1)
    assert isinstance(sample.gold, Plan)
    first = sample.gold.acts[0]
    assert isinstance(first, Act)
    labels = re.findall(r'name="action" value="([^"]+)"', sample.fixture.pages["index.html"])
    other = next(label for label in labels if label != first.on.name)
    wrong = Plan((dataclasses.replace(first, on=On("button", other)), finish(f"Clicked {other}.")))
    assert run_sample(dataclasses.replace(sample, gold=wrong), settings) is None
    assert run_sample(sample, settings) is not None  # the same page with its own gold


def test_finishing_without_acting_is_not_kept(settings: Settings) -> None:
    sample = sample_of("browser.fill_field")
    lazy = Plan((finish("Sent the form."),))
    assert run_sample(dataclasses.replace(sample, gold=lazy), settings) is None
