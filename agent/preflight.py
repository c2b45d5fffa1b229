"""What is checked about a task file before it runs (`agent.prepare.prepare_run` calls these,
and ``deskhand validate`` calls `task_tools` and `check_steps` without running anything).

Invariants:
- Each fixed step names a registered tool of the run and gives it valid arguments; a
  failure is a `TaskFileError` naming the step's field, and nothing runs.
- A secret placeholder is accepted only where a tool resolves it at the moment of use
  (`SECRET_ARGS`); anywhere else it would be used as the literal text, so it is refused.
- A run gets the tools its task uses (`task_tools`): the browser for a fixed
  ``browser.*`` step, a ``page_contains`` check, a start page or a granted ``browser.*``
  capability; the shell when ``shell.exec`` is granted; the GUI tool for a fixed ``gui.*``
  step or a granted ``gui.input``/``screen.capture`` (`BadInput` in one line without an
  X display). Its browser and GUI tool may type only the secrets the task declares.
- A task file nobody watches (the inbox) may grant itself files in its workspace; more
  (the shell, a site, the screen) only where the watcher's ``--allow`` covers it
  (`refuse_beyond`, `BadInput`).
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent import assemble
from agent.assemble import BadInput
from agent.element_guard import expects_element
from agent.policy import Rule
from agent.settings import Settings
from agent.taskfile import PageContains, Problem, TaskFile, TaskFileError, ToolStep
from tools import placeholders
from tools.registry import Registry

#: The arguments in which a tool resolves secret placeholders itself, at the moment of use
#: (tools/placeholders.py); the value never reaches the journal or the model.
SECRET_ARGS = {"browser.type": "text", "gui.type": "text"}

#: What an unattended task may always grant itself: files, confined to its workspace.
_FILE_CAPABILITIES = ("fs.read", "fs.write", "fs.delete", "fs.*")


def task_tools(
    task: TaskFile,
    settings: Settings,
    roots: Sequence[Path],
    rules: Sequence[Rule],
    *,
    stop: threading.Event | None = None,
    start_url: str | None = None,
) -> assemble.RunTools:
    """The tools a run of `task` gets beyond the file tool (nothing starts here)."""
    fixed = [s.tool for s in task.steps or () if isinstance(s, ToolStep)]
    uses_browser = any(t.startswith("browser.") for t in fixed) or any(
        isinstance(c, PageContains) for c in task.checks
    )
    gui = None
    if any(t.startswith("gui.") for t in fixed) or assemble.wants_gui(task.grants(roots)):
        gui = assemble.gui_tool(settings, stop, secrets=task.secrets)  # BadInput: no display
    return assemble.run_tools(
        settings,
        roots,
        rules,
        goal=task.goal or task.name,
        start_url=start_url,
        browser=uses_browser,
        gui=gui,
        stop=stop,
        secrets=task.secrets,
    )


def check_steps(task: TaskFile, registry: Registry, source: str) -> None:
    """Each fixed step names a registered tool and gives it valid arguments."""
    problems: list[Problem] = []
    for i, step in enumerate(task.steps or ()):
        if isinstance(step, ToolStep) and (problem := _step_problem(i, step, registry)):
            problems.append(problem)
    if problems:
        raise TaskFileError(source, problems)


def _step_problem(i: int, step: ToolStep, registry: Registry) -> Problem | None:
    spec = registry.get(step.tool)
    if spec is None:
        message = f"no tool {step.tool!r} (tools: {', '.join(registry.names())})"
        return Problem("schema", message, field=f"steps[{i}].tool")
    misplaced = _misplaced_secret(step)
    if misplaced is not None:
        where = SECRET_ARGS.get(step.tool)
        hint = f" (only in {where!r} here)" if where else ""
        message = (
            f"a secret placeholder can only be typed by a tool that resolves it "
            f"({', '.join(f'{t} {a}' for t, a in SECRET_ARGS.items())}){hint}"
        )
        return Problem("placeholder", message, field=f"steps[{i}].args.{misplaced}")
    if step.expect is not None and not expects_element(step):
        message = "expect works only on a browser step that names an element"
        return Problem("schema", message, field=f"steps[{i}].expect")
    if placeholders.mentions(step.args, placeholders.INPUT):  # validating without --set
        return None
    try:
        # An output is text known only when the run gets there: judge the rest.
        spec.args.model_validate(_without_outputs(step.args))
    except ValidationError as exc:
        message = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'args'}: {e['msg']}" for e in exc.errors()[:3]
        )
        return Problem("schema", message, field=f"steps[{i}].args")
    return None


def _misplaced_secret(step: ToolStep) -> str | None:
    """The first argument of `step` holding a secret placeholder its tool does not resolve."""
    for name, value in step.args.items():
        if placeholders.mentions(value, placeholders.SECRET) and SECRET_ARGS.get(step.tool) != name:
            return name
    return None


def _without_outputs(value: Any) -> Any:
    return placeholders.walk(value, lambda text, _path: placeholders.OUTPUT.sub("", text))


def refuse_beyond(task_rules: Sequence[Rule], allowed: Sequence[Rule]) -> None:
    """Raise BadInput when a task file nobody watches grants itself more than files in
    its workspace and what `allowed` (the watcher's ``--allow``) covers: the shell, a
    site, the screen are the user's to hand out, not a dropped file's to take."""
    for rule in task_rules:
        if rule.decision != "allow" or rule.capability in _FILE_CAPABILITIES:
            continue
        if any(_covers(a, rule) for a in allowed):
            continue
        grant = f"{rule.capability}:{rule.scope}"
        raise BadInput(
            f"this inbox does not allow {grant} (start the watcher with --allow '{grant}')"
        )


def _covers(allowed: Rule, rule: Rule) -> bool:
    return fnmatch.fnmatchcase(rule.capability, allowed.capability) and fnmatch.fnmatchcase(
        rule.scope, allowed.scope
    )


__all__ = ["SECRET_ARGS", "check_steps", "refuse_beyond", "task_tools"]
