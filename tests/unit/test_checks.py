"""Checks on a task's end state: each kind against real files, escapes refused, commands
run only when granted, with a timeout and capped output."""

from __future__ import annotations

import os
import select
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from checking import check_actor
from pages.server import make_tool, serve_pages

from agent.checks import CheckResult, evaluate_check, evaluate_checks
from agent.policy import Policy, Rule, parse_grant
from agent.taskfile import CommandExitsZero, CountMatching, FileContains, FileExists, PageContains
from tools.paths import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "reports").mkdir(parents=True)
    (root / "reports" / "a.md").write_text("week 7 archived\n")
    (root / "reports" / "b.md").write_text("other")
    (root / "notes.txt").write_text("hello")
    (tmp_path / "outside.txt").write_text("secret")
    return root


def judge(check: Any, root: Path, *grants: str) -> CheckResult:
    rules = [parse_grant(g, (root,)) for g in grants]
    policy = Policy.for_workspace((root,), rules)
    return evaluate_check(check, Workspace((root,)), check_actor(root, policy))


def test_file_exists(ws: Path) -> None:
    assert judge(FileExists(kind="file_exists", path="reports/a.md"), ws).ok
    folder = judge(FileExists(kind="file_exists", path="reports"), ws)
    assert folder.ok and "folder reports exists" in folder.detail
    missing = judge(FileExists(kind="file_exists", path="nope.txt"), ws)
    assert not missing.ok and missing.detail == "nope.txt does not exist"
    assert missing.kind == "file_exists"


@pytest.mark.parametrize("path", ["../outside.txt", "reports/../../outside.txt", "/etc/passwd"])
def test_paths_outside_the_workspace_fail_the_check(ws: Path, path: str) -> None:
    result = judge(FileExists(kind="file_exists", path=path), ws)
    assert not result.ok and "outside the workspace" in result.detail


def test_a_symlink_that_points_out_is_not_followed(ws: Path) -> None:
    (ws / "link.txt").symlink_to(ws.parent / "outside.txt")
    result = judge(FileContains(kind="file_contains", path="link.txt", text="secret"), ws)
    assert not result.ok and "outside the workspace" in result.detail
    count = judge(CountMatching(kind="count_matching", pattern="*.txt", equals=1), ws)
    assert count.ok, count.detail  # notes.txt only: the link to outside is not counted


def test_file_contains(ws: Path) -> None:
    ok = judge(FileContains(kind="file_contains", path="reports/a.md", text="week 7"), ws)
    assert ok.ok and ok.detail == "reports/a.md contains 'week 7'"
    no = judge(FileContains(kind="file_contains", path="reports/a.md", text="week 8"), ws)
    assert not no.ok and "does not contain 'week 8'" in no.detail
    missing = judge(FileContains(kind="file_contains", path="gone.md", text="x"), ws)
    assert not missing.ok and "does not exist" in missing.detail
    folder = judge(FileContains(kind="file_contains", path="reports", text="x"), ws)
    assert not folder.ok and "is a folder" in folder.detail


@pytest.mark.parametrize(
    "bounds, ok",
    [
        ({"equals": 2}, True),
        ({"equals": 1}, False),
        ({"at_least": 2}, True),
        ({"at_least": 3}, False),
        ({"at_most": 1}, False),
        ({"at_least": 1, "at_most": 2}, True),
    ],
)
def test_count_matching_bounds(ws: Path, bounds: dict[str, int], ok: bool) -> None:
    result = judge(CountMatching(kind="count_matching", pattern="reports/*.md", **bounds), ws)
    assert result.ok is ok
    assert result.detail.startswith("2 paths match 'reports/*.md'")


def test_count_matching_recursive_and_absolute_inside(ws: Path) -> None:
    assert judge(CountMatching(kind="count_matching", pattern="**/*.md", equals=2), ws).ok
    inside = str(ws / "reports" / "*.md")
    assert judge(CountMatching(kind="count_matching", pattern=inside, equals=2), ws).ok


@pytest.mark.parametrize("pattern", ["../*.txt", "reports/../../*", "/etc/*"])
def test_count_matching_refuses_patterns_that_escape(ws: Path, pattern: str) -> None:
    result = judge(CountMatching(kind="count_matching", pattern=pattern, equals=0), ws)
    assert not result.ok and ("'..'" in result.detail or "outside the workspace" in result.detail)


def test_command_without_a_grant_is_not_run(ws: Path) -> None:
    check = CommandExitsZero(kind="command_exits_zero", command="touch ran.txt")
    result = judge(check, ws)
    assert not result.ok and "shell.exec is not granted" in result.detail
    assert not (ws / "ran.txt").exists()
    # A grant for another command does not cover this one.
    assert not judge(check, ws, "shell.exec:echo *").ok
    assert not (ws / "ran.txt").exists()


def test_granted_commands_run_in_the_workspace(ws: Path) -> None:
    check = CommandExitsZero(kind="command_exits_zero", command="grep -c week reports/a.md")
    result = judge(check, ws, "shell.exec:grep -c week reports/a.md")
    assert result.ok and result.detail == "'grep -c week reports/a.md' exited 0: 1"
    # A pattern's * never stretches over a shell operator (agent/policy.py).
    failing = CommandExitsZero(kind="command_exits_zero", command="sh -c 'echo oops >&2; exit 3'")
    assert not judge(failing, ws, "shell.exec:sh -c *").ok
    result = judge(failing, ws, "shell.exec")
    assert not result.ok and "exited 3: oops" in result.detail


@pytest.mark.parametrize(
    "command", ["touch ran.txt; true", "touch ran.txt && true", "true > ran.txt"]
)
def test_commands_run_under_the_shell_tools_rules(ws: Path, command: str) -> None:
    """No shell runs: shell syntax fails the check unrun, even with shell.exec granted."""
    result = judge(CommandExitsZero(kind="command_exits_zero", command=command), ws, "shell.exec")
    assert not result.ok and "shell operators are not supported" in result.detail
    assert not (ws / "ran.txt").exists()


def test_a_command_the_policy_would_ask_about_is_not_run(ws: Path) -> None:
    rules = [Rule("shell.exec", "*", "ask", source="config")]
    check = CommandExitsZero(kind="command_exits_zero", command="touch ran.txt")
    actor = check_actor(ws, Policy.for_workspace((ws,), rules))
    result = evaluate_check(check, Workspace((ws,)), actor)
    assert not result.ok and 'add permissions: ["shell.exec:touch ran.txt"]' in result.detail
    assert not (ws / "ran.txt").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_command_past_its_timeout_is_killed_with_its_children(ws: Path) -> None:
    check = CommandExitsZero(
        kind="command_exits_zero",
        command="sh -c 'sleep 30 & echo $! > child.pid; wait'",
        timeout_seconds=0.5,
    )
    started = time.monotonic()
    result = judge(check, ws, "shell.exec")
    assert time.monotonic() - started < 10
    assert not result.ok and "did not finish in 0.5 s" in result.detail
    child = int((ws / "child.pid").read_text())
    assert _dead(child)


def _dead(pid: int, timeout: float = 10.0) -> bool:
    """Wait (on a pidfd, no sleeping) until `pid` has exited; SIGKILL is delivered
    asynchronously, so the process may still be dying when the check returns."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


def test_output_is_capped_and_the_detail_is_one_line(ws: Path) -> None:
    check = CommandExitsZero(
        kind="command_exits_zero",
        command="sh -c \"head -c 3000000 /dev/zero | tr '\\0' x; echo; echo end\"",
    )
    result = judge(check, ws, "shell.exec")
    assert result.ok and result.detail.startswith("'sh -c ")
    assert len(result.detail) <= 200 and "\n" not in result.detail


def test_page_contains_needs_a_browser(ws: Path) -> None:
    result = judge(PageContains(kind="page_contains", text="Welcome"), ws)
    assert not result.ok and "no browser" in result.detail


def test_page_contains_reads_the_real_page(ws: Path) -> None:
    """Real headless Chromium on a page served from loopback, through the tool's actions."""
    with serve_pages() as site:
        tool = make_tool(ws)
        try:
            url = site.url("form.html")

            def page(text: str, *grants: str, url: str | None = url) -> CheckResult:
                check = PageContains(kind="page_contains", url=url, text=text)
                rules = [parse_grant(g, (ws,)) for g in grants]
                policy = Policy.for_workspace((ws,), rules)
                actor = check_actor(ws, policy)
                return evaluate_check(check, Workspace((ws,)), actor, browser=tool)

            denied = page("Create your account")
            assert not denied.ok and "browser.navigate" in denied.detail
            assert 'add permissions: ["browser.navigate:127.0.0.1"]' in denied.detail
            assert site.reached("127.0.0.1") == []  # refused before anything was opened
            found = page("Create your account", "browser.navigate:127.0.0.1")
            assert found.ok, found.detail
            missing = page("Welcome back", "browser.navigate:127.0.0.1")
            assert not missing.ok and "does not contain 'Welcome back'" in missing.detail
            # Without a url: the page the run left open.
            assert page("Fill in the form", url=None).ok
            refused = evaluate_check(
                PageContains(kind="page_contains", text="Sign up"),
                Workspace((ws,)),
                check_actor(ws, Policy.for_workspace((ws,), [Rule("browser.read", "*", "deny")])),
                browser=tool,
            )
            assert not refused.ok and "browser.read" in refused.detail
        finally:
            tool.close()


def test_evaluate_checks_keeps_the_order(ws: Path) -> None:
    checks = [
        FileExists(kind="file_exists", path="notes.txt"),
        PageContains(kind="page_contains", text="x"),
        CountMatching(kind="count_matching", pattern="*.txt", at_least=1),
    ]
    results = evaluate_checks(
        checks, Workspace((ws,)), check_actor(ws, Policy.for_workspace((ws,)))
    )
    assert [(r.kind, r.ok) for r in results] == [
        ("file_exists", True),
        ("page_contains", False),
        ("count_matching", True),
    ]
    assert results[0].to_json() == {"kind": "file_exists", "ok": True, "detail": results[0].detail}
