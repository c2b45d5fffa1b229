"""The permission policy: data that says allow, ask or deny for each effect.

A rule matches an `Effect` by capability (a glob such as ``fs.*``) and scope (a glob over
the resolved scope: an absolute path, a domain, a command line). Rules are checked in
order and the first match decides; the built-in defaults come last:

    fs.read inside the workspace  allow      fs.write, fs.delete   ask
    shell.exec                    deny       net.remote_model      deny
    agent.finish                  allow      browser.read          allow
    anything else (browser.navigate, browser.input, browser.download, browser.secret)  ask

Browser scopes are ``HOST`` or ``HOST ELEMENT`` (``example.com button "Send"``; for
browser.secret ``HOST NAME``, the secret typed there). A host never contains a space, so
for ``browser.*`` effects the rule's host part is matched against the effect's host alone
and the rest (``*`` when absent) against the element: a hostile page cannot name an
element so that it matches another host's pattern. ``*.example.com`` matches
subdomains, not ``example.com`` itself.

Shell scopes are the command line (``git status --short``). An allow pattern is matched
word by word against the command's arguments by the shell tool's own rule
(`tools.shell.argv.pattern_covers`): ``*`` stays inside one argument and never matches
``/``, whitespace or a shell operator (``; & | < > ( ) ` $``, newline), a pattern ending
in ``*`` allows further arguments, and a wildcard never covers a dangerous option
(``find -exec``, ``git --output``); see `command_matches`. That narrowing applies to allow
rules only: ask and deny patterns match the command line as plain globs.
GUI scopes are the target window's ``APP:TITLE`` (``gui.input:Gedit:*``).

Two rules outrank everything a run is given (`ranked` puts them first):
- `OwnFiles`: deskhand's own folders (config, data with the journal, undo store and
  screenshots, cache) and the trash are out of reach of every file action, whatever the
  workspace roots (``--workspace ~`` included) and whatever any rule says. Writes and
  deletes are also refused on a folder that contains one of them.
- `Ceiling`: the rules the user configured, in their order, checked before any grant:
  when the first of them to match denies, the effect is denied, whatever a task file or
  ``--allow`` grants. When a configured allow or ask matches first, the grants decide.

Invariants: the policy is immutable; tools and the model never see it, so nothing they
produce can change it. Per-run grants ("allow for this run") make a new Policy.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tools.base import Effect
from tools.browser.urls import host_of
from tools.shell.argv import pattern_covers

Decision = Literal["allow", "ask", "deny"]

KNOWN_CAPABILITIES = (
    "fs.read",
    "fs.write",
    "fs.delete",
    "browser.navigate",
    "browser.input",
    "browser.read",
    "browser.download",
    "browser.secret",
    "gui.input",
    "screen.capture",
    "shell.exec",
    "net.remote_model",
)


_STRICTNESS: dict[Decision, int] = {"deny": 0, "ask": 1, "allow": 2}


class BadGrant(ValueError):
    """A grant string that names no known capability or is malformed."""


@dataclass(frozen=True, slots=True)
class Rule:
    capability: str
    scope: str
    decision: Decision
    #: Where the rule came from: "default", "config", "grant", "run".
    source: str = "default"

    def matches(self, effect: Effect) -> bool:
        if not fnmatch.fnmatchcase(effect.capability, self.capability):
            return False
        if effect.capability.startswith("browser."):
            return _browser_scope_matches(self.scope, effect.scope)
        if effect.capability == "shell.exec" and self.decision == "allow":
            # Narrow for allow; ask and deny keep the broad glob, so a quoted ";" in an
            # argument cannot slip a command past a deny pattern.
            return command_matches(self.scope, effect.scope)
        return fnmatch.fnmatchcase(effect.scope, self.scope)


def command_matches(pattern: str, command: str) -> bool:
    """Whether an allow pattern covers a command line (`tools.shell.argv.pattern_covers`).

    ``git status*`` covers ``git status --short`` and never ``git status; rm -rf x``;
    ``cat *.txt`` covers ``cat a.txt`` and never ``cat a.txt /etc/x.txt``. The pattern
    ``*`` alone matches every command (so ``shell.exec * deny`` denies all).
    """
    return pattern_covers(pattern, command)


def _browser_scope_matches(pattern: str, scope: str) -> bool:
    host, _, element = scope.partition(" ")
    host_pattern, _, element_pattern = pattern.partition(" ")
    return fnmatch.fnmatchcase(host, host_pattern) and fnmatch.fnmatchcase(
        element, element_pattern or "*"
    )


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


#: Trash folders on other volumes (``.Trash-1000``, macOS ``.Trashes``, ``.Trash``).
_TRASH_PART = re.compile(r"^\.Trash(es|-\d+)?$")


@dataclass(frozen=True, slots=True)
class OwnFiles(Rule):
    """deskhand's own folders and the trash: no file action reaches them.

    `paths` are real (resolved) folders; `exempt` are folders inside them that are the
    user's (the default workspace lives under the data folder)."""

    paths: tuple[str, ...] = ()
    exempt: tuple[str, ...] = ()

    @classmethod
    def of(cls, paths: Sequence[Path], exempt: Sequence[Path] = ()) -> OwnFiles:
        real = tuple(os.path.realpath(p) for p in paths)
        return cls("fs.*", "deskhand's own files", "deny", "protected", real, _real(exempt))

    def matches(self, effect: Effect) -> bool:
        if not effect.capability.startswith("fs."):
            return False
        scope = effect.scope
        if any(part and _TRASH_PART.match(part) for part in scope.split("/")):
            return True
        if any(_inside(scope, e) for e in self.exempt):
            return False
        if any(_inside(scope, p) for p in self.paths):
            return True
        # a write or delete of a folder that holds one of them would reach them too
        changes = effect.capability in ("fs.write", "fs.delete")
        return changes and any(_inside(p, scope) for p in self.paths)


def _real(paths: Sequence[Path]) -> tuple[str, ...]:
    return tuple(os.path.realpath(p) for p in paths)


@dataclass(frozen=True, slots=True)
class Ceiling(Rule):
    """The user's configured rules, checked before any grant: matches when the first of
    them to match an effect is a deny (see the module docstring)."""

    rules: tuple[Rule, ...] = ()

    @classmethod
    def of(cls, rules: Sequence[Rule]) -> Ceiling:
        return cls("*", "*", "deny", "config", tuple(rules))

    def matches(self, effect: Effect) -> bool:
        for rule in self.rules:
            if rule.matches(effect):
                return rule.decision == "deny"
        return False


def ranked(own: OwnFiles, configured: Sequence[Rule], grants: Sequence[Rule]) -> tuple[Rule, ...]:
    """A run's rules in the order that keeps the promises above: deskhand's own files,
    then the configured denials, then the grants (task file, ``--allow``), then the
    configured rules themselves (their allows and asks)."""
    return (own, Ceiling.of(configured), *grants, *configured)


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    rule: Rule


def default_rules(roots: Sequence[Path]) -> tuple[Rule, ...]:
    reads = []
    for root in roots:
        reads.append(Rule("fs.read", str(root), "allow"))
        reads.append(Rule("fs.read", f"{root}/*", "allow"))
    return (
        *reads,
        Rule("agent.finish", "*", "allow"),
        Rule("browser.read", "*", "allow"),
        Rule("fs.write", "*", "ask"),
        Rule("fs.delete", "*", "ask"),
        Rule("shell.exec", "*", "deny"),
        Rule("net.remote_model", "*", "deny"),
        Rule("*", "*", "ask"),
    )


class Policy:
    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules = tuple(rules)

    @classmethod
    def for_workspace(cls, roots: Sequence[Path], extra: Iterable[Rule] = ()) -> Policy:
        return cls((*extra, *default_rules(roots)))

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._rules

    def decide(self, effect: Effect) -> Verdict:
        """The first matching rule's decision for `effect` alone (not its `also`)."""
        for rule in self._rules:
            if rule.matches(effect):
                return Verdict(rule.decision, rule)
        return Verdict("ask", Rule("*", "*", "ask"))

    def judge(self, effect: Effect) -> tuple[Verdict, Effect]:
        """The strictest verdict over `effect` and its `also` (deny, then ask, then
        allow), with the effect it was about; ties go to the earlier effect."""
        verdicts = [(self.decide(e), e) for e in effect.each()]
        return min(verdicts, key=lambda ve: _STRICTNESS[ve[0].decision])

    def with_rules(self, first: Iterable[Rule]) -> Policy:
        """A policy with `first` ahead of every rule but the caps (`OwnFiles`, `Ceiling`),
        which stay first: an "allow for this run" never outranks them."""
        n = 0
        while n < len(self._rules) and isinstance(self._rules[n], (OwnFiles, Ceiling)):
            n += 1
        return Policy((*self._rules[:n], *first, *self._rules[n:]))


def parse_grant(text: str, roots: Sequence[Path]) -> Rule:
    """Parse ``CAP`` or ``CAP:SCOPE`` (e.g. ``fs.write``, ``fs.write:reports/*``,
    ``browser.navigate:example.com``).

    File-system scopes are relative to the first workspace root. A browser scope's host
    may be given as a URL (``https://example.com/x`` means ``example.com``).
    """
    cap, _, scope = text.partition(":")
    cap = cap.strip()
    if not cap or not any(fnmatch.fnmatchcase(k, cap) for k in KNOWN_CAPABILITIES):
        known = ", ".join(KNOWN_CAPABILITIES)
        raise BadGrant(f"unknown capability {cap!r} in --allow {text!r} (known: {known})")
    scope = scope.strip() or "*"
    if cap.startswith("fs.") and scope != "*" and not scope.startswith("/"):
        scope = str(roots[0] / scope)
    if cap.startswith("browser."):
        scope = _browser_grant_scope(scope, text)
    return Rule(cap, scope, "allow", source="grant")


def _browser_grant_scope(scope: str, text: str) -> str:
    host, sep, element = scope.partition(" ")
    if "://" in host:
        found = host_of(host)
        if found is None:
            raise BadGrant(f"not a web address in --allow {text!r}")
        host = found
    return host.lower() + sep + element
