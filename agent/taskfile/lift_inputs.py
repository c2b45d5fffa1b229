"""Inputs of a saved task: literal values of the goal (a web address, a quoted text, a
path or file name, a word after "named"/"called") that its steps also use, lifted into
``inputs`` with the literal as default and ``{{ inputs.NAME }}`` where they were."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tools import placeholders
from tools.browser.urls import host_of

URL = re.compile(r"(?<![\w/.\-])(https?://[^\s\"'<>“”]+)")
_ARG_NAMES = {"content": "text"}
_PATH_ARGS = frozenset({"path", "source", "destination"})
_GLOB_CHARS = re.compile(r"[*?\[\]]")
_BOUNDARY_BEFORE = r"(?<![\w.\-{])"
_BOUNDARY_AFTER = r"(?![\w\-}])"
_CANDIDATES = (
    URL,
    re.compile(r"(?:^|(?<=[\s(]))[\"“']([^\"“”'\n]{1,80})[\"”'](?=$|[\s.,;:!?)])"),
    re.compile(r"(?<![\w/.\-])((?:[\w.\-]+/)+[\w.\-]*|[\w\-]+\.[A-Za-z0-9]{1,5})(?![\w/])"),
    re.compile(r"\b(?:named|called)\s+([\w.\-]+)"),
)


def web_inputs(grants: list[str], inputs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """A browser grant for the host of a lifted URL input names that input instead, so
    ``--set url=...`` takes the whole task to another site (agent/taskfile/)."""
    hosts = {
        host_of(str(spec["default"])): name
        for name, spec in inputs.items()
        if URL.fullmatch(str(spec["default"]))
    }
    out = []
    for grant in grants:
        capability, _, scope = grant.partition(":")
        host, space, rest = scope.partition(" ")
        if capability.startswith("browser.") and host in hosts:
            grant = f"{capability}:{placeholders.input_placeholder(hosts[host])}{space}{rest}"
        out.append(grant)
    return out


def lift(
    goal: str, steps: list[dict[str, Any]], checks: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Replace goal literals found in the steps' arguments by input placeholders (in
    place, in `steps` and `checks`); return the inputs' specs."""
    found: list[str] = []
    for pattern in _CANDIDATES:
        for match in pattern.finditer(goal):
            value = next(g for g in match.groups() if g is not None).rstrip(".,;:!?)")
            if _liftable(value) and value not in found:
                found.append(value)
    inputs: dict[str, dict[str, Any]] = {}
    for value in sorted(found, key=len, reverse=True):
        regex = re.compile(_BOUNDARY_BEFORE + re.escape(value) + _BOUNDARY_AFTER)
        where = _first_use(regex, steps)
        if where is None:
            continue
        key, whole = where
        name = _input_name(key, value, whole, inputs)
        placeholder = placeholders.input_placeholder(name)
        for step in steps:
            step["args"] = substitute(step["args"], regex, placeholder)
        for check in checks:
            for field in ("path", "text", "pattern"):
                if field in check:
                    check[field] = substitute(check[field], regex, placeholder)
        url = URL.fullmatch(value) is not None
        kind = "path" if not url and ("/" in value or key in _PATH_ARGS) else "str"
        inputs[name] = {"type": kind, "default": value, "description": "from the recorded goal"}
    return inputs


def _liftable(value: str) -> bool:
    return (
        bool(value.strip("./ "))
        and "{{" not in value
        and "}}" not in value
        and value.isprintable()
        and not _GLOB_CHARS.search(value)
    )


def _first_use(regex: re.Pattern[str], steps: list[dict[str, Any]]) -> tuple[str, bool] | None:
    for step in steps:
        for key, arg in step["args"].items():
            if isinstance(arg, str) and regex.search(arg):
                return key, regex.fullmatch(arg) is not None
    return None


def _input_name(key: str, value: str, whole: bool, taken: Mapping[str, Any]) -> str:
    if key in _PATH_ARGS:
        base = "file" if "." in value.rsplit("/", 1)[-1] else "folder"
    elif whole:
        base = _ARG_NAMES.get(key, key)
    else:
        base = "text"
    base = re.sub(r"\W", "_", base) or "value"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def substitute(value: Any, regex: re.Pattern[str], placeholder: str) -> Any:
    return placeholders.walk(value, lambda text, _path: regex.sub(lambda _: placeholder, text))
