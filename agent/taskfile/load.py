"""Loading a task file: bytes -> YAML with line marks -> schema -> inputs filled ->
placeholders rendered -> schema again. Every failure is one `TaskFileError`."""

from __future__ import annotations

import codecs
import difflib
import os
from collections.abc import Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ValidationError,
)

from agent.taskfile.render import InputRenderer
from agent.taskfile.schema import (
    MAX_BYTES,
    TAGGED,
    InputSpec,
    InputValue,
    TaskFile,
    TaskLimits,
    convert_input,
)
from agent.taskfile.strict_yaml import (
    Problem,
    TaskFileError,
    YamlPath,
    format_path,
    line_of,
    read_yaml,
)

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
    rendered, problems = InputRenderer(raw, values, lines).document(root)
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
        kinds = [t for t in TAGGED if t not in ("tool", "agent")]
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
        model = TAGGED.get(str(parent[2]))
    if model is None:
        return ""
    fields = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f" (fields here: {', '.join(fields)})"


# -- inputs --------------------------------------------------------------------------------


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
