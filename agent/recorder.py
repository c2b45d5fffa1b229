"""Record once, replay many times: a successful run saved as a task file (`deskhand save`).

What goes in:
- steps: every step of the run that succeeded and had an effect, as a fixed step with the
  arguments the executor ran (absolute paths under the workspace made relative). Left
  out: `finish`, failed or denied steps, and read-only steps (capability ``fs.read`` or
  ``screen.capture``, as journaled with the step's approval). A read only informed the
  model's next choice, and that choice is now written down; replaying it changes nothing,
  costs time, and would fail the replay in a changed situation (a listing of a folder
  that is gone) where the steps that matter might still succeed or fall back.
- checks: the end state the run left, folded from its journaled file changes: each path
  it left in place (``file_exists``; a folder only when nothing inside it is checked), the
  first line of text it wrote (``file_contains``), and each path that existed before the
  run and that it moved or deleted (``count_matching`` of that exact path, equals 0).
- inputs: literal values of the goal that also appear in the steps' arguments, where
  that is clear: a quoted text, a path or file name, a word after "named"/"called". Each
  becomes an input whose default is the literal, and ``{{ inputs.NAME }}`` in the steps
  and checks. ``permissions`` are not rendered (agent/taskfile.py), so they name the
  literal paths the run was allowed to change: another value asks (and is denied when
  unattended) until the permissions are widened.
- permissions: exactly the capabilities and paths the kept steps were allowed.

Invariants: only runs whose outcome is "success" are saved; the text produced always
loads with `agent.taskfile.parse_task_text` (checked before anything is written); the
file is written atomically (a temporary file beside it, then ``os.replace``), so a
failure leaves no half-written file. Problems are `SaveError`, one line.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agent.journal import Journal, Row, UnknownRun
from agent.taskfile import TaskFileError, parse_task_text
from agent.taskrun import FALLBACK_MAX_STEPS

READ_ONLY = frozenset({"fs.read", "screen.capture", "agent.finish"})
_ARG_NAMES = {"content": "text"}
_PATH_ARGS = frozenset({"path", "source", "destination"})
_GLOB_CHARS = re.compile(r"[*?\[\]]")
_BOUNDARY_BEFORE = r"(?<![\w.\-{])"
_BOUNDARY_AFTER = r"(?![\w\-}])"
_CANDIDATES = (
    re.compile(r"(?:^|(?<=[\s(]))[\"“']([^\"“”'\n]{1,80})[\"”'](?=$|[\s.,;:!?)])"),
    re.compile(r"(?<![\w/.\-])((?:[\w.\-]+/)+[\w.\-]*|[\w\-]+\.[A-Za-z0-9]{1,5})(?![\w/])"),
    re.compile(r"\b(?:named|called)\s+([\w.\-]+)"),
)


class _Dumper(yaml.SafeDumper):
    """Safe YAML, with text of several lines as a literal block (as a person writes it)."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Only plain lines make a literal block; anything else stays a quoted scalar.
    block = "\n" in value and all(
        line == line.rstrip(" \t") and line.isprintable() for line in value.split("\n")
    )
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if block else None)


def _dump(document: dict[str, Any]) -> str:
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    if yaml.safe_load(text) != document:  # belt and braces: the values must survive exactly
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return text


_Dumper.add_representer(str, _text)


class SaveError(Exception):
    """The run cannot be saved as a task file; the message is one line."""


@dataclass(frozen=True, slots=True)
class SavedTask:
    text: str
    steps: int
    checks: int
    inputs: tuple[str, ...]
    #: Steps of the run left out (failed, denied, read-only, finish).
    skipped: int


def task_from_run(journal: Journal, run_id: str, *, name: str | None = None) -> SavedTask:
    """The task file (YAML text) that replays run `run_id` (an id or a unique prefix)."""
    try:
        rid = journal.resolve_run_id(run_id)
    except UnknownRun as exc:
        raise SaveError(str(exc)) from None
    run = journal.run(rid)
    assert run is not None
    if run.get("outcome") != "success":
        raise SaveError(
            f"run {rid} did not succeed (outcome: {run.get('outcome') or run.get('status')});"
            " only a successful run can be saved"
        )
    root = _first_root(run)
    all_steps = journal.steps(rid)
    capability = {a["step_idx"]: a["capability"] for a in journal.approvals(rid)}
    kept = [
        s
        for s in all_steps
        if s["ok"] and s["tool"] != "finish" and capability.get(s["idx"]) not in READ_ONLY
    ]
    if not kept:
        raise SaveError(f"run {rid} changed nothing a task file could replay (it only read)")
    steps = [{"tool": s["tool"], "args": _relative(s["args"], root)} for s in kept]
    by_idx = {s["idx"]: s for s in all_steps}
    checks = _checks(journal.file_changes(rid), by_idx, root)
    inputs = _lift(str(run.get("goal") or ""), steps, checks)
    document: dict[str, Any] = {
        "name": name or f"Replay of run {rid}",
        "description": f"Saved from run {rid}: {run.get('goal') or ''}".strip(),
    }
    if inputs:
        document["inputs"] = inputs
    document["permissions"] = _permissions(journal.approvals(rid), {s["idx"] for s in kept}, root)
    document["steps"] = steps
    if checks:
        document["checks"] = checks
    document["limits"] = {"max_steps": len(steps) + FALLBACK_MAX_STEPS}
    document["on_step_failure"] = "agent"
    header = (
        f"# Saved by `deskhand save {rid}`: the run's steps, replayed without a model.\n"
        "# Read-only steps (listing, reading, searching) and `finish` are left out.\n"
    )
    text = header + _dump(document)
    try:
        parse_task_text(text, f"<saved run {rid}>")
    except TaskFileError as exc:  # a bug here, but the user gets a line, not a traceback
        raise SaveError(f"the saved task would not load: {exc}") from exc
    return SavedTask(text, len(steps), len(checks), tuple(inputs), len(all_steps) - len(kept))


def save_run(
    journal: Journal,
    run_id: str,
    out: Path,
    *,
    name: str | None = None,
    force: bool = False,
) -> SavedTask:
    """Write run `run_id` as a task file to `out`, atomically."""
    saved = task_from_run(journal, run_id, name=name)
    if out.exists() and not force:
        raise SaveError(f"{out} already exists (use --force to replace it)")
    if not out.parent.is_dir():
        raise SaveError(f"no such folder: {out.parent}")
    write_atomically(out, saved.text)
    return saved


def write_atomically(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


# -- steps and permissions ---------------------------------------------------------------


def _first_root(run: Row) -> Path:
    try:
        roots = json.loads(run.get("task_json") or "{}").get("workspace") or []
    except (json.JSONDecodeError, AttributeError):
        roots = []
    return Path(roots[0] if roots else str(run.get("workspace") or "/"))


def _relative(value: Any, root: Path) -> Any:
    """Absolute paths under the workspace as relative ones, so the task replays anywhere."""
    if isinstance(value, dict):
        return {k: _relative(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_relative(v, root) for v in value]
    if isinstance(value, str) and value.startswith("/"):
        path = Path(value)
        if path != root and path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return value


def _shown(path: str, root: Path) -> str | None:
    """A journaled absolute path as the task file names it; None outside the workspace."""
    p = Path(path)
    if p == root or not p.is_relative_to(root):
        return None
    return p.relative_to(root).as_posix()


def _permissions(approvals: Sequence[Row], kept: set[int], root: Path) -> list[str]:
    grants: list[str] = []
    for a in approvals:
        if a["step_idx"] not in kept or a["decision"] != "allow":
            continue
        rel = _shown(str(a["scope"]), root)
        grant = f"{a['capability']}:{glob.escape(rel) if rel else a['scope']}"
        if grant not in grants:
            grants.append(grant)
    return grants


# -- checks: the end state, folded from the file changes ----------------------------------


def _checks(changes: Sequence[Row], steps: Mapping[int, Row], root: Path) -> list[dict[str, Any]]:
    exists: dict[str, bool] = {}
    text: dict[str, str] = {}
    created: set[str] = set()
    for row in changes:
        change = row["change"]
        op = change.get("op")
        if op in ("create_file", "modify_file", "make_folder", "copy"):
            path = str(change["path"])
            exists[path] = True
            if op != "modify_file":
                created.add(path)
            if op in ("create_file", "modify_file"):
                _note_text(text, path, steps.get(row["step_idx"]))
        elif op == "move":
            source, dest = str(change["source"]), str(change["destination"])
            for old in [p for p in exists if p == source or p.startswith(source + "/")]:
                new = dest + old[len(source) :]
                exists[new] = exists.pop(old)
                if old in text:
                    text[new] = text.pop(old)
            exists[source] = False
            exists[dest] = True
            created.add(dest)
        elif op == "delete":
            gone = str(change["path"])
            for old in [p for p in exists if p.startswith(gone + "/")]:
                del exists[old]
                text.pop(old, None)
            exists[gone] = False
            text.pop(gone, None)
    return _as_checks(exists, text, created, root)


def _note_text(text: dict[str, str], path: str, step: Row | None) -> None:
    """Remember a line the file holds after `step` wrote its ``content`` argument.

    A write replaces the file's text; an append keeps what was there, so an earlier
    line still holds. A step without text content leaves nothing checkable."""
    args = step.get("args", {}) if step else {}
    line = _first_line(args.get("content") if isinstance(args, dict) else None)
    appended = step is not None and "append" in str(step.get("tool", ""))
    if appended and path in text:
        return
    if line:
        text[path] = line
    else:
        text.pop(path, None)


def _first_line(content: Any) -> str:
    if not isinstance(content, str):
        return ""
    line = next((ln.strip() for ln in content.splitlines() if ln.strip()), "")
    return line if 0 < len(line) <= 120 and "{{" not in line else ""


def _as_checks(
    exists: Mapping[str, bool], text: Mapping[str, str], created: set[str], root: Path
) -> list[dict[str, Any]]:
    present = [p for p, there in exists.items() if there]
    checks: list[dict[str, Any]] = []
    for path in present:
        rel = _shown(path, root)
        if rel is None:
            continue
        if path in text:
            checks.append({"kind": "file_contains", "path": rel, "text": text[path]})
        elif not any(other.startswith(path + "/") for other in present):
            checks.append({"kind": "file_exists", "path": rel})
    for path, there in exists.items():
        rel = _shown(path, root)
        if not there and path not in created and rel is not None:
            checks.append({"kind": "count_matching", "pattern": glob.escape(rel), "equals": 0})
    return checks


# -- inputs: literals of the goal that the steps use ----------------------------------------


def _lift(
    goal: str, steps: list[dict[str, Any]], checks: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Replace goal literals found in the steps' arguments by input placeholders (in
    place, in `steps` and `checks`); return the inputs' specs."""
    found: list[str] = []
    for pattern in _CANDIDATES:
        for match in pattern.finditer(goal):
            value = next(g for g in match.groups() if g is not None).rstrip(".")
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
        placeholder = "{{ inputs." + name + " }}"
        for step in steps:
            step["args"] = _substitute(step["args"], regex, placeholder)
        for check in checks:
            for field in ("path", "text", "pattern"):
                if field in check:
                    check[field] = _substitute(check[field], regex, placeholder)
        kind = "path" if "/" in value or key in _PATH_ARGS else "str"
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


def _substitute(value: Any, regex: re.Pattern[str], placeholder: str) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, regex, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, regex, placeholder) for v in value]
    if isinstance(value, str):
        return regex.sub(lambda _: placeholder, value)
    return value
