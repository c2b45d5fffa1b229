"""HTML for the browser family's pages, built in Python from a seeded ``Random``.

The pages are deskhand's own: plain forms, lists, tables and widgets in several
layouts (a header and menu or none, forms in paragraphs, tables or loose divs, labels
wrapped, linked, as aria-labels, as placeholders, or as bare text beside the field), so
the model learns to read what the observation says rather than one page's shape.
Nothing here copies MiniWoB++ (tests/pages/miniwob_site.py is the exam).

Every field builder returns its HTML and the name the observation will show for it
(`tools.browser.page_script`'s naming rules), so a gold can find it by that name.

Invariants: all text is escaped (`esc`); every choice comes from the ``Random`` passed
in; element ids are unique within a page (`Ids`).
"""

from __future__ import annotations

import html
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from agent.learn import browser_words as w


def esc(text: str) -> str:
    return html.escape(text, quote=True)


@dataclass
class Ids:
    """Unique element ids for one page."""

    used: set[str] = field(default_factory=set)

    def new(self, stem: str) -> str:
        base = "".join(c if c.isalnum() else "-" for c in stem.lower()).strip("-") or "f"
        name, n = base, 1
        while name in self.used:
            n += 1
            name = f"{base}-{n}"
        self.used.add(name)
        return name


_STYLES = (
    "body{font-family:sans-serif;margin:2em}",
    "body{font-family:Georgia,serif;max-width:40em;margin:auto}",
    "body{font-family:system-ui;background:#f6f6f2;margin:1em 3em}",
    "body{font-family:Verdana,sans-serif;font-size:14px}",
)


def page(rng: random.Random, title: str, body: str, *, script: str = "") -> str:
    """A whole page: `body` with (sometimes) a site header, a menu of in-page links, a
    list of related links and a footer around it, in one of a few styles."""
    site = rng.choice(w.SITES)
    header = ""
    if rng.random() < 0.6:
        menu = "".join(
            f'<a href="#{esc(m.lower())}">{esc(m)}</a> ' for m in w.distinct(rng, w.MENU, 3)
        )
        header = f"<header><b>{esc(site)}</b> <nav>{menu}</nav></header>"
    aside = ""
    if rng.random() < 0.4:  # more elements to number: the model must find the right one
        related = "".join(
            f'<li><a href="#{esc(t.lower().replace(" ", "-"))}">{esc(t)}</a></li>'
            for t in w.distinct(rng, w.RELATED, rng.randint(2, 5))
        )
        aside = f"<aside><p>{esc(rng.choice(('Related', 'See also', 'Popular')))}</p><ul>{related}</ul></aside>"
    heading = rng.choice(("h1", "h2"))
    footer = f"<footer><small>{esc(rng.choice(w.FOOTERS))}</small></footer>"
    footer = footer if rng.random() < 0.5 else ""
    tag = rng.choice(("main", "div", "section"))
    js = f"<script>{script}</script>" if script else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<style>{rng.choice(_STYLES)}</style></head><body>{header}"
        f"<{heading}>{esc(title)}</{heading}><{tag}>{body}</{tag}>{aside}{footer}{js}</body></html>"
    )


def form(rng: random.Random, inner: str, action: str = "sent", *, fid: str = "") -> str:
    method = rng.choice(("get", "post"))
    ident = f' id="{fid}"' if fid else ""
    return f'<form{ident} action="{esc(action)}" method="{method}">{inner}</form>'


def row(rng: random.Random, parts: Sequence[str]) -> str:
    """Lines of a form, each in a paragraph, a div, or a row of a layout table."""
    tag = rng.choice(("p", "div", "tr"))
    if tag == "tr":
        return "<table>" + "".join(f"<tr><td>{p}</td></tr>" for p in parts) + "</table>"
    return "".join(f"<{tag}>{p}</{tag}>" for p in parts)


LABEL_STYLES = ("wrap", "for", "aria", "placeholder", "text", "wrap", "for")


def text_field(
    rng: random.Random, ids: Ids, label: str, name: str, *, kind: str = "text", style: str = ""
) -> tuple[str, str]:
    """An input and the name the observation shows for it. `style`: how it is labelled
    (one of `LABEL_STYLES`; random when empty)."""
    style = style or rng.choice(LABEL_STYLES)
    attrs = f'type="{kind}" name="{esc(name)}"'
    if style == "wrap":
        return f"<label>{esc(label)} <input {attrs}></label>", label
    if style == "for":
        fid = ids.new(name)
        return f'<label for="{fid}">{esc(label)}</label> <input id="{fid}" {attrs}>', label
    if style == "aria":
        return f'<input {attrs} aria-label="{esc(label)}">', label
    if style == "placeholder":
        return f'<input {attrs} placeholder="{esc(label)}">', label
    return f"<span>{esc(label)}:</span> <input {attrs}>", f"{label}:"


def select_field(
    rng: random.Random, ids: Ids, label: str, name: str, options: Sequence[str]
) -> tuple[str, str]:
    """A drop-down list (never wrapped in its label: the label's text would take in the
    options' text, and so would the name the observation shows)."""
    opts = "".join(f"<option>{esc(o)}</option>" for o in options)
    if rng.random() < 0.25:
        return f'<select name="{esc(name)}" aria-label="{esc(label)}">{opts}</select>', label
    fid = ids.new(name)
    select = f'<select id="{fid}" name="{esc(name)}">{opts}</select>'
    return f'<label for="{fid}">{esc(label)}</label> {select}', label


def check_box(
    rng: random.Random,
    ids: Ids,
    label: str,
    name: str,
    value: str,
    *,
    kind: str = "checkbox",
    checked: bool = False,
) -> tuple[str, str]:
    """A checkbox or radio button: wrapped in its label, linked to it, or (no label at
    all) with its text beside it, which the observation names it by."""
    on = " checked" if checked else ""
    attrs = f'type="{kind}" name="{esc(name)}" value="{esc(value)}"{on}'
    style = rng.random()
    if style < 0.4:
        return f"<label><input {attrs}> {esc(label)}</label>", label
    if style < 0.6:
        return f"<span><input {attrs}> {esc(label)}</span>", label
    fid = ids.new(value)
    return f'<input id="{fid}" {attrs}> <label for="{fid}">{esc(label)}</label>', label


def submit_button(rng: random.Random, label: str, *, name: str = "", value: str = "") -> str:
    """A submit button: a ``<button>`` or an ``<input type=submit>`` (shown alike); with
    `name`, it sends ``name=value`` (`value` defaults to the label)."""
    named = f' name="{esc(name)}"' if name else ""
    if (name and value and value != label) or rng.random() < 0.7:
        sent = f' value="{esc(value or label)}"' if name else ""
        return f'<button type="submit"{named}{sent}>{esc(label)}</button>'
    return f'<input type="submit"{named} value="{esc(label)}">'
