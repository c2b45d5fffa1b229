"""The permission policy as data: defaults, grants, first match wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.policy import BadGrant, Policy, Rule, parse_grant
from tools.base import Effect

ROOT = Path("/home/u/ws")


def decide(policy: Policy, cap: str, scope: str) -> str:
    return policy.decide(Effect(cap, scope, "x")).decision


def test_defaults() -> None:
    p = Policy.for_workspace([ROOT])
    assert decide(p, "fs.read", str(ROOT)) == "allow"
    assert decide(p, "fs.read", f"{ROOT}/a/b.txt") == "allow"
    assert decide(p, "fs.read", "/home/u/wsx/secret") == "ask"  # a sibling is not inside
    assert decide(p, "fs.write", f"{ROOT}/a") == "ask"
    assert decide(p, "fs.delete", f"{ROOT}/a") == "ask"
    assert decide(p, "shell.exec", "rm -rf /") == "deny"
    assert decide(p, "net.remote_model", "https://x") == "deny"
    assert decide(p, "browser.navigate", "example.org") == "ask"
    assert decide(p, "agent.finish", "") == "allow"


def test_grant_comes_before_defaults_and_is_scoped() -> None:
    grant = parse_grant("fs.write:reports/*", [ROOT])
    p = Policy.for_workspace([ROOT], [grant])
    assert decide(p, "fs.write", f"{ROOT}/reports/a.txt") == "allow"
    assert decide(p, "fs.write", f"{ROOT}/other.txt") == "ask"
    assert grant.source == "grant"


def test_grant_of_a_family() -> None:
    p = Policy.for_workspace([ROOT], [parse_grant("fs.*", [ROOT])])
    assert decide(p, "fs.delete", f"{ROOT}/x") == "allow"
    assert decide(p, "shell.exec", "ls") == "deny"


def test_with_rules_makes_a_new_policy() -> None:
    p = Policy.for_workspace([ROOT])
    q = p.with_rules([Rule("fs.write", f"{ROOT}/a", "allow", "run")])
    assert decide(q, "fs.write", f"{ROOT}/a") == "allow"
    assert decide(p, "fs.write", f"{ROOT}/a") == "ask"


@pytest.mark.parametrize("text", ["", "fs.wirte", "root", ":x", "shell"])
def test_bad_grants(text: str) -> None:
    with pytest.raises(BadGrant):
        parse_grant(text, [ROOT])
