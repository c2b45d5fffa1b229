"""The teacher: a `ChatModel` that answers every step with the gold action.

It stands where the embedded model stands (behind `ModelRouter`), so the real loop,
executor, policy and tools run exactly as at run time, and every prompt it is asked to
complete is exactly what the embedded model would see. Each (messages, reply) pair is
kept in `exchanges`: one training example per model step.

The reply is written the way the schema-directed decoder (models/constrained.py) writes
it: the reply object's properties in the schema's order (``tool``, ``args``,
``thought``), every argument of the chosen tool in its schema's order (defaults filled
in), ``json.dumps`` separators, non-ASCII text as is.

Invariants:
- A gold action the step's schema does not offer (an unknown tool, an unknown argument,
  a value outside a narrowed ``enum``, a string outside its length bounds, the thought
  included) raises `TeacherError`: that is a generator bug,
  never a training example.
- `exchanges` holds the messages as given, copied, in call order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent.learn.sample import Gold, GoldExhausted, Step
from models.base import (
    Completion,
    JsonSchema,
    Message,
    ModelCancelled,
    ModelInfo,
    ModelUnavailable,
    ShouldStop,
    Usage,
)


class TeacherError(ModelUnavailable):
    """The gold cannot be written as a reply to this step (a generator bug). A
    `ModelError`, so the loop ends the run as an error and the sample is not kept."""


@dataclass(frozen=True, slots=True)
class Exchange:
    """One model step: the exact messages the model received and the reply it gave."""

    messages: tuple[Message, ...]
    reply: str


class Teacher:
    def __init__(
        self, gold: Gold, model_id: str = "teacher", prompt_style: str = "compact"
    ) -> None:
        self._gold = gold
        self._model_id = model_id
        #: The prompt style the run shows the teacher, so the student's examples are
        #: the prompts it will see (agent.prompt: "compact" for the tuned model).
        self._prompt_style = prompt_style
        self.exchanges: list[Exchange] = []

    @property
    def model_id(self) -> str:
        return self._model_id

    def info(self) -> ModelInfo:
        return ModelInfo(self._model_id, "teacher", "memory", prompt_style=self._prompt_style)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: JsonSchema | None = None,
        max_tokens: int = 512,
        should_stop: ShouldStop | None = None,
    ) -> Completion:
        if should_stop is not None and should_stop():
            raise ModelCancelled("stopped")
        try:
            step = self._gold.next_step(messages, len(self.exchanges))
        except GoldExhausted as exc:
            raise TeacherError(str(exc)) from exc
        text = encode(step, schema)
        self.exchanges.append(Exchange(tuple(messages), text))
        prompt = sum(len(m.content) for m in messages) // 4
        usage = Usage(prompt_tokens=prompt, completion_tokens=len(text) // 4)
        return Completion(text, self._model_id, usage)

    def close(self) -> None:
        pass


def encode(step: Step, schema: JsonSchema | None) -> str:
    """`step` as the decoder would write it under `schema` (the step's action schema)."""
    args = dict(step.args)
    if schema is not None:
        branch = _branch(schema, step.tool)
        _fits(step.thought, branch["properties"]["thought"], f"{step.tool}: thought")
        args = _ordered_args(step, branch["properties"]["args"])
    reply = {"tool": step.tool, "args": args, "thought": step.thought}
    return json.dumps(reply, ensure_ascii=False)


def _branch(schema: JsonSchema, tool: str) -> JsonSchema:
    for branch in schema.get("anyOf", [schema]):
        if branch.get("properties", {}).get("tool", {}).get("const") == tool:
            props = branch["properties"]
            if list(props) != ["tool", "args", "thought"]:
                raise TeacherError(f"unexpected reply layout {list(props)}")
            found: JsonSchema = branch
            return found
    raise TeacherError(f"the step's schema offers no tool {tool!r}")


def _ordered_args(step: Step, args_schema: JsonSchema) -> dict[str, Any]:
    props: dict[str, Any] = args_schema.get("properties", {})
    unknown = set(step.args) - set(props)
    if unknown:
        raise TeacherError(f"{step.tool}: no argument(s) {sorted(unknown)}")
    out: dict[str, Any] = {}
    for key, prop in props.items():
        if key in step.args:
            value = step.args[key]
        elif "default" in prop:
            value = prop["default"]
        else:
            raise TeacherError(f"{step.tool}: gold lacks required argument {key!r}")
        if "enum" in prop and value not in prop["enum"]:
            raise TeacherError(f"{step.tool}: {key}={value!r} is not offered this step")
        _fits(value, prop, f"{step.tool}: {key}")
        out[key] = value
    return out


def _fits(value: Any, prop: JsonSchema, what: str) -> None:
    """A string the decoder could not have written (too long or too short) is refused."""
    if isinstance(value, str) and not (
        prop.get("minLength", 0) <= len(value) <= prop.get("maxLength", len(value))
    ):
        raise TeacherError(f"{what} has {len(value)} characters, outside the schema's bounds")
