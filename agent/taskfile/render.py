"""Placeholders of a task file's inputs, substituted by regular expressions (never a
template engine: a task file is data). The grammar is tools/placeholders.py's."""

from __future__ import annotations

import glob
import re
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from agent.taskfile.schema import InputValue, TaskFile
from agent.taskfile.strict_yaml import (
    Problem,
    YamlPath,
    format_path,
    line_of,
)
from tools import placeholders
from tools.base import ToolFailure
from tools.browser.urls import host_of, normalize_url

# -- placeholders --------------------------------------------------------------------------


def _as_text(value: InputValue) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class InputRenderer:
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
