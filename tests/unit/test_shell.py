"""The shell tool on real processes: what runs, where, for how long, how much output is
kept, and which command lines are refused before the policy is even asked."""

from __future__ import annotations

import shlex
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.base import ToolFailure, ToolResult
from tools.paths import Workspace
from tools.shell import OPERATOR_CHARS, ShellArgs, ShellTool, parse_command

PY = shlex.quote(sys.executable)


def shell(
    ws: Path,
    *,
    timeout_s: float = 20,
    max_output: int = 16_000,
    stop: threading.Event | None = None,
) -> ShellTool:
    return ShellTool(Workspace((ws,)), timeout_s=timeout_s, max_output=max_output, stop=stop)


def run(tool: ShellTool, command: str) -> ToolResult:
    (spec,) = tool.specs()
    args = ShellArgs(command=command)
    spec.effect(args)
    try:
        return spec.run(args)
    except ToolFailure as failure:
        return ToolResult.failure(failure.kind, failure.message)


def test_runs_in_the_workspace_and_reports_its_output(workspace: Path) -> None:
    (workspace / "hello.txt").write_text("hi")
    result = run(shell(workspace), "ls")
    assert result.ok, result.output
    assert result.output == "$ ls\nhello.txt\n"
    assert result.data["exit_status"] == 0
    where = run(shell(workspace), f"{PY} -c 'import os; print(os.getcwd())'")
    assert where.output.splitlines()[-1] == str(workspace.resolve())


def test_a_failing_command_is_a_result_the_model_can_read(workspace: Path) -> None:
    result = run(shell(workspace), f"{PY} -c 'import sys; print(\"nope\"); sys.exit(3)'")
    assert not result.ok and result.kind == "exit_status"
    assert result.output.endswith("nope\n\n[exit status 3]")
    assert run(shell(workspace), "no-such-program-xyz").kind == "not_found"


def test_the_scope_is_the_command_rejoined_so_spacing_and_quoting_cannot_disguise_it(
    workspace: Path,
) -> None:
    (spec,) = shell(workspace).specs()
    effect = spec.effect(ShellArgs(command='git    status  "--short"'))
    assert (effect.capability, effect.scope) == ("shell.exec", "git status --short")
    quoted = spec.effect(ShellArgs(command="grep 'a b' notes.txt"))
    assert quoted.scope == "grep 'a b' notes.txt"


@pytest.mark.parametrize(
    "command",
    [
        "git status; rm -rf x",
        "git status && rm -rf x",
        "git status || rm -rf x",
        "git status | sh",
        "git status > x",
        "git status < x",
        "git status &",
        "(git status)",
        "git status $(rm -rf x)",
        "git status `rm -rf x`",
        "git status\nrm -rf x",
        "git status 'unbalanced",
        "   ",
    ],
)
def test_shell_syntax_is_refused(command: str) -> None:
    with pytest.raises(ToolFailure) as caught:
        parse_command(command)
    assert caught.value.kind in ("shell_syntax", "invalid")


def test_quoted_operators_are_plain_arguments_because_no_shell_runs(workspace: Path) -> None:
    assert parse_command("grep 'a|b;c' notes.txt") == ["grep", "a|b;c", "notes.txt"]
    result = run(shell(workspace), f"{PY} -c 'print(\"a;b\")'")
    assert result.ok and "a;b" in result.output


@given(
    st.lists(
        st.text(
            st.characters(blacklist_characters="\n\r\x00`$", blacklist_categories=("Cs",)),
            min_size=1,
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_argument_list_survives_the_round_trip(argv: list[str]) -> None:
    """Re-joined and split again, arguments come back unchanged; the one exception is
    an argument made only of operator characters ('|' quoted looks like a pipe once
    split), which is refused: a false alarm on the safe side."""
    if any(arg and all(c in OPERATOR_CHARS for c in arg) for arg in argv):
        with pytest.raises(ToolFailure):
            parse_command(shlex.join(argv))
        return
    assert parse_command(shlex.join(argv)) == argv


def test_output_beyond_the_cap_is_counted_not_kept(workspace: Path) -> None:
    result = run(shell(workspace, max_output=1000), f"{PY} -c 'print(\"x\" * 100000)'")
    assert result.ok
    assert result.data["bytes"] == 100001
    body = result.output.split("\n", 1)[1]
    assert body.startswith("x" * 1000 + "\n... output cut at 1000 of 100001 bytes")


def test_a_command_past_its_timeout_is_killed_with_everything_it_started(workspace: Path) -> None:
    script = (
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "open('child.pid', 'w').write(str(child.pid)); time.sleep(60)"
    )
    started = time.monotonic()
    result = run(shell(workspace, timeout_s=1.5), f"{PY} -c {shlex.quote(script)}")
    assert result.kind == "timeout" and "[killed after 1.5 s]" in result.output
    assert time.monotonic() - started < 10
    child = int((workspace / "child.pid").read_text())
    assert not _alive(child)


def test_a_stop_ends_a_running_command(workspace: Path) -> None:
    stop = threading.Event()
    marker = workspace / "started"

    def stop_once_started() -> None:
        deadline = time.monotonic() + 20
        while not marker.exists() and time.monotonic() < deadline:
            stop.wait(0.02)
        stop.set()

    threading.Thread(target=stop_once_started, daemon=True).start()
    script = "import time; open('started', 'w').close(); time.sleep(60)"
    started = time.monotonic()
    result = run(shell(workspace, timeout_s=60, stop=stop), f"{PY} -c {shlex.quote(script)}")
    assert result.kind == "stopped"
    assert time.monotonic() - started < 10


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for a reaper counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
