"""The one Jinja environment (agent/templates.py) renders every package template strictly."""

from __future__ import annotations

import jinja2
import pytest

from agent import templates


def test_one_environment_is_reused() -> None:
    assert templates.environment() is templates.environment()
    assert templates.environment().undefined is jinja2.StrictUndefined


def test_a_missing_variable_fails_loudly() -> None:
    with pytest.raises(jinja2.UndefinedError):
        templates.render("fallback.j2", task="t", description="d", tool="files.write")


def test_fallback_renders() -> None:
    text = templates.render("fallback.j2", task="t", description="d", tool="x.y", args="{}")
    assert text.startswith('A fixed step of the task "t" could not run as written: d (x.y')
