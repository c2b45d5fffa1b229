"""The trainer's learning-rate schedule (`deskhand train --lr-end`): constant without
it; with it a cosine that starts at --lr, ends at --lr-end, falls at every step, and is
a pure function of the step so a resumed run follows the same curve."""

from __future__ import annotations

import pytest

from models.train.schedule import lr_at


def test_without_an_end_the_rate_is_constant() -> None:
    assert {lr_at(s, 100, 1e-3, None) for s in range(100)} == {1e-3}


def test_the_cosine_starts_at_lr_ends_at_lr_end_and_falls_every_step() -> None:
    rates = [lr_at(s, 200, 1e-3, 1e-4) for s in range(200)]
    assert rates[0] == pytest.approx(1e-3)
    assert rates[-1] == pytest.approx(1e-4)
    assert rates[100] == pytest.approx(5.5e-4, rel=0.02)  # halfway: the mean of the two
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False))


def test_steps_past_the_plan_stay_at_the_end_rate() -> None:
    assert lr_at(250, 200, 1e-3, 1e-4) == pytest.approx(1e-4)
    assert lr_at(0, 1, 1e-3, 1e-4) == 1e-3  # a one-step run trains at --lr
