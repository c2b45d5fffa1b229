"""Redaction of typed secrets: the one place that keeps a secret's value out of what the
model reads and what the journal stores, once a tool has typed it.

A page that received a secret can echo it back in many shapes: in the next page's URL
(a GET form puts ``p%40ss+w0rd`` in the query), upper-cased, reversed, base64-encoded,
HTML- or JSON-escaped. Matching only the exact value lets all of those through, so
`Redactor` matches every shape it can name and then checks what is left by decoding it.

Invariants, once ``add(name, value)`` was called (``value`` at least `MIN_REDACT_LEN`
characters):

- `Redactor.__call__` replaces by ``{{secret:NAME}}`` every occurrence of the value in
  any letter case, reversed, with its whitespace collapsed, percent-encoded (the forms of
  ``encodeURIComponent``, ``encodeURI``, HTML forms with ``+``, Python's ``quote``,
  JavaScript's ``escape``, and each of them encoded twice), as HTML character
  references (named, decimal, hex), as JSON or JavaScript string escapes, as hex, and as
  base64 (standard or URL-safe, padded or not, at any alignment inside a longer base64
  text), plus each of those shapes reversed.
- URLs are decoded before they are judged (`Redactor.url`): a query, a fragment or user
  information that held a secret is withheld whole, never shown in part; a path segment
  that held one is replaced by the placeholder. The host is kept (it was approved).
- Backstop for shapes nobody listed (partial or mixed encodings): after replacement, a
  line whose decodings (percent, HTML, JSON, base64 or hex of a word, and their
  combinations) still show a secret, in any case or reversed, is withheld whole.
- Values are kept only in this object, in memory; nothing here logs or stores them.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import html
import json
import re
from collections.abc import Callable, Iterable, Iterator
from html.entities import codepoint2name
from typing import Any, TypeVar
from urllib.parse import unquote, unquote_plus, urlsplit, urlunsplit

from tools.base import Effect, ToolResult
from tools.placeholders import SECRET, placeholder, walk

A = TypeVar("A")

#: Values shorter than this are not scrubbed (they would match everywhere).
MIN_REDACT_LEN = 3
#: Shapes of a value shorter than this are not matched (a reversed 3-letter word, a
#: base64 fragment of two characters would hit ordinary text).
MIN_SHAPE_LEN = 4

_URL = re.compile(r"\b(?:https?|wss?)://[^\s\"'<>`]+", re.IGNORECASE)
_B64_WORD = re.compile(r"[A-Za-z0-9+/_-]{6,}={0,2}")
_HEX_WORD = re.compile(r"(?:[0-9A-Fa-f]{2}){3,}")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|%u([0-9a-fA-F]{4})|\\(/)")

#: Characters each percent-encoder leaves as they are (besides ASCII letters and digits),
#: and whether it writes a space as ``+``.
_PERCENT_FORMS = (
    ("", False),  # everything escaped
    ("-_.~", False),  # Python quote(safe=""), RFC 3986 unreserved
    ("-_.!~*'()", False),  # encodeURIComponent
    (";,/?:@&=+$-_.!~*'()#", False),  # encodeURI
    ("*-._", True),  # HTML form submission (application/x-www-form-urlencoded)
    ("-_.~", True),  # Python quote_plus
)


class Redactor:
    """Replaces the secrets typed this session, in every shape, by their placeholders."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}  # value -> name
        self._folded: dict[str, str] = {}  # lower-cased shape -> name, matched in any case
        self._exact: dict[str, str] = {}  # case-sensitive shape (base64) -> name
        self._needles: list[tuple[str, str]] = []  # (lower-cased needle, name) for the backstop
        self._pattern: re.Pattern[str] | None = None

    def __bool__(self) -> bool:
        return bool(self._names)

    def add(self, name: str, value: str) -> None:
        if len(value) < MIN_REDACT_LEN or self._names.get(value) == name:
            return
        self._names[value] = name
        folded, exact = _shapes(value)
        for shape in folded:
            self._folded.setdefault(shape.lower(), name)
        for shape in exact:
            self._exact.setdefault(shape, name)
        for needle in {value, value[::-1], _collapse(value), _collapse(value)[::-1]}:
            self._needles.append((needle.lower(), name))
        self._pattern = _alternation([*self._folded, *self._exact])

    def __call__(self, text: str) -> str:
        if not self._names or not text:
            return text
        text = _URL.sub(lambda m: self.url(m.group()), text)
        return self._backstop(self._replace(text))

    def url(self, url: str) -> str:
        """`url` with every part that held a secret withheld (the host is kept)."""
        if not self._names:
            return url
        try:
            parts = urlsplit(url)
        except ValueError:
            return self._backstop(self._replace(url))
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            netloc = f"{self._withheld(userinfo)}@{host}"
        path = "/".join(
            placeholder(name) if (name := self.shown(seg)) else seg for seg in parts.path.split("/")
        )
        query, fragment = self._withheld(parts.query), self._withheld(parts.fragment)
        return urlunsplit((parts.scheme, netloc, path, query, fragment))

    def shown(self, text: str) -> str | None:
        """The name of a secret that `text` shows in any shape this module knows, or None."""
        if not self._names or not text:
            return None
        pattern = self._pattern
        if pattern is not None:
            for match in pattern.finditer(text):
                name = self._name_of(match.group())
                if name:
                    return name
        return self._decoded_secret(text)

    def effects(self, effect: Callable[[A], Effect]) -> Callable[[A], Effect]:
        """`effect` with its scope and summary redacted (what the approver and the
        journal see)."""

        def redacted(args: A) -> Effect:
            e = effect(args)
            return dataclasses.replace(e, scope=self(e.scope), summary=self(e.summary))

        return redacted

    def results(self, run: Callable[[A], ToolResult]) -> Callable[[A], ToolResult]:
        """`run` with its result's output and every string in its data redacted."""

        def redacted(args: A) -> ToolResult:
            r = run(args)
            return dataclasses.replace(r, output=self(r.output), data=self._data(r.data))

        return redacted

    # -- inside -------------------------------------------------------------------------

    def _data(self, data: Any) -> Any:
        return walk(data, lambda text, _path: self(text))

    def _withheld(self, part: str) -> str:
        name = self.shown(part)
        return f"[withheld:{placeholder(name)}]" if name else part

    def _replace(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None:
            return text

        def swap(match: re.Match[str]) -> str:
            name = self._name_of(match.group())
            return placeholder(name) if name else match.group()

        return pattern.sub(swap, text)

    def _name_of(self, found: str) -> str | None:
        return self._exact.get(found) or self._folded.get(found.lower())

    def _backstop(self, text: str) -> str:
        lines = text.split("\n")
        for i, line in enumerate(lines):
            name = self._decoded_secret(SECRET.sub(" ", line))
            if name:
                lines[i] = f"[a line withheld: it showed {placeholder(name)}]"
        return "\n".join(lines)

    def _decoded_secret(self, text: str) -> str | None:
        for view in _decodings(text):
            lowered = view.lower()
            for needle, name in self._needles:
                if needle in lowered:
                    return name
        return None


def _alternation(shapes: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(set(shapes), key=len, reverse=True)  # the longest shape wins
    if not ordered:
        return None
    return re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE)


def _shapes(value: str) -> tuple[set[str], set[str]]:
    """The shapes of `value` matched in any letter case, and those matched exactly."""
    bases = {value, value[::-1], _collapse(value), _collapse(value)[::-1]}
    folded: set[str] = set()
    exact: set[str] = set()
    for base in bases:
        folded |= set(_text_shapes(base))
        for raw in {base, base.upper(), base.lower()}:
            exact |= set(_base64_shapes(raw.encode()))
    folded |= {s[::-1] for s in _text_shapes(value)}
    exact |= {s[::-1] for s in _base64_shapes(value.encode())}
    folded = {s for s in folded if len(s) >= MIN_SHAPE_LEN or s.lower() == value.lower()}
    return folded, {s for s in exact if len(s) >= MIN_SHAPE_LEN}


def _text_shapes(value: str) -> Iterator[str]:
    yield value
    for keep, plus in _PERCENT_FORMS:
        once = _percent(value, keep, plus)
        yield once
        yield _percent(once, keep, plus)
    yield _js_escape(value)
    yield from _html_shapes(value)
    for ascii_only in (True, False):
        quoted = json.dumps(value, ensure_ascii=ascii_only)[1:-1]
        yield quoted
        yield quoted.replace("/", "\\/")
    yield "".join(f"\\x{ord(c):02x}" if 127 < ord(c) < 256 else c for c in value)
    yield value.encode().hex()


def _html_shapes(value: str) -> Iterator[str]:
    escaped = html.escape(value, quote=True)
    yield escaped
    yield html.escape(value, quote=False)
    yield "".join(f"&{codepoint2name[ord(c)]};" if ord(c) in codepoint2name else c for c in value)
    for numeric in ("&#{};", "&#x{:x};"):
        every = "".join(c if c.isascii() and c.isalnum() else numeric.format(ord(c)) for c in value)
        yield every
        yield "".join(numeric.format(ord(c)) if ord(c) > 127 else c for c in escaped)


def _base64_shapes(raw: bytes) -> Iterator[str]:
    """Base64 of `raw` alone, and the characters that encode only `raw` when it sits at
    offset 1 or 2 of a longer text (``btoa("user:" + pw)``)."""
    for offset in (0, 1, 2):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        first = -(-8 * offset // 6)  # the first character made of `raw`'s bits only
        last = (8 * (offset + len(raw))) // 6  # one past the last such character
        core = encoded if offset == 0 else encoded[first:last]
        for shape in (core, core.rstrip("=")):
            yield shape
            yield shape.replace("+", "-").replace("/", "_")


def _percent(value: str, keep: str, plus: bool) -> str:
    out = []
    for c in value:
        if (c.isascii() and c.isalnum()) or c in keep:
            out.append(c)
        elif c == " " and plus:
            out.append("+")
        else:
            out.extend(f"%{b:02X}" for b in c.encode())
    return "".join(out)


def _js_escape(value: str) -> str:
    """JavaScript's ``escape()``: Latin-1 as ``%XX``, the rest as ``%uXXXX``."""
    out = []
    for c in value:
        if (c.isascii() and c.isalnum()) or c in "@*_+-./":
            out.append(c)
        elif ord(c) < 256:
            out.append(f"%{ord(c):02X}")
        else:
            out.append(f"%u{ord(c):04X}")
    return "".join(out)


def _collapse(value: str) -> str:
    return " ".join(value.split())


def _decodings(text: str) -> Iterator[str]:
    """`text` and what it reads as once decoded the ways a page could have encoded it."""
    yield text
    for once in (unquote_plus(text), unquote(text, encoding="latin-1"), _unescape(text)):
        yield once
        yield html.unescape(once)
        yield unquote_plus(once)
    unescaped = html.unescape(text)
    yield unescaped
    yield unquote_plus(unescaped)
    yield _unescape(unescaped)
    yield from _decoded_words(text)


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(4):
            return "/"
        digits = match.group(1) or match.group(2) or match.group(3)
        return chr(int(digits, 16))

    return _ESCAPE.sub(one, text)


def _decoded_words(text: str) -> Iterator[str]:
    """Words of `text` that decode as base64 or hex, decoded."""
    for match in _B64_WORD.finditer(text):
        word = match.group().rstrip("=")
        for alphabet in (None, b"-_"):
            try:
                raw = base64.b64decode(word + "=" * (-len(word) % 4), altchars=alphabet)
            except (binascii.Error, ValueError):
                continue
            yield raw.decode("utf-8", errors="ignore")
    for match in _HEX_WORD.finditer(text):
        yield bytes.fromhex(match.group()).decode("utf-8", errors="ignore")
