"""Schema-directed decoding: the model fills in values, we write the JSON around them.

Why not llama.cpp's GBNF grammar? A grammar sampler checks every vocabulary entry against
the grammar at every generated token, which costs more than the forward pass of a small
model (see tests/benchmarks/steps.py). A JSON action schema, though, fixes almost every
character of the reply: braces, keys, quotes, the tool name once chosen. So this decoder
walks the schema itself:

- literal JSON (``{"thought": "``) is *forced*: tokenized and fed in one batch, no sampling;
- a string value is generated with a precomputed token mask (no bare quote or control
  bytes; escapes like ``\\n`` only whole within one token); a token that is string text
  then a quote (``"``, ``."``, ``"}``) ends it; near ``maxLength`` only tokens that still
  fit are allowed (lengths count characters of the decoded string, as JSON Schema does);
- an enum (of strings or integers) or boolean is a walk down a token trie of the allowed
  spellings, sampling only where the options differ (where one value is a prefix of
  another, ``1`` and ``12``, a token starting with ``,`` or ``}`` ends the shorter);
- an integer is digit tokens until the model picks a token starting with ``,`` or ``}``.

Masks are computed once per vocabulary (numpy), so each generated token costs one masked
argmax over the logits. The result always parses and satisfies the schema subset below.

Supported schema subset: object (properties emitted in order, all of them), anyOf of
objects that share leading properties and then differ by a ``const``/``enum`` property
(the discriminator), string (minLength, maxLength), enum of strings or integers, const,
integer, boolean.
Anything else raises `UnsupportedSchema` before any token is generated.

Invariant: decoding is greedy (argmax), so the same prompt gives the same action.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from models.base import JsonSchema, ModelCancelled

Mask = npt.NDArray[np.bool_]


class UnsupportedSchema(ValueError):
    """The schema uses a construct the decoder cannot enforce."""


class TokenSource(Protocol):
    """The model side of decoding: feed tokens, read the next token's logits."""

    def tokenize(self, text: str) -> list[int]: ...

    def feed(self, tokens: Sequence[int]) -> None: ...

    def logits(self) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True, slots=True)
class VocabMasks:
    """Per-token classes, computed once per vocabulary."""

    string_body: Mask  # may appear inside a JSON string as-is
    string_end: Mask  # string text, then a double quote: the model wants to close the string
    digits: Mask  # only ASCII digits
    value_end: Mask  # starts with ',' or '}' or ']': the model wants to end a number
    zero_led: Mask  # digits with a leading zero and more after it: never first in a number
    #: For string_body tokens: how many characters they add to the decoded string.
    chars: npt.NDArray[np.int32]
    #: For string_end tokens: the text before the quote ("" for most).
    close_head: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def from_pieces(cls, pieces: Sequence[bytes]) -> VocabMasks:
        n = len(pieces)
        body = np.zeros(n, dtype=bool)
        end = np.zeros(n, dtype=bool)
        digits = np.zeros(n, dtype=bool)
        vend = np.zeros(n, dtype=bool)
        zero = np.zeros(n, dtype=bool)
        chars = np.zeros(n, dtype=np.int32)
        heads: dict[int, str] = {}
        for i, piece in enumerate(pieces):
            if not piece:
                continue
            first = piece[:1]
            head = _string_head(piece)
            end[i] = head is not None
            if head:
                heads[i] = head
            vend[i] = first in (b",", b"}", b"]")
            digits[i] = piece.isdigit()
            zero[i] = digits[i] and len(piece) > 1 and piece[:1] == b"0"
            body[i] = _is_string_fragment(piece)
            if body[i]:
                chars[i] = len(json.loads(b'"' + piece + b'"'))
        return cls(
            string_body=body,
            string_end=end,
            digits=digits,
            value_end=vend,
            zero_led=zero,
            chars=chars,
            close_head=heads,
        )


_ESCAPE = re.compile(rb'\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})')


def _is_string_fragment(piece: bytes) -> bool:
    """May `piece` stand inside a JSON string as it is? Text without quotes or control
    bytes, in which every backslash starts a whole escape (``\\n``, ``\\"``, ``\\u00e9``):
    an escape is never split across tokens, so every prefix of the reply stays valid."""
    plain = _ESCAPE.sub(b"", piece)
    if b'"' in plain or b"\\" in plain or min(piece) < 0x20 or 0x7F in piece:
        return False
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _string_head(piece: bytes) -> str | None:
    """For `"`, `"}`, but also `."` or `)",` (text that may stand in a string, then a
    quote): the text before the quote. None for tokens that do not close a string.

    Small models close strings with merged tokens like `."`; refusing those makes them
    ramble until the length limit.
    """
    head, quote, _ = piece.partition(b'"')
    if not quote or b"\\" in head or (head and min(head) < 0x20):
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass(slots=True)
class DecodeStats:
    sampled: int = 0  # tokens chosen by the model
    forced: int = 0  # tokens we fed without asking the model


@dataclass(slots=True)
class _Trie:
    children: dict[int, _Trie] = field(default_factory=dict)
    value: Any = None
    terminal: bool = False


class ConstrainedDecoder:
    """Generates one JSON document for `schema` from a `TokenSource`.

    The source must already hold the prompt; the first `logits()` call is the
    distribution for the first reply token.
    """

    def __init__(
        self,
        source: TokenSource,
        masks: VocabMasks,
        piece_text: Callable[[int], str],
        *,
        max_tokens: int = 512,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self._src = source
        self._piece = piece_text
        self._masks = masks
        self._budget = max_tokens
        self._should_stop = should_stop or (lambda: False)
        self._pending: list[int] = []
        self._out: list[str] = []
        self.stats = DecodeStats()

    # -- public ---------------------------------------------------------------------

    def generate(self, schema: JsonSchema) -> str:
        check_supported(schema)
        self._value(schema)
        # The closing literal is never fed: nothing samples after it, and the next
        # prompt re-renders it anyway.
        self._pending.clear()
        return "".join(self._out)

    # -- emitting -------------------------------------------------------------------

    def _literal(self, text: str) -> None:
        self._out.append(text)
        tokens = self._src.tokenize(text)
        self.stats.forced += len(tokens)
        self._pending.extend(tokens)

    def _next_logits(self) -> npt.NDArray[np.float32]:
        if self._should_stop():
            raise ModelCancelled("stopped while generating")
        if self._pending:
            self._src.feed(self._pending)
            self._pending = []
        return self._src.logits()

    def _pick(self, allowed: Mask) -> int:
        logits = self._next_logits()
        token = int(np.argmax(np.where(allowed, logits, -np.inf)))
        self.stats.sampled += 1
        self._budget -= 1
        return token

    def _accept(self, token: int, text: str) -> None:
        self._pending.append(token)
        self._out.append(text)

    # -- values ---------------------------------------------------------------------

    def _value(self, schema: JsonSchema) -> None:
        if "const" in schema:
            self._literal(json.dumps(schema["const"]))
        elif "enum" in schema:
            self._choice(list(schema["enum"]))
        elif "anyOf" in schema:
            self._object_union(list(schema["anyOf"]))
        elif schema.get("type") == "object":
            self._object_union([schema])
        elif schema.get("type") == "string":
            self._string(int(schema.get("minLength", 0)), int(schema.get("maxLength", 400)))
        elif schema.get("type") == "integer":
            self._integer()
        elif schema.get("type") == "boolean":
            self._choice([True, False])
        else:  # check_supported() rejects everything else up front
            raise UnsupportedSchema(f"unsupported schema: {schema}")

    def _object_union(self, branches: list[JsonSchema]) -> None:
        """Emit an object; with several branches, share leading properties and pick the
        branch at the first property where they differ (which must be a const)."""
        self._literal("{")
        index = 0
        while True:
            keys = [
                _prop_names(b)[index] if index < len(_prop_names(b)) else None for b in branches
            ]
            if keys[0] is None:
                break
            key = keys[0]
            self._literal(("" if index == 0 else ", ") + json.dumps(key) + ": ")
            props = [b["properties"][key] for b in branches]
            if len(branches) > 1 and any(p != props[0] for p in props):
                values = [_const_of(p) for p in props]
                chosen = self._choice(values)
                branches = [b for b, v in zip(branches, values, strict=True) if v == chosen]
            else:
                self._value(props[0])
            index += 1
        self._literal("}")

    def _string(self, min_len: int, max_len: int) -> None:
        self._literal('"')
        body = self._masks.string_body
        allowed_open = body  # before min_len is reached, the model may not close
        allowed = body | self._masks.string_end
        length = 0
        # minLength wins over the token budget: the reply must stay valid.
        while length < min_len or (length < max_len and self._budget > 0):
            mask = allowed if length >= min_len else allowed_open
            fits = self._masks.chars <= max(max_len, min_len) - length
            token = self._pick(mask & (fits | self._masks.string_end))
            if self._masks.string_end[token]:
                # Keep the text before the quote (as its own tokens), close it ourselves.
                head = self._masks.close_head.get(token, "")
                if head and length + len(head) <= max(max_len, min_len):
                    self._literal(head)
                break
            text = self._piece(token)
            self._accept(token, text)
            length += int(self._masks.chars[token])
        self._literal('"')

    def _integer(self) -> None:
        allowed = self._masks.digits | self._masks.value_end
        first = self._masks.digits & ~self._masks.zero_led
        digits = 0
        while digits == 0 or (digits < 12 and self._budget > 0):
            token = self._pick(allowed if digits else first)
            if self._masks.value_end[token]:
                break
            text = self._piece(token)
            self._accept(token, text)
            digits += len(text)
            if text == "0" and digits == 1:  # JSON allows no leading zeros
                break

    def _choice(self, values: list[Any]) -> Any:
        """Let the model pick one of `values`, spelled as JSON, by walking a token trie."""
        root = _Trie()
        for value in values:
            node = root
            for tok in self._src.tokenize(json.dumps(value)):
                node = node.children.setdefault(tok, _Trie())
            node.terminal, node.value = True, value
        node = root
        while node.children:
            if len(node.children) == 1 and not node.terminal:
                token = next(iter(node.children))
            else:
                allowed = np.zeros_like(self._masks.string_body)
                allowed[list(node.children)] = True
                if node.terminal:
                    # A value that is a prefix of another (1 and 12, spelled 1 then 2):
                    # the model ends it with a token starting ',' or '}', as for integers.
                    allowed |= self._masks.value_end
                token = self._pick(allowed)
                if token not in node.children:
                    break
            self._accept(token, "")
            node = node.children[token]
        self._out.append(json.dumps(node.value))
        return node.value


def _prop_names(schema: JsonSchema) -> list[str]:
    return list(schema.get("properties", {}))


def _const_of(schema: JsonSchema) -> Any:
    if "const" in schema:
        return schema["const"]
    if "enum" in schema and len(schema["enum"]) == 1:
        return schema["enum"][0]
    raise UnsupportedSchema("anyOf branches must differ first at a const property")


def check_supported(schema: JsonSchema) -> None:
    """Raise `UnsupportedSchema` unless the decoder can enforce `schema`."""
    if "const" in schema:
        return
    if "enum" in schema:
        if not schema["enum"]:
            raise UnsupportedSchema("empty enum")
        return
    if "anyOf" in schema:
        branches = schema["anyOf"]
        if not branches or any(b.get("type") != "object" for b in branches):
            raise UnsupportedSchema("anyOf is supported only over objects")
        for b in branches:
            check_supported(b)
        return
    kind = schema.get("type")
    if kind == "object":
        for prop in schema.get("properties", {}).values():
            check_supported(prop)
        return
    if kind in ("string", "integer", "boolean"):
        return
    raise UnsupportedSchema(f"unsupported schema construct: {json.dumps(schema)[:120]}")
