"""The task file's schema: pydantic models for every field, strict (unknown fields are
errors, values are not coerced), and the values an input may take (`convert_input`).
The format itself is described in the package docstring (agent/taskfile/__init__.py)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    PrivateAttr,
    Tag,
    model_validator,
)
from pydantic_core import PydanticCustomError

from agent.policy import KNOWN_CAPABILITIES, BadGrant, Rule, parse_grant
from tools import placeholders

MAX_BYTES = 1 << 20
MAX_STEPS = 1000
MAX_SECONDS = 7 * 24 * 3600.0

_TOOL = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"

InputType = Literal["str", "int", "float", "bool", "path"]
InputValue = str | int | float | bool


def _field_error(field: str, message: str) -> PydanticCustomError:
    """An error from a model validator that belongs to one of the model's fields."""
    return PydanticCustomError("task_field", message, {"field": field})


# -- the schema ---------------------------------------------------------------------------


class _Model(BaseModel):
    # strict: YAML already typed the scalars, so "5" for an int is a mistake, not a number.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _check_name(name: str) -> str:
    # Input and output names appear in placeholders, so they are identifiers.
    if not placeholders.is_identifier(name):
        raise ValueError(
            f"{name[:60]!r} is not letters, digits and '_' (not starting with a digit)"
        )
    return name


def _check_secret_name(name: str) -> str:
    # A secret name may also hold '.' and '-' after its first character (tools/placeholders.py).
    if not placeholders.is_secret_name(name):
        raise ValueError(
            f"{name[:60]!r} is not letters, digits and '_' (not starting with a digit)"
        )
    return name


def _check_grant(text: str) -> str:
    try:
        # The root only shapes file-system scopes; the run supplies the real workspace.
        parse_grant(text, (Path("/"),))
    except BadGrant:
        known = ", ".join(KNOWN_CAPABILITIES)
        raise ValueError(
            f"{text[:60]!r} is not CAPABILITY or CAPABILITY:SCOPE (capabilities: {known})"
        ) from None
    return text


def parse_expect(text: str) -> tuple[str, str] | None:
    """``ROLE "NAME"`` as (role, name), or None when `text` is not written so."""
    role, _, quoted = text.strip().partition(" ")
    if not re.fullmatch(r"[\w-]+", role) or not re.fullmatch(r'"(?:[^"\\]|\\.)*"', quoted):
        return None
    try:
        name = json.loads(quoted)
    except ValueError:
        return None
    return (role, name) if isinstance(name, str) else None


def _check_expect(text: str) -> str:
    if parse_expect(text) is None:
        raise ValueError(f'{text[:60]!r} is not ROLE "NAME", e.g. button "Send"')
    return text


def _check_default(value: Any) -> Any:
    if value is not None and not isinstance(value, str | int | float):
        raise ValueError("a default is text, a number, or true/false")
    return value


class InputSpec(_Model):
    """An input of the task, filled with ``--set NAME=VALUE``; no default means required."""

    type: InputType = "str"
    default: Annotated[InputValue | None, BeforeValidator(_check_default)] = None
    description: str = ""

    @model_validator(mode="after")
    def _default_has_type(self) -> InputSpec:
        if self.default is not None:
            try:
                _check_value(self.default, self.type)
            except ValueError as exc:
                raise _field_error("default", f"the default {exc}") from None
        return self


class ToolStep(_Model):
    """A fixed action: a registered tool's name and its arguments."""

    tool: str = Field(pattern=_TOOL, description="a tool name, e.g. files.move")
    args: dict[str, JsonValue] = Field(default_factory=dict)
    save_as: Annotated[str, AfterValidator(_check_name)] | None = Field(
        default=None,
        description="a name: later fixed steps' args get this step's output as {{ outputs.NAME }}",
    )
    expect: Annotated[str, AfterValidator(_check_expect)] | None = Field(
        default=None,
        description='the element the step acts on, as the page shows it: ROLE "NAME" '
        '(e.g. button "Send"); checked just before the step acts',
    )


class AgentStep(_Model):
    """A sub-goal handed to the model, with its own step budget (default: what is left)."""

    agent: str = Field(min_length=1, description="the sub-goal, in plain words")
    max_steps: int | None = Field(default=None, ge=1, le=MAX_STEPS)


def _step_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return "tool" if "tool" in value else "agent" if "agent" in value else None
    return (
        "tool" if isinstance(value, ToolStep) else "agent" if isinstance(value, AgentStep) else None
    )


Step = Annotated[
    Annotated[ToolStep, Tag("tool")] | Annotated[AgentStep, Tag("agent")],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message="a step is a mapping with either 'tool' (and 'args') or 'agent'",
    ),
]


class FileExists(_Model):
    kind: Literal["file_exists"]
    path: str = Field(min_length=1)


class FileContains(_Model):
    kind: Literal["file_contains"]
    path: str = Field(min_length=1)
    text: str = Field(min_length=1)


class PageContains(_Model):
    kind: Literal["page_contains"]
    url: str | None = Field(default=None, min_length=1, description="default: the open page")
    text: str = Field(min_length=1)


class CommandExitsZero(_Model):
    kind: Literal["command_exits_zero"]
    command: str = Field(min_length=1)
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)


class CountMatching(_Model):
    """The number of paths matching a glob (relative to the workspace) is as stated."""

    kind: Literal["count_matching"]
    pattern: str = Field(min_length=1)
    equals: int | None = Field(default=None, ge=0)
    at_least: int | None = Field(default=None, ge=0)
    at_most: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_bound(self) -> CountMatching:
        if self.equals is None and self.at_least is None and self.at_most is None:
            raise _field_error("equals", "give equals, at_least or at_most")
        if self.equals is not None and (self.at_least is not None or self.at_most is not None):
            raise _field_error("equals", "give equals alone, or at_least and/or at_most")
        if self.at_least is not None and self.at_most is not None and self.at_least > self.at_most:
            raise _field_error("at_most", "at_most is smaller than at_least")
        return self


Check = Annotated[
    FileExists | FileContains | PageContains | CommandExitsZero | CountMatching,
    Field(discriminator="kind"),
]
TAGGED: dict[str, type[BaseModel]] = {
    "tool": ToolStep,
    "agent": AgentStep,
    "file_exists": FileExists,
    "file_contains": FileContains,
    "page_contains": PageContains,
    "command_exits_zero": CommandExitsZero,
    "count_matching": CountMatching,
}


class TaskLimits(_Model):
    """Bounds of one run; a missing value keeps the engine's default."""

    max_steps: int | None = Field(default=None, ge=1, le=MAX_STEPS)
    max_seconds: float | None = Field(default=None, gt=0, le=MAX_SECONDS)


class TaskFile(_Model):
    """A task file, validated; see the module docstring for the format."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["goal"]}, {"required": ["steps"]}]}
    )

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    goal: str | None = Field(default=None, min_length=1, description="a fully agentic task")
    steps: Annotated[list[Step], Field(min_length=1)] | None = None
    inputs: dict[Annotated[str, AfterValidator(_check_name)], InputSpec] = Field(
        default_factory=dict
    )
    permissions: list[Annotated[str, AfterValidator(_check_grant)]] = Field(
        default_factory=list, description="grants for unattended runs, e.g. fs.write:reports/*"
    )
    checks: list[Check] = Field(default_factory=list)
    limits: TaskLimits = Field(default_factory=TaskLimits)
    model: str | None = Field(default=None, min_length=1, description="preferred model")
    secrets: list[Annotated[str, AfterValidator(_check_secret_name)]] = Field(
        default_factory=list,
        description="keyring names (may hold '.' and '-'), used as {{ secrets.NAME }}",
    )
    on_interrupt: Literal["rerun", "fail"] = Field(
        default="fail", description="what the watched inbox does with a run cut short"
    )
    on_step_failure: Literal["agent", "stop"] = Field(
        default="stop",
        description="when a fixed step fails: 'agent' hands its intent to the model as a "
        "sub-goal, 'stop' ends the run",
    )

    _input_values: dict[str, InputValue] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _goal_or_steps(self) -> TaskFile:
        if self.goal is not None and self.steps is not None:
            raise _field_error("steps", "give either goal or steps, not both")
        if self.goal is None and self.steps is None:
            raise _field_error("goal", "give a goal, or steps")
        if len(set(self.secrets)) != len(self.secrets):
            raise _field_error("secrets", "a secret is listed twice")
        saved = [s.save_as for s in self.steps or () if isinstance(s, ToolStep) and s.save_as]
        if len(set(saved)) != len(saved):
            raise _field_error("steps", "two steps have the same save_as name")
        return self

    @property
    def input_values(self) -> Mapping[str, InputValue]:
        """The value of each input this file was loaded with."""
        return MappingProxyType(self._input_values)

    def grants(self, roots: Sequence[Path]) -> tuple[Rule, ...]:
        """The permission rules of this task, file scopes relative to ``roots[0]``."""
        return tuple(parse_grant(text, roots) for text in self.permissions)


# -- input values --------------------------------------------------------------------------


_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "path": (str,), "bool": (bool,)}
_TYPES.update({"int": (int,), "float": (int, float)})
_DESCRIBED = {"str": "text", "path": "a non-empty path", "bool": "true or false"}
_DESCRIBED.update({"int": "an int", "float": "a finite number"})
_BOOLS = {"true": True, "yes": True, "on": True, "1": True}
_BOOLS.update({"false": False, "no": False, "off": False, "0": False})
_INT = re.compile(r"[+-]?[0-9]{1,100}\Z")
_FLOAT = re.compile(r"[+-]?([0-9]{1,100}(\.[0-9]{0,100})?|\.[0-9]{1,100})([eE][+-]?[0-9]{1,4})?\Z")


def _check_value(value: InputValue, kind: InputType) -> None:
    if (
        not isinstance(value, _TYPES[kind])
        or (isinstance(value, bool) and kind != "bool")
        or (isinstance(value, float) and not math.isfinite(value))
        or (kind == "path" and value == "")
    ):
        raise ValueError(f"is not {_DESCRIBED[kind]}")
    if isinstance(value, str) and ("{{" in value or "\x00" in value):
        raise ValueError("contains '{{' or a NUL character")


def convert_input(text: str, kind: InputType) -> InputValue:
    """A ``--set`` string as a value of an input's type; ValueError says why it is not."""
    value: InputValue = text
    if kind == "int" and _INT.match(text):
        value = int(text)
    elif kind == "float" and _FLOAT.match(text):
        value = float(text)
    elif kind == "bool" and text.lower() in _BOOLS:
        value = _BOOLS[text.lower()]
    _check_value(value, kind)  # text that did not convert is refused here
    return value
