"""The generators, by family, and the seeded stream of samples they make.

`generate(n, seed, families)` yields `n` samples per template of the chosen families.
Each sample gets its own ``random.Random`` seeded from (seed, template, index), so a
sample is reproducible on its own and adding a template never changes another's samples.

Invariants: template ids are unique and start with their family's name; nothing here
runs at import time beyond building the tuple of generators.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Collection, Iterator

from agent.learn import (
    browser,
    browser_forms,
    browser_nav,
    browser_refuse,
    browser_widgets,
    files,
    files_multi,
    gui,
)
from agent.learn.phrases import reworded
from agent.learn.sample import Generator, Sample

FAMILIES: dict[str, tuple[Generator, ...]] = {
    "files": (*files.TEMPLATES, *files_multi.TEMPLATES),
    "browser": (
        *browser.TEMPLATES,
        *browser_refuse.TEMPLATES,
        *browser_forms.TEMPLATES,
        *browser_widgets.TEMPLATES,
        *browser_nav.TEMPLATES,
    ),
    "gui": gui.TEMPLATES,
}
#: Families whose runs need an X display (agent/learn/attempt.py): made only when named.
NEEDS_DISPLAY = frozenset({"gui"})


def generators(families: Collection[str] | None = None) -> list[Generator]:
    """The generators of `families` (when None: every family that needs no display), in
    a fixed order."""
    names = [f for f in FAMILIES if f not in NEEDS_DISPLAY] if families is None else families
    chosen = {f: FAMILIES[f] for f in names}
    out = [g for gens in chosen.values() for g in gens]
    ids = [g.template for g in out]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate template ids in {ids}")
    return out


def by_template(template: str) -> Generator:
    for g in generators(FAMILIES):
        if g.template == template:
            return g
    raise KeyError(template)


def sample_seed(seed: int, template: str, index: int) -> int:
    digest = hashlib.sha256(f"{seed}\x1f{template}\x1f{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def make(generator: Generator, seed: int, wording: int | None = None) -> Sample:
    """The sample `generator` makes for `seed` (a sample's own seed); with `wording`, the
    task of `seed` asked in the words of `wording` (phrases.reworded), its names,
    fixture and gold actions the same for every `wording`."""
    if wording is None:
        return generator.make(random.Random(seed), seed)
    with reworded(wording):
        return generator.make(random.Random(seed), seed)


def generate(
    n: int, seed: int, families: Collection[str] | None = None, shard: tuple[int, int] = (0, 1)
) -> Iterator[Sample]:
    """`n` samples of every template of `families`, round-robin across templates; with
    `shard` (i, k), only the i-th of k contiguous parts of that sequence (the parts, in
    order, are the whole: k processes can make one data set side by side)."""
    gens = generators(families)
    plan = [(g, sample_seed(seed, g.template, index)) for index in range(n) for g in gens]
    part, parts = shard
    if not 0 <= part < parts:
        raise ValueError(f"shard {part}/{parts}: want 0 <= i < k")
    for g, own in plan[part * len(plan) // parts : (part + 1) * len(plan) // parts]:
        yield make(g, own)
