"""The browser family's gold: actions on elements named by role and name, numbered from
what the model was actually shown.

An element's number exists only once the page is observed (`tools.browser.base`), so a
browser gold is a `Plan` of `Act`s that name their element the way the observation
writes it (``[7] button "Save"``: role ``button``, name ``Save``); `Plan.next_step` looks
the number up in the newest observation in the messages, exactly as the model must.

An `Act` with ``scroll`` set first scrolls down while its element is not in the newest
observation (an element below the fold). A `Read` reads the page's text with
``browser.extract`` only when the fact it looks for is not in what the model was last
shown. The plan's position is worked out from the replies already given, so a `Plan`
stays a frozen value that replays the same way.

Invariants:
- The number always comes from the newest observation that lists elements (a result
  saying "The page did not change." repeats the one before), so it is one the step's
  schema offers.
- An element the newest observation does not show (and no scroll to look for it) raises
  `GoldExhausted`: the generator's page and its plan disagree, never a training example.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.learn.sample import GoldExhausted, Step
from models.base import Message

#: Scrolls an `Act` may take looking for its element before the plan is declared wrong.
MAX_SCROLLS = 6
_LINE = re.compile(r"^\[(\d+)\] ([\w-]+)(?: (\"(?:[^\"\\]|\\.)*\"))?", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class On:
    """An element as the observation shows it: role and name; `nth` picks among several
    with the same role and name (1 = the first, in page order)."""

    role: str
    name: str
    nth: int = 1


@dataclass(frozen=True, slots=True)
class Act:
    """A gold action on an element; ``{n}`` in `thought` becomes its number."""

    tool: str
    on: On
    thought: str
    args: Mapping[str, Any] = field(default_factory=dict)
    #: Scroll down first while the element is not shown.
    scroll: bool = False


@dataclass(frozen=True, slots=True)
class Read:
    """Read the page's text, unless `needle` is in the newest result already."""

    needle: str
    thought: str


def latest_view(messages: Sequence[Message]) -> str:
    """The elements block of the newest observation that lists elements ("" if none)."""
    for message in reversed(messages):
        if message.role != "user" or "\nElements:\n" not in message.content:
            continue
        block = message.content.rsplit("\nElements:\n", 1)[1]
        return block.split("\nText:\n", 1)[0]
    return ""


def number_of(view: str, on: On) -> int | None:
    """The number of element `on` in an elements block, or None when it is not there."""
    seen = 0
    for match in _LINE.finditer(view):
        name = json.loads(match.group(3)) if match.group(3) else ""
        if match.group(2) == on.role and name == on.name:
            seen += 1
            if seen == on.nth:
                return int(match.group(1))
    return None


@dataclass(frozen=True, slots=True)
class Plan:
    """A browser gold: `Step`s known up front and `Act`s resolved against the page."""

    acts: tuple[Act | Read | Step, ...]

    def next_step(self, messages: Sequence[Message], index: int) -> Step:
        position, scrolls = self._position(messages)
        shown = _newest(messages)
        while position < len(self.acts) and _skipped(self.acts[position], shown):
            position += 1
        if position >= len(self.acts):
            raise GoldExhausted(f"gold has {len(self.acts)} actions, step {index + 1} asked")
        act = self.acts[position]
        if isinstance(act, Step):
            return act
        if isinstance(act, Read):
            return Step("browser.extract", {"element": 0}, act.thought)
        number = number_of(latest_view(messages), act.on)
        if number is not None:
            args = {"element": number, **act.args}
            return Step(act.tool, args, act.thought.format(n=number))
        if act.scroll and scrolls < MAX_SCROLLS:
            return scroll_down(act.on)
        raise GoldExhausted(f"no {act.on.role} {act.on.name!r} was shown")

    def _position(self, messages: Sequence[Message]) -> tuple[int, int]:
        """(which act is next, scrolls taken for it) from the replies already given."""
        position = scrolls = 0
        for message in messages:
            if message.role != "assistant":
                continue
            tool = json.loads(message.content).get("tool")
            while (
                position < len(self.acts)
                and isinstance(self.acts[position], Read)
                and tool != "browser.extract"
            ):
                position += 1  # the fact was in view: the read was skipped
            act = self.acts[position] if position < len(self.acts) else None
            if isinstance(act, Act) and act.scroll and tool == "browser.scroll":
                scrolls += 1
                continue
            position, scrolls = position + 1, 0
        return position, scrolls


def _newest(messages: Sequence[Message]) -> str:
    """The newest result or observation the model was shown."""
    return next((m.content for m in reversed(messages) if m.role == "user"), "")


def _skipped(act: Act | Read | Step, shown: str) -> bool:
    return isinstance(act, Read) and act.needle in shown


def scroll_down(on: On) -> Step:
    """A scroll whose thought names only what the goal could say (the role), never a name
    the model has not been shown yet."""
    return Step(
        "browser.scroll",
        {"direction": "down", "element": 0},
        f"The {on.role} I need is not shown yet; scroll down.",
    )
