"""Placeholders: the one grammar for ``{{ ... }}`` in task files, tool arguments and results.

Every regular expression for a placeholder, the one walk over argument trees and the one
secret resolve live here; task files (agent/taskfile/), task runs (agent/taskrun.py),
the runner's step checks (agent/runner.py), the recorder (agent/taskfile/from_run.py), the browser
and GUI tools and the redactor all use them. It sits in the tools layer so both the tools
and the agent can import it.

The grammar::

    {{ inputs.NAME }}     an input of the task file; NAME is an identifier
    {{ outputs.NAME }}    the output of an earlier fixed step (save_as: NAME); an identifier
    {{ secrets.NAME }}    a keyring entry; NAME is a secret name
    {{secret:NAME}}       the same secret, as the model writes it (and `placeholder` writes)

- An identifier is ``[A-Za-z_][A-Za-z0-9_]*``.
- A secret name is an identifier that may also hold ``.`` and ``-`` after its first
  character (``bank.pw``, ``github-token``): keyring entries are often named that way, so
  both spellings, the task file's ``secrets:`` list and the recorder accept those names.
- Spaces may follow ``{{``, precede ``}}`` and follow ``secret:``; nothing else varies.
- A placeholder has no braces inside, so scanning a text full of ``{{`` is linear.
- `BRACES` finds every ``{{ ... }}`` candidate; `reference` says which placeholder one is,
  or None. The task-file loader refuses a candidate that is none of the four.

Secrets: the value comes from the keyring only inside `resolve`, called by the browser or
GUI tool at the moment it types; everything else (the model's arguments, the journal, the
approval question) keeps the placeholder. `tools.redaction.Redactor` closes the other way
out: once a value has been typed, any text that would go to the model or the journal has
that value, in every shape a page can echo it, replaced by its placeholder. The secret
lookup is injected (the tools layer never imports the models layer, where the keyring
wrapper lives).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tools.base import ToolFailure

SecretLookup = Callable[[str], "str | None"]
Space = Literal["inputs", "outputs", "secrets"]
#: Where a string sits in an argument tree: the keys and list indexes leading to it.
TreePath = tuple["str | int", ...]

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_SECRET_NAME = r"[A-Za-z_][A-Za-z0-9_.-]*"

#: Any ``{{ ... }}`` without braces inside; group 1 is the text between the braces.
BRACES = re.compile(r"\{\{([^{}]*)\}\}")
#: ``{{ inputs.NAME }}``; group 1 is the name.
INPUT = re.compile(rf"\{{\{{\s*inputs\.({_IDENT})\s*\}}\}}")
#: ``{{ outputs.NAME }}``, as it stays in a loaded task file until its step runs.
OUTPUT = re.compile(rf"\{{\{{\s*outputs\.({_IDENT})\s*\}}\}}")
#: ``{{ secrets.NAME }}`` or ``{{secret:NAME}}``; group 1 is the name.
SECRET = re.compile(rf"\{{\{{\s*(?:secrets\.|secret:\s*)({_SECRET_NAME})\s*\}}\}}")
_REFERENCE = re.compile(
    rf"\s*(?:(inputs|outputs)\.({_IDENT})|(?:secrets\.|secret:\s*)({_SECRET_NAME}))\s*\Z"
)
_IDENT_ONLY = re.compile(rf"{_IDENT}\Z")
_SECRET_NAME_ONLY = re.compile(rf"{_SECRET_NAME}\Z")


@dataclass(frozen=True, slots=True)
class Reference:
    """What one placeholder refers to."""

    space: Space
    name: str


def reference(inner: str) -> Reference | None:
    """The placeholder whose text between the braces is `inner` (`BRACES` group 1)."""
    match = _REFERENCE.match(inner)
    if match is None:
        return None
    if match.group(1):
        space: Space = "inputs" if match.group(1) == "inputs" else "outputs"
        return Reference(space, match.group(2))
    return Reference("secrets", match.group(3))


def is_identifier(name: str) -> bool:
    """Whether `name` can be an input's or an output's name."""
    return _IDENT_ONLY.match(name) is not None


def is_secret_name(name: str) -> bool:
    """Whether `name` can be a secret's name."""
    return _SECRET_NAME_ONLY.match(name) is not None


def placeholder(name: str) -> str:
    """The placeholder deskhand writes for the secret `name`."""
    return "{{secret:" + name + "}}"


def input_placeholder(name: str) -> str:
    return "{{ inputs." + name + " }}"


def output_placeholder(name: str) -> str:
    return "{{ outputs." + name + " }}"


# -- argument trees --------------------------------------------------------------------------


def walk(tree: Any, on_text: Callable[[str, TreePath], Any], path: TreePath = ()) -> Any:
    """A copy of the JSON-like `tree` with each string value replaced by
    ``on_text(value, path)``; keys, numbers, booleans and None are kept as they are.
    Mappings come back as dicts, lists and tuples as lists."""
    if isinstance(tree, Mapping):
        return {k: walk(v, on_text, (*path, k)) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return [walk(v, on_text, (*path, i)) for i, v in enumerate(tree)]
    if isinstance(tree, str):
        return on_text(tree, path)
    return tree


def texts(tree: Any) -> Iterator[str]:
    """Every string in the JSON-like `tree`, dict keys included, depth first."""
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            if isinstance(key, str):
                yield key
            yield from texts(value)
    elif isinstance(tree, list | tuple):
        for value in tree:
            yield from texts(value)
    elif isinstance(tree, str):
        yield tree


def mentions(tree: Any, pattern: re.Pattern[str]) -> bool:
    """Whether any string in `tree` holds a match of `pattern` (`INPUT`, `SECRET`, ...)."""
    return any(pattern.search(text) for text in texts(tree))


def fill_outputs(tree: Any, outputs: dict[str, str]) -> tuple[Any, str | None]:
    """`tree` with each ``{{ outputs.NAME }}`` replaced by ``outputs[NAME]``, and the first
    name that has no output (replaced by the empty text), or None."""
    missing: list[str] = []

    def output(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in outputs:
            missing.append(name)
            return ""
        return outputs[name]

    filled = walk(tree, lambda text, _path: OUTPUT.sub(output, text))
    return filled, (missing[0] if missing else None)


# -- secrets -----------------------------------------------------------------------------------


def secret_names(text: str) -> list[str]:
    """The secret names `text` refers to, in order, without repeats."""
    names: list[str] = []
    for match in SECRET.finditer(text):
        if match.group(1) not in names:
            names.append(match.group(1))
    return names


def resolve(text: str, lookup: SecretLookup) -> tuple[str, dict[str, str]]:
    """`text` with every secret placeholder replaced by its value, and the values used by
    name.

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
    resolved = SECRET.sub(lambda m: values[m.group(1)], text)
    return resolved, values
