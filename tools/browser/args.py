"""Argument models of the browser actions (the registry derives their JSON schema).

Every property is emitted by the constrained decoder, so optional ones have a default
stated in their description, and 0 stands for "no element" where one is optional.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tools.base import ToolArgs

_ELEMENT = "the element's number, as in [7]"
_ELEMENT_OR_PAGE = "the element's number, or 0 for the whole page"


class OpenArgs(ToolArgs):
    url: str = Field(min_length=1, max_length=2000, description="the web address to open")


class ElementArgs(ToolArgs):
    element: int = Field(ge=1, description=_ELEMENT)


class ClickArgs(ToolArgs):
    element: int = Field(ge=1, description=_ELEMENT)
    confirm: bool = Field(
        default=False, description="answer OK if the page asks to confirm (default false)"
    )


class TypeArgs(ToolArgs):
    element: int = Field(ge=1, description=_ELEMENT)
    text: str = Field(
        max_length=2000,
        description="text to type, replacing what is there; {{secret:NAME}} types a stored secret",
    )
    submit: bool = Field(default=False, description="press Enter afterwards (default false)")


class SelectArgs(ToolArgs):
    element: int = Field(ge=1, description=_ELEMENT)
    option: str = Field(min_length=1, max_length=200, description="the option's text")


class CheckArgs(ToolArgs):
    element: int = Field(ge=1, description=_ELEMENT)
    checked: bool = Field(default=True, description="true to check, false to uncheck")


class ScrollArgs(ToolArgs):
    direction: Literal["down", "up"] = Field(default="down", description="down or up")
    element: int = Field(default=0, ge=0, description=_ELEMENT_OR_PAGE)


class PressArgs(ToolArgs):
    key: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9+]+$",
        description="a key like Enter, Tab, Escape, ArrowDown or Control+a",
    )
    element: int = Field(default=0, ge=0, description="the element's number, or 0 for the page")


class ExtractArgs(ToolArgs):
    element: int = Field(default=0, ge=0, description=_ELEMENT_OR_PAGE)


class WaitArgs(ToolArgs):
    text: str = Field(min_length=1, max_length=200, description="the text to wait for")
    # An integer: the constrained decoder has no floats.
    timeout_s: int = Field(default=10, ge=1, le=60, description="seconds to wait (default 10)")


class TabArgs(ToolArgs):
    tab: int = Field(ge=1, description="the tab's number")


class ScreenshotArgs(ToolArgs):
    path: str = Field(
        default="",
        max_length=500,
        description="a new .png file in the workspace; empty for screenshots/screenshot-NNN.png",
    )


class DownloadArgs(ToolArgs):
    element: int = Field(ge=1, description="the link or button that downloads the file")
    path: str = Field(
        min_length=1, max_length=500, description="a new file in the workspace to save it as"
    )
