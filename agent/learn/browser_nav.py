"""The browser family, the other browser actions: a link that opens a new tab, going
back a page, waiting for text that comes late, hovering to reveal a hint, and pressing a
key the page listens for.

Invariants: as `agent.learn.browser` (seeded choices, ``index.html`` first). What a
page does on hover or on a key is reported to the site by a synchronous request, so the
site has it before the action returns and the check never races the page.
"""

from __future__ import annotations

import random
from pathlib import Path

from agent.learn import browser_html as h
from agent.learn import browser_words as w
from agent.learn.browser import BROWSER, START, click, draft, one_sent, quote
from agent.learn.browser_forms import answered
from agent.learn.browser_gold import Act, On, Plan, Read
from agent.learn.browser_site import requests_in
from agent.learn.phrases import fill
from agent.learn.sample import Draft, Step, Template, finish

FAMILY = "browser"


def _report(path: str) -> str:
    """JavaScript that tells the site `path` happened before the handler returns."""
    return f"const x = new XMLHttpRequest(); x.open('GET', {path!r}, false); x.send();"


NEW_TAB = {
    "goal": [
        "Open {label} (it opens in a new tab) and tell me the {key}{end}",
        "{please}find the {key} on the {label} page{end}",
        "What is the {key}? Follow the {label} link to see{end}",
        "{please}check {label} for the {key}{end}{distractor}",
    ],
}
TAB_PAGES = (
    ("Opening times", "closing time", ("6 pm", "8 pm", "10 pm", "5:30 pm")),
    ("Delivery details", "delivery fee", ("4.99 EUR", "free", "2.50 EUR")),
    ("Venue", "room number", ("B214", "C3", "A101", "Hall 2")),
    ("Contact us", "phone number", ("555-0134", "555-0177", "555-0102")),
)


def new_tab(rng: random.Random) -> Draft:
    """A link that opens its page in a new tab; the answer is on that page."""
    chosen = rng.sample(TAB_PAGES, 3)
    label, key, facts = chosen[0]
    fact = rng.choice(facts)
    links = [
        f'<a href="p{n}.html" target="_blank">{h.esc(lab)}</a>'
        for n, (lab, _, _) in enumerate(chosen)
    ]
    rng.shuffle(links)
    pages = {START: h.page(rng, rng.choice(w.SITES), h.row(rng, links))}
    for n, (lab, k, vals) in enumerate(chosen):
        value = fact if n == 0 else rng.choice(vals)
        pages[f"p{n}.html"] = h.page(rng, lab, f"<p>The {h.esc(k)} is {h.esc(value)}.</p>")
    goal = fill(rng, "{goal}", {**BROWSER, **NEW_TAB}, {"label": quote(rng, label), "key": key})
    plan = Plan((
        click(On("link", label), f"Element {{n}} is the {label} link."),
        Read(fact, f"Read the {label} page."),
        finish(f"The {key} is {fact}.", f"The {label} page gives the {key}."),
    ))  # fmt: skip
    return draft(rng, goal, pages, plan, answered(fact, []))


BACK = {
    "goal": [
        "Look at the {page} page, then come back and {click} {button}{end}",
        "{please}open {page}, go back, and {click} {button}{end}",
        "First visit {page}. After that, go back to this page and {click} {button}{end}",
    ],
}


def go_back(rng: random.Random) -> Draft:
    """Visit a page, come back, and press a button on the first page."""
    page_label = rng.choice(("Terms", "Privacy notice", "Price list", "House rules"))
    button = rng.choice(("I agree", "Accept", "Continue", "Got it"))
    body = f'<p>Please read the <a href="terms.html">{h.esc(page_label)}</a> first.</p>' + h.form(
        rng, h.submit_button(rng, button, name="answer")
    )
    pages = {
        START: h.page(rng, rng.choice(w.SITES), body),
        "terms.html": h.page(rng, page_label, f"<p>{h.esc(rng.choice(w.FOOTERS))}</p>"),
    }
    values = {"page": quote(rng, page_label), "button": quote(rng, button)}
    goal = fill(rng, "{goal}", {**BROWSER, **BACK}, values)
    plan = Plan((
        click(On("link", page_label), f"Element {{n}} is the {page_label} link."),
        Step("browser.back", {}, "I have seen it; go back."),
        click(On("button", button), f"Element {{n}} is the {button} button."),
        finish(f"Read {page_label}, went back and clicked {button}."),
    ))  # fmt: skip
    check = one_sent({"answer": [button]})

    def visited_first(folder: Path, message: str) -> bool:
        return "/terms.html" in [r.path for r in requests_in(folder)] and check(folder, message)

    return draft(rng, goal, pages, plan, visited_first)


LATE = {
    "goal": [
        "{please}{click} {button} and tell me the code it gives{end}",
        "Get a new code with {button} and tell me what it is{end}",
        "{click} {button}; the code shows up after a moment. What is it{q}",
    ],
    "q": ["?"],
}


def wait_text(rng: random.Random) -> Draft:
    """A button whose result appears a moment later: wait for it, then answer."""
    button = rng.choice(("Generate code", "Get code", "Send me a code", "New code"))
    code = f"{rng.choice(w.WORDS).upper()}-{rng.randint(1000, 9999)}"
    lead = rng.choice(("Your code is", "Code:", "One-time code:"))
    script = (
        "document.getElementById('go').addEventListener('click', () => setTimeout(() => {"
        f"document.getElementById('out').textContent = {f'{lead} {code}'!r};}}, 400));"
    )
    body = f'<button type="button" id="go">{h.esc(button)}</button><p id="out"></p>'
    page = h.page(rng, rng.choice(("Sign-in codes", "Security", "Verify")), body, script=script)
    goal = fill(rng, "{goal}", {**BROWSER, **LATE}, {"button": quote(rng, button)})
    plan = Plan((
        click(On("button", button), f"Element {{n}} is the {button} button."),
        Step("browser.wait_for_text", {"text": lead, "timeout_s": 10}, "Wait for the code."),
        finish(f"The code is {code}.", f"The page shows {lead} {code}."),
    ))  # fmt: skip
    return draft(rng, goal, {START: page}, plan, answered(code, []))


HOVER = {
    "goal": [
        "Hover over {label} and tell me what the hint says{end}",
        "What does the tooltip of {label} say{q}",
        "{please}point at {label} and read me its hint{end}",
    ],
    "q": ["?"],
}


def hover(rng: random.Random) -> Draft:
    """A hint that shows only while the mouse is over its element."""
    label, hint = rng.choice((
        ("Shipping info", f"Ships within {rng.randint(2, 9)} days"),
        ("Password rules", f"At least {rng.randint(8, 14)} characters"),
        ("Fees", f"A fee of {rng.randint(1, 9)} euros applies"),
        ("Size help", f"Size {rng.choice(('M', 'L', 'S'))} fits most"),
    ))  # fmt: skip
    script = (
        "const t = document.getElementById('tip'), s = document.getElementById('hint');"
        "t.addEventListener('mouseenter', () => { s.hidden = false; " + _report("hovered") + "});"
    )
    body = (
        f'<p><button type="button" id="tip">{h.esc(label)}</button> '
        f'<span id="hint" hidden>{h.esc(hint)}</span></p>'
        f'<p><button type="button">{h.esc(rng.choice(("Help", "More", "Details")))}</button></p>'
    )
    page = h.page(rng, rng.choice(("Checkout", "Account", "Product")), body, script=script)
    goal = fill(rng, "{goal}", {**BROWSER, **HOVER}, {"label": quote(rng, label)})
    plan = Plan((
        Act("browser.hover", On("button", label), f"Element {{n}} is {label}; hover over it."),
        Read(hint, "Read the hint."),
        finish(f"The hint says: {hint}.", "The hint is shown now."),
    ))  # fmt: skip
    said = answered(hint, [])

    def check(folder: Path, message: str) -> bool:
        return "/hovered" in [r.path for r in requests_in(folder)] and said(folder, message)

    return draft(rng, goal, {START: page}, plan, check)


KEY = {
    "goal": [
        "{please}press {key} to close the {what}{end}",
        "Close the {what} with the {key} key{end}",
        "The {what} can be dismissed with {key}. Do that{end}",
    ],
}


def press_key(rng: random.Random) -> Draft:
    """A banner the page closes on a key press."""
    key = rng.choice(("Escape", "Enter"))
    what = rng.choice(("banner", "notice", "welcome message"))
    script = (
        "document.addEventListener('keydown', e => { if (e.key === "
        f"{key!r}) {{ document.getElementById('banner').hidden = true; "
        + _report(f"closed?key={key}")
        + "} });"
    )
    text = rng.choice(("Welcome back!", "New features are here.", "We updated our terms."))
    body = f'<div id="banner" role="status"><p>{h.esc(text)} Press {key} to close.</p></div>'
    page = h.page(rng, rng.choice(w.SITES), body, script=script)
    goal = fill(rng, "{goal}", {**BROWSER, **KEY}, {"key": key, "what": what})
    plan = Plan((
        Step("browser.press", {"key": key, "element": 0}, f"Press {key} on the page."),
        finish(f"Pressed {key}; the {what} is closed."),
    ))  # fmt: skip

    def check(folder: Path, message: str) -> bool:
        closed = [r for r in requests_in(folder) if r.path == "/closed"]
        return [r.fields for r in closed] == [(("key", key),)] and bool(message)

    return draft(rng, goal, {START: page}, plan, check)


TEMPLATES = (
    Template("browser.new_tab", FAMILY, new_tab),
    Template("browser.go_back", FAMILY, go_back),
    Template("browser.wait_text", FAMILY, wait_text),
    Template("browser.hover", FAMILY, hover),
    Template("browser.press_key", FAMILY, press_key),
)
