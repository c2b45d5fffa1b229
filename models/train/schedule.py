"""The learning rate of each training step: constant, or a cosine from ``lr`` down to
``lr_end`` over the run.

A pure function of (step, steps), so a run resumed from a checkpoint sets the same rate
at every step as the uninterrupted one (the optimizer's own state holds no schedule).
Torch-free, so the CLI and the unit tests use it without the train extra.

Why a cosine: the shipped adapter took three runs (lr 1e-3, then 1e-3 with the tool
weight, then 3e-4 on the browser-heavy mix), because a constant 1e-3 to the end broke
what the early steps learned. One run that starts high and ends low was tried to do the
same in under an hour; it scored below the three (models/adapters/README.md, Reproduce).
"""

from __future__ import annotations

import math


def lr_at(step: int, steps: int, lr: float, lr_end: float | None) -> float:
    """The rate for optimizer step `step` (0-based) of `steps`; `lr_end` None: constant."""
    if lr_end is None or steps <= 1:
        return lr
    done = min(max(step, 0), steps - 1) / (steps - 1)
    return lr_end + (lr - lr_end) * 0.5 * (1.0 + math.cos(math.pi * done))
