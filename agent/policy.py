"""The permission policy: data that says allow, ask or deny for each effect.

A rule matches an `Effect` by capability (a glob such as ``fs.*``) and scope (a glob over
the resolved scope: an absolute path, a domain, a command line). Rules are checked in
order and the first match decides; the built-in defaults come last:

    fs.read inside the workspace  allow      fs.write, fs.delete   ask
    shell.exec                    deny       net.remote_model      deny
    agent.finish                  allow      anything else         ask

Invariants: the policy is immutable; tools and the model never see it, so nothing they
produce can change it. Per-run grants ("allow for this run") make a new Policy.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tools.base import Effect

Decision = Literal["allow", "ask", "deny"]

KNOWN_CAPABILITIES = (
    "fs.read",
    "fs.write",
    "fs.delete",
    "browser.navigate",
    "browser.input",
    "gui.input",
    "screen.capture",
    "shell.exec",
    "net.remote_model",
)


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
        return fnmatch.fnmatchcase(effect.capability, self.capability) and fnmatch.fnmatchcase(
            effect.scope, self.scope
        )


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
        for rule in self._rules:
            if rule.matches(effect):
                return Verdict(rule.decision, rule)
        return Verdict("ask", Rule("*", "*", "ask"))

    def with_rules(self, first: Iterable[Rule]) -> Policy:
        return Policy((*first, *self._rules))


def parse_grant(text: str, roots: Sequence[Path]) -> Rule:
    """Parse ``CAP`` or ``CAP:SCOPE`` (e.g. ``fs.write``, ``fs.write:reports/*``).

    File-system scopes are relative to the first workspace root.
    """
    cap, _, scope = text.partition(":")
    cap = cap.strip()
    if not cap or not any(fnmatch.fnmatchcase(k, cap) for k in KNOWN_CAPABILITIES):
        known = ", ".join(KNOWN_CAPABILITIES)
        raise BadGrant(f"unknown capability {cap!r} in --allow {text!r} (known: {known})")
    scope = scope.strip() or "*"
    if cap.startswith("fs.") and scope != "*" and not scope.startswith("/"):
        scope = str(roots[0] / scope)
    return Rule(cap, scope, "allow", source="grant")
