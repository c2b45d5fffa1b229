"""Varied natural wording for generated goals: phrase tables and a seeded filler.

A goal pattern is text with ``{slot}`` holes. `fill` replaces each hole by the value the
generator knows (a file name, a folder) or, for a slot of the phrase table, by one of its
alternatives picked with the sample's own ``random.Random``; alternatives may hold slots
of their own. So one template yields many phrasings, synonyms, orderings and distractor
sentences, and the same seed always yields the same text.

Invariants:
- Strict: a slot that is neither a given value nor in the table raises `KeyError` (like
  the prompt templates' strict undefined), so a typo never reaches training data.
- Deterministic: the result depends only on the pattern, the table, the values and the
  state of the ``Random`` passed in.
- Values are inserted verbatim and never expanded again, so a file name with braces or
  spaces stays what the fixture holds.
- `reworded(seed)`: inside it, `fill` picks its words with a ``Random(seed)`` of its own
  and draws nothing from the sample's generator, so the names, values and fixture a
  generator draws are the same for every `seed` and only the wording changes (the same
  task asked again in other words: tests/benchmarks/learning.py). Outside it, nothing
  changes: the curriculum's data stay byte-identical.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

PhraseTable = Mapping[str, Sequence[str]]

_SLOT = re.compile(r"\{(\w+)\}")
_MAX_DEPTH = 8
#: Set by `reworded`: the generator `fill` picks words with instead of the sample's.
_WORDING: ContextVar[random.Random | None] = ContextVar("wording", default=None)

#: Slots every family may use: politeness, hedges, and harmless distractor sentences.
COMMON: PhraseTable = {
    "please": ["", "", "please ", "Please ", "could you ", "can you ", "would you "],
    "end": ["", "", ".", ". Thanks", ", thanks.", ". Thank you!"],
    # Each starts with a stop, so it follows an `end` of any kind (`tidy` merges stops).
    "distractor": [
        "",
        "",
        "",
        ". Leave the other files alone.",
        ". Don't touch anything else.",
        ". The rest of the workspace is fine as it is.",
        ". I'll check it later.",
        ". No need to ask me first.",
    ],
    "file": ["file", "file", "document", "text file"],
    "folder": ["folder", "folder", "directory"],
}


def fill(
    rng: random.Random,
    pattern: str,
    table: PhraseTable,
    values: Mapping[str, str] | None = None,
) -> str:
    """`pattern` with every ``{slot}`` filled; see the module docstring."""
    rng = _WORDING.get() or rng
    given = dict(values or {})
    merged: dict[str, Sequence[str]] = {**COMMON, **table}
    # Values stand in as markers while the text is tidied, so a name like "../a.txt" or
    # ".md" is never "corrected" and the goal names exactly what the fixture holds.
    markers = {slot: f"\x00{i}\x00" for i, slot in enumerate(given)}
    text = tidy(_expand(rng, pattern, merged, markers, 0))
    for slot, marker in markers.items():
        text = text.replace(marker, given[slot])
    return text


@contextmanager
def reworded(seed: int) -> Iterator[None]:
    """Goals made inside say the same task in the words of `seed` (module docstring)."""
    token = _WORDING.set(random.Random(f"wording/{seed}"))
    try:
        yield
    finally:
        _WORDING.reset(token)


def _expand(
    rng: random.Random,
    text: str,
    table: Mapping[str, Sequence[str]],
    values: Mapping[str, str],
    depth: int,
) -> str:
    if depth > _MAX_DEPTH:
        raise ValueError(f"phrase slots nest deeper than {_MAX_DEPTH}: {text!r}")

    def one(match: re.Match[str]) -> str:
        slot = match.group(1)
        if slot in values:
            return values[slot]
        if slot not in table:
            raise KeyError(f"phrase slot {slot!r} has no value and no table entry")
        return _expand(rng, rng.choice(list(table[slot])), table, values, depth + 1)

    # Only the pattern's own text is scanned; a value is spliced in whole, never rescanned.
    out, last = [], 0
    for match in _SLOT.finditer(text):
        out.append(text[last : match.start()])
        out.append(one(match))
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def tidy(text: str) -> str:
    """Collapse runs of spaces, drop spaces before punctuation, capitalise the first
    letter, and never write two stops in a row (".." or "?.")."""
    text = re.sub(r" {2,}", " ", text.strip())
    text = re.sub(r" ([,.?!])", r"\1", text)
    text = re.sub(r"\.{2,}", ".", text)
    text = re.sub(r"([?!,])\.", r"\1", text)
    return text[:1].upper() + text[1:] if text else text


def one_of(rng: random.Random, options: Sequence[str]) -> str:
    """One option, chosen with the sample's generator (never the global one)."""
    return rng.choice(list(options))
