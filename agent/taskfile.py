"""Task files: a repeatable task written down in YAML (``*.task.yaml``), loaded and checked.

A task file says what to do (a `goal` for the model, or `steps` mixing fixed tool actions
with `agent` sub-goals), which `inputs` it takes (filled with ``--set name=value``), which
`permissions` an unattended run is granted, which `checks` decide its outcome, and its
`limits`. For example::

    name: Sort downloads
    description: Put the pictures in a downloads folder into their own folder.
    inputs:
      folder: {type: path, default: Downloads, description: the folder to sort}
    permissions: ["fs.write:Downloads/*"]
    steps:
      - tool: files.make_folder
        args: {path: "{{ inputs.folder }}/images"}
      - agent: Move every picture in {{ inputs.folder }} into {{ inputs.folder }}/images.
        max_steps: 8
    checks:
      - {kind: count_matching, pattern: "{{ inputs.folder }}/images/*", at_least: 1}
    limits: {max_steps: 20, max_seconds: 300}

Placeholders: ``{{ inputs.NAME }}`` is replaced by the input's value in `goal`, in each
step's `agent` text and `args` (an arg that is exactly one placeholder keeps the input's
type), and in the text fields of `checks` (shell-quoted inside `command`). ``{{
secrets.NAME }}`` (or ``{{secret:NAME}}``, as the model writes it) must name an entry of
`secrets` and is left in place: the tool that types it resolves it from the keyring at
the moment of use, so the journal and the model only see the placeholder.
``{{ outputs.NAME }}`` in a fixed step's `args` is left in place too and replaced, when
that step runs, by the output of the earlier fixed step that has ``save_as: NAME`` (for
example the text `browser.extract` read from a page). Any other ``{{`` is an error.
The grammar (names, spellings, spaces) is the one in tools/placeholders.py. Substitution
is regular expressions, not a template engine: a task file is data, and dropping one
into the watched inbox must never run template code (loops, filters, attribute access)
or take unbounded time.

`permissions` take ``{{ inputs.NAME }}`` in their scope (never in the capability), and a
value there stands only for itself, so what a task may do can still be read off the
file: in a ``browser.*`` grant the value must be a host or a web address (whose host is
meant, as with ``--allow``), without spaces or wildcards; in any other grant its
wildcard characters are escaped (``glob.escape``), so ``*`` given as a folder name
matches only a folder called ``*``.

Invariants:
- Every failure to load, for any input bytes, is a `TaskFileError` whose str() is one
  line, ``FILE[:LINE[:COLUMN]]: [FIELD: ]message``: unreadable or oversized files (over
  1 MiB), bytes that are not UTF-8, YAML syntax, duplicate keys, tags and merge keys,
  nesting deeper than `taskyaml.MAX_DEPTH`, alias bombs, schema errors (every model forbids
  unknown fields, and values are not coerced: ``"5"`` is not an int), bad grants, unknown
  or badly typed ``--set`` values, missing inputs and bad placeholders.
- Line numbers come from the YAML node marks (agent/taskyaml.py reads the YAML and owns
  `TaskFileError`), so a field error points at the key that holds the bad value (or at
  the mapping that lacks a required field).
- A loaded `TaskFile` is frozen and has its inputs substituted; tool names and their
  arguments are checked later, against the registry.
"""

from __future__ import annotations

import codecs
import difflib
import glob
import json
import math
import os
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
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
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from agent.policy import KNOWN_CAPABILITIES, BadGrant, Rule, parse_grant
from agent.taskyaml import (
    Problem,
    TaskFileError,
    YamlPath,
    format_path,
    line_of,
    read_yaml,
)
from tools import placeholders
from tools.base import ToolFailure
from tools.browser.urls import host_of, normalize_url

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
_TAGGED: dict[str, type[BaseModel]] = {
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


# -- loading ------------------------------------------------------------------------------


def load_task_file(
    path: str | os.PathLike[str],
    overrides: Mapping[str, str] | None = None,
    *,
    require_inputs: bool = True,
    only_declared: bool = False,
) -> TaskFile:
    """Read and validate a task file, filling its inputs from `overrides` (``--set``).

    With ``require_inputs=False`` (for ``deskhand validate``) inputs without a value are
    not an error and their placeholders stay in place. With ``only_declared=True`` (the
    inbox's ``--set``, shared by every task) an override the task does not declare is
    ignored instead of being an error.
    """
    source = os.fspath(path)
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise TaskFileError(
            source, [Problem("unreadable", f"cannot read it: {exc.strerror or exc}")]
        ) from exc
    return parse_task_text(
        data, source, overrides, require_inputs=require_inputs, only_declared=only_declared
    )


def parse_task_text(
    text: str | bytes,
    source_name: str,
    overrides: Mapping[str, str] | None = None,
    *,
    require_inputs: bool = True,
    only_declared: bool = False,
) -> TaskFile:
    """Validate a task file's text (bytes are read as UTF-8, with or without a BOM);
    `source_name` names it in error messages."""
    if len(text) > MAX_BYTES:
        raise TaskFileError(source_name, [Problem("too_large", "larger than 1 MiB")])
    if isinstance(text, bytes):
        try:
            text = text.removeprefix(codecs.BOM_UTF8).decode("utf-8")
        except UnicodeDecodeError as exc:
            line = exc.object.count(b"\n", 0, exc.start) + 1
            message = f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})"
            raise TaskFileError(source_name, [Problem("encoding", message, line=line)]) from None
    root, lines = read_yaml(text.removeprefix("\ufeff"), source_name)
    if not isinstance(root, dict):
        got = "a list" if isinstance(root, list) else repr(root)[:40]
        message = f"a task file is a mapping of fields (name, goal or steps, ...), not {got}"
        raise TaskFileError(source_name, [Problem("schema", message, line=lines.get((), 1))])
    raw = _validate(root, source_name, lines)
    given = dict(overrides or {})
    if only_declared:
        given = {k: v for k, v in given.items() if k in raw.inputs}
    values = _resolve_inputs(raw, given, require_inputs, source_name, lines)
    rendered, problems = _Renderer(raw, values, lines).document(root)
    if problems:
        raise TaskFileError(source_name, problems)
    task = _validate(rendered, source_name, lines)
    task._input_values = values
    return task


def task_file_json_schema() -> dict[str, Any]:
    """The JSON Schema of task files, for editors (``deskhand schema``)."""
    schema = TaskFile.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


# -- schema errors -------------------------------------------------------------------------


def _validate(data: Any, source: str, lines: Mapping[YamlPath, int]) -> TaskFile:
    try:
        return TaskFile.model_validate(data)
    except ValidationError as exc:
        problems = [_schema_problem(error, lines) for error in exc.errors(include_url=False)]
        raise TaskFileError(source, problems) from None


def _schema_problem(error: Any, lines: Mapping[YamlPath, int]) -> Problem:
    loc: tuple[str | int, ...] = tuple(error["loc"])
    path = _clean_loc(loc)
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "task_field":
        path = (*path, ctx["field"])
        message = error["msg"]
    elif kind == "value_error":
        message = str(ctx.get("error", error["msg"]))
    elif kind == "extra_forbidden":
        message = "unknown field" + _suggestion(loc)
    elif kind == "missing":
        message = "required field missing"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        path = (*path, "kind")
        kinds = [t for t in _TAGGED if t not in ("tool", "agent")]
        close = difflib.get_close_matches(str(ctx.get("tag", "")), kinds, n=1)
        message = f"did you mean {close[0]!r}?" if close else f"kind is one of {', '.join(kinds)}"
    else:
        message = str(error["msg"])
        message = message[:1].lower() + message[1:]
    return Problem("schema", message, line=line_of(path, lines), field=format_path(path))


def _clean_loc(loc: tuple[str | int, ...]) -> YamlPath:
    """Drop the union tags pydantic puts in a location (``steps, 2, tool, args``)."""
    if len(loc) >= 3 and loc[0] in ("steps", "checks") and isinstance(loc[1], int):
        loc = (*loc[:2], *loc[3:])
    return tuple(part for part in loc if part != "[key]")


def _suggestion(loc: tuple[str | int, ...]) -> str:
    parent = loc[:-1]
    model: type[BaseModel] | None = None
    if not parent:
        model = TaskFile
    elif parent == ("limits",):
        model = TaskLimits
    elif len(parent) == 2 and parent[0] == "inputs":
        model = InputSpec
    elif len(parent) == 3 and parent[0] in ("steps", "checks"):
        model = _TAGGED.get(str(parent[2]))
    if model is None:
        return ""
    fields = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f" (fields here: {', '.join(fields)})"


# -- inputs --------------------------------------------------------------------------------


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


def _resolve_inputs(
    task: TaskFile,
    overrides: Mapping[str, str],
    require: bool,
    source: str,
    lines: Mapping[YamlPath, int],
) -> dict[str, InputValue]:
    problems: list[Problem] = []
    known = ", ".join(task.inputs) or "none"
    for name in overrides:
        if name not in task.inputs:
            message = f"the task has no input {name[:60]!r} (inputs: {known})"
            problems.append(Problem("input", message, field=f"--set {name[:60]}"))
    values: dict[str, InputValue] = {}
    for name, spec in task.inputs.items():
        field, line = f"inputs.{name}", lines.get(("inputs", name))
        if name in overrides:
            text = overrides[name]
            try:
                values[name] = convert_input(text, spec.type)
            except ValueError as exc:
                message = f"--set {name}={text[:60]!r} {exc}"
                problems.append(Problem("input", message, line=line, field=field))
        elif spec.default is not None:
            values[name] = float(spec.default) if spec.type == "float" else spec.default
        elif require:
            message = f"required input has no value; give one with --set {name}=..."
            problems.append(Problem("input", message, line=line, field=field))
    if problems:
        raise TaskFileError(source, problems)
    return values


# -- placeholders --------------------------------------------------------------------------


def _as_text(value: InputValue) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class _Renderer:
    """Substitutes ``{{ inputs.NAME }}`` in the fields that take placeholders."""

    _CHECK_FIELDS = ("path", "text", "url", "pattern", "command")

    def __init__(
        self, task: TaskFile, values: Mapping[str, InputValue], lines: Mapping[YamlPath, int]
    ) -> None:
        self._task = task
        self._values = values
        self._lines = lines
        self._problems: list[Problem] = []
        #: save_as names of the fixed steps rendered so far; None outside a step's args.
        self._saved: set[str] = set()
        self._outputs: set[str] | None = None

    def document(self, root: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
        # `root` has passed validation, so steps and checks are lists of mappings.
        out = dict(root)
        if isinstance(root.get("goal"), str):
            out["goal"] = self._text(root["goal"], ("goal",))
        if isinstance(root.get("steps"), list):
            out["steps"] = [self._step(s, ("steps", i)) for i, s in enumerate(root["steps"])]
        if isinstance(root.get("checks"), list):
            out["checks"] = [self._check(c, ("checks", i)) for i, c in enumerate(root["checks"])]
        if isinstance(root.get("permissions"), list):
            grants = enumerate(root["permissions"])
            out["permissions"] = [self._grant(g, ("permissions", i)) for i, g in grants]
        return out, self._problems

    def _grant(self, grant: str, path: YamlPath) -> str:
        """A permission with its inputs filled in, each value standing for itself."""
        capability, colon, scope = grant.partition(":")
        if "{{" in capability:
            self._fail(path, "an input can fill a permission's scope, not its capability")
            return grant
        literal = _web_host if capability.strip().startswith("browser.") else glob.escape
        return capability + colon + self._text(scope, path, literal, inputs_only=True)

    def _step(self, step: dict[str, Any], path: YamlPath) -> dict[str, Any]:
        out = dict(step)
        if "tool" in step:
            self._outputs = self._saved
            try:
                out["args"] = self._json(step.get("args", {}), (*path, "args"))
            finally:
                self._outputs = None
            if isinstance(step.get("save_as"), str):
                self._saved = self._saved | {step["save_as"]}
        else:
            out["agent"] = self._text(step["agent"], (*path, "agent"))
        return out

    def _check(self, check: dict[str, Any], path: YamlPath) -> dict[str, Any]:
        out = dict(check)
        for key in self._CHECK_FIELDS:
            if isinstance(check.get(key), str):
                quote = shlex.quote if key == "command" else None
                out[key] = self._text(check[key], (*path, key), quote)
        return out

    def _json(self, value: Any, path: YamlPath) -> Any:
        return placeholders.walk(value, self._arg, path)

    def _arg(self, value: str, path: YamlPath) -> Any:
        # An arg that is exactly one input placeholder keeps the input's type.
        whole = placeholders.BRACES.fullmatch(value)
        ref = placeholders.reference(whole.group(1)) if whole else None
        if ref and ref.space == "inputs" and ref.name in self._values:
            return self._values[ref.name]
        return self._text(value, path)

    def _text(
        self,
        text: str,
        path: YamlPath,
        quote: Callable[[str], str] | None = None,
        *,
        inputs_only: bool = False,
    ) -> str:
        def substitute(match: re.Match[str]) -> str:
            ref = placeholders.reference(match.group(1))
            if inputs_only and (ref is None or ref.space != "inputs"):
                self._fail(path, f"{match.group(0)[:40]!r}: only {{{{ inputs.NAME }}}} works here")
                return ""
            if ref is None:
                shown = match.group(0)[:40]
                self._fail(
                    path,
                    f"{shown!r} is not {{{{ inputs.NAME }}}}, {{{{ secrets.NAME }}}} "
                    "or {{ outputs.NAME }}",
                )
                return ""
            space, name = ref.space, ref.name
            if space == "outputs":
                if self._outputs is None:
                    self._fail(path, "{{ outputs.NAME }} works only in a fixed step's args")
                elif name not in self._outputs:
                    self._fail(path, f"no earlier fixed step has save_as: {name}")
                return match.group(0)
            if space == "secrets":
                if name not in self._task.secrets:
                    self._fail(path, f"secret {name!r} is not listed in 'secrets'")
                return match.group(0)
            if name not in self._task.inputs:
                self._fail(path, f"{match.group(0)!r}: the task has no input {name!r}")
                return ""
            if name not in self._values:  # validating without the required inputs
                return match.group(0)
            value = _as_text(self._values[name])
            try:
                return quote(value) if quote else value
            except ValueError as exc:
                self._fail(path, f"input {name!r} ({value[:60]!r}) {exc}")
                return ""

        rendered = placeholders.BRACES.sub(substitute, text)
        if "{{" in placeholders.BRACES.sub("", text):
            self._fail(path, "'{{' without a closing '}}'")
        return rendered

    def _fail(self, path: YamlPath, message: str) -> None:
        line = line_of(path, self._lines)
        self._problems.append(Problem("placeholder", message, line=line, field=format_path(path)))


def _web_host(value: str) -> str:
    """`value` as the host part of a browser grant: a host or a web address, nothing that
    would widen the grant (spaces start an element pattern, wildcards match other hosts)."""
    if not value or any(c.isspace() or c in "*?[]" for c in value):
        raise ValueError("is not a host or a web address (it has spaces or wildcards)")
    try:
        normalize_url(value)
    except ToolFailure as failure:
        raise ValueError(f"is not a host or a web address: {failure.message}") from None
    if "://" not in value and host_of("https://" + value) != value.lower():
        raise ValueError("is not a host or a web address")
    return value
