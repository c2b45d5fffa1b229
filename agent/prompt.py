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

Two prompt styles. ``full`` (above) is for a model that must learn the task from the
prompt. ``compact`` is for a model trained on deskhand's own curriculum (a deskhand
adapter, models/adapters/): a two-line system prompt naming the tools and no worked
example, since the tuned model learned the replies and the constrained decoder enforces
each tool's arguments. Training cost grows with prompt length (about 60 % of the full
prompt is the tool list and the example), so the tuned model is shown the compact one,
at training and at run time alike: a model says which it was trained on in
`ModelInfo.prompt_style` (`style_of`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from agent.templates import render
from models.base import ChatModel, Message
from tools.base import ToolResult
from tools.registry import Registry

PromptStyle = Literal["full", "compact"]
FULL: PromptStyle = "full"
COMPACT: PromptStyle = "compact"


def style_of(model: ChatModel) -> PromptStyle:
    """The prompt style `model` expects: ``compact`` for a model tuned on it, else full."""
    return COMPACT if getattr(model.info(), "prompt_style", FULL) == COMPACT else FULL


def style_of_system(text: str) -> PromptStyle:
    """The style a system prompt was rendered in: what a training example teaches."""
    head = render("compact.j2", tools=[]).splitlines()[0]
    return COMPACT if text.startswith(head) else FULL


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


def system_prompt(registry: Registry, style: PromptStyle = FULL) -> str:
    if style == COMPACT:
        return render("compact.j2", tools=list(registry.names()))
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
    def start(
        cls,
        registry: Registry,
        goal: str,
        context: str = "",
        style: PromptStyle = FULL,
        examples: Sequence[dict[str, Any]] = (),
    ) -> Transcript:
        """The opening messages; the `compact` style has no built-in worked example.
        `examples` (the user's past runs, agent/experience.py) follow the built-in one."""
        messages = [Message("system", system_prompt(registry, style))]
        example = worked_example(registry, goal) if style == FULL else None
        for shown in (example, *examples):
            if shown is not None:
                messages += example_turns(shown)
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
