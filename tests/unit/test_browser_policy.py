"""Browser capabilities in the one policy: defaults, host-scoped grants, and scopes that
a page cannot bend by naming its elements cleverly."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from agent.assemble import BadInput, start_url_grant, wants_browser
from agent.policy import BadGrant, Policy, Rule, parse_grant
from tools.base import Effect

ROOT = Path("/home/u/ws")


def decide(policy: Policy, cap: str, scope: str) -> str:
    return policy.decide(Effect(cap, scope, "x")).decision


def granted(*grants: str) -> Policy:
    return Policy.for_workspace([ROOT], [parse_grant(g, [ROOT]) for g in grants])


def test_defaults_read_freely_and_ask_for_everything_else() -> None:
    p = Policy.for_workspace([ROOT])
    assert decide(p, "browser.read", "example.com") == "allow"
    for cap in ("browser.navigate", "browser.input", "browser.download", "browser.secret"):
        assert decide(p, cap, 'example.com button "Go"') == "ask"


def test_a_navigation_grant_names_one_host() -> None:
    p = granted("browser.navigate:Example.com")
    assert decide(p, "browser.navigate", "example.com") == "allow"
    assert decide(p, "browser.navigate", "evil.com") == "ask"
    assert decide(p, "browser.navigate", "sub.example.com") == "ask"
    assert decide(p, "browser.input", 'example.com button "Go"') == "ask"


def test_subdomain_patterns_and_urls_in_grants() -> None:
    p = granted("browser.navigate:*.example.com", "browser.input:https://shop.test/cart")
    assert decide(p, "browser.navigate", "a.b.example.com") == "allow"
    assert decide(p, "browser.navigate", "example.com") == "ask"
    assert decide(p, "browser.input", 'shop.test textbox "Qty"') == "allow"
    assert parse_grant("browser.input:https://shop.test/cart", [ROOT]).scope == "shop.test"


def test_an_element_part_narrows_an_input_grant() -> None:
    p = granted('browser.input:example.com textbox "Search*"')
    assert decide(p, "browser.input", 'example.com textbox "Search the site"') == "allow"
    assert decide(p, "browser.input", 'example.com button "Buy now"') == "ask"


def test_a_page_cannot_name_an_element_into_another_hosts_grant() -> None:
    hostile = 'evil.com button "x.example.com y"'
    rule = Rule("browser.input", "*.example.com", "allow")
    assert fnmatch.fnmatchcase(hostile, "*.example.com *")  # a plain glob would be fooled
    assert not rule.matches(Effect("browser.input", hostile, "x"))
    star = 'evil.com button "Submit\\" 127.0.0.1 *"'
    assert decide(granted("browser.input:127.0.0.1"), "browser.input", star) == "ask"


def test_typing_secrets_is_its_own_grant() -> None:
    p = granted("browser.input:bank.test", "browser.secret:bank.test bank_pin")
    assert decide(p, "browser.secret", "bank.test bank_pin") == "allow"
    assert decide(p, "browser.secret", "bank.test other") == "ask"
    assert decide(p, "browser.secret", "evil.test bank_pin") == "ask"
    assert decide(granted("browser.input:bank.test"), "browser.secret", "bank.test x") == "ask"


def test_a_deny_rule_for_a_host_beats_the_defaults() -> None:
    p = Policy.for_workspace([ROOT], [Rule("browser.*", "evil.com", "deny", "config")])
    assert decide(p, "browser.read", "evil.com") == "deny"
    assert decide(p, "browser.navigate", "evil.com") == "deny"
    assert decide(p, "browser.read", "good.com") == "allow"


@pytest.mark.parametrize("text", ["browser.navigate:file:///etc", "browser.open:example.com"])
def test_bad_browser_grants(text: str) -> None:
    with pytest.raises(BadGrant):
        parse_grant(text, [ROOT])


def test_the_start_url_grants_its_host_for_navigation_only() -> None:
    rule = start_url_grant("http://127.0.0.1:8000/form")
    assert (rule.capability, rule.scope, rule.decision, rule.source) == (
        "browser.navigate", "127.0.0.1", "allow", "grant")  # fmt: skip
    with pytest.raises(BadInput, match="--start-url"):
        start_url_grant("file:///etc/passwd")


def test_which_runs_get_the_browser() -> None:
    assert not wants_browser([])
    assert wants_browser([], "http://127.0.0.1/")
    assert wants_browser([parse_grant("browser.input:x.test", [ROOT])])
    assert not wants_browser([Rule("browser.*", "evil.com", "deny", "config")])
    # Configured permission defaults count like grants, for the CLI and the palette alike.
    assert wants_browser([Rule("browser.navigate", "docs.test", "ask", "config")])
    assert not wants_browser([Rule("files.write", "*", "allow", "config")])
