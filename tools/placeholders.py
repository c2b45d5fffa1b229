"""Secret placeholders in text the model asks the browser or the GUI tool to type.

The model writes ``{{secret:NAME}}`` (task files write ``{{ secrets.NAME }}``; both are
accepted). The value comes from the keyring only inside `resolve`, called by the browser
or GUI tool at the moment it types; everything else (the model's arguments, the journal, the
approval question) keeps the placeholder.

`tools.redaction.Redactor` closes the other way out: once a value has been typed, any
text that would go to the model or the journal has that value, in every shape a page can
echo it, replaced by its placeholder.

The secret lookup is injected (the tools layer never imports the models layer, where
the keyring wrapper lives).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tools.base import ToolFailure

SecretLookup = Callable[[str], "str | None"]

_PLACEHOLDER = re.compile(
    r"\{\{\s*(?:secret:\s*(?P<a>[A-Za-z_][A-Za-z0-9_.-]*)|secrets\.(?P<b>[A-Za-z_][A-Za-z0-9_]*))\s*\}\}"
)


def secret_names(text: str) -> list[str]:
    """The secret names `text` refers to, in order, without repeats."""
    names: list[str] = []
    for match in _PLACEHOLDER.finditer(text):
        name = match.group("a") or match.group("b")
        if name not in names:
            names.append(name)
    return names


def placeholder(name: str) -> str:
    return "{{secret:" + name + "}}"


def resolve(text: str, lookup: SecretLookup) -> tuple[str, dict[str, str]]:
    """`text` with every placeholder replaced by its value, and the values used by name.

    Raises `ToolFailure` ``missing_secret`` naming (never showing) what is missing.
    """
    values: dict[str, str] = {}
    for name in secret_names(text):
        value = lookup(name)
        if not value:
            raise ToolFailure(
                "missing_secret",
                f"no secret named {name!r} in the keyring (store it with the keyring first)",
            )
        values[name] = value
    resolved = _PLACEHOLDER.sub(lambda m: values[m.group("a") or m.group("b")], text)
    return resolved, values
