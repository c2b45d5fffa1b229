"""Running a browser task through the real engine with a scripted model.

The engine is the product's own (`agent.assemble`: the browser tool with the keyring
lookup, the file tool, the policy, the executor, the SQLite journal under
DESKHAND_HOME); only the model is scripted. A scripted reply can name an element by its
name (`on`), and is given its index from the latest observation the model was shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent import assemble
from agent.approval import Approver
from agent.events import Event, RunStarted
from agent.loop import Engine, run
from agent.policy import Rule, parse_grant
from agent.settings import Settings, load_settings
from agent.task import Limits, Task
from models.base import Message
from models.router import FallbackPolicy, ModelRouter
from models.scripted import ScriptedModel

Reply = dict[str, Any] | Callable[[Sequence[Message]], str]


def reply(tool: str, **args: Any) -> dict[str, Any]:
    return {"tool": tool, "args": args, "thought": "as the page says"}


def index_in(messages: Sequence[Message], name: str) -> int:
    """The index of the element called `name` in the newest observation that shows it."""
    pattern = re.compile(rf'^\[(\d+)\] [\w-]+ "{re.escape(name)}"', re.MULTILINE)
    for message in reversed(messages):
        found = pattern.search(message.content)
        if message.role == "user" and found:
            return int(found.group(1))
    raise AssertionError(f"no element {name!r} was ever shown")


def on(name: str, tool: str, **args: Any) -> Callable[[Sequence[Message]], str]:
    """A reply that acts on the element called `name`."""

    def answer(messages: Sequence[Message]) -> str:
        return json.dumps(reply(tool, element=index_in(messages, name), **args))

    return answer


@dataclass
class BrowserRun:
    events: list[Event]
    prompts: list[list[Message]]
    settings: Settings

    @property
    def run_id(self) -> str:
        started = self.events[0]
        assert isinstance(started, RunStarted)
        return started.run_id


def run_browser_task(
    home: Path,
    workspace: Path,
    start_url: str,
    replies: Sequence[Reply],
    *,
    approver: Approver,
    grants: Sequence[str] = (),
    config_rules: Sequence[Rule] = (),
    goal: str = "Do what the page asks",
) -> BrowserRun:
    """Open `start_url` as ``deskhand run GOAL --start-url`` does, then let the scripted
    model act; returns the events and every prompt the model was given."""
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text("[browser]\nheadless = true\n")
    settings = load_settings({"DESKHAND_HOME": str(home)})
    rules = (
        assemble.start_url_grant(start_url),
        *(parse_grant(g, [workspace]) for g in grants),
        *config_rules,
    )
    journal = assemble.open_journal(settings)
    browser = assemble.browser_tool(settings, [workspace], goal)
    model = ScriptedModel(list(replies))
    try:
        context = f"The browser shows this page:\n{browser.start(start_url)}"
        task = Task(
            goal=goal,
            workspace=(workspace,),
            grants=rules,
            limits=Limits(max_steps=len(replies) + 1),
            context=context,
        )
        router = ModelRouter(model, None, FallbackPolicy(remote_allowed=False))
        engine = Engine(
            router, assemble.registry(settings, [workspace], browser), journal, approver
        )
        events = list(run(task, engine))
    finally:
        browser.close()
        journal.close()
    return BrowserRun(events, model.calls, settings)
