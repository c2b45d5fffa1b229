"""The schema-directed decoder on a toy vocabulary: whatever the "model" prefers, the
output parses and satisfies the schema; a cooperative model gets exactly its text."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.base import ModelCancelled
from models.constrained import ConstrainedDecoder, UnsupportedSchema, VocabMasks, check_supported

VOCAB = [
    "",
    '"',
    '",',
    '"}',
    "{",
    "}",
    ",",
    ":",
    " ",
    '{"',
    '": ',
    ", ",
    "\\",
    "\n",
    "a",
    "b",
    "c",
    "r",
    "e",
    "p",
    "o",
    "t",
    "s",
    "f",
    "i",
    "l",
    "n",
    "g",
    ".",
    "_",
    "m",
    "k",
    "thought",
    "tool",
    "args",
    "path",
    "count",
    "flag",
    "true",
    "false",
    "files",
    "finish",
    "make",
    "folder",
    "reports",
    " it",
    "0",
    "1",
    "2",
    "42",
    "é",
    '."',
    "(",
    ")",
    ')",',
    '\\"',
    "\\n",
]
PIECES = [v.encode() for v in VOCAB]


class ToyModel:
    """Tokenizes greedily by longest match; its logits come from a `prefer` function."""

    def __init__(self, prefer) -> None:  # type: ignore[no-untyped-def]
        self.prefer = prefer
        self.fed: list[int] = []
        self.feeds = 0

    def tokenize(self, text: str) -> list[int]:
        out, i = [], 0
        while i < len(text):
            best = max(
                (j for j, v in enumerate(VOCAB) if v and text.startswith(v, i)),
                key=lambda j: len(VOCAB[j]),
            )
            out.append(best)
            i += len(VOCAB[best])
        return out

    def feed(self, tokens: Sequence[int]) -> None:
        self.fed.extend(tokens)
        self.feeds += 1

    def logits(self) -> np.ndarray:
        text = "".join(VOCAB[t] for t in self.fed)
        return np.asarray(self.prefer(text), dtype=np.float32)


def decoder(model: ToyModel, **kw) -> ConstrainedDecoder:  # type: ignore[no-untyped-def]
    return ConstrainedDecoder(model, VocabMasks.from_pieces(PIECES), lambda t: VOCAB[t], **kw)


def follow(target: str):  # type: ignore[no-untyped-def]
    """A cooperative model: prefers the longest token that continues `target`."""

    def prefer(text: str) -> list[float]:
        rest = target[len(text) :] if target.startswith(text) else ""
        return [float(len(v)) if v and rest.startswith(v) else -1.0 for v in VOCAB]

    return prefer


ACTION = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "thought": {"type": "string", "maxLength": 40},
                "tool": {"const": "files.make_folder"},
                "args": {
                    "type": "object",
                    "properties": {"path": {"type": "string", "minLength": 1}},
                },
            },
        },
        {
            "type": "object",
            "properties": {
                "thought": {"type": "string", "maxLength": 40},
                "tool": {"const": "finish"},
                "args": {
                    "type": "object",
                    "properties": {"count": {"type": "integer"}, "flag": {"type": "boolean"}},
                },
            },
        },
    ]
}


def valid(doc: dict) -> bool:  # type: ignore[type-arg]
    if doc["tool"] == "files.make_folder":
        return (
            set(doc["args"]) == {"path"}
            and isinstance(doc["args"]["path"], str)
            and doc["args"]["path"]
        )
    return (
        doc["tool"] == "finish"
        and isinstance(doc["args"]["count"], int)
        and isinstance(doc["args"]["flag"], bool)
    )


def test_cooperative_model_gets_exactly_its_reply() -> None:
    target = '{"thought": "make it", "tool": "files.make_folder", "args": {"path": "reports"}}'
    model = ToyModel(follow(target))
    text = decoder(model).generate(ACTION)
    assert text == target


def test_a_merged_closing_token_keeps_its_text_and_ends_the_string() -> None:
    # `."` and `)",` close a string with text before the quote; a small model prefers
    # them to a bare quote, and refusing them made it ramble to the length limit.
    target = '{"thought": "make it.", "tool": "finish", "args": {"count": 1, "flag": true}}'
    model = ToyModel(follow(target))
    assert decoder(model).generate(ACTION) == target
    target = '{"thought": "(it)", "tool": "files.make_folder", "args": {"path": "r"}}'
    assert decoder(ToyModel(follow(target))).generate(ACTION) == target


def test_strings_may_hold_whole_escapes() -> None:
    # Two-line file content: the model writes the JSON escape \n as one token.
    target = '{"thought": "\\"it\\"", "tool": "files.make_folder", "args": {"path": "r\\nr"}}'
    text = decoder(ToyModel(follow(target))).generate(ACTION)
    assert text == target
    assert json.loads(text)["args"]["path"] == "r\nr"


def test_integer_and_boolean_branch() -> None:
    target = '{"thought": "", "tool": "finish", "args": {"count": 42, "flag": false}}'
    text = decoder(ToyModel(follow(target))).generate(ACTION)
    assert json.loads(text) == json.loads(target)


ELEMENT = {"type": "object", "properties": {"element": {"enum": [1, 12, 2, 42]}}}


@pytest.mark.parametrize("value", [1, 12, 2, 42])
def test_an_integer_enum_gives_the_value_a_cooperative_model_wants(value: int) -> None:
    # 1 is a prefix of 12 (spelled "1" then "2"): a ',' or '}' token must end it.
    target = f'{{"element": {value}}}'
    assert decoder(ToyModel(follow(target))).generate(ELEMENT) == target


@settings(max_examples=80, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_an_integer_enum_yields_only_listed_values(seed: int) -> None:
    rng = random.Random(seed)
    # Digits and ending tokens are the likeliest: the model would say 0, 21, 422 ... .
    weights = [2.0 if v.isdigit() else (1.0 if v[:1] in ",}" else 0.0) for v in VOCAB]

    def prefer(text: str) -> list[float]:
        return [w * rng.random() for w in weights]

    doc = json.loads(decoder(ToyModel(prefer)).generate(ELEMENT))
    assert doc["element"] in (1, 12, 2, 42)


def test_an_integer_enum_refuses_a_number_the_model_prefers_but_is_not_listed() -> None:
    # The model wants 0 (not on the page), then 2: it gets a listed value instead.
    doc = json.loads(decoder(ToyModel(follow('{"element": 0}'))).generate(ELEMENT))
    assert doc["element"] in (1, 12, 2, 42)


def test_forced_text_is_fed_in_batches_not_sampled() -> None:
    target = '{"thought": "it", "tool": "files.make_folder", "args": {"path": "r"}}'
    model = ToyModel(follow(target))
    dec = decoder(model)
    dec.generate(ACTION)
    # "it", the branch choice, "r": a handful of sampled tokens, the JSON around them forced.
    assert dec.stats.sampled <= 8
    assert dec.stats.forced > dec.stats.sampled


def test_hostile_model_wanting_to_close_at_once_still_gives_nonempty_path() -> None:
    def prefer(text: str) -> list[float]:
        return [10.0 if v.startswith('"') else (5.0 if v == "\\" else 0.0) for v in VOCAB]

    doc = json.loads(decoder(ToyModel(prefer)).generate(ACTION))
    assert valid(doc)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_any_model_output_is_valid_json_for_the_schema(seed: int) -> None:
    rng = random.Random(seed)

    def prefer(text: str) -> list[float]:
        return [rng.random() for _ in VOCAB]

    text = decoder(ToyModel(prefer), max_tokens=200).generate(ACTION)
    doc = json.loads(text)
    assert valid(doc)
    assert len(doc["thought"]) <= 40 + max(len(v) for v in VOCAB)


def test_token_budget_ends_strings_but_keeps_json_valid() -> None:
    def prefer(text: str) -> list[float]:
        return [1.0 if v == "a" else 0.0 for v in VOCAB]

    text = decoder(ToyModel(prefer), max_tokens=5).generate(ACTION)
    assert valid(json.loads(text))


def test_stop_flag_cancels_between_tokens() -> None:
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    model = ToyModel(lambda text: [1.0 if v == "a" else 0.0 for v in VOCAB])
    with pytest.raises(ModelCancelled):
        decoder(model, should_stop=stop).generate(ACTION)
    assert calls["n"] == 4


def test_masks_classify_tokens() -> None:
    masks = VocabMasks.from_pieces(PIECES)
    assert masks.string_body[VOCAB.index("reports")]
    assert masks.string_body[VOCAB.index("é")]
    for bad in ('"', "\\", "\n", '",', ""):
        assert not masks.string_body[VOCAB.index(bad)]
    assert masks.string_end[VOCAB.index('",')]
    assert masks.digits[VOCAB.index("42")]
    assert masks.value_end[VOCAB.index(",")] and masks.value_end[VOCAB.index("}")]


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "items": {"type": "string"}},
        {"type": "number"},
        {"anyOf": [{"type": "string"}]},
        {"enum": []},
    ],
)
def test_unsupported_schemas_are_refused_up_front(schema: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(UnsupportedSchema):
        check_supported(schema)
