"""Which worked example a run gets, and how an example that starts on a page reads."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from pydantic import Field

from agent.prompt import Transcript, worked_example
from tools.base import Effect, ToolArgs, ToolResult, ToolSpec
from tools.registry import Registry, finish_spec


class AnyArgs(ToolArgs):
    element: int = Field(default=0, description="an element")


def spec(name: str) -> ToolSpec[Any]:
    return ToolSpec(
        name=name,
        description="Do a thing.",
        args=AnyArgs,
        effect=lambda a: Effect("fs.read", "", "do"),
        run=lambda a: ToolResult(ok=True, output=""),
        example={"element": 1},
    )


FILES = ["files.list", "files.write", "files.move", "files.make_folder", "files.copy"]
BROWSER = ["browser.click", "browser.type", "browser.select"]


def registry(*names: str) -> Registry:
    return Registry([*(spec(n) for n in names), finish_spec()])


def examples() -> list[dict[str, Any]]:
    raw = resources.files("agent").joinpath("prompts/examples.json").read_text(encoding="utf-8")
    data: list[dict[str, Any]] = json.loads(raw)
    return data


def test_a_run_with_a_browser_gets_a_browser_example_even_for_wordy_goals() -> None:
    with_browser = registry(*FILES, *BROWSER)
    # "Copy" and "file" would pick the copy example in a file-only run.
    goal = 'Copy the file name into the "Name" field'
    example = worked_example(with_browser, goal)
    assert example is not None
    assert {s["tool"] for s in example["steps"]} <= {*BROWSER, "finish"}
    file_only = worked_example(registry(*FILES), goal)
    assert file_only is not None and file_only["steps"][0]["tool"] == "files.copy"
    assert file_only["context"] == ""


def test_the_leading_verb_still_picks_among_browser_examples() -> None:
    reg = registry(*FILES, *BROWSER)
    click = worked_example(reg, 'Click on the "Okay" button.')
    typed = worked_example(reg, 'Type "Lyda" into the text field and press Submit.')
    assert click is not None and click["steps"][0]["tool"] == "browser.click"
    assert typed is not None and typed["steps"][0]["tool"] == "browser.type"


def test_a_browser_example_shows_its_page_as_data_and_results_as_pages() -> None:
    t = Transcript.start(registry(*FILES, *BROWSER), 'Click on the "Okay" button.')
    first_goal = t.messages[1].content
    assert first_goal.startswith('Goal: Click the "Next" button\n<data>\n')
    assert 'Most related to the goal:\n[4] button "Next"\n</data>' in first_goal
    assert '"element": 4' in t.messages[2].content
    assert t.messages[3].content.startswith("Result of browser.click: ok\n<data>\nclicked [4]")
    assert "\nTitle: Checkout\n" in t.messages[3].content
    assert t.messages[-1].content == 'Goal: Click on the "Okay" button.'


def test_every_element_an_example_acts_on_is_on_the_page_it_shows() -> None:
    for example in examples():
        page = "\n".join(example.get("context", []))
        for step in example["steps"]:
            if "element" in step["args"]:
                shown = re.search(rf"^\[{step['args']['element']}\] ", page, re.MULTILINE)
                assert shown, f"{example['goal']}: element {step['args']['element']} not shown"
            result = step["result"]
            page = "\n".join(result) if isinstance(result, list) else result
