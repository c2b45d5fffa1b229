"""Secret placeholders: resolved only when typed, scrubbed from whatever comes back."""

from __future__ import annotations

import pytest

from agent.assemble import _keyring_secret
from models.secrets import set_secret
from tools.base import ToolFailure
from tools.placeholders import resolve, secret_names
from tools.redaction import Redactor


def test_both_spellings_are_found_once_each() -> None:
    text = "{{secret:pin}} and {{ secrets.pin }} then {{ secret: bank.pw }} {{inputs.x}}"
    assert secret_names(text) == ["pin", "bank.pw"]
    assert secret_names("no {{secret:}} here {secret:x}") == []


def test_resolve_replaces_every_placeholder() -> None:
    store = {"pin": "4711", "user": "ada"}
    text, used = resolve("{{secret:user}}/{{ secrets.pin }}/{{secret:pin}}", store.get)
    assert text == "ada/4711/4711"
    assert used == {"user": "ada", "pin": "4711"}
    assert resolve("plain", store.get) == ("plain", {})


def test_a_missing_secret_is_named_never_shown() -> None:
    with pytest.raises(ToolFailure) as info:
        resolve("{{secret:pin}} {{secret:gone}}", {"pin": "4711"}.get)
    assert info.value.kind == "missing_secret"
    assert "'gone'" in info.value.message and "4711" not in info.value.message


def test_redactor_puts_placeholders_back() -> None:
    redact = Redactor()
    assert redact("nothing typed yet: hunter2") == "nothing typed yet: hunter2"
    redact.add("pw", "hunter2")
    redact.add("long", "hunter2-extended")
    redact.add("tiny", "ab")  # too short to scrub without mangling ordinary text
    assert redact("hunter2-extended / hunter2 / ab") == "{{secret:long}} / {{secret:pw}} / ab"


def test_the_keyring_lookup_reads_the_real_backend() -> None:
    set_secret("browser-test", "s3cret-value")
    assert _keyring_secret("browser-test") == "s3cret-value"
    assert _keyring_secret("never-stored") is None
