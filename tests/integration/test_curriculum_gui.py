"""The GUI family of the curriculum end to end: each template's windows open on a real X
server (Xvfb), its gold runs through the real engine and the real GUI tool (OCR, input,
window focus) with the scripted teacher, and passes its own end-state check (what the
windows report); a wrong gold does not."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from xserver import XServer, xserver_fixture  # noqa: F401

from agent.learn import generators
from agent.learn.attempt import run_gui_sample
from agent.learn.gui import Aim, GuiSample, Reach
from agent.learn.registry import make, sample_seed
from agent.learn.sample import finish
from agent.settings import Settings, load_settings

pytest.importorskip("tkinter", reason="tkinter is missing (apt install python3-tk)")

TEMPLATES = [g.template for g in generators(["gui"])]


@pytest.fixture
def settings(deskhand_home: Path) -> Settings:
    return load_settings({"DESKHAND_HOME": str(deskhand_home)})


def sample_of(template: str, index: int = 0) -> GuiSample:
    gen = next(g for g in generators(["gui"]) if g.template == template)
    sample = make(gen, sample_seed(8, template, index))
    assert isinstance(sample, GuiSample)
    return sample


@pytest.mark.parametrize("template", TEMPLATES)
def test_each_gui_template_passes_its_own_check(
    template: str, settings: Settings, xserver: XServer
) -> None:
    sample = sample_of(template)
    trajectory = run_gui_sample(sample, settings, xserver.display)
    assert trajectory is not None, f"{template}: {sample.goal!r} not kept"
    assert trajectory.examples[0].messages[-1].content.count(sample.goal) == 1
    assert all('"tool": "gui.' in e.reply for e in trajectory.examples[:-1])
    assert trajectory.examples[-1].reply.startswith('{"tool": "finish"')


def test_the_family_covers_click_type_key_focus_and_refusal() -> None:
    assert set(TEMPLATES) == {
        "gui.click_button", "gui.type_field", "gui.press_key", "gui.focus_window",
        "gui.refuse_missing",
    }  # fmt: skip
    assert not {t for t in (g.template for g in generators()) if t.startswith("gui.")}


@pytest.mark.parametrize("template", TEMPLATES)
def test_wording_varies_across_seeds(template: str) -> None:
    goals = {sample_of(template, i).goal for i in range(20)}
    assert len(goals) >= 12, sorted(goals)


def test_a_click_on_the_look_alike_is_not_kept(settings: Settings, xserver: XServer) -> None:
    sample = sample_of("gui.click_button", 1)
    assert isinstance(sample.gold, Reach)
    observe, aim, _ = sample.gold.acts
    assert isinstance(aim, Aim)
    target = next(w for w in sample.windows if aim.text in w["buttons"])
    other = next(b for b in target["buttons"] if b != aim.text)
    wrong = Reach((observe, dataclasses.replace(aim, text=other), finish(f"Clicked {other}.")))
    assert (
        run_gui_sample(dataclasses.replace(sample, gold=wrong), settings, xserver.display) is None
    )


def test_a_gui_sample_needs_a_display(settings: Settings) -> None:
    with pytest.raises(ValueError, match="needs an X display"):
        run_gui_sample(sample_of("gui.focus_window"), settings, "")
