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
- browser steps: actions (open, type, select, check, click, ...) and the reads that wait
  for or move the page (`BROWSER_READS_KEPT`) are kept; ``look`` and ``extract`` only
  informed the model, except an ``extract`` whose text a kept step wrote, which becomes
  ``save_as: page_text`` and ``{{ outputs.page_text }}`` in that step. A step on an
  element gets ``expect: ROLE "NAME"`` (from its approval's scope, or for a secret from
  the last journaled page view), which the replay checks before acting
  (agent/taskrun.py). A run that started on a page (``--start-url``, journaled as a
  `START_PAGE_EVENT`) gets a ``browser.open`` of it first. The text the run last
  waited for becomes a ``page_contains`` check. Typed secrets stay ``{{secret:NAME}}``
  and their names go to ``secrets``.
- inputs: literal values of the goal that also appear in the steps' arguments, where
  that is clear: a web address, a quoted text, a path or file name, a word after
  "named"/"called". Each becomes an input whose default is the literal, and
  ``{{ inputs.NAME }}`` in the steps and checks. File permissions keep the literal paths
  the run was allowed to change: another value asks (and is denied when unattended)
  until the permissions are widened.
- permissions: the capabilities and paths the kept steps were allowed; browser ones by
  host (``browser.navigate:HOST``, ``browser.input:HOST``; secrets as ``HOST NAME``),
  written as ``{{ inputs.NAME }}`` where a lifted web address has that host, so
  ``--set url=...`` takes the whole task to another site.

Invariants: only runs whose outcome is "success" are saved; the text produced always
loads with `agent.taskfile.parse_task_text` (checked before anything is written); the
file is written atomically (`tools.atomic_write`), so a failure leaves no half-written
file. Problems are `SaveError`, one line.
"""

from __future__ import annotations

import glob
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agent.journal import Journal, Row, UnknownRun
from agent.taskfile import TaskFileError, parse_task_text
from agent.taskfile.end_state import end_state_checks, shown_path
from agent.taskfile.lift_inputs import lift, web_inputs
from agent.taskrun import FALLBACK_MAX_STEPS, START_PAGE_EVENT
from tools import placeholders
from tools.atomic_write import write_atomic
from tools.browser.urls import host_of
from tools.placeholders import secret_names

READ_ONLY = frozenset({"fs.read", "screen.capture", "agent.finish"})
#: Browser reads kept in a saved task: they wait for the page or change what later steps
#: act on. Other reads (look, extract) only informed the model and are left out, except
#: an extract whose text a later step wrote (it becomes ``save_as``).
BROWSER_READS_KEPT = frozenset({"browser.wait_for_text", "browser.scroll", "browser.switch_tab"})
_OBSERVED = re.compile(r'^\[(\d+)\] ([\w-]+) ("(?:[^"\\]|\\.)*")', re.MULTILINE)


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
    rid, run = _successful_run(journal, run_id)
    root = _first_root(run)
    all_steps = journal.steps(rid)
    approvals = journal.approvals(rid)
    capability: dict[int, str] = {}
    for a in approvals:  # a step's first row is its action's own effect (then its `also`)
        capability.setdefault(a["step_idx"], a["capability"])
    kept = [s for s in all_steps if _changes_something(s, capability.get(s["idx"]))]
    if not kept:
        raise SaveError(f"run {rid} changed nothing a task file could replay (it only read)")
    steps = [{"tool": s["tool"], "args": _relative(s["args"], root)} for s in kept]
    kept, steps = _saved_outputs(all_steps, kept, steps)
    _expectations(all_steps, kept, steps, approvals)
    start = _start_page(journal, rid, steps)
    if start is not None:
        kept, steps = (
            [{"idx": None}, *kept],
            [{"tool": "browser.open", "args": {"url": start}}, *steps],
        )
    by_idx = {s["idx"]: s for s in all_steps}
    checks = end_state_checks(journal.file_changes(rid), by_idx, root) + _page_checks(steps)
    inputs = lift(str(run.get("goal") or ""), steps, checks)
    grants = _permissions(approvals, {s["idx"] for s in kept}, root, start)
    document = _document(rid, run, name, inputs, web_inputs(grants, inputs), steps, checks)
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


def _successful_run(journal: Journal, run_id: str) -> tuple[str, Row]:
    """The full id and row of run `run_id`, which must exist and have succeeded."""
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
    return rid, run


def _document(
    rid: str,
    run: Row,
    name: str | None,
    inputs: dict[str, Any],
    permissions: list[str],
    steps: list[dict[str, Any]],
    checks: list[dict[str, Any]],
) -> dict[str, Any]:
    """The saved task's fields, in the order a person reads them."""
    document: dict[str, Any] = {
        "name": name or f"Replay of run {rid}",
        "description": f"Saved from run {rid}: {run.get('goal') or ''}".strip(),
    }
    if inputs:
        document["inputs"] = inputs
    document["permissions"] = permissions
    secrets = sorted(
        {name for step in steps for t in placeholders.texts(step) for name in secret_names(t)}
    )
    if secrets:
        document["secrets"] = secrets
    document["steps"] = steps
    if checks:
        document["checks"] = checks
    document["limits"] = {"max_steps": len(steps) + FALLBACK_MAX_STEPS}
    document["on_step_failure"] = "agent"
    return document


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
    write_atomic(out, saved.text)
    return saved


# -- steps and permissions ---------------------------------------------------------------


def _first_root(run: Row) -> Path:
    try:
        roots = json.loads(run.get("task_json") or "{}").get("workspace") or []
    except (json.JSONDecodeError, AttributeError):
        roots = []
    return Path(roots[0] if roots else str(run.get("workspace") or "/"))


def _relative(value: Any, root: Path) -> Any:
    """Absolute paths under the workspace as relative ones, so the task replays anywhere."""

    def relative(text: str, _path: placeholders.TreePath) -> str:
        if text.startswith("/"):
            path = Path(text)
            if path != root and path.is_relative_to(root):
                return path.relative_to(root).as_posix()
        return text

    return placeholders.walk(value, relative)


def _changes_something(step: Row, capability: str | None) -> bool:
    if not step["ok"] or step["tool"] == "finish":
        return False
    if capability == "browser.read":
        return step["tool"] in BROWSER_READS_KEPT
    return capability not in READ_ONLY


def _permissions(
    approvals: Sequence[Row], kept: set[int], root: Path, start: str | None
) -> list[str]:
    """What the kept steps were allowed: file paths exactly, browser capabilities by host
    (the page's elements may be named otherwise next time; ``expect`` guards them)."""
    grants: list[str] = []
    if start is not None:
        grants.append(f"browser.navigate:{host_of(start)}")
    for a in approvals:
        if a["step_idx"] not in kept or a["decision"] != "allow":
            continue
        capability, scope = str(a["capability"]), str(a["scope"])
        if capability == "browser.read":
            continue  # allowed by default
        if capability.startswith("browser.") and capability != "browser.secret":
            scope = scope.split(" ", 1)[0]
        else:
            rel = shown_path(scope, root)
            scope = glob.escape(rel) if rel else scope
        grant = f"{capability}:{scope}"
        if grant not in grants:
            grants.append(grant)
    return grants


# -- browser steps: outputs, expected elements, the start page ------------------------------


def _saved_outputs(
    all_steps: Sequence[Row], kept: list[Row], steps: list[dict[str, Any]]
) -> tuple[list[Row], list[dict[str, Any]]]:
    """Each ``browser.extract`` whose text a kept step wrote, as a step with ``save_as``,
    and that text in the writing step as ``{{ outputs.NAME }}``."""
    extracts = [s for s in all_steps if s["ok"] and s["tool"] == "browser.extract"]
    added: list[tuple[Row, dict[str, Any]]] = []
    for extract in extracts:
        text = str(extract.get("result_text") or "").strip()
        if not text or text == "(no text)" or text.endswith("[... cut]") or "{{" in text:
            continue
        name = "page_text" if not added else f"page_text_{len(added) + 1}"
        placeholder = placeholders.output_placeholder(name)
        used = False
        for row, step in zip(kept, steps, strict=True):
            content = step["args"].get("content")
            if row["idx"] > extract["idx"] and isinstance(content, str) and text in content:
                step["args"]["content"] = content.replace(text, placeholder)
                used = True
        if used:
            args = dict(extract["args"])
            added.append((extract, {"tool": "browser.extract", "args": args, "save_as": name}))
    pairs = sorted([*zip(kept, steps, strict=True), *added], key=lambda p: int(p[0]["idx"]))
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _expectations(
    all_steps: Sequence[Row],
    kept: Sequence[Row],
    steps: list[dict[str, Any]],
    approvals: Sequence[Row],
) -> None:
    """``expect: ROLE "NAME"`` beside each browser step's element number: the element as
    the run's approval named it (or, for a secret, as the page last showed it), so a
    replay on a changed page fails the step instead of acting on another element."""
    scopes = {
        a["step_idx"]: str(a["scope"])
        for a in approvals
        if a["capability"] in ("browser.input", "browser.download")
    }
    for row, step in zip(kept, steps, strict=True):
        element = step["args"].get("element")
        if not step["tool"].startswith("browser.") or not isinstance(element, int) or element < 1:
            continue
        found = scopes.get(row["idx"], "").partition(" ")[2] or _observed(
            all_steps, row["idx"], element
        )
        if found:
            step["expect"] = found


def _observed(all_steps: Sequence[Row], before: int, element: int) -> str:
    """``ROLE "NAME"`` of `element` in the newest journaled page view before step `before`."""
    for row in reversed([s for s in all_steps if s["idx"] < before]):
        for match in _OBSERVED.finditer(str(row.get("result_text") or "")):
            if int(match.group(1)) == element:
                name = json.loads(match.group(3))
                return f"{match.group(2)} {json.dumps(name[:60], ensure_ascii=False)}"
    return ""


def _start_page(journal: Journal, run_id: str, steps: Sequence[dict[str, Any]]) -> str | None:
    """The page the run started on, when its browser steps need it opened first."""
    browser = [s["tool"] for s in steps if s["tool"].startswith("browser.")]
    if not browser or browser[0] == "browser.open":
        return None
    for event in journal.events(run_id):
        if event["kind"] == START_PAGE_EVENT:
            return str(event["detail"]["url"])
    raise SaveError(
        f"run {run_id} acted in the browser on a page it did not open, and the journal "
        "does not say which page that was"
    )


def _page_checks(steps: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The text the run last waited for, when nothing in the browser happened after it."""
    browser = [
        s for s in steps if s["tool"].startswith("browser.") and s["tool"] != "browser.extract"
    ]
    if browser and browser[-1]["tool"] == "browser.wait_for_text":
        return [{"kind": "page_contains", "text": browser[-1]["args"]["text"]}]
    return []
