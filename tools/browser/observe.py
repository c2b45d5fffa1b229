"""What the model reads about a page: indexed elements, a text excerpt and a shortlist,
within a token budget.

Layout (the parts that change least come first)::

    URL: http://127.0.0.1:8000/form
    Title: Sign up
    Tabs: 1 "Sign up" (current) | 2 "Terms"
    Notes:
    - the page asked 'Leave?'; answered Cancel
    Elements:
    [1] link "Home"
    [2] textbox "Email" (email) value="a@b.org" required
    [3] combobox "Country" value="France" options: France | Germany | ... 4 more
    [4] checkbox "I agree" not checked
    [5] button "Sign up"
    (3 more elements not shown: scroll or look again)
    Text:
    Create your account ...
    Most related to the goal:
    [2] textbox "Email" (email) value="a@b.org" required
    [5] button "Sign up"

Invariants:
- Pure and deterministic: the same page and goal give the same text, so a page that did
  not change reads the same and indices never move (`tools.browser.page_script`).
- The result fits `budget_tokens` unless the header and notes alone are larger. Tokens
  are estimated as characters / 2.5: measured with SmolLM2's tokenizer on these
  observations (brackets, quotes, short names), 2.2–3.0 characters make one token, not
  the 4 of English prose.
- Elements are kept in priority order (shortlist, then those in view, then the rest) but
  shown in index order; visible text fills the room that is left, minus lines that only
  repeat an element's name.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence

from tools.browser.base import Element, PageState

CHARS_PER_TOKEN = 2.5
SHORTLIST_SIZE = 5
#: Part of the budget kept for page text even when there are many elements.
TEXT_SHARE = 0.2

_TEXT_ROLES = frozenset({"textbox", "searchbox", "combobox", "spinbutton"})
_CHOICE_ROLES = frozenset({"combobox", "listbox", "option", "radio", "menuitemradio"})
_CHECK_ROLES = frozenset({"checkbox", "radio", "switch", "menuitemcheckbox"})
_PRESS_ROLES = frozenset({"button", "link", "tab", "menuitem"})
_VERB_ROLES = {
    **dict.fromkeys(("type", "enter", "fill", "write", "search", "input"), _TEXT_ROLES),
    **dict.fromkeys(("click", "press", "submit", "open", "follow", "go", "tap"), _PRESS_ROLES),
    **dict.fromkeys(("select", "choose", "pick"), _CHOICE_ROLES),
    **dict.fromkeys(("check", "tick", "uncheck", "untick", "agree", "toggle"), _CHECK_ROLES),
}
_STOPWORDS = frozenset(
    "a an the of and or to in on into at for from with by it is be this that then as "
    "your you my me please page field box button link".split()
)
_QUOTED = re.compile(r"\"([^\"]{1,80})\"|\u201c([^\u201d]{1,80})\u201d|(?:^|\s)'([^']{1,80})'")


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def element_line(e: Element) -> str:
    """``[7] button "Submit"`` plus kind, value, states and options where there are any."""
    parts = [f"[{e.index}] {e.role}"]
    if e.name:
        parts.append(_quote(e.name))
    elif e.href:
        parts.append(f"(to {e.href})")
    if e.kind:
        parts.append(f"({e.kind})")
    if e.value:
        parts.append(f"value={_quote(e.value)}")
    parts.extend(e.states)
    if e.options:
        parts.append("options: " + " | ".join(e.options))
    return " ".join(parts)


def render(state: PageState, *, budget_tokens: int, goal: str = "") -> str:
    return render_shown(state, budget_tokens=budget_tokens, goal=goal)[0]


def render_shown(
    state: PageState, *, budget_tokens: int, goal: str = ""
) -> tuple[str, frozenset[int]]:
    """`render`'s text and the indices of the elements it shows."""
    budget = int(budget_tokens * CHARS_PER_TOKEN)
    head = [f"URL: {state.url}", f"Title: {state.title or '(none)'}"]
    if len(state.tabs) > 1:
        shown = " | ".join(
            f"{t.number} {_quote(t.title[:40])}" + (" (current)" if t.current else "")
            for t in state.tabs
        )
        head.append(f"Tabs: {shown}")
    if state.notes:
        head += ["Notes:", *(f"- {n}" for n in state.notes)]
    short = shortlist(state.elements, goal)
    tail = ["Most related to the goal:", *map(element_line, short)] if short else []
    fixed = _size(head) + _size(tail) + len("Elements:\nText:\n")
    text_room = max(int(budget * TEXT_SHARE), 0)
    chosen, used = _choose(state.elements, short, budget - fixed - text_room)
    lines = [element_line(e) for e in state.elements if e.index in chosen]
    hidden = len(state.elements) - len(lines)
    body = ["Elements:", *(lines or ["(none)"])]
    if hidden:
        body.append(f"({hidden} more elements not shown: scroll or look again)")
    room = budget - fixed - used - (len(body[-1]) + 1 if hidden else 0)
    shown_names = {e.name for e in state.elements} | {o for e in state.elements for o in e.options}
    text = _excerpt(state.text, shown_names, room)
    shown_indices = frozenset(chosen | {e.index for e in short})
    return "\n".join([*head, *body, "Text:", text or "(no text)", *tail]), shown_indices


def shortlist(elements: Sequence[Element], goal: str, size: int = SHORTLIST_SIZE) -> list[Element]:
    """The elements most related to `goal`, best first: shared words (more for the name),
    a quoted phrase of the goal in the name or the options (a short one only as the whole
    name), and the role the goal's verb
    asks for (only where that role is nearly unique on the page)."""
    if not goal.strip() or not elements:
        return []
    words = _words(goal)
    phrases = [f" {' '.join(_raw_words(p))} " for p in _phrases(goal)]
    # A short quoted phrase ("a.", "OK") counts only as an element's whole name.
    whole = {p for p in phrases if p.strip()}
    phrases = [p for p in phrases if len(p) > 3]
    roles = frozenset().union(*(_VERB_ROLES.get(w, frozenset()) for w in _raw_words(goal)))
    per_role: dict[str, int] = {}
    for e in elements:
        per_role[e.role] = per_role.get(e.role, 0) + 1
    scored = []
    for e in elements:
        name = _words(e.name)
        other = _words(" ".join((e.value, e.kind, e.href, *e.options)))
        score = 3 * len(words & name) + len(words & (other - name))
        name_text = f" {' '.join(_raw_words(e.name))} "
        option_text = "".join(f" {' '.join(_raw_words(o))} " for o in e.options)
        score += sum(5 for p in phrases if p in name_text or p in option_text)
        if name_text in whole and name_text not in phrases:
            score += 5
        if score and e.role in roles:
            score += 2
        elif e.role in roles and per_role[e.role] <= 2:
            score += 1
        if "disabled" in e.states:
            score -= 1
        if score > 0:
            scored.append((-score, e.index, e))
    return [e for _, _, e in sorted(scored)[:size]]


def _choose(
    elements: Sequence[Element], first: Iterable[Element], room: int
) -> tuple[set[int], int]:
    """Indices of the elements that fit in `room` characters, and the room they take."""
    chosen: set[int] = set()
    used = 0
    in_view = [e for e in elements if e.in_view]
    rest = [e for e in elements if not e.in_view]
    for e in (*first, *in_view, *rest):
        if e.index in chosen:
            continue
        size = len(element_line(e)) + 1
        if used + size > room:
            break
        chosen.add(e.index)
        used += size
    return chosen, used


def _excerpt(text: str, names: set[str], room: int) -> str:
    if room <= 0:
        return ""
    longest_first = sorted((n for n in names if n), key=len, reverse=True)
    lines = [line for line in text.splitlines() if not _only_names(line, longest_first)]
    joined = "\n".join(lines)
    if len(joined) <= room:
        return joined
    cut = joined[: max(room - 20, 0)]
    space = cut.rfind(" ")
    return (cut[:space] if space > len(cut) // 2 else cut) + " [... more text]"


def _only_names(line: str, names: Sequence[str]) -> bool:
    """Whether a line of page text says nothing but element names (labels, buttons,
    options), which the element list shows already."""
    rest = line
    if len(rest) < 200:
        for name in names:
            rest = rest.replace(name, " ")
    return not rest.strip(" \t,.:;|/-")


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _size(lines: Sequence[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def _raw_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _words(text: str) -> set[str]:
    out = set()
    for w in _raw_words(text):
        if w in _STOPWORDS:
            continue
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def _phrases(goal: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in _QUOTED.finditer(goal)]
