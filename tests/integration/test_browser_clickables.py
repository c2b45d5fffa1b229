"""What the observation indexes beyond semantic elements, on real headless Chromium:
elements that are only made clickable (a script's click handler with ``cursor: pointer``,
``onclick``, ``tabindex``), without their wrappers, and fields named by the unlinked
label text next to them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pages.server import Site, act, make_tool, serve_pages

from tools.browser.tool import BrowserTool


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve_pages() as s:
        yield s


@pytest.fixture
def tool(workspace: Path) -> Iterator[BrowserTool]:
    t = make_tool(workspace)
    yield t
    t.close()


def elements(observation: str) -> list[str]:
    """The element lines of an observation, without their indices."""
    block = observation.split("Elements:\n", 1)[1].split("\nText:", 1)[0]
    return [re.sub(r"^\[\d+\] ", "", line) for line in block.splitlines()]


def index_of(observation: str, line: str) -> int:
    found = re.search(rf"^\[(\d+)\] {re.escape(line)}$", observation, re.MULTILINE)
    assert found, f"no element {line!r} in:\n{observation}"
    return int(found.group(1))


def test_clickable_spans_and_boxes_are_indexed_once(tool: BrowserTool, site: Site) -> None:
    _, opened = act(tool, "browser.open", url=site.url("clickables.html"))
    assert elements(opened.output) == [
        'link "fox"',
        'link "lazy dog"',
        'button "Weekly report opens the report"',
        'button "Inner button"',  # its clickable wrapper is not listed again
        'button "Tile with a handler"',
        'button "Focusable box"',
        'button "Some text with nested words"',  # not its span, which only inherits the cursor
    ]


def test_a_clickable_span_can_be_clicked_by_its_index(tool: BrowserTool, site: Site) -> None:
    _, opened = act(tool, "browser.open", url=site.url("clickables.html"))
    _, clicked = act(tool, "browser.click", element=index_of(opened.output, 'link "lazy dog"'))
    assert clicked.ok, clicked.output
    assert "clicked dog" in clicked.output


def test_fields_are_named_by_the_label_text_next_to_them(tool: BrowserTool, site: Site) -> None:
    _, opened = act(tool, "browser.open", url=site.url("unlabeled.html"))
    assert elements(opened.output) == [
        'textbox "Username"',
        'textbox "Password" (password)',
        'textbox "City:"',
        'checkbox "Remember me" not checked',
        'textbox "Email"',  # a linked label still wins
        'textbox "nickname"',  # no text of its own nearby: the name attribute
        'button "Login"',
    ]
