"""Checks on the end state of a task-file run: they decide its outcome.

Each check of a `TaskFile` (agent/taskfile.py) becomes one `CheckResult`: its kind,
whether it held, and one line saying why. The kinds:

    file_exists          the path exists (a file or a folder)
    file_contains        the file's text contains the given text
    count_matching       the number of paths matching a glob is within the bounds
    command_exits_zero   a shell command run in the workspace exits with status 0
    page_contains        (needs the browser tool, issue 3; reported as failed until then)

Invariants:
- Paths and globs are relative to the first workspace root and are resolved through
  `tools.paths.Workspace`: a check never looks outside the workspace (``..``, absolute
  paths elsewhere and symlinks that point out fail the check, they are not followed).
- A command runs only when the run's policy allows ``shell.exec`` for exactly that
  command line (a task grants it with ``permissions: ["shell.exec:COMMAND"]``); a policy
  that would ask or deny fails the check with the reason, since nobody is there to ask.
  The command gets a timeout, its own process group (killed whole on timeout), no stdin,
  and its output is read back capped.
- Evaluating never raises for a check that cannot be judged (missing file, escape,
  timeout): that is a failed result. Bugs propagate.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from agent.policy import Policy
from agent.taskfile import (
    Check,
    CommandExitsZero,
    CountMatching,
    FileContains,
    FileExists,
    PageContains,
)
from tools.base import Effect, ToolFailure
from tools.paths import Workspace

log = logging.getLogger(__name__)

#: file_contains reads at most this much of a file.
READ_LIMIT_BYTES = 10_000_000
#: count_matching stops counting here (the bounds are judged on the capped count).
COUNT_LIMIT = 100_000
#: How much of a command's output is kept for the detail line.
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


def evaluate_checks(
    checks: Sequence[Check], workspace: Workspace, policy: Policy
) -> tuple[CheckResult, ...]:
    """Judge each check against the current state of `workspace`, in order."""
    return tuple(evaluate_check(check, workspace, policy) for check in checks)


def evaluate_check(check: Check, workspace: Workspace, policy: Policy) -> CheckResult:
    kind = check.kind
    try:
        ok, detail = _judge(check, workspace, policy)
    except ToolFailure as failure:
        ok, detail = False, failure.message
    except OSError as exc:
        ok, detail = False, f"{exc.filename or 'file'}: {exc.strerror or type(exc).__name__}"
    return CheckResult(kind, ok, _line(detail))


def _judge(check: Check, ws: Workspace, policy: Policy) -> tuple[bool, str]:
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
        return _command(check, ws, policy)
    if isinstance(check, PageContains):
        return False, "page_contains needs the browser tool (issue 3), which is not built yet"
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


def _command(check: CommandExitsZero, ws: Workspace, policy: Policy) -> tuple[bool, str]:
    effect = Effect("shell.exec", check.command, f"run {check.command}")
    verdict = policy.decide(effect)
    if verdict.decision != "allow":
        return False, (
            f"not run: shell.exec is not granted for {check.command!r} "
            f'(add permissions: ["shell.exec:{check.command}"])'
        )
    code, output = run_command(check.command, ws.roots[0], check.timeout_seconds)
    if code is None:
        return False, f"{check.command!r} did not finish in {check.timeout_seconds:g} s"
    last = output.strip().splitlines()[-1] if output.strip() else ""
    tail = f": {last}" if last else ""
    if code == 0:
        return True, f"{check.command!r} exited 0{tail}"
    return False, f"{check.command!r} exited {code}{tail}"


def run_command(command: str, cwd: Path, timeout: float) -> tuple[int | None, str]:
    """Run a shell command line; its exit status (None on timeout) and the end of its
    output (stdout and stderr together, at most `OUTPUT_LIMIT_BYTES`)."""
    posix = sys.platform != "win32"
    with tempfile.TemporaryFile() as sink:
        # Output goes to a file, not a pipe: no deadlock, and memory stays bounded.
        proc = subprocess.Popen(
            command,
            shell=True,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=posix,
        )
        try:
            code: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc, posix)
            code = None
        size = sink.seek(0, os.SEEK_END)
        sink.seek(max(size - OUTPUT_LIMIT_BYTES, 0))
        output = sink.read().decode("utf-8", "replace")
    return code, output


def _kill(proc: subprocess.Popen[bytes], posix: bool) -> None:
    # The shell's children are in its process group: kill them all, not only the shell.
    with contextlib.suppress(ProcessLookupError):
        if posix:
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
    proc.wait()


def _quote(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"
