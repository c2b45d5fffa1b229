"""The shell is denied unless a person grants a command pattern, and a pattern covers
only what it says: never a longer, chained or redirected command. Every test proves it
with a marker file that the refused command would have created."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from xserver import run_agent

from agent import assemble
from agent.approval import AlwaysAllow
from agent.events import ActionFinished
from agent.journal import Journal
from agent.policy import Policy, Rule, command_matches, parse_grant
from agent.settings import load_settings
from tools.base import Effect
from tools.paths import Workspace
from tools.shell import ShellTool

PY = shlex.quote(sys.executable)
TOUCH = f"{PY} -c \"open('marker', 'w').close()\""


def shell_reply(command: str) -> dict[str, Any]:
    return {"tool": "shell.run", "args": {"command": command}, "thought": "run it"}


FINISH = {"tool": "finish", "args": {"message": "done"}, "thought": ""}


def results(done: Any) -> list[tuple[bool, str]]:
    return [(e.result.ok, e.result.kind) for e in done.events if isinstance(e, ActionFinished)]


def test_without_a_grant_the_shell_never_runs_even_when_every_question_is_answered_yes(
    workspace: Path, deskhand_home: Path
) -> None:
    done = run_agent(
        deskhand_home,
        workspace,
        [shell_reply(TOUCH), FINISH],
        approver=AlwaysAllow(),  # --yes: it answers questions, it does not lift a deny
        shell=ShellTool(Workspace((workspace,))),
    )
    assert results(done) == [(False, "denied"), (True, "ok")]
    assert not (workspace / "marker").exists()
    journal = Journal(done.journal_path)
    (approval,) = journal.approvals(done.run_id)
    journal.close()
    assert (approval["capability"], approval["decision"]) == ("shell.exec", "deny")
    assert approval["source"] == "policy:default"


def test_a_run_without_a_shell_grant_is_not_even_offered_the_shell(
    workspace: Path, deskhand_home: Path
) -> None:
    settings = load_settings({"DESKHAND_HOME": str(deskhand_home)})
    roots = [workspace]
    assert not assemble.wants_shell(assemble.permission_rules(settings, [], roots))
    assert not assemble.wants_shell([Rule("shell.exec", "*", "deny", source="config")])
    assert not assemble.wants_shell([Rule("*", "*", "allow", source="config")])
    granted = assemble.permission_rules(settings, ["shell.exec:git status*"], roots)
    assert assemble.wants_shell(granted)


@pytest.mark.parametrize(
    "command",
    [
        f"echo hello; {TOUCH}",
        f"echo hello && {TOUCH}",
        f"echo hello || {TOUCH}",
        f"echo hello | {TOUCH}",
        "echo hello > marker",
        "echo hello >> marker",
        f"echo hello $({TOUCH})",
        f"echo hello `{TOUCH}`",
        f"echo hello\n{TOUCH}",
        f"echo hello & {TOUCH}",
    ],
)
def test_a_granted_pattern_does_not_stretch_to_a_chained_command(
    command: str, workspace: Path, deskhand_home: Path
) -> None:
    grant = parse_grant("shell.exec:echo hello*", [workspace])
    done = run_agent(
        deskhand_home,
        workspace,
        [shell_reply(command), shell_reply("echo hello world"), FINISH],
        grants=[grant],
        approver=AlwaysAllow(),
        shell=ShellTool(Workspace((workspace,))),
    )
    (refused, allowed, _) = results(done)
    assert refused == (False, "shell_syntax")
    assert allowed == (True, "ok")  # the grant itself works
    assert not (workspace / "marker").exists()


def test_a_pattern_without_a_star_allows_exactly_that_command(
    workspace: Path, deskhand_home: Path
) -> None:
    grant = parse_grant("shell.exec:echo hello", [workspace])
    done = run_agent(
        deskhand_home,
        workspace,
        [shell_reply("echo hello"), shell_reply(f"echo hello {TOUCH}"), shell_reply(TOUCH), FINISH],
        grants=[grant],
        shell=ShellTool(Workspace((workspace,))),
    )
    assert results(done) == [(True, "ok"), (False, "denied"), (False, "denied"), (True, "ok")]
    assert not (workspace / "marker").exists()


def test_the_policy_itself_never_lets_a_star_cross_a_shell_operator() -> None:
    policy = Policy.for_workspace(
        [Path("/ws")], [Rule("shell.exec", "git status*", "allow", "grant")]
    )
    decide = lambda cmd: policy.decide(Effect("shell.exec", cmd, cmd)).decision  # noqa: E731
    assert decide("git status") == "allow"
    assert decide("git status --short") == "allow"
    for chained in ("git status; rm -rf x", "git status && rm -rf x", "git status | sh",
                    "git status > x", "git status $(rm -rf x)", "git status `rm -rf x`",
                    "git status\nrm -rf x", "git status & rm -rf x"):  # fmt: skip
        assert decide(chained) == "deny", chained


def test_a_deny_pattern_still_catches_a_command_with_a_quoted_operator() -> None:
    policy = Policy.for_workspace(
        [Path("/ws")],
        [Rule("shell.exec", "rm *", "deny", "config"), Rule("shell.exec", "*", "allow", "config")],
    )
    assert policy.decide(Effect("shell.exec", "rm -rf 'x;'", "")).decision == "deny"


SAFE = st.text(
    st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters=" -_./=*?"),
    max_size=20,
)


@given(SAFE, st.sampled_from(list(";&|<>()`$\n")), st.text(max_size=20))
def test_no_pattern_free_of_operators_matches_a_command_with_one(
    pattern: str, operator: str, tail: str
) -> None:
    if pattern == "*":
        return  # the bare star is "every command", by definition
    command = pattern.replace("*", "x").replace("?", "y") + operator + tail
    assert not command_matches(pattern, command)
