"""The browser family, more widgets: a search box sent with Enter, a message in a
multi-line box, and a menu that opens on a click before its item can be chosen.

Invariants: as `agent.learn.browser` (seeded choices, ``index.html`` first, exactly the
fields the check expects); a menu's items exist in the page only once it is open, so the
gold's second click is numbered from the observation after the first.
"""

from __future__ import annotations

import random
from pathlib import Path

from agent.learn import browser_html as h
from agent.learn import browser_words as w
from agent.learn.browser import BROWSER, START, click, draft, one_sent, quote, type_into
from agent.learn.browser_gold import On, Plan
from agent.learn.browser_site import requests_in
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
    return draft(rng, goal, {START: page}, plan, one_sent({"q": [query]}))


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
    mark = '"' if "'" in text else rng.choice(('"', "'"))  # a sentence is always quoted
    goal = fill(rng, "{goal}", {**BROWSER, **COMMENT}, {"text": f"{mark}{text}{mark}"})
    plan = Plan((
        type_into(On("textbox", label), text, "Element {n} is the comment box."),
        click(On("button", button), f"Element {{n}} is the {button} button."),
        finish(f"Posted the comment: {text}"),
    ))  # fmt: skip
    return draft(rng, goal, {START: page}, plan, one_sent({"body": [text]}))


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
    return draft(rng, goal, {START: page}, plan, one_sent({"choice": [label]}))


MODAL = {
    "goal": [
        "{please}{answer}{end}",
        "The {what} is in the way: {answer}{end}",
        "{please}deal with the {what} by choosing {label}{end}{distractor}",
        "In the pop-up, {click} {label}{end}",
    ],
}
#: (what pops up, [(answer in words, button)])
MODALS = (
    ("cookie banner", (("accept all cookies", "Accept all"), ("reject the cookies", "Reject all"),
                       ("keep only the needed cookies", "Necessary only"))),
    ("newsletter pop-up", (("close the pop-up without signing up", "No thanks"),
                           ("sign up for the newsletter", "Sign me up"))),
    ("update notice", (("update now", "Update now"), ("postpone the update", "Remind me later"))),
    ("survey window", (("skip the survey", "Skip"), ("take the survey", "Start survey"))),
)  # fmt: skip


def modal(rng: random.Random) -> Draft:
    """An in-page dialog over the page: answer it with the right one of its buttons."""
    what, answers = rng.choice(MODALS)
    answer, label = rng.choice(answers)
    buttons = " ".join(h.submit_button(rng, b, name="answer") for _, b in answers)
    behind = h.row(rng, [f'<a href="#more">{h.esc(t)}</a>' for t in w.distinct(rng, w.MENU, 2)])
    title = what.capitalize().replace(" pop-up", "").replace(" window", "")
    box = (
        f'<div role="dialog" aria-modal="true" aria-label="{h.esc(title)}" '
        'style="position:fixed;top:20%;left:20%;background:#fff;border:2px solid #444;'
        f'padding:1em"><p>{h.esc(title)}</p>{h.form(rng, buttons)}</div>'
    )
    page = h.page(rng, rng.choice(w.SITES), behind + box)
    values = {"what": what, "label": quote(rng, label)}
    # The answer is phrase text (not a value), so a goal that opens with it is capitalised.
    goal = fill(rng, "{goal}", {**BROWSER, **MODAL, "answer": [answer]}, values)
    plan = Plan((
        click(On("button", label), f"Element {{n}} is the {label} button of the {what}."),
        finish(f"Chose {label} in the {what}."),
    ))  # fmt: skip
    return draft(rng, goal, {START: page}, plan, one_sent({"answer": [label]}))


FOCUS = {
    "goal": [
        "{please}put the cursor in the {field} field{end}",
        "{please}click into the {field} box{end}{distractor}",
        "I want to type my {field} myself: {please}focus that field{end}",
        "Select the {field} field so I can type there{end}",
    ],
}


def focus_field(rng: random.Random) -> Draft:
    """A field given the focus (a click into it) and nothing typed or sent."""
    specs = rng.sample(w.TEXT_FIELDS, rng.randint(2, 4))
    label, name, _ = rng.choice(specs)
    ids = h.Ids()
    fields = {nm: h.text_field(rng, ids, lab, nm) for lab, nm, _ in specs}
    # A synchronous request: the site has it before the click returns (no race with the
    # check, no waiting).
    script = (
        "document.querySelectorAll('input').forEach(i => i.addEventListener('focus', () => {"
        " const x = new XMLHttpRequest();"
        " x.open('GET', 'focused?field=' + encodeURIComponent(i.name), false); x.send(); }));"
    )
    parts = [html for html, _ in fields.values()] + [h.submit_button(rng, rng.choice(w.SUBMIT))]
    page = h.page(rng, rng.choice(("Your details", "Profile")), h.form(rng, h.row(rng, parts)),
                  script=script)  # fmt: skip
    goal = fill(rng, "{goal}", {**BROWSER, **FOCUS}, {"field": label.lower()})
    plan = Plan((
        click(On("textbox", fields[name][1]), f"Element {{n}} is the {label} field."),
        finish(f"The cursor is in the {label} field."),
    ))  # fmt: skip

    def check(folder: Path, message: str) -> bool:
        focused = [r.fields for r in requests_in(folder) if r.path == "/focused"]
        sent_form = any(r.path == "/sent" for r in requests_in(folder))
        return focused[-1:] == [(("field", name),)] and not sent_form

    return draft(rng, goal, {START: page}, plan, check)


TEMPLATES = (
    Template("browser.search", FAMILY, search),
    Template("browser.comment", FAMILY, comment),
    Template("browser.menu", FAMILY, menu),
    Template("browser.modal", FAMILY, modal),
    Template("browser.focus_field", FAMILY, focus_field),
)
