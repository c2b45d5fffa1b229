"""Prompts: rendered from package data files, kept append-only between steps.

The message list of a run is [system, goal, reply 1, result 1, reply 2, result 2, ...].
Nothing earlier is ever re-rendered, so llama.cpp reuses the KV cache of everything up
to the newest result (see models/llamacpp.py). The system prompt lists only the tools
this task may use, each with a one-line description and an example of its arguments, and
a worked example whose tools are all available: for a run given tools beyond the files
(a browser, the GUI, a shell, which a run gets only when the user asks for them), one that
uses those tools. An example may show what the run starts with (``context``: the page a
browser run opens on), laid out as the real observation is, so the model sees where the
element numbers it copies come from. A browser example ends with its last action, not
with finish: SmolLM2-135M copies the last reply it saw, and after an example ending in
finish it finished at once on 6 of 8 MiniWoB episodes (tests/benchmarks/miniwob.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from agent.templates import render
from models.base import Message
from tools.base import ToolResult
from tools.registry import Registry


def _reply(thought: str, tool: str, args: dict[str, Any]) -> str:
    # The exact layout the constrained decoder writes, so the example primes it.
    return json.dumps({"tool": tool, "args": args, "thought": thought}, ensure_ascii=False)


_STOPWORDS = frozenset("a an the of and to in that this it file files named says".split())


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if w not in _STOPWORDS}


def _first_word(text: str) -> str:
    words = re.findall(r"[a-z]+", text.lower())
    return words[0] if words else ""


#: Tool families every run has; any other family was asked for by the user for this run.
_BASE_FAMILIES = frozenset({"files", "finish"})


def _family(tool: str) -> str:
    return tool.split(".", 1)[0]


def _lines(text: str | list[str]) -> str:
    # examples.json writes a multi-line text (a page) as a list of its lines
    return "\n".join(text) if isinstance(text, list) else text


def worked_example(registry: Registry, goal: str = "") -> dict[str, Any] | None:
    """The example (from prompts/examples.json) closest to `goal` whose tools are all
    available: one using the run's own extra tools (a browser, ...) first, then the same
    leading verb and most shared words; the first listed on a tie.

    A 135M model copies the example's tool more than it reads the tool list, so a
    matching example is what lets it pick the right tool (tests/benchmarks/goals.py): on
    a browser task it copied ``files.list`` from a file example in 12 of 16 MiniWoB
    episodes (tests/benchmarks/miniwob.py).
    """
    raw = resources.files("agent").joinpath("prompts/examples.json").read_text(encoding="utf-8")
    usable = [e for e in json.loads(raw) if all(name in registry for name in e["requires"])]
    if not usable:
        return None
    wanted, verb = _words(goal), _first_word(goal)
    extra = {_family(name) for name in registry.names()} - _BASE_FAMILIES

    def score(e: dict[str, Any]) -> tuple[bool, int]:  # the leading verb says most
        own = bool(extra & {_family(name) for name in e["requires"]})
        return own, len(wanted & _words(e["goal"])) + 2 * (verb == _first_word(e["goal"]))

    example = max(usable, key=score)
    steps = [
        {
            "reply": _reply(s["thought"], s["tool"], s["args"]),
            "tool": s["tool"],
            "result": _lines(s["result"]),
        }
        for s in example["steps"]
    ]
    return {"goal": example["goal"], "context": _lines(example.get("context", "")), "steps": steps}


def system_prompt(registry: Registry) -> str:
    tools = [
        {
            "name": spec.name,
            "description": spec.description,
            "example_json": json.dumps(dict(spec.example or {}), ensure_ascii=False),
        }
        for spec in registry
    ]
    return render("system.j2", tools=tools)


def goal_message(goal: str, context: str = "") -> str:
    return render("goal.j2", goal=goal, context=as_data(context))


def example_turns(example: dict[str, Any]) -> list[Message]:
    """A worked example as earlier turns of the conversation: goal, reply, result, ...

    A small chat model imitates a previous exchange far more than it follows an example
    described inside the system prompt (measured with tests/benchmarks/goals.py).
    """
    turns = [Message("user", goal_message(example["goal"], example.get("context", "")))]
    for step in example["steps"]:
        turns.append(Message("assistant", step["reply"]))
        if step["tool"] != "finish":
            output = step["result"].removeprefix("ok: ")
            turns.append(
                Message("user", observation(step["tool"], ToolResult(ok=True, output=output)))
            )
    return turns


def as_data(text: str) -> str:
    """Text for inside <data> tags: a file cannot close the tag and speak as the user."""
    return text.replace("<data>", "<data\u200b>").replace("</data>", "</data\u200b>")


def observation(tool: str, result: ToolResult) -> str:
    status = "ok" if result.ok else f"error ({result.kind})"
    return render("observation.j2", tool=tool, status=status, output=as_data(result.output))


@dataclass(slots=True)
class Transcript:
    """The append-only message list of one run."""

    messages: list[Message] = field(default_factory=list)

    @classmethod
    def start(cls, registry: Registry, goal: str, context: str = "") -> Transcript:
        messages = [Message("system", system_prompt(registry))]
        example = worked_example(registry, goal)
        if example is not None:
            messages += example_turns(example)
        messages.append(Message("user", goal_message(goal, context)))
        return cls(messages)

    def add(self, reply: str, result_text: str) -> None:
        self.messages.append(Message("assistant", reply))
        self.messages.append(Message("user", result_text))

    def template_hash(self) -> str:
        """Hash of the system prompt (template + tool descriptions) for the journal."""
        return hashlib.sha256(self.messages[0].content.encode()).hexdigest()[:16]

    def prompt_hash(self) -> str:
        blob = "\x1e".join(f"{m.role}\x1f{m.content}" for m in self.messages)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
