"""Reading a task file's YAML with the line of every value, and the one-line errors.

`read_yaml` turns text into plain values (dicts, lists, scalars) plus the 1-based line of
every path in the document, so that agent/taskfile/ can point a schema error at the
key that holds the bad value. It is a safe, bounded reader for files from anywhere (the
watched inbox): duplicate keys, merge keys, non-standard tags, alias cycles, nesting
deeper than `MAX_DEPTH` and alias bombs (more than `MAX_NODES` values) are refused with
a `TaskFileError`, never a traceback.

`TaskFileError` is the only error loading a task file raises; its str() is one line,
``FILE[:LINE[:COLUMN]]: [FIELD: ]message``, at most `_MESSAGE_LIMIT` characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

#: Nesting of YAML collections; deeper documents are refused before composing recurses.
MAX_DEPTH = 40
#: Values in the document once aliases are expanded (guards against "billion laughs").
MAX_NODES = 100_000
#: Longest error message, so a hostile file cannot make an error line huge.
_MESSAGE_LIMIT = 400

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

#: Where a value sits in the document: keys and list indices from the root.
YamlPath = tuple[str | int, ...]


# -- errors -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a task file.

    kind: ``unreadable``, ``too_large``, ``encoding``, ``syntax``, ``schema``, ``input``
    or ``placeholder``; line and column are 1-based; field is a path like ``steps[2].args``.
    """

    kind: str
    message: str
    line: int | None = None
    column: int | None = None
    field: str = ""


class TaskFileError(Exception):
    """A task file that cannot be used. str() is one line naming file, line and field;
    `problems` holds every problem found (first by line), for a validator that lists all."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("a TaskFileError needs at least one problem")
        self.source = source
        self.problems = tuple(sorted(problems, key=lambda p: (p.line or 0, p.column or 0)))
        self.kind = self.problems[0].kind
        super().__init__(self._one_line())

    def _one_line(self) -> str:
        first = self.problems[0]
        where = self.source
        if first.line is not None:
            where += f":{first.line}"
            if first.column is not None:
                where += f":{first.column}"
        text = ": ".join(p for p in (where, first.field, first.message) if p)
        more = len(self.problems) - 1
        if more:
            text += f" (and {more} more problem{'s' if more > 1 else ''})"
        return _one_line(text)


def _one_line(text: str) -> str:
    # Escape everything str.splitlines() would split on (and other control characters).
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."


# -- YAML with line numbers ----------------------------------------------------------------

_TAG = "tag:yaml.org,2002:"
_SCALARS = {_TAG + name for name in ("str", "int", "float", "bool", "null")}


class _Loader(yaml.SafeLoader):
    """Composes nodes (keeping their marks), refusing nesting before recursion gets deep."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Refused(Exception):
    """A problem found while building values from nodes; carries its node's mark."""

    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.mark = node.start_mark


def read_yaml(text: str, source: str) -> tuple[Any, dict[YamlPath, int]]:
    """The document's value and the 1-based line of every path in it."""
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:  # the reader refuses non-printable characters at once
        raise TaskFileError(source, [_yaml_problem(exc, text)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise TaskFileError(source, [Problem("schema", "the file is empty", line=1)])
        builder = _Builder(loader)
        return builder.build(node, (), node.start_mark.line + 1), builder.lines
    except yaml.YAMLError as exc:
        raise TaskFileError(source, [_yaml_problem(exc, text)]) from None
    except _Refused as exc:
        problem = Problem("syntax", str(exc), line=exc.mark.line + 1, column=exc.mark.column + 1)
        raise TaskFileError(source, [problem]) from None
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.YAMLError, text: str) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = ", ".join(str(p) for p in (exc.context, exc.problem) if p)
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        return Problem("syntax", f"invalid YAML: {what}", line=line, column=column)
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else "a character"
        return Problem("syntax", f"invalid YAML: {char} is not allowed", line)
    return Problem("syntax", f"invalid YAML: {exc}")


class _Builder:
    """Turns composed nodes into plain values, noting the line of each path.

    Keys keep their source text (``on:`` stays "on", not true). Timestamps stay text.
    Duplicate keys, merge keys, explicit non-standard tags and alias cycles are refused,
    and so is a document whose aliases expand to more than `MAX_NODES` values.
    """

    def __init__(self, constructor: yaml.constructor.SafeConstructor) -> None:
        self._constructor = constructor
        self._count = 0
        self._open: set[int] = set()
        self.lines: dict[YamlPath, int] = {}

    def build(self, node: yaml.Node, path: YamlPath, line: int) -> Any:
        self._count += 1
        if self._count > MAX_NODES:
            raise _Refused(node, f"more than {MAX_NODES} values once aliases are expanded")
        self.lines.setdefault(path, line)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if id(node) in self._open:
            raise _Refused(node, "an alias refers to a collection that contains it")
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode) and node.tag == _TAG + "seq":
                return [
                    self.build(item, (*path, i), item.start_mark.line + 1)
                    for i, item in enumerate(node.value)
                ]
            if isinstance(node, yaml.MappingNode) and node.tag == _TAG + "map":
                return self._mapping(node, path)
            raise _Refused(node, f"unsupported YAML tag {node.tag}")
        finally:
            self._open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: YamlPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                raise _Refused(key_node, "merge keys ('<<') are not supported")
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALARS:
                raise _Refused(key_node, "a key must be plain text")
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in result:
                first = self.lines.get((*path, key), line)
                raise _Refused(key_node, f"duplicate key {key[:60]!r} (first at line {first})")
            result[key] = self.build(value_node, (*path, key), line)
        return result

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _TAG + "timestamp":
            return node.value
        if node.tag not in _SCALARS:
            raise _Refused(node, f"unsupported YAML tag {node.tag[:60]}")
        try:
            return self._constructor.construct_object(node)
        # What the scalar constructors raise for text an explicit tag forced on them
        # ("!!int x", "!!bool maybe") or for an int longer than Python converts.
        except (yaml.YAMLError, ValueError, ArithmeticError, LookupError, TypeError):
            raise _Refused(
                node, f"{node.value[:40]!r} is not a valid {node.tag.removeprefix(_TAG)}"
            ) from None


# -- paths ----------------------------------------------------------------------------------


def line_of(path: YamlPath, lines: Mapping[YamlPath, int]) -> int | None:
    for n in range(len(path), -1, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None


def format_path(path: YamlPath) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _NAME.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part[:60], ensure_ascii=False)}]"
    return text
