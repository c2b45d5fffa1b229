"""Run git without the programs a repository can configure.

``git status`` runs ``core.fsmonitor``; ``git diff`` runs textconv and external diff
drivers; ``git commit`` runs hooks and ``gpg.program``; ``git fetch`` from a local path runs
``remote.NAME.uploadpack``. A repository's own configuration (``.git/config``, which the
model can write and a downloaded repository may carry) is therefore code. `harden` turns
a granted git command into one that runs none of it:

- the environment: every inherited ``GIT_*`` variable is dropped; git gets no pager,
  a no-op editor and askpass, no terminal prompts, and ``GIT_CEILING_DIRECTORIES`` at the
  roots' parents, so it never finds a repository above the workspace;
- fixed ``-c`` options before the command's own words: no fsmonitor, hooks from
  ``/dev/null``, pager ``cat``, no signing or signature checks (``gpg.program``), no
  ``ext::`` transport, no detached background ``gc``/``maintenance``;
- the configuration git would read is listed first (``git config --list --show-scope
  --show-origin``). Every program-naming key (`PROGRAM_KEYS`: drivers, filters, helpers,
  ``sshCommand``, ``uploadpack``...) that comes from the repository (scope ``local`` or
  ``worktree``) or from a file inside the workspace is overridden with an empty value:
  git then skips it, or fails with ``cannot run``; it never runs it. A repository whose
  configuration sets ``core.worktree`` or ``core.gitProxy``, or whose git folder lies
  outside the workspace, is refused.
- only git's built-in subcommands run (``git --list-cmds=builtins``): an alias (``!cmd``)
  or a ``git-NAME`` program on PATH is not run.

Configuration outside the workspace (``~/.gitconfig``, ``/etc/gitconfig``) is the user's own
and is kept, except for the fixed options above.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tools.base import ToolFailure
from tools.paths import Workspace
from tools.shell.danger import git_subcommand

log = logging.getLogger(__name__)

FIXED_CONFIG = (
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    "gpg.program=",
    "gpg.ssh.program=",
    "gpg.x509.program=",
    "log.showSignature=false",
    "commit.gpgSign=false",
    "tag.gpgSign=false",
    "protocol.ext.allow=never",
    "gc.autoDetach=false",
    "maintenance.autoDetach=false",
    "submodule.recurse=false",
)
#: Keys (lower case, git's spelling) whose value is a program git may run.
PROGRAM_KEYS = (
    "core.fsmonitor", "core.hookspath", "core.pager", "core.editor", "core.askpass",
    "core.sshcommand", "core.alternaterefscommand", "sequence.editor", "diff.external",
    "diff.*.textconv", "diff.*.command", "filter.*.clean", "filter.*.smudge",
    "filter.*.process", "merge.*.driver", "credential.helper", "credential.*.helper",
    "pager.*", "remote.*.uploadpack", "remote.*.receivepack", "remote.*.vcs",
    "submodule.*.update", "difftool.*.cmd", "mergetool.*.cmd", "gpg.program",
    "gpg.*.program", "gpg.ssh.defaultkeycommand", "web.browser", "browser.*.cmd",
    "browser.*.path", "man.*.cmd", "man.*.path", "uploadpack.packobjectshook",
    "sendemail.*",
)  # fmt: skip
#: Keys a repository may not set at all: no empty value makes them harmless.
REFUSED_KEYS = ("core.worktree", "core.gitproxy")
_NEUTRAL = {"core.fsmonitor": "false", "core.hookspath": "/dev/null", "core.pager": "cat"}
_PROBE_TIMEOUT_S = 20.0


@dataclass(frozen=True, slots=True)
class Hardened:
    argv: list[str]
    env: dict[str, str]


def is_git(program: str) -> bool:
    return os.path.basename(program) == "git"


def harden(argv: Sequence[str], ws: Workspace, environ: Mapping[str, str]) -> Hardened:
    """`argv` (``[git, ...]``, its program resolved) as a command that runs none of the
    repository's programs, and the environment to run it in; `ToolFailure` when it cannot
    be run that way."""
    git, words = argv[0], list(argv[1:])
    env = git_environment(ws, environ)
    sub = git_subcommand(argv)
    if sub is not None and argv[sub] not in builtins(git, _frozen(env)):
        raise ToolFailure(
            "refused",
            f"git {argv[sub]}: not a built-in git command; aliases and git-NAME programs "
            "can run anything, so only built-in commands run",
        )
    globals_ = words[: (sub if sub is not None else len(argv)) - 1]
    fixed = [x for kv in FIXED_CONFIG for x in ("-c", kv)]
    _refuse_outside_git_dir(git, [*fixed, *globals_], ws, env)
    overrides = [x for kv in _overrides(git, [*fixed, *globals_], ws, env) for x in ("-c", kv)]
    return Hardened([git, *fixed, *overrides, *words], env)


def git_environment(ws: Workspace, environ: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in environ.items() if not k.startswith("GIT_")}
    env.pop("SSH_ASKPASS", None)
    env.update(
        GIT_CEILING_DIRECTORIES=os.pathsep.join(str(r.parent) for r in ws.roots),
        GIT_TERMINAL_PROMPT="0",
        GIT_PAGER="cat",
        PAGER="cat",
        GIT_EDITOR="true",
        GIT_SEQUENCE_EDITOR="true",
        GIT_ASKPASS="true",
    )
    return env


def _frozen(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(env.items()))


@cache
def builtins(git: str, env: tuple[tuple[str, str], ...]) -> frozenset[str]:
    """git's built-in subcommands, asked once per git program and environment."""
    done = _probe([git, "--list-cmds=builtins"], None, dict(env))
    return frozenset(done.stdout.split())


def _refuse_outside_git_dir(
    git: str, globals_: Sequence[str], ws: Workspace, env: Mapping[str, str]
) -> None:
    done = _probe(
        [git, *globals_, "rev-parse", "--absolute-git-dir"], ws.roots[0], env, check=False
    )
    if done.returncode != 0:
        return  # not in a repository (git init, git clone): nothing configured yet
    git_dir = Path(os.path.realpath(done.stdout.strip()))
    if not ws.contains(git_dir):
        raise ToolFailure(
            "outside_workspace",
            f"the repository's git folder {git_dir} is outside the workspace; git is not run",
        )


def _overrides(
    git: str, globals_: Sequence[str], ws: Workspace, env: Mapping[str, str]
) -> list[str]:
    """``KEY=VALUE`` for each program-naming key the repository configures."""
    listing = [git, *globals_, "config", "--list", "--show-scope", "--show-origin", "--name-only", "-z"]  # fmt: skip
    done = _probe(listing, ws.roots[0], env, check=False)
    fields = done.stdout.split("\0")
    found: list[str] = []
    for scope, origin, key in zip(fields[0::3], fields[1::3], fields[2::3], strict=False):
        if not key or not _untrusted(scope, origin, ws):
            continue
        lower = key.lower()
        if lower in REFUSED_KEYS:
            raise ToolFailure(
                "refused",
                f"this repository's configuration sets {key} ({origin}); git is not run here",
            )
        if any(fnmatch.fnmatchcase(lower, pattern) for pattern in PROGRAM_KEYS):
            entry = f"{key}={_NEUTRAL.get(lower, '')}"
            if entry not in found:
                found.append(entry)
    return found


def _untrusted(scope: str, origin: str, ws: Workspace) -> bool:
    if scope in ("local", "worktree"):
        return True
    if scope == "command":
        return False  # the fixed options, or -c words the grant spelled out
    path = origin.removeprefix("file:")
    return os.path.isabs(path) and ws.contains(Path(os.path.realpath(path)))


def _probe(
    argv: list[str], cwd: Path | None, env: Mapping[str, str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run git to ask it something (no repository program can run: see the caller)."""
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolFailure("git_probe", f"cannot ask git about the repository: {exc}") from exc
    if check and done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ToolFailure("git_probe", f"cannot ask git about the repository: {why}")
    return done
