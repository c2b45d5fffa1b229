"""Running a browser task through the real engine with a scripted model.

The run is prepared and driven as every run is (`agent.prepare`, `agent.taskrun`: the
browser tool with the keyring lookup, the file tool, the policy, the executor, the SQLite
journal under DESKHAND_HOME); only the model is scripted, handed in as the run's model. A scripted reply can name an element by its
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
from agent.policy import Rule
from agent.prepare import RunRequest, prepare_run
from agent.settings import Settings, load_settings
from agent.taskrun import run_task
from models.base import Message
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
    """Open `start_url` as ``deskhand run GOAL --start-url`` does (`agent.prepare`), then
    let the scripted model act; returns the events and every prompt the model was given.
    `config_rules` are written to the config file's ``[[permissions]]``."""
    (home / "config").mkdir(parents=True, exist_ok=True)
    config = "[browser]\nheadless = true\n" + "".join(
        f"[[permissions]]\ncapability = {json.dumps(r.capability)}\n"
        f"scope = {json.dumps(r.scope)}\ndecision = {json.dumps(r.decision)}\n"
        for r in config_rules
    )
    (home / "config" / "config.toml").write_text(config)
    settings = load_settings({"DESKHAND_HOME": str(home)})
    model = ScriptedModel(list(replies))
    request = RunRequest(
        goal=goal,
        workspace=[workspace],
        model=model,
        grants=grants,
        start_url=start_url,
        approver=approver,
        max_steps=len(replies) + 1,
        memory=False,
    )
    plan = prepare_run(request, settings)
    with assemble.open_journal(settings) as journal:
        events = list(run_task(plan, journal))
    return BrowserRun(events, model.calls, settings)
