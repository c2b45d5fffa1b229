"""Checks on the end state of a task-file run: they decide its outcome.

Each check of a `TaskFile` (agent/taskfile/) becomes one `CheckResult`: its kind,
whether it held, and one line saying why. The kinds:

    file_exists          the path exists (a file or a folder)
    file_contains        the file's text contains the given text
    count_matching       the number of paths matching a glob is within the bounds
    command_exits_zero   a command run in the workspace by the shell tool exits with status 0
    page_contains        the text of the run's browser page (or of the page at `url`,
                         opened in that browser) contains the given text

Invariants:
- Paths and globs are relative to the first workspace root and are resolved through
  `tools.paths.Workspace`: a check never looks outside the workspace (``..``, absolute
  paths elsewhere and symlinks that point out fail the check, they are not followed).
- A check acts only through the run's executor (`agent.executor.Executor.act_for_check`,
  the one chokepoint): arguments validated, the policy judging the effect, the tool's
  timeout, a journal row; a policy that would ask or deny fails the check with the
  reason, since nobody is asked about a check.
- A command runs through the shell tool (tools/shell/) under its rules: no shell, so
  shell syntax (``;``, ``|``, ``>``, ``$( )``) fails the check unrun; the policy judges the
  re-joined command line, and it runs only when ``shell.exec`` is allowed for it (a task
  grants it with ``permissions: ["shell.exec:COMMAND"]``). Its arguments are
  confined to the workspace and git runs hardened, as for every shell command. The
  command gets the check's timeout, no stdin, nothing it started outlives it, and its
  output is read back capped.
- A page is read through the browser tool's own actions, under the same policy:
  opening `url` needs ``browser.navigate`` allowed for its host, reading needs
  ``browser.read`` (allowed by default). Only the first `EXTRACT_CHARS` characters of a
  page's text are read, with typed secrets scrubbed from them.
- Evaluating never raises for a check that cannot be judged (missing file, escape,
  timeout): that is a failed result. Bugs propagate.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, Protocol

from agent.taskfile import (
    Check,
    CommandExitsZero,
    CountMatching,
    FileContains,
    FileExists,
    PageContains,
)
from tools.base import ToolFailure, ToolResult, ToolSpec
from tools.browser.tool import EXTRACT_CHARS, BrowserTool
from tools.paths import Workspace
from tools.shell import ShellTool

if TYPE_CHECKING:  # the executor's events import this module's results
    from agent.executor import Acted

log = logging.getLogger(__name__)

#: file_contains reads at most this much of a file.
READ_LIMIT_BYTES = 10_000_000
#: count_matching stops counting here (the bounds are judged on the capped count).
COUNT_LIMIT = 100_000
#: How much of a command's output is kept (the detail line shows its last line).
OUTPUT_LIMIT_BYTES = 4096
_DETAIL_LIMIT = 200


@dataclass(frozen=True, slots=True)
class CheckResult:
    kind: str
    ok: bool
    #: One line: what was found, or why the check failed.
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "ok": self.ok, "detail": self.detail}


class CheckActor(Protocol):
    """Where a check's actions go: the run's `agent.executor.Executor`."""

    def act_for_check(self, check: int, spec: ToolSpec[Any], raw: dict[str, Any]) -> Acted: ...


@dataclass(frozen=True, slots=True)
class _Context:
    ws: Workspace
    actor: CheckActor
    browser: BrowserTool | None
    stop: threading.Event | None
    #: The check's number in the task (1-based), journaled with what it does.
    number: int


def evaluate_checks(
    checks: Sequence[Check],
    workspace: Workspace,
    actor: CheckActor,
    *,
    browser: BrowserTool | None = None,
    stop: threading.Event | None = None,
) -> tuple[CheckResult, ...]:
    """Judge each check against the current state of `workspace` (and of the run's
    `browser`), in order. Call it on the thread that used the browser."""
    return tuple(
        evaluate_check(check, workspace, actor, browser=browser, stop=stop, number=n)
        for n, check in enumerate(checks, start=1)
    )


def evaluate_check(
    check: Check,
    workspace: Workspace,
    actor: CheckActor,
    *,
    browser: BrowserTool | None = None,
    stop: threading.Event | None = None,
    number: int = 1,
) -> CheckResult:
    kind = check.kind
    try:
        ok, detail = _judge(check, _Context(workspace, actor, browser, stop, number))
    except ToolFailure as failure:
        ok, detail = False, failure.message
    except OSError as exc:
        ok, detail = False, f"{exc.filename or 'file'}: {exc.strerror or type(exc).__name__}"
    return CheckResult(kind, ok, _line(detail))


def _judge(check: Check, ctx: _Context) -> tuple[bool, str]:
    ws = ctx.ws
    if isinstance(check, FileExists):
        path = ws.resolve(check.path)
        if path.exists():
            what = "folder" if path.is_dir() else "file"
            return True, f"{what} {ws.display(path)} exists"
        return False, f"{ws.display(path)} does not exist"
    if isinstance(check, FileContains):
        return _file_contains(check, ws)
    if isinstance(check, CountMatching):
        return _count_matching(check, ws)
    if isinstance(check, CommandExitsZero):
        return _command(check, ctx)
    if isinstance(check, PageContains):
        return _page_contains(check, ctx)
    raise TypeError(f"unknown check {check!r}")


def _file_contains(check: FileContains, ws: Workspace) -> tuple[bool, str]:
    path = ws.resolve(check.path, must_exist=True)
    shown = ws.display(path)
    if path.is_dir():
        return False, f"{shown} is a folder, not a file"
    with path.open("rb") as f:
        data = f.read(READ_LIMIT_BYTES)
    text = data.decode("utf-8", "replace")
    if check.text in text:
        return True, f"{shown} contains {_quote(check.text)}"
    return False, f"{shown} does not contain {_quote(check.text)}"


def _count_matching(check: CountMatching, ws: Workspace) -> tuple[bool, str]:
    pattern = check.pattern
    pure = PurePath(pattern)
    if ".." in pure.parts:
        raise ToolFailure("outside_workspace", f"pattern {pattern!r} uses '..'")
    base = ws.roots[0]
    if pure.is_absolute():
        anchor = next((r for r in ws.roots if Path(pattern).is_relative_to(r)), None)
        if anchor is None:
            raise ToolFailure("outside_workspace", f"pattern {pattern!r} is outside the workspace")
        base, pattern = anchor, Path(pattern).relative_to(anchor).as_posix()
    count = 0
    for match in base.glob(pattern):
        # A symlink inside the workspace that points out is not the workspace's file.
        if ws.contains(Path(os.path.realpath(match))):
            count += 1
            if count >= COUNT_LIMIT:
                break
    wanted = _bounds(check)
    ok = (
        (check.equals is None or count == check.equals)
        and (check.at_least is None or count >= check.at_least)
        and (check.at_most is None or count <= check.at_most)
    )
    noun = "path matches" if count == 1 else "paths match"
    return ok, f"{count} {noun} {check.pattern!r} (wanted {wanted})"


def _bounds(check: CountMatching) -> str:
    if check.equals is not None:
        return f"exactly {check.equals}"
    parts = []
    if check.at_least is not None:
        parts.append(f"at least {check.at_least}")
    if check.at_most is not None:
        parts.append(f"at most {check.at_most}")
    return " and ".join(parts)


def _command(check: CommandExitsZero, ctx: _Context) -> tuple[bool, str]:
    tool = ShellTool(
        ctx.ws, timeout_s=check.timeout_seconds, max_output=OUTPUT_LIMIT_BYTES, stop=ctx.stop
    )
    (spec,) = tool.specs()
    acted = ctx.actor.act_for_check(ctx.number, spec, {"command": check.command})
    effect, result = acted.effect, acted.result
    if result.kind == "invalid_args":
        return False, "not run: the command is not one line of at most 1000 characters"
    if effect is None:  # shell syntax: the check fails unrun
        return False, result.output
    if result.kind == "denied":
        return False, (
            f"not run: shell.exec is not granted for {effect.scope!r} "
            f'(add permissions: ["shell.exec:{effect.scope}"])'
        )
    line = effect.scope
    if result.kind == "timeout":
        return False, f"{line!r} did not finish in {check.timeout_seconds:g} s"
    if result.kind == "stopped":
        return False, f"{line!r} was stopped with the run"
    if "exit_status" not in result.data:  # refused by the shell tool (an escape), unrun
        return False, result.output
    tail = _last_output_line(result)
    if result.ok:
        return True, f"{line!r} exited 0{tail}"
    return False, f"{line!r} exited {result.data.get('exit_status')}{tail}"


def _last_output_line(result: ToolResult) -> str:
    """The command's last line of output, as ``": LINE"`` (the tool adds its own lines:
    the command first, the exit status or a cut note last)."""
    lines = [ln for ln in result.output.splitlines()[1:] if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(("[exit status", "... output cut at"))]
    last = lines[-1].strip() if lines and lines != ["(no output)"] else ""
    return f": {last}" if last else ""


def _page_contains(check: PageContains, ctx: _Context) -> tuple[bool, str]:
    if ctx.browser is None:
        return False, "this run has no browser to read a page with"
    specs: dict[str, ToolSpec[Any]] = {s.name: s for s in ctx.browser.specs()}
    if check.url is not None:
        _allowed_run(specs["browser.open"], {"url": check.url}, ctx)
    read = _allowed_run(specs["browser.extract"], {"element": 0}, ctx)
    where = check.url or str(read.data.get("url") or "the open page")
    if check.text in read.output:
        return True, f"the page contains {_quote(check.text)}"
    cut = f" (first {EXTRACT_CHARS} characters read)" if read.data.get("cut") else ""
    return False, f"the page does not contain {_quote(check.text)}{cut}: {where}"


def _allowed_run(spec: ToolSpec[Any], raw: dict[str, Any], ctx: _Context) -> ToolResult:
    """Run one browser action for a check through the executor (when the policy allows it
    outright); `ToolFailure` says why not."""
    acted = ctx.actor.act_for_check(ctx.number, spec, raw)
    effect, result = acted.effect, acted.result
    if result.kind == "denied" and effect is not None:
        raise ToolFailure(
            "denied",
            f"not allowed: {effect.summary} needs {effect.capability} for {effect.scope!r} "
            f'(add permissions: ["{effect.capability}:{effect.scope}"])',
        )
    if not result.ok:
        raise ToolFailure(result.kind, result.output)
    return result


def _quote(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"
