"""Which words of a command a grant's wildcard may never cover.

Some options turn a harmless program into one that runs other programs, writes where it
likes or reads through symlinks: ``find -exec``, ``git log --output=FILE``,
``tar --to-command``, ``rsync -e``, ``sh -c``. `dangerous_words` returns the positions of
such words in an argv; `tools.shell.argv.pattern_covers` lets a pattern cover them only
when the pattern spells them out (``shell.exec:find . -name *.tmp -delete``), never
through ``*`` (``shell.exec:find *``).

The tables are data, per program (matched on the program's file name):

- runners and interpreters run the program or code in their arguments (``xargs``, ``env``,
  ``timeout``, ``sh``, ``python3``, ``awk``, ``sed``, ``ssh``...): every word is dangerous,
  so only a pattern that writes the whole command out covers them;
- other programs have dangerous options: long ones are matched by unambiguous prefix too
  (``--out=`` is ``--output=`` to getopt_long and git), short ones inside a cluster
  (``-xvIprog`` holds ``-I``);
- git (`_git_words`): its dangerous global options (``-c``, ``--git-dir``, ``--exec-path``),
  subcommands that run programs or write configuration (every word from there on is
  dangerous), and per-subcommand short options (``format-patch -o``, ``rebase -x``).

This is a list of what is known to be dangerous, not a proof that the rest is safe; the
README says which programs should not be granted with a wildcard at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

RUNNERS = frozenset(
    "env xargs nice nohup timeout stdbuf setsid sudo doas su runuser pkexec watch strace "
    "ltrace gdb time chroot unshare nsenter flock ionice taskset chrt script busybox "
    "parallel systemd-run at batch crontab".split()
)
INTERPRETERS = frozenset(
    "sh bash dash zsh ksh mksh csh tcsh fish ash python python2 python3 pypy pypy3 perl "
    "ruby node nodejs deno bun php lua luajit tclsh wish awk gawk mawk nawk sed osascript "
    "pwsh powershell Rscript vim vi nvim ex view emacs ed ssh scp sftp expect".split()
)
_VERSIONED = re.compile(r"(python|pypy|perl|ruby|php|lua)[0-9.]*")


@dataclass(frozen=True, slots=True)
class _Options:
    long: frozenset[str] = frozenset()  # --name, also --name=value and unique prefixes
    short: str = ""  # single letters, anywhere in a -cluster
    single: frozenset[str] = frozenset()  # single-dash words, exact (find's -exec)
    old_style_first: bool = False  # tar's "tar xIf ..." (first word is a cluster)


_PROGRAMS: dict[str, _Options] = {
    "find": _Options(
        single=frozenset(
            "-exec -execdir -ok -okdir -delete -fprint -fprint0 -fprintf -fls -follow -L -H".split()
        )
    ),
    "tar": _Options(
        long=frozenset(
            "to-command checkpoint-action use-compress-program rsh-command rmt-command "
            "info-script new-volume-script absolute-names".split()
        ),
        short="IFP",
        old_style_first=True,
    ),
    "rsync": _Options(long=frozenset({"rsh", "rsync-path"}), short="e"),
    "zip": _Options(long=frozenset({"unzip-command"}), single=frozenset({"-TT"})),
    "curl": _Options(long=frozenset({"config"}), short="K"),
    "wget": _Options(long=frozenset({"execute", "config", "use-askpass"}), short="e"),
    "grep": _Options(long=frozenset({"dereference-recursive"}), short="R"),
}

# -- git ---------------------------------------------------------------------------------

#: Global options (before the subcommand) that take the next word as their value.
GIT_VALUE_OPTIONS = frozenset("-C -c --git-dir --work-tree --namespace --config-env".split())
_GIT_GLOBAL = _Options(
    long=frozenset("config-env exec-path git-dir work-tree super-prefix".split()), short="c"
)
#: Subcommands that run programs, start daemons or write configuration.
GIT_DANGEROUS_SUBCOMMANDS = frozenset(
    "config credential credential-cache credential-cache--daemon credential-store daemon "
    "difftool mergetool fsmonitor--daemon for-each-repo help hook maintenance merge-index "
    "receive-pack upload-pack upload-archive upload-archive--writer remote-ext remote-fd "
    "submodule submodule--helper bisect filter-branch instaweb web--browse send-email "
    "send-pack fetch-pack".split()
)
_GIT_LONG = frozenset(
    "output output-directory exec upload-pack receive-pack config template "
    "open-files-in-pager remote separate-git-dir git-dir work-tree".split()
)
_GIT_SHORT = {
    "format-patch": "o",
    "archive": "o",
    "bugreport": "o",
    "diagnose": "o",
    "rebase": "x",
    "clone": "cu",
    "ls-remote": "u",
    "grep": "O",
}


def program_name(program: str) -> str:
    return os.path.basename(program)


def dangerous_words(argv: Sequence[str]) -> frozenset[int]:
    """The positions in `argv` of words a pattern's wildcard may not cover."""
    name = program_name(argv[0])
    if name in RUNNERS or name in INTERPRETERS or _VERSIONED.fullmatch(name):
        return frozenset(range(len(argv)))
    if name == "git":
        return _git_words(argv)
    if name.startswith("git-"):
        return frozenset(range(len(argv)))
    options = _PROGRAMS.get(name)
    if options is None:
        return frozenset()
    found = {i for i, arg in enumerate(argv) if i and _is_dangerous(arg, options)}
    if options.old_style_first and len(argv) > 1 and not argv[1].startswith("-"):
        if any(c in options.short for c in argv[1]):
            found.add(1)
    return frozenset(found)


def git_subcommand(argv: Sequence[str]) -> int | None:
    """The index of git's subcommand in `argv` (after the global options), if any."""
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg in GIT_VALUE_OPTIONS:
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            return i
    return None


def _git_words(argv: Sequence[str]) -> frozenset[int]:
    sub = git_subcommand(argv)
    end = len(argv) if sub is None else sub
    found = {i for i in range(1, end) if _is_dangerous(argv[i], _GIT_GLOBAL)}
    if sub is None:
        return frozenset(found)
    if argv[sub] in GIT_DANGEROUS_SUBCOMMANDS:
        return frozenset(found | set(range(sub, len(argv))))
    options = _Options(_GIT_LONG, _GIT_SHORT.get(argv[sub], ""))
    found |= {i for i in range(sub + 1, len(argv)) if _is_dangerous(argv[i], options)}
    return frozenset(found)


def _is_dangerous(arg: str, options: _Options) -> bool:
    if arg in options.single or any(arg.startswith(s + "=") for s in options.single):
        return True
    if arg.startswith("--"):
        name = arg[2:].partition("=")[0]
        return bool(name) and any(long.startswith(name) for long in options.long)
    if arg.startswith("-") and len(arg) > 1:
        cluster = re.match(r"[A-Za-z]*", arg[1:])
        letters = cluster.group(0) if cluster else ""
        return any(c in options.short for c in letters)
    return False
