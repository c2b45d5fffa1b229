"""The browser family, more widgets: a search box sent with Enter, a message in a
multi-line box, and a menu that opens on a click before its item can be chosen.

Invariants: as `agent.learn.browser` (seeded choices, ``index.html`` first, exactly the
fields the check expects); a menu's items exist in the page only once it is open, so the
gold's second click is numbered from the observation after the first.
"""

from __future__ import annotations

import random

from agent.learn import browser_html as h
from agent.learn import browser_words as w
from agent.learn.browser import BROWSER, START, click, draft, one_sent, quote, type_into
from agent.learn.browser_gold import On, Plan
from agent.learn.phrases import fill
from agent.learn.sample import Draft, Template, finish

FAMILY = "browser"

SEARCH = {
    "goal": [
        "{please}search for {query}{end}",
        "Look up {query} with the search box{end}{distractor}",
        "{please}find {query} on this site{end}",
        "Search the site for {query} and press Enter{end}",
        "I'm looking for {query}; {please}search for it{end}",
    ],
}


def search(rng: random.Random) -> Draft:
    """A search box (beside a newsletter field that must stay empty) sent with Enter."""
    query = rng.choice((
        rng.choice(w.PRODUCTS), f"{rng.choice(w.PRODUCTS)} {rng.choice(w.WORDS)}",
        f"trips to {rng.choice(w.CITIES)}", rng.choice(w.WORDS),
    ))  # fmt: skip
    label = rng.choice(("Search", "Search this site", "Find", "What are you looking for?"))
    how = rng.choice(("aria", "placeholder"))
    attr = "aria-label" if how == "aria" else "placeholder"
    box = f'<input type="search" name="q" {attr}="{h.esc(label)}">'
    other, _ = h.text_field(rng, h.Ids(), "Email for our newsletter", "newsletter")
    searching = h.form(rng, box, "results.html")
    news = h.form(rng, other + h.submit_button(rng, "Subscribe"), "subscribe")
    parts = [searching, news] if rng.random() < 0.6 else [news, searching]
    page = h.page(rng, rng.choice(w.SITES), "".join(parts))
    goal = fill(rng, "{goal}", {**BROWSER, **SEARCH}, {"query": quote(rng, query)})
    plan = Plan((
        type_into(On("searchbox", label), query, "Element {n} is the search box.", submit=True),
        finish(f"Searched for {query}."),
    ))  # fmt: skip
    return draft(goal, {START: page}, plan, one_sent({"q": [query]}))


COMMENT = {
    "goal": [
        "{please}post the comment {text}{end}",
        "Leave a comment saying {text}{end}{distractor}",
        "{please}write {text} in the message box and {send}{end}",
        "Reply with {text}{end}",
        "Add a note: {text}{end}",
    ],
    "send": ["send it", "post it", "submit it"],
}


def comment(rng: random.Random) -> Draft:
    """A multi-line box and a post button, under a thread of earlier comments."""
    text = rng.choice((
        "Thanks, that works for me.", f"See you in {rng.choice(w.CITIES)}!",
        f"Can we move it to {rng.choice(('Monday', 'Friday', 'next week'))}?",
        f"I'd like the {rng.choice(w.PRODUCTS)} in {rng.choice(('blue', 'green', 'grey'))}.",
        "Great news, well done.", "Please call me back.",
    ))  # fmt: skip
    thread = "".join(
        f"<p><b>{h.esc(w.person(rng))}</b>: {h.esc(rng.choice(w.FOOTERS))}</p>"
        for _ in range(rng.randint(1, 3))
    )
    label = rng.choice(("Your comment", "Message", "Write a reply", "Note"))
    box = f'<textarea name="body" rows="4" aria-label="{h.esc(label)}"></textarea>'
    button = rng.choice(("Post", "Send", "Reply", "Add note"))
    inner = h.row(rng, [box, h.submit_button(rng, button)])
    page = h.page(
        rng, rng.choice(("Discussion", "Comments", "Ticket 3921")), thread + h.form(rng, inner)
    )
    goal = fill(rng, "{goal}", {**BROWSER, **COMMENT}, {"text": quote(rng, text)})
    plan = Plan((
        type_into(On("textbox", label), text, "Element {n} is the comment box."),
        click(On("button", button), f"Element {{n}} is the {button} button."),
        finish(f"Posted the comment: {text}"),
    ))  # fmt: skip
    return draft(goal, {START: page}, plan, one_sent({"body": [text]}))


MENU = {
    "goal": [
        "{please}open the {menu} menu and {click} {label}{end}",
        "Open {menu} and choose {label}{end}{distractor}",
        "From the {menu} menu, pick {label}{end}",
        "{please}choose {label} in the {menu} menu{end}",
    ],
}
MENUS = (
    ("Actions", "document", ("Rename", "Duplicate", "Move", "Archive")),
    ("File", "file", ("Download", "Make a copy", "Print", "Share")),
    ("Options", "order", ("Cancel", "Track", "Return", "Invoice")),
    ("More", "photo", ("Rotate", "Crop", "Set as cover", "Hide")),
)
_MENU_JS = (
    "const b = document.getElementById('menu-button'), m = document.getElementById('menu');"
    "b.addEventListener('click', () => { m.hidden = !m.hidden;"
    " b.setAttribute('aria-expanded', String(!m.hidden)); });"
    "m.querySelectorAll('[role=menuitem]').forEach(i => i.addEventListener('click', () => {"
    " const f = document.getElementById('menu-form'); f.elements.choice.value = i.textContent;"
    " f.submit(); }));"
)


def menu(rng: random.Random) -> Draft:
    """A menu button whose items appear only once it is open."""
    name, thing, items = rng.choice(MENUS)
    shown = w.distinct(rng, items, len(items))
    label = rng.choice(shown)
    entries = "".join(f'<li role="menuitem" tabindex="-1">{h.esc(i)}</li>' for i in shown)
    decoy = rng.choice(("Help", "Settings", "Back"))
    inner = '<input type="hidden" name="choice" value="">'
    body = (
        f'<button type="button" id="menu-button" aria-haspopup="menu" aria-expanded="false">'
        f"{h.esc(name)}</button> <button type='button'>{h.esc(decoy)}</button>"
        f'<ul role="menu" id="menu" hidden>{entries}</ul>' + h.form(rng, inner, fid="menu-form")
    )
    page = h.page(rng, f"Your {thing}", body, script=_MENU_JS)
    values = {"menu": quote(rng, name), "label": quote(rng, label)}
    goal = fill(rng, "{goal}", {**BROWSER, **MENU}, values)
    plan = Plan((
        click(On("button", name), f"Element {{n}} opens the {name} menu."),
        click(On("menuitem", label), f"Element {{n}} is {label} in the menu."),
        finish(f"Chose {label} from the {name} menu."),
    ))  # fmt: skip
    return draft(goal, {START: page}, plan, one_sent({"choice": [label]}))


TEMPLATES = (
    Template("browser.search", FAMILY, search),
    Template("browser.comment", FAMILY, comment),
    Template("browser.menu", FAMILY, menu),
)
