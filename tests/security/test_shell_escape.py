"""Attacks on granted shell commands: each one worked before the shell tool confined its
arguments, matched grants word by word, hardened git and reaped every process, and each
must fail now. Real git, find, cat, tar and sh; real files outside the workspace that must
stay untouched; a real ``setsid`` child that must not survive the tool."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psutil
import pytest
from checking import check_actor
from xserver import run_agent

from agent.approval import AlwaysAllow
from agent.checks import evaluate_check
from agent.events import ActionFinished
from agent.policy import Policy, parse_grant
from agent.taskfile import CommandExitsZero
from tools.base import ToolFailure, ToolResult
from tools.paths import Workspace
from tools.shell import ShellArgs, ShellTool

PY = shlex.quote(sys.executable)
GIT_ENV = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the workspace, holding a secret that must stay unread and untouched."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "x.txt").write_text("the secret\n")
    return folder


def attempt(ws: Path, grant: str, command: str, *, timeout_s: float = 20) -> ToolResult:
    """What the executor does with one `shell.run` under one grant: effect, policy, run."""
    (spec,) = ShellTool(Workspace((ws,)), timeout_s=timeout_s).specs()
    args = ShellArgs(command=command)
    policy = Policy.for_workspace([ws], [parse_grant(grant, [ws])])
    try:
        effect = spec.effect(args)
        if policy.decide(effect).decision != "allow":
            return ToolResult.failure("denied", f"permission denied: {effect.summary}")
        return spec.run(args)
    except ToolFailure as failure:
        return ToolResult.failure(failure.kind, failure.message)


def git(repo: Path, *words: str) -> None:
    subprocess.run(["git", *words], cwd=repo, env=GIT_ENV, check=True, capture_output=True)


def repo_with_commit(ws: Path) -> Path:
    git(ws, "init", "-q")
    git(ws, "config", "user.name", "t")
    git(ws, "config", "user.email", "t@example.com")
    (ws / "a.txt").write_text("one\n")
    (ws / ".gitattributes").write_text("*.txt diff=evil filter=evil\n")
    git(ws, "add", ".")
    git(ws, "commit", "-qm", "one")
    return ws


def untouched(outside: Path) -> bool:
    return sorted(p.name for p in outside.iterdir()) == ["x.txt"] and (
        (outside / "x.txt").read_text() == "the secret\n"
    )


# -- class 5: git runs the programs its repository configures ---------------------------


@pytest.mark.parametrize(
    ("key", "command"),
    [
        ("core.fsmonitor", "git status --short"),
        ("filter.evil.clean", "git status --short"),
        ("filter.evil.process", "git status --short"),
        ("diff.evil.textconv", "git diff"),
        ("diff.evil.command", "git diff"),
        ("diff.external", "git diff"),
        ("alias.st", "git st"),
    ],
)
def test_a_git_grant_does_not_run_what_the_repository_configures(
    key: str, command: str, workspace: Path, outside: Path
) -> None:
    repo = repo_with_commit(workspace)
    program = f"touch {outside / 'PWNED'}"
    git(repo, "config", key, f"!{program}" if key.startswith("alias.") else program)
    (repo / "a.txt").write_text("two\n")  # same size: git must read it to see the change
    os.utime(repo / "a.txt", (1, 1))
    grant = "shell.exec:" + " ".join(command.split()[:2]) + "*"
    result = attempt(workspace, grant, command)
    assert untouched(outside), (key, result.output)


def test_git_commit_runs_no_hook_from_the_repository(workspace: Path, outside: Path) -> None:
    repo = repo_with_commit(workspace)
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch {outside / 'PWNED'}\n")
    hook.chmod(0o755)
    (repo / "a.txt").write_text("two\n")
    result = attempt(workspace, "shell.exec:git commit*", "git commit -qam two")
    assert untouched(outside)
    assert result.ok, result.output  # the commit itself still happens


def test_the_model_cannot_turn_fsmonitor_on_through_a_git_grant(
    workspace: Path, outside: Path
) -> None:
    repo_with_commit(workspace)
    set_it = f"git config core.fsmonitor 'touch {outside / 'PWNED'}'"
    assert attempt(workspace, "shell.exec:git *", set_it).kind == "denied"
    pwn = f"git -c 'core.fsmonitor=touch {outside / 'PWNED'}' status"
    assert attempt(workspace, "shell.exec:git *", pwn).kind == "denied"
    attempt(workspace, "shell.exec:git *", "git status")
    assert untouched(outside)


def test_git_is_not_run_for_a_repository_whose_git_folder_is_outside(
    workspace: Path, outside: Path
) -> None:
    elsewhere = outside / "repo"
    elsewhere.mkdir()
    git(elsewhere, "init", "-q")
    git(elsewhere, "config", "core.fsmonitor", f"touch {outside / 'PWNED'}")
    (workspace / ".git").write_text(f"gitdir: {elsewhere / '.git'}\n")
    result = attempt(workspace, "shell.exec:git status*", "git status")
    assert result.kind == "outside_workspace"
    assert not (outside / "PWNED").exists()


# -- class 11: arguments that reach outside the workspace -------------------------------


def test_git_log_output_cannot_write_outside(workspace: Path, outside: Path) -> None:
    repo_with_commit(workspace)
    target = outside / "log.txt"
    for command in (f"git log --output={target}", f"git log --outp={target}"):
        assert not attempt(workspace, "shell.exec:git log*", command).ok
        # Even the bare grant ("any command") does not take a command outside.
        assert attempt(workspace, "shell.exec", command).kind == "outside_workspace"
    # Inside the workspace, --output still writes a file no fs.write was asked for:
    assert attempt(workspace, "shell.exec:git log*", "git log --output=mine.txt").kind == ("denied")
    assert untouched(outside) and not (workspace / "mine.txt").exists()


def test_find_cannot_delete_or_exec_outside_or_through_a_star(
    workspace: Path, outside: Path
) -> None:
    (workspace / "keep.txt").write_text("keep\n")
    for command in (
        "find ../outside -delete",
        f"find {outside} -delete",
        "find . -delete",
        f"find . -exec cp {{}} {outside} +",
        "find . -name keep.txt -exec rm {} +",
        "find . -fprint found.txt",
    ):
        result = attempt(workspace, "shell.exec:find *", command)
        assert result.kind in ("denied", "outside_workspace"), (command, result.output)
    assert untouched(outside) and (workspace / "keep.txt").exists()
    # Spelled out in the grant, a dangerous option is granted by name:
    (workspace / "old.tmp").write_text("")
    granted = "shell.exec:find . -name *.tmp -delete"
    assert attempt(workspace, granted, "find . -name *.tmp -delete").ok
    assert not (workspace / "old.tmp").exists() and (workspace / "keep.txt").exists()


def test_cat_star_txt_reads_one_file_in_the_workspace_and_nothing_outside(
    workspace: Path, outside: Path
) -> None:
    (workspace / "a.txt").write_text("mine\n")
    (workspace / "link.txt").symlink_to(outside / "x.txt")
    assert attempt(workspace, "shell.exec:cat *.txt", "cat a.txt").ok
    for command in (
        f"cat {outside / 'x.txt'}",
        "cat a.txt ../outside/x.txt",
        "cat ../outside/x.txt",
        "cat link.txt",
        f"cat 'a.txt {outside}/x.txt'",
    ):
        result = attempt(workspace, "shell.exec:cat *.txt", command)
        assert not result.ok and "the secret" not in result.output, command
        # not even with every command granted
        anything = attempt(workspace, "shell.exec", command)
        assert "the secret" not in anything.output, command


def test_tar_cannot_run_a_program_or_read_outside(workspace: Path, outside: Path) -> None:
    (workspace / "a.txt").write_text("mine\n")
    assert attempt(workspace, "shell.exec:tar *", "tar -cf a.tar a.txt").ok
    for command in (
        f"tar -xf a.tar --to-command='touch {outside}/PWNED'",
        "tar -xf a.tar --to-command=true",
        "tar -cf b.tar --checkpoint=1 --checkpoint-action=exec=true a.txt",
        f"tar -cf b.tar -C {outside} x.txt",
        "tar -cf b.tar ../outside/x.txt",
    ):
        result = attempt(workspace, "shell.exec:tar *", command)
        assert result.kind in ("denied", "outside_workspace"), (command, result.output)
    assert untouched(outside) and not (workspace / "b.tar").exists()


@pytest.mark.parametrize(
    ("grant", "command"),
    [
        ("shell.exec:xargs*", "xargs touch PWNED"),
        ("shell.exec:env*", "env touch PWNED"),
        ("shell.exec:sh -c *", "sh -c 'touch PWNED'"),
        ("shell.exec:timeout 5 *", "timeout 5 touch PWNED"),
        ("shell.exec:nice*", "nice touch PWNED"),
    ],
)
def test_a_star_never_covers_a_program_that_runs_programs(
    grant: str, command: str, workspace: Path
) -> None:
    assert attempt(workspace, grant, command).kind == "denied"
    assert not (workspace / "PWNED").exists()


def test_a_setsid_child_does_not_survive_the_command(workspace: Path) -> None:
    command = "sh -c 'setsid sleep 600 & echo $! > escaped.pid'"
    result = attempt(workspace, f"shell.exec:{command}", command)
    assert result.ok, result.output
    assert _gone(int((workspace / "escaped.pid").read_text()))


def test_a_daemon_that_double_forks_does_not_survive_a_timeout(workspace: Path) -> None:
    script = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        open('escaped.pid', 'w').write(str(os.getpid()))\n"
        "        time.sleep(600)\n"
        "    os._exit(0)\n"
        "os.wait(); sys.stdout.write('forked'); sys.stdout.flush(); time.sleep(600)\n"
    )
    (workspace / "daemon.py").write_text(script)
    result = attempt(workspace, "shell.exec", f"{PY} daemon.py", timeout_s=3)
    assert result.kind == "timeout" and "forked" in result.output
    assert _gone(int((workspace / "escaped.pid").read_text()))


def test_a_stop_also_ends_a_setsid_child(workspace: Path) -> None:
    stop = threading.Event()
    ready = workspace / "ready.fifo"
    os.mkfifo(ready)
    script = (
        "import subprocess, time\n"
        "p = subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
        "open('ready.fifo', 'w').write(str(p.pid))\n"
        "time.sleep(600)\n"
    )
    (workspace / "d.py").write_text(script)
    escaped: list[int] = []

    def stop_when_ready() -> None:
        with ready.open() as pipe:  # blocks until the command has started its child
            escaped.append(int(pipe.read()))
        stop.set()

    watcher = threading.Thread(target=stop_when_ready, daemon=True)
    watcher.start()
    (spec,) = ShellTool(Workspace((workspace,)), timeout_s=60, stop=stop).specs()
    result = spec.run(ShellArgs(command=f"{PY} d.py"))
    watcher.join()
    assert result.kind == "stopped"
    assert _gone(escaped[0])


# -- class 7: command_exits_zero checks go through the same rules ------------------------


def test_a_check_command_is_confined_like_the_shell_tool(workspace: Path, outside: Path) -> None:
    repo_with_commit(workspace)
    git(workspace, "config", "core.fsmonitor", f"touch {outside / 'PWNED'}")
    ws = Workspace((workspace,))

    def judge(command: str, grant: str) -> Any:
        check = CommandExitsZero(kind="command_exits_zero", command=command)
        policy = Policy.for_workspace([workspace], [parse_grant(grant, [workspace])])
        return evaluate_check(check, ws, check_actor(workspace, policy))

    read = judge(f"grep -q secret {outside / 'x.txt'}", "shell.exec")
    assert not read.ok and "outside the workspace" in read.detail
    assert not judge("find ../outside -delete", "shell.exec").ok
    assert not judge("find . -delete", "shell.exec:find *").ok
    status = judge("git status", "shell.exec:git status")
    assert status.ok, status.detail
    assert untouched(outside)


def test_through_the_engine_an_escape_is_a_failed_result_the_model_reads(
    workspace: Path, deskhand_home: Path, outside: Path
) -> None:
    reply = {"tool": "shell.run", "args": {"command": "cat ../outside/x.txt"}, "thought": ""}
    finish = {"tool": "finish", "args": {"message": "done"}, "thought": ""}
    done = run_agent(
        deskhand_home,
        workspace,
        [reply, finish],
        grants=[parse_grant("shell.exec", [workspace])],
        approver=AlwaysAllow(),
        shell=ShellTool(Workspace((workspace,))),
    )
    (first, _) = [e.result for e in done.events if isinstance(e, ActionFinished)]
    assert (first.ok, first.kind) == (False, "outside_workspace")
    assert "\n" not in first.output and "the secret" not in first.output


def _gone(pid: int) -> bool:
    """Whether `pid` has exited (waits up to 10 s on the process, then kills it)."""
    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return True
    try:
        proc.wait(timeout=10)
    except psutil.TimeoutExpired:
        proc.kill()
        return False
    return True
