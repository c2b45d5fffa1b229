"""The personal adapter's evaluator: the user's own tasks replayed in scratch workspaces
with the model under test, scored per family (`agent.learn_gate.gate` compares).

Cases come from two places:
- saved task files (the tasks folder, the watched inbox's ``done/``, ``deskhand save``
  outputs): each becomes a goal with the file's checks (a file of fixed steps is
  replayed as its goal: the model has to do what the steps did);
- a held-out slice of the user's recent runs that may teach (`experience_index.usable`):
  the run's goal, with the end state it left as checks (`end_state_checks`, the same
  ones ``deskhand save`` writes), and the files it read or changed staged into the
  scratch workspace from where they are now (a moved file from its destination; a file
  the run deleted cannot be staged, so that case is left out).

Family: "browser" when the task had a start page or a browser grant, else "files".
Browser cases are replayed on their start page when it is a loopback or file page the
machine can still open; otherwise they are left out (noted), never run against the web.

Invariants: nothing here writes outside the scratch folder it is given; each case runs
through `agent.prepare.prepare_run` (the one way every run is built) into a scratch
journal, with every file action allowed inside the scratch workspace only.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.approval import AlwaysAllow
from agent.assemble import BadInput
from agent.events import RunFinished
from agent.journal import Journal
from agent.journal import experience_index as index
from agent.prepare import RunRequest, prepare_run
from agent.settings import Settings
from agent.taskfile import TaskFile
from agent.taskfile.end_state import end_state_checks, shown_path
from agent.taskfile.load import load_task_file
from agent.taskfile.strict_yaml import TaskFileError
from agent.taskrun import run_task
from models.base import ChatModel, ModelError

log = logging.getLogger(__name__)

#: Opens the model with an adapter (None: the default the gate compares against).
OpenModel = Callable[[Path | None], ChatModel]

#: Steps a replayed case gets (a case the user's run did in a few steps).
MAX_STEPS = 8

_READS = ("read_file", "list_folder", "search_files")


@dataclass(frozen=True, slots=True)
class EvalCase:
    family: str
    name: str
    task: TaskFile
    #: Relative path -> content, staged into the scratch workspace before the run.
    files: Mapping[str, bytes] = field(default_factory=dict)
    start_url: str | None = None


def family_of(grants: Iterable[str], start_url: str | None) -> str:
    browser = start_url is not None or any(str(g).startswith("browser") for g in grants)
    return "browser" if browser else "files"


# -- cases ------------------------------------------------------------------------------


def task_file_cases(folders: Sequence[Path]) -> list[EvalCase]:
    """Each saved task file with checks under `folders` (recursively), as a goal."""
    cases: list[EvalCase] = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.task.yaml")) if Path(folder).is_dir() else []:
            try:
                task = load_task_file(path, require_inputs=False)
            except (TaskFileError, OSError, ValueError) as exc:
                log.info("task file %s left out: %s", path, exc)
                continue
            if not task.checks:
                continue
            goal = task.goal or task.description or task.name
            as_goal = task.model_copy(update={"goal": goal, "steps": None})
            cases.append(EvalCase(family_of(task.permissions, None), path.name, as_goal))
    return cases


def run_cases(journal: Journal, run_ids: Sequence[str]) -> list[EvalCase]:
    """The runs `run_ids` (usable ones) as cases: goal, end-state checks, staged files."""
    rows = {r["id"]: r for r in index.judged_runs(journal)}
    cases: list[EvalCase] = []
    for rid in run_ids:
        row = rows.get(rid)
        if row is None or not index.usable(row):
            continue
        case = _run_case(journal, row)
        if case is not None:
            cases.append(case)
    return cases


def _run_case(journal: Journal, row: Mapping[str, Any]) -> EvalCase | None:
    task_json = json.loads(row.get("task_json") or "{}")
    roots = [Path(p) for p in task_json.get("workspace") or []]
    if not roots or not row.get("goal"):
        return None
    root = roots[0]
    steps = {s["idx"]: s for s in journal.steps(row["id"])}
    changes = journal.file_changes(row["id"])
    checks = end_state_checks(changes, steps, root)
    start_url = row.get("start_url")
    if start_url and not str(start_url).startswith(("http://127.", "http://localhost", "file:")):
        return None  # a page on the web: not replayed
    if not checks:
        return None
    files = _staged(changes, steps.values(), root)
    if files is None:
        return None
    task = TaskFile.model_validate(
        {"name": f"run {row['id']}", "goal": row["goal"], "checks": checks}
    )
    grants = [g[0] for g in task_json.get("grants") or [] if isinstance(g, list) and g]
    return EvalCase(family_of(grants, start_url), task.name, task, files, start_url)


def _staged(
    changes: Sequence[Mapping[str, Any]], steps: Iterable[Mapping[str, Any]], root: Path
) -> dict[str, bytes] | None:
    """The files the run started from, read from where they are now; None when one of
    them is gone (a file it deleted)."""
    wanted: dict[str, Path] = {}
    for step in steps:
        args = step.get("args") or {}
        if step.get("tool") in _READS and isinstance(args, dict) and args.get("path"):
            p = Path(str(args["path"]))
            wanted[str(p)] = p if p.is_absolute() else root / p
    for row in changes:
        change = row["change"]
        op = change.get("op")
        if op == "modify_file":
            wanted[str(change["path"])] = Path(change["path"])
        elif op in ("move", "copy"):
            after = change["destination"] if op == "move" else change["source"]
            wanted[str(change["source"])] = Path(after)
        elif op == "delete":
            return None
    files: dict[str, bytes] = {}
    for original, now in wanted.items():
        rel = shown_path(
            str(Path(original) if Path(original).is_absolute() else root / original), root
        )
        if rel is not None and now.is_file():
            files[rel] = now.read_bytes()
    return files


# -- scoring ----------------------------------------------------------------------------


def passed(case: EvalCase, settings: Settings, model: ChatModel, scratch: Path) -> bool:
    """Run `case` once in a fresh workspace under `scratch`; whether its checks passed."""
    if scratch.exists():
        shutil.rmtree(scratch)
    ws = scratch / "workspace"
    ws.mkdir(parents=True)
    for rel, body in case.files.items():
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_bytes(body)
    request = RunRequest(
        task_file=case.task,
        source=case.name,
        workspace=[ws],
        model=model,
        approver=AlwaysAllow(),
        grants=["fs.write", "fs.delete"],
        start_url=case.start_url,
        memory=False,
        max_steps=MAX_STEPS,
    )
    journal = Journal(scratch / "journal.sqlite")
    try:
        plan = prepare_run(request, settings)
        outcome = "error"
        for event in run_task(plan, journal):
            if isinstance(event, RunFinished):
                outcome = event.outcome
    except (BadInput, TaskFileError, ModelError, OSError) as exc:  # scores 0, the gate goes on
        log.warning("case %s could not run: %s", case.name, exc)
        return False
    finally:
        journal.close()
    return outcome == "success"


def evaluator(
    cases: Sequence[EvalCase],
    settings: Settings,
    open_model: OpenModel,
    scratch: Path,
    on_case: Callable[[str, str, bool], None] | None = None,
) -> Callable[[Path | None], dict[str, float]]:
    """The gate's `evaluate`: each case once with the adapter, success rate per family."""

    def evaluate(adapter: Path | None) -> dict[str, float]:
        model = open_model(adapter)
        won: dict[str, list[bool]] = {}
        try:
            for n, case in enumerate(cases):
                ok = passed(case, settings, model, scratch / f"case-{n}")
                won.setdefault(case.family, []).append(ok)
                if on_case is not None:
                    on_case(adapter.name if adapter else "default", case.name, ok)
        finally:
            model.close()
        return {f: sum(v) / len(v) for f, v in sorted(won.items())}

    return evaluate
