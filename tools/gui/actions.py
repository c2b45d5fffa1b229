"""The GUI tool's action arguments: what the model fills in for each action.

A target is one string, so a small model writes one value: an element number from the
last reading (``"12"``) or ``x,y`` in that reading's image (``"640,400"``). Every field
is always emitted by the decoder, so optional things have a stated default ("" or 1).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from tools.base import ToolArgs
from tools.gui.base import Button

TARGET_RE = re.compile(r"\s*(\d+)\s*(?:,\s*(\d+)\s*)?")
_TARGET_PATTERN = r"^\s*\d+\s*(,\s*\d+\s*)?$"
_TARGET = 'an element number from the last reading ("12") or x,y in its image ("640,400")'


def _target(description: str = _TARGET) -> Any:
    return Field(min_length=1, max_length=24, pattern=_TARGET_PATTERN, description=description)


class ObserveArgs(ToolArgs):
    window: str = Field(
        default="",
        max_length=100,
        description="part of a window title to read only that window; '' reads the whole screen",
    )


class ClickArgs(ToolArgs):
    target: str = _target()
    button: Button = Field(default="left", description="left, right or middle; default left")
    count: int = Field(default=1, ge=1, le=3, description="1 clicks, 2 double-clicks; default 1")


class DragArgs(ToolArgs):
    start: str = _target("where to press: " + _TARGET)
    end: str = _target("where to release: " + _TARGET)


class MoveArgs(ToolArgs):
    target: str = _target()


class TypeArgs(ToolArgs):
    text: str = Field(
        min_length=1,
        max_length=2000,
        description="the text; {{secret:NAME}} types the stored secret NAME",
    )
    target: str = Field(
        default="",
        max_length=24,
        pattern=r"^(\s*|" + _TARGET_PATTERN[1:-1] + r")$",
        description="element or x,y to click first; '' types where the keyboard focus is",
    )


class KeyArgs(ToolArgs):
    keys: str = Field(
        min_length=1, max_length=40, description='a key or a chord: "enter", "ctrl+s", "alt+f4"'
    )


class ScrollArgs(ToolArgs):
    target: str = _target("where to scroll: " + _TARGET)
    direction: Literal["up", "down", "left", "right"] = Field(description="which way")
    amount: int = Field(default=3, ge=1, le=50, description="wheel clicks; default 3")


class FocusArgs(ToolArgs):
    window: str = Field(
        min_length=1,
        max_length=100,
        description="a number from gui.list_windows, or part of a window title",
    )


class WaitArgs(ToolArgs):
    text: str = Field(min_length=1, max_length=100, description="text to wait for")
    timeout_s: int = Field(default=10, ge=1, le=60, description="seconds to wait; default 10")
