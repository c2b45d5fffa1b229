"""One command line, three questions: what runs, which paths it names, which grant covers it.

Every command the shell tool runs (a model's `shell.run`, a task's `command_exits_zero`
check) goes through the three functions here, and nothing else splits or matches a
command line:

- `parse_command` is the one splitter. No shell runs: the line is split with `shlex`
  into a program and its arguments, and shell syntax (``;``, ``&&``, ``|``, redirections,
  ``$( )``, backticks, newlines) is refused, so what the policy matched is what runs.
- `confine` is the one argument rule: every argument that could name a path must name one
  inside the workspace, with ``..`` applied and symlinks followed (`os.path.realpath`, as
  `tools.paths.Workspace` does). That covers a whole argument (``/etc/passwd``,
  ``../x``), an option's value (``--output=/x``, ``-o/x``, ``of=/x``), ``@/x`` and
  ``file:///x``. An argument that merely looks like an outside path (a regex ``/usr``) is
  refused too: a false alarm on the safe side. Program paths with a ``/`` that are
  relative are confined; absolute ones are what the grant named.
- `pattern_covers` decides whether an allow pattern (``git status*``, ``cat *.txt``) covers
  a command. The pattern is split like a command and matched word by word against argv:
  ``*`` and ``?`` match inside one argument and never a ``/``, whitespace or a shell
  operator character; ``**`` also matches ``/``; a word equal to the argument matches it.
  A pattern whose last word ends in ``*`` also allows any number of further arguments,
  each free of shell operator characters (``git status*`` covers ``git status --short``). A wildcard never covers a dangerous word
  (`tools.shell.danger.dangerous_words`: ``find -exec``, ``git --output``, ``sh -c``...),
  and never an argument holding a shell operator character: those must be written out in
  the pattern. The pattern ``*`` alone covers every command, dangerous ones included.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from tools.base import ToolFailure
from tools.paths import Workspace
from tools.shell.danger import dangerous_words

#: Characters that only mean something to a shell; a token made of them is an operator.
OPERATOR_CHARS = "();<>|&"
#: What a wildcard in a command pattern never matches: shell operators and newlines.
SHELL_SPECIAL = ";&|<>()`$\n\r"


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


# -- confinement -------------------------------------------------------------------------


def confine(argv: Sequence[str], ws: Workspace) -> None:
    """`ToolFailure` ``outside_workspace`` when an argument names a path outside `ws`."""
    program = argv[0]
    if "/" in program and not os.path.isabs(program):
        _inside(program, program, ws)
    for arg in argv[1:]:
        for candidate in _path_candidates(arg):
            _inside(candidate, arg, ws)


def _path_candidates(arg: str) -> list[str]:
    """The parts of one argument a program might open as a path."""
    found = [arg]
    if arg.startswith("-"):
        _, eq, value = arg.partition("=")
        if eq:
            found.append(value)
        elif not arg.startswith("--"):  # -o/x, -xf../x: a short option's glued value
            at = next((i for i, c in enumerate(arg) if i and c in "/.~"), None)
            if at is not None:
                found.append(arg[at:])
    elif "=" in arg:  # dd of=/x, make VAR=/x
        found.append(arg.partition("=")[2])
    for text in list(found):
        if text.startswith("@"):  # curl -d @/x, response files
            found.append(text[1:])
        if text.startswith("file:"):
            found.append(text[len("file:") :])
    return found


def _inside(candidate: str, arg: str, ws: Workspace) -> None:
    if not candidate:
        return
    if candidate == "~" or candidate.startswith("~/"):
        raise ToolFailure(
            "outside_workspace", f"{arg}: '~' is not expanded; name paths inside the workspace"
        )
    root = ws.roots[0]
    path = candidate if os.path.isabs(candidate) else os.path.join(root, candidate)
    if not ws.contains(Path(os.path.realpath(path))):
        roots = ", ".join(str(r) for r in ws.roots)
        raise ToolFailure(
            "outside_workspace",
            f"{arg}: names a path outside the workspace ({roots}); a command's arguments "
            "must stay inside it",
        )


# -- grant patterns ----------------------------------------------------------------------


def pattern_covers(pattern: str, command: str) -> bool:
    """Whether the allow pattern `pattern` covers the command line `command`."""
    if pattern.strip() == "*":
        return True
    try:
        words = shlex.split(pattern)
        argv = parse_command(command)
    except (ValueError, ToolFailure):
        return False
    if not words or len(argv) < len(words):
        return False
    rest = words[-1].endswith("*")
    if len(argv) > len(words) and not rest:
        return False
    danger = dangerous_words(argv)
    for i, arg in enumerate(argv):
        if i < len(words):
            word = words[i]
            if word == arg:  # spelled out (an approved command's own '*' included)
                continue
            if not _word_regex(word).fullmatch(arg):
                return False
            wild = "*" in word or "?" in word
        else:
            wild = True  # a further argument, allowed by the pattern's trailing *
        if wild and (i in danger or any(c in SHELL_SPECIAL for c in arg)):
            return False
    return True


@lru_cache(maxsize=256)
def _word_regex(word: str) -> re.Pattern[str]:
    one = "[^/\\s" + re.escape(SHELL_SPECIAL) + "]"
    deep = "[^\\s" + re.escape(SHELL_SPECIAL) + "]"
    parts = []
    i = 0
    while i < len(word):
        if word.startswith("**", i):
            parts.append(deep + "*")
            i += 2
            continue
        c = word[i]
        parts.append(one + "*" if c == "*" else one if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(parts))
