"""The shell tool: run one command in the workspace, with a timeout and an output cap.

The permission policy denies ``shell.exec`` by default; a person allows it with a
command pattern (``--allow 'shell.exec:git status*'``). What keeps that pattern honest:

- No shell runs. The command is split with `shlex` into a program and its arguments and
  executed directly, so what the policy matched is exactly what runs. Shell syntax
  (``;``, ``&&``, ``|``, redirections, ``$( )``, backticks, newlines) is refused before the
  policy is asked: ``git status; rm -rf x`` is never one command. (The policy also never
  lets a ``*`` in a command pattern match those characters: defence in depth.)
- The effect's scope is the command re-joined from its parts (``shlex.join``), so extra
  spaces or quoting cannot make the same command look different to a pattern.

Running: the working directory is the first workspace root; stdin is empty; stdout and
stderr are read together, the first `max_output` bytes kept and the rest counted. The
command runs in its own process group, which is killed when it exits, times out or the
run is stopped, so nothing it started is left behind. A failing command (non-zero exit)
is a failed result the model can read; a program that does not exist is a `ToolFailure`.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

from pydantic import Field

from tools.base import Effect, ToolArgs, ToolFailure, ToolResult, ToolSpec
from tools.paths import Workspace

log = logging.getLogger(__name__)

#: Characters that only mean something to a shell; a token made of them is an operator.
OPERATOR_CHARS = "();<>|&"
_WAIT_SLICE_S = 0.1
_READ_CHUNK = 65536


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
    ) -> None:
        self._ws = workspace
        self._timeout = timeout_s
        self._max_output = max_output
        self._stop = stop if stop is not None else threading.Event()

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
        line = shlex.join(argv)
        program = self._program(argv[0])
        done = self._execute([program, *argv[1:]])
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

    def _execute(self, argv: list[str]) -> _Finished:
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=self._ws.roots[0],
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
        _kill_group(proc.pid)
        proc.wait()
        reader.join(timeout=2.0)
        proc.stdout.close()
        status = proc.returncode if why == "exit" else None
        return _Finished(status, sink.kept(), sink.total, time.monotonic() - started, why)


def parse_command(command: str) -> list[str]:
    """The program and arguments of a plain command line; `ToolFailure` for shell syntax."""
    if any(c in command for c in "\n\r\x00"):
        raise ToolFailure("shell_syntax", "one command on one line, please")
    if "`" in command or "$(" in command:
        raise ToolFailure("shell_syntax", "command substitution is not supported (no shell runs)")
    lexer = shlex.shlex(command, posix=True, punctuation_chars=OPERATOR_CHARS)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError as exc:  # unbalanced quotes
        raise ToolFailure("shell_syntax", f"cannot split the command: {exc}") from exc
    operators = [t for t in tokens if t and all(c in OPERATOR_CHARS for c in t)]
    if operators:
        raise ToolFailure(
            "shell_syntax",
            f"shell operators are not supported ({' '.join(operators)}): run one plain "
            "command per action; no shell runs, so pipes, ; && || and redirection do nothing",
        )
    if not tokens:
        raise ToolFailure("invalid", "the command is empty")
    return tokens


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


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # already gone
