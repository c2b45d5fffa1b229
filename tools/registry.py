"""The tool registry: actions by name, and the JSON schema of one model reply.

The schema is derived from the argument models; nobody writes it by hand. A reply is::

    {"thought": "...", "tool": "files.write", "args": {...that tool's arguments...}}

expressed as an ``anyOf`` with one branch per tool, so a constrained decoder picks the
tool and then must produce exactly that tool's arguments. Only the tools a task may use
are in the registry it builds, so the model is never offered an action it cannot take.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import Field

from tools.base import Effect, ToolArgs, ToolResult, ToolSpec

THOUGHT_MAX_CHARS = 200


class FinishArgs(ToolArgs):
    message: str = Field(min_length=1, max_length=400, description="what was done, for the user")


def finish_spec() -> ToolSpec[FinishArgs]:
    """`finish`: the model's way to end the run with a message. Needs no permission."""
    return ToolSpec(
        name="finish",
        description="End the task and report what was done.",
        args=FinishArgs,
        effect=lambda a: Effect("agent.finish", "", "finish the task"),
        run=lambda a: ToolResult(ok=True, output=a.message, finish=True),
        example={"message": "Created the folder reports."},
    )


class Registry:
    """An ordered set of tool specs, looked up by name."""

    def __init__(self, specs: Iterable[ToolSpec[Any]]) -> None:
        self._specs: dict[str, ToolSpec[Any]] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"tool {spec.name!r} registered twice")
            self._specs[spec.name] = spec

    def __iter__(self) -> Iterator[ToolSpec[Any]]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def names(self) -> list[str]:
        return list(self._specs)

    def get(self, name: str) -> ToolSpec[Any] | None:
        return self._specs.get(name)

    def only(self, names: Iterable[str]) -> Registry:
        wanted = set(names)
        return Registry(s for s in self if s.name in wanted)

    def action_schema(self) -> dict[str, Any]:
        """The JSON schema the reply of this step must satisfy: each tool's argument
        schema narrowed by what it knows now (`ToolSpec.step_schema`), so it may change
        from step to step; the prompt never shows it."""
        branches = []
        for spec in self:
            branches.append(
                {
                    "type": "object",
                    "properties": {
                        "tool": {"const": spec.name},
                        "args": spec.step_schema(),
                        "thought": {"type": "string", "maxLength": THOUGHT_MAX_CHARS},
                    },
                    "required": ["tool", "args", "thought"],
                    "additionalProperties": False,
                }
            )
        return {"anyOf": branches}

    def fingerprint(self) -> str:
        """sha256 of the tool specs as the model sees them, stored with every run so
        old outcomes stay interpretable after the tools change."""
        blob = json.dumps([[s.name, s.description, s.json_schema()] for s in self], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
