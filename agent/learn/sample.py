"""What a curriculum generator makes: a `Sample` with a known answer.

A sample is a goal in natural words, the fixture the goal is about (files and folders in
a fresh workspace, pages on loopback), the gold actions that reach the goal, and a check
of the end state that runs outside the agent. The gold is either a fixed `Script` (the
generator knows every argument up front) or any `Gold` that computes the next action
from the messages the model has seen so far (a browser element's number is only known
once the page is observed).

Invariants:
- A sample is a frozen value; building its fixture twice gives the same workspace.
- Fixture paths are relative, use ``/``, and never leave the workspace.
- Every gold ends with ``finish``; a refusal is a gold of one ``finish`` step.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from models.base import Message


@dataclass(frozen=True, slots=True)
class Step:
    """One gold action: what the model should reply at this step."""

    tool: str
    args: Mapping[str, Any]
    thought: str


def finish(message: str, thought: str = "The task is done.") -> Step:
    return Step("finish", {"message": message}, thought)


class Gold(Protocol):
    """The teacher's answer key: the gold action for the step after `messages`.

    `index` counts the model steps asked for so far in this run (0 for the first)."""

    def next_step(self, messages: Sequence[Message], index: int) -> Step: ...


class GoldExhausted(Exception):
    """The run asked for more steps than the gold has: a generator bug."""


@dataclass(frozen=True, slots=True)
class Script:
    """A gold known in full before the run."""

    steps: tuple[Step, ...]

    def next_step(self, messages: Sequence[Message], index: int) -> Step:
        if index >= len(self.steps):
            raise GoldExhausted(f"gold has {len(self.steps)} steps, step {index + 1} asked")
        return self.steps[index]


@dataclass(frozen=True, slots=True)
class Fixture:
    """What the workspace holds before the run: files (path → text) and empty folders;
    `pages` (name → HTML) are served on loopback for the browser family."""

    files: Mapping[str, str] = field(default_factory=dict)
    folders: tuple[str, ...] = ()
    pages: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rel in (*self.files, *self.folders):
            p = PurePosixPath(rel)
            if p.is_absolute() or ".." in p.parts or not p.parts:
                raise ValueError(f"fixture path leaves the workspace: {rel!r}")

    def build(self, workspace: Path) -> None:
        for rel in self.folders:
            (workspace / rel).mkdir(parents=True, exist_ok=True)
        for rel, text in self.files.items():
            path = workspace / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


#: The end-state check: (workspace after the run, the finish message) → passed.
Check = Callable[[Path, str], bool]


@dataclass(frozen=True, slots=True)
class Sample:
    template: str
    family: str
    seed: int
    goal: str
    fixture: Fixture
    gold: Gold
    check: Check
    #: For the browser family: the page (a key of fixture.pages) the run starts on.
    start_page: str | None = None


class Generator(Protocol):
    """Makes samples of one template. `make` must draw every choice from `rng`."""

    @property
    def template(self) -> str: ...

    @property
    def family(self) -> str: ...

    def make(self, rng: random.Random, seed: int) -> Sample: ...


@dataclass(frozen=True, slots=True)
class Draft:
    """What a template function returns; `Template.make` adds the identity."""

    goal: str
    fixture: Fixture
    gold: Gold
    check: Check
    start_page: str | None = None


@dataclass(frozen=True, slots=True)
class Template:
    """A `Generator` made of a function that drafts a sample from a ``Random``."""

    template: str
    family: str
    draft: Callable[[random.Random], Draft]

    def make(self, rng: random.Random, seed: int) -> Sample:
        d = self.draft(rng)
        return Sample(
            self.template, self.family, seed, d.goal, d.fixture, d.gold, d.check, d.start_page
        )
