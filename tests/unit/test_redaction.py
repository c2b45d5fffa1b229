"""`tools.redaction.Redactor`: every shape of a typed secret is replaced, URLs are
decoded before they are judged, and ordinary text is left alone."""

from __future__ import annotations

import base64
import html
import json
from urllib.parse import quote, quote_plus

import pytest

from tools.base import Effect, ToolResult
from tools.redaction import Redactor

VALUE = "p@ss w0rd&x=1/\u00e9"
PH = "{{secret:pw}}"


@pytest.fixture
def redact() -> Redactor:
    r = Redactor()
    r.add("pw", VALUE)
    return r


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "shape",
    [
        VALUE,
        VALUE.upper(),
        VALUE[::-1],
        VALUE.upper()[::-1],
        quote_plus(VALUE),
        quote(VALUE, safe=""),
        quote(VALUE, safe="").lower(),
        quote(quote(VALUE, safe=""), safe=""),
        quote(VALUE, safe="-_.!~*'()"),
        html.escape(VALUE),
        "".join(f"&#{ord(c)};" for c in VALUE),
        json.dumps(VALUE)[1:-1],
        json.dumps(VALUE)[1:-1].replace("/", "\\/"),
        VALUE.encode().hex(),
        b64(VALUE),
        b64(VALUE).rstrip("="),
        base64.urlsafe_b64encode(VALUE.encode()).decode(),
        b64(VALUE)[::-1],
    ],
)
def test_every_shape_of_the_value_is_replaced(redact: Redactor, shape: str) -> None:
    out = redact(f"before {shape} after")
    assert shape not in out
    assert PH in out


@pytest.mark.parametrize("prefix", ["a:", "ab:", "abc:"])
def test_base64_of_a_longer_text_that_holds_the_value_is_caught(
    redact: Redactor, prefix: str
) -> None:
    encoded = b64(prefix + VALUE + "!")
    assert encoded not in redact(f"Authorization: Basic {encoded}")


def test_a_line_whose_decoding_still_shows_the_value_is_withheld(redact: Redactor) -> None:
    mixed = "p&#64;ss w0rd&amp;x=1/%C3%A9"  # HTML and percent mixed: no listed shape
    assert redact(f"ok line\nsaid {mixed}\nlast") == (
        f"ok line\n[a line withheld: it showed {PH}]\nlast"
    )


def test_a_url_is_decoded_and_its_query_withheld_whole(redact: Redactor) -> None:
    url = "http://127.0.0.1:8000/pages/welcome.html?user=ada&pw=" + quote_plus(VALUE) + "#top"
    assert redact.url(url) == "http://127.0.0.1:8000/pages/welcome.html?[withheld:" + PH + "]#top"
    assert redact(f"URL: {url}") == f"URL: {redact.url(url)}"
    path = "http://h.test/u/" + quote(VALUE, safe="") + "/x"
    assert redact.url(path) == f"http://h.test/u/{PH}/x"


def test_ordinary_text_and_urls_are_left_alone(redact: Redactor) -> None:
    text = "URL: http://127.0.0.1:8000/a?q=1&r=two#x\nPassword: ******** (w0rd count 3)"
    assert redact(text) == text
    assert Redactor()(VALUE) == VALUE  # nothing typed yet


def test_longest_first_and_short_values_ignored() -> None:
    r = Redactor()
    r.add("pw", "hunter2")
    r.add("long", "hunter2-extended")
    r.add("tiny", "ab")
    assert r("hunter2-extended / hunter2 / ab") == "{{secret:long}} / {{secret:pw}} / ab"


def test_shown_names_the_secret_in_any_shape(redact: Redactor) -> None:
    assert redact.shown("nothing here") is None
    assert redact.shown("x " + b64(VALUE)) == "pw"
    assert redact.shown(VALUE.upper()) == "pw"


def test_effects_and_results_pass_through_it(redact: Redactor) -> None:
    effect = redact.effects(lambda _: Effect("browser.input", f"h.test link {VALUE!r}", VALUE))
    e = effect(None)
    assert VALUE not in e.scope + e.summary and e.scope.startswith("h.test ")
    run = redact.results(
        lambda _: ToolResult(True, VALUE, data={"url": f"http://h/?p={VALUE}", "n": [VALUE, 3]})
    )
    r = run(None)
    assert VALUE not in repr(r) and r.data["n"][1] == 3
