"""The shell tool: run one granted command in the workspace, confined, with a timeout
and an output cap.

The permission policy denies ``shell.exec`` by default; a person allows it with a
command pattern (``--allow 'shell.exec:git status*'``). What keeps that grant honest,
in order, for every command (a model's action and a task's ``command_exits_zero`` check
alike):

1. `tools.shell.argv.parse_command`: no shell runs; shell syntax is refused; the effect's
   scope is the argv re-joined (``shlex.join``), so spacing and quoting cannot disguise it.
2. The policy matches the pattern word by word (`tools.shell.argv.pattern_covers`); a
   wildcard never covers a dangerous option (`tools.shell.danger`). A command no grant
   covers is denied as such.
3. `tools.shell.argv.confine`, in `run()`, right before the command starts, whatever the
   grant (the bare ``shell.exec`` too): every argument that could name a path names one
   inside the workspace (``..`` and symlinks resolved), else ``outside_workspace``.
4. git runs without any program its repository configures (`tools.shell.git`).
5. On Linux the command runs under `tools.shell.reaper`, a subreaper parent, so nothing it
   starts outlives it, not even a process that called ``setsid()``; elsewhere it runs in
   its own process group, killed whole (a ``setsid()`` child escapes that).

Running: the working directory is the first workspace root; stdin is empty; stdout and
stderr are read together, the first `max_output` bytes kept and the rest counted. A
failing command (non-zero exit) is a failed result the model can read; a program that does
not exist, or a refused argument, is a `ToolFailure`.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pydantic import Field

from tools.base import Effect, ToolArgs, ToolFailure, ToolResult, ToolSpec
from tools.paths import Workspace
from tools.shell import git
from tools.shell.argv import confine, parse_command

log = logging.getLogger(__name__)

_WAIT_SLICE_S = 0.1
_READ_CHUNK = 65536
#: How long the reaper gets to kill and reap everything before its group is SIGKILLed.
_REAP_GRACE_S = 5.0
REAPER = Path(__file__).with_name("reaper.py")


class ShellArgs(ToolArgs):
    command: str = Field(
        min_length=1,
        max_length=1000,
        description="one program and its arguments, e.g. git status (no pipes, ; or >)",
    )


@dataclass(frozen=True, slots=True)
class _Finished:
    status: int | None
    output: bytes
    total: int
    seconds: float
    why: str  # "exit", "timeout", "stopped"


class ShellTool:
    def __init__(
        self,
        workspace: Workspace,
        *,
        timeout_s: float = 60.0,
        max_output: int = 16_000,
        stop: threading.Event | None = None,
        environ: Mapping[str, str] | None = None,
        reap: bool | None = None,
    ) -> None:
        self._ws = workspace
        self._timeout = timeout_s
        self._max_output = max_output
        self._stop = stop if stop is not None else threading.Event()
        #: The environment commands inherit (default: this process's).
        self._environ = dict(os.environ if environ is None else environ)
        #: Whether commands run under the subreaper (default: on Linux).
        self._reap = sys.platform.startswith("linux") if reap is None else reap

    def specs(self) -> list[ToolSpec[Any]]:
        return [
            ToolSpec(
                name="shell.run",
                description="Run one command in the workspace folder and read its output.",
                args=ShellArgs,
                effect=self._effect,
                run=self._run,
                # Thread-bound: the tool enforces its own timeout and kills the process,
                # rather than leaving it running behind an executor that stopped waiting.
                thread_bound=True,
                timeout_s=self._timeout,
                example={"command": "git status"},
            )
        ]

    def _effect(self, args: ShellArgs) -> Effect:
        argv = parse_command(args.command)
        line = shlex.join(argv)
        return Effect("shell.exec", line, f"run `{line}` in {self._ws.roots[0]}")

    def _run(self, args: ShellArgs) -> ToolResult:
        argv = parse_command(args.command)
        confine(argv, self._ws)  # here, at the last moment, whatever the grant said
        line = shlex.join(argv)
        program = self._program(argv[0])
        if os.path.basename(program).startswith("git-"):
            raise ToolFailure("refused", f"{argv[0]}: run git commands as `git NAME ...`")
        command, env = [program, *argv[1:]], self._environ
        if git.is_git(program):
            hardened = git.harden(command, self._ws, self._environ)
            command, env = hardened.argv, hardened.env
        done = self._execute(command, env)
        text = done.output.decode("utf-8", "replace")
        if done.total > len(done.output):
            text += f"\n... output cut at {len(done.output)} of {done.total} bytes"
        data = {
            "command": line,
            "exit_status": done.status,
            "bytes": done.total,
            "seconds": round(done.seconds, 3),
        }
        if done.why == "timeout":
            text += f"\n[killed after {self._timeout:g} s]"
            return ToolResult(ok=False, output=f"$ {line}\n{text}", kind="timeout", data=data)
        if done.why == "stopped":
            return ToolResult(
                ok=False, output=f"$ {line}\n{text}\n[stopped]", kind="stopped", data=data
            )
        if done.status != 0:
            text += f"\n[exit status {done.status}]"
            return ToolResult(ok=False, output=f"$ {line}\n{text}", kind="exit_status", data=data)
        return ToolResult(ok=True, output=f"$ {line}\n{text or '(no output)'}", data=data)

    def _program(self, name: str) -> str:
        root = self._ws.roots[0]
        if "/" in name:  # a path: relative ones start at the workspace, not at our cwd
            path = name if os.path.isabs(name) else os.path.join(root, name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
            raise ToolFailure("not_found", f"{name}: no such executable file")
        found = shutil.which(name)
        if found is None:
            raise ToolFailure("not_found", f"{name}: command not found")
        return found

    def _execute(self, argv: list[str], env: Mapping[str, str]) -> _Finished:
        started = time.monotonic()
        if self._reap:
            argv = [sys.executable, "-I", "-S", str(REAPER), *argv]
        try:
            proc = subprocess.Popen(
                argv,
                cwd=self._ws.roots[0],
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ToolFailure("os_error", f"{argv[0]}: {exc.strerror or exc}") from exc
        assert proc.stdout is not None
        sink = _Sink(self._max_output)
        reader = threading.Thread(target=sink.drain, args=(proc.stdout,), daemon=True)
        reader.start()
        why = "exit"
        deadline = started + self._timeout
        while proc.poll() is None:
            if self._stop.is_set():
                why = "stopped"
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                why = "timeout"
                break
            try:
                proc.wait(timeout=min(remaining, _WAIT_SLICE_S))
            except subprocess.TimeoutExpired:
                continue
        if why != "exit" and self._reap:
            _end_reaper(proc)
        _kill_group(proc.pid)
        proc.wait()
        reader.join(timeout=2.0)
        proc.stdout.close()
        status = proc.returncode if why == "exit" else None
        return _Finished(status, sink.kept(), sink.total, time.monotonic() - started, why)


class _Sink:
    """Keeps the first `limit` bytes of a stream and counts the rest."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._parts: list[bytes] = []
        self._kept = 0
        self.total = 0

    def drain(self, stream: IO[bytes]) -> None:
        try:
            while chunk := os.read(stream.fileno(), _READ_CHUNK):
                self.total += len(chunk)
                room = self._limit - self._kept
                if room > 0:
                    self._parts.append(chunk[:room])
                    self._kept += min(room, len(chunk))
        except (OSError, ValueError):  # the pipe was closed under us after a kill
            return

    def kept(self) -> bytes:
        return b"".join(self._parts)


def _end_reaper(proc: subprocess.Popen[bytes]) -> None:
    """Ask the reaper to kill and reap everything below it; it gets a few seconds."""
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=_REAP_GRACE_S)
    except subprocess.TimeoutExpired:
        log.warning("the shell reaper did not finish in %s s; killing its group", _REAP_GRACE_S)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # already gone
