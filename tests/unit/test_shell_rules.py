"""The shell tool's rules as pure functions: how a grant pattern covers an argv, which
words a wildcard never covers, and which arguments name paths outside the workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.base import ToolFailure
from tools.paths import Workspace
from tools.shell import confine, parse_command, pattern_covers
from tools.shell.danger import dangerous_words


@pytest.mark.parametrize(
    ("pattern", "command", "covered"),
    [
        ("git status*", "git status", True),
        ("git status*", "git status --short", True),
        ("git status*", "git statusx", True),
        ("git status", "git status --short", False),
        ("cat *.txt", "cat a.txt", True),
        ("cat *.txt", "cat a.txt b.txt", False),  # one * is one argument
        ("cat *.txt", "cat sub/a.txt", False),  # * never spans /
        ("cat *.txt", "cat /etc/x.txt", False),
        ("cat *.txt", "cat 'a b.txt'", False),  # nor whitespace
        ("cat **.txt", "cat sub/a.txt", True),
        ("cat **/*.txt", "cat sub/deep/a.txt", True),
        ("echo hello*", "echo hello world", True),
        ("echo hello*", "echo 'hello;x'", False),
        ("grep 'a b' *.md", "grep 'a b' notes.md", True),
        ("find . -name * -delete", "find . -name x.tmp -delete", True),
        ("find *", "find . -delete", False),
        ("find *", "find . -name x", True),
        ("find *", "find . -exec rm {} +", False),
        ("git log*", "git log --oneline", True),
        ("git log*", "git log --output=x", False),
        ("git log*", "git log --out=x", False),  # getopt prefixes count
        ("git *", "git -c core.fsmonitor=x status", False),
        ("git *", "git --git-dir=x status", False),
        ("git *", "git config core.pager x", False),
        ("git config core.pager cat", "git config core.pager cat", True),
        ("git format-patch*", "git format-patch -o out HEAD~1", False),
        ("git grep*", "git grep -o foo", True),
        ("git rebase*", "git rebase -x make main", False),
        ("tar *", "tar -cf a.tar a.txt", True),
        ("tar *", "tar xIf prog a.tar", False),
        ("tar *", "tar -xf a.tar --to-command=sh", False),
        ("tar *", "tar -xf a.tar --to-com=sh", False),
        ("rsync *", "rsync -avze ssh a b", False),
        ("sh -c *", "sh -c ls", False),
        ("python3 *", "python3 x.py", False),
        ("python3 x.py", "python3 x.py", True),
        ("* --version", "sh --version", False),
        ("*", "sh -c 'anything; at all'", True),
        ("", "ls", False),
        ("cat 'unbalanced", "cat x", False),
    ],
)
def test_pattern_covers(pattern: str, command: str, covered: bool) -> None:
    assert pattern_covers(pattern, command) is covered


def test_an_approved_command_covers_itself_even_with_stars_in_it() -> None:
    """ "Allow for this run" makes the command line itself a pattern."""
    line = "find . -name '*.tmp' -delete"
    assert pattern_covers(line, line)
    assert pattern_covers("sh -c 'ls *'", "sh -c 'ls *'")
    assert not pattern_covers("sh -c 'ls *'", "sh -c 'ls x'")


def test_dangerous_words_are_per_program() -> None:
    assert dangerous_words(["find", ".", "-name", "x", "-delete"]) == {4}
    assert dangerous_words(["/usr/bin/find", ".", "-execdir", "x"]) == {2}
    assert dangerous_words(["ls", "-exec"]) == set()
    assert dangerous_words(["git", "status", "--short"]) == set()
    assert dangerous_words(["git", "-C", "sub", "log", "--output=x"]) == {4}
    assert dangerous_words(["git", "help", "-w", "log"]) == {1, 2, 3}
    assert dangerous_words(["xargs", "rm"]) == {0, 1}
    assert dangerous_words(["python3.12", "-c", "x"]) == {0, 1, 2}


def test_arguments_naming_outside_paths_are_refused(tmp_path: Path) -> None:
    ws_dir = tmp_path / "ws"
    (ws_dir / "sub").mkdir(parents=True)
    (ws_dir / "out").symlink_to(tmp_path)
    ws = Workspace((ws_dir,))
    fine = [
        "cat a.txt sub/../a.txt",
        f"cat {ws_dir}/a.txt",
        "git log HEAD~3..HEAD",
        "grep -e 'a.b' --color=never .",
        "git log --format=%h",
        "sed s/a/b/ a.txt",
        "curl https://example.com/x",
    ]
    for command in fine:
        confine(parse_command(command), ws)
    refused = [
        "cat ../x",
        "cat /etc/passwd",
        "cat out/x",  # a symlink that points out
        "git log --output=/tmp/x",
        "tar -xf../a.tar",
        "tar -f/etc/x -x",
        "dd if=/etc/passwd of=x",
        "curl -d @/etc/passwd x",
        "curl file:///etc/passwd",
        "cat ~/x",
        "../bin/tool",
        "grep -r x /",
    ]
    for command in refused:
        with pytest.raises(ToolFailure) as caught:
            confine(parse_command(command), ws)
        assert caught.value.kind == "outside_workspace", command
        assert "\n" not in caught.value.message
