"""The browser family, pages with structure: tables and lists to read an answer from,
tabs and collapsed sections to open first, forms of several fields, a flow over two
pages, a suggestion list to pick from, and a button below the fold.

Read-then-answer templates end in ``finish`` with the fact; their check wants the fact
in the message, no look-alike's fact, and nothing sent. Form templates check what the
site received (`agent.learn.browser.one_sent`).

Invariants: as `agent.learn.browser` (seeded choices, ``index.html`` first, exactly the
fields the check expects).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

from agent.learn import browser_html as h
from agent.learn import browser_words as w
from agent.learn.browser import BROWSER, START, click, draft, one_sent, quote, sent, type_into
from agent.learn.browser_gold import Act, On, Plan, Read
from agent.learn.phrases import fill
from agent.learn.sample import Check, Draft, Template, finish

FAMILY = "browser"


def answered(fact: str, wrong: list[str]) -> Check:
    """A check: `fact` is in the message, no `wrong` one is, and no form was sent."""

    def check(folder: Path, message: str) -> bool:
        return fact in message and not any(x in message for x in wrong) and not sent(folder)

    return check


TABLE = {
    "goal": [
        "What is the {column} of the {item}{q}",
        "{please}look up the {column} of the {item} in the table{end}",
        "How much is the {item}? I need the {column}{end}",
        "Tell me the {column} for {item}{end}",
        "In the table, what {column} does the {item} have{q}",
    ],
    "q": ["?", "?", " on this page?"],
}


def read_table(rng: random.Random) -> Draft:
    items = w.distinct(rng, w.PRODUCTS, rng.randint(4, 8))
    prices = [f"{rng.randint(3, 180)}.{rng.choice(('00', '50', '99', '25'))}" for _ in items]
    stock = [str(rng.randint(0, 40)) for _ in items]
    column, values = rng.choice((("price", prices), ("stock", stock)))
    pick = rng.randrange(len(items))
    head = "<tr><th>Item</th><th>Price (EUR)</th><th>In stock</th></tr>"
    rows = "".join(
        f"<tr><td>{h.esc(i)}</td><td>{p}</td><td>{s}</td></tr>"
        for i, p, s in zip(items, prices, stock, strict=True)
    )
    table = f"<table border='1'>{head}{rows}</table>"
    page = h.page(rng, rng.choice(("Price list", "Stock", "Catalogue", "Today's offers")), table)
    item, fact = items[pick], values[pick]
    goal = fill(rng, "{goal}", {**BROWSER, **TABLE}, {"item": item, "column": column})
    said = f"The {item} costs {fact} EUR." if column == "price" else f"{fact} {item}s are in stock."
    plan = Plan((
        Read(fact, f"I need the {column} of the {item}; read the table."),
        finish(said, f"The table gives {fact} for the {item}."),
    ))  # fmt: skip
    others = [v for n, v in enumerate(values) if v != fact and n != pick]
    wrong = [o for o in others if fact not in o and o not in fact]
    return draft(rng, goal, {START: page}, plan, answered(fact, wrong))


LIST = {
    "goal": [
        "How many {things} are listed{q}",
        "{please}count the {things} on this page{end}",
        "Count the {things} in the list and tell me the number{end}",
        "How many {things} does the page show{q}",
    ],
    "q": ["?", "?", " here?"],
}
LISTS = (
    ("upcoming events", "Events", w.CITIES),
    ("team members", "Our team", w.FIRST),
    ("products", "Shop", w.PRODUCTS),
    ("branches", "Branches", w.CITIES),
)


def read_list(rng: random.Random) -> Draft:
    things, title, pool = rng.choice(LISTS)
    n = rng.randint(2, 9)
    items = w.distinct(rng, pool, n)
    tag = rng.choice(("ul", "ol"))
    body = f"<p>{h.esc(title)}:</p><{tag}>" + "".join(f"<li>{h.esc(i)}</li>" for i in items)
    page = h.page(rng, title, body + f"</{tag}>")
    goal = fill(rng, "{goal}", {**BROWSER, **LIST}, {"things": things})
    plan = Plan((
        Read(items[-1], f"I need all the {things}; read the page."),
        finish(f"There are {n} {things}.", f"The list shows {n} {things}."),
    ))  # fmt: skip

    def check(folder: Path, message: str) -> bool:
        numbers = [int(t) for t in message.replace(".", " ").split() if t.isdigit()]
        return numbers == [n] and not sent(folder)

    return draft(rng, goal, {START: page}, plan, check)


TABS = {
    "goal": [
        "Open the {tab} tab and tell me the {key}{end}",
        "What is the {key}? It is under the {tab} tab{end}",
        "{please}check the {tab} tab for the {key}{end}",
        "Under {tab}, what does it say the {key} is{q}",
    ],
    "q": ["?", "?"],
}
#: (tab, key, values)
TAB_FACTS = (
    ("Shipping", "delivery time", ("2 days", "5 days", "one week", "48 hours")),
    ("Returns", "return window", ("14 days", "30 days", "60 days")),
    ("Contact", "support email", ("help@larkspur.test", "care@pebble.test", "desk@orbit.test")),
    ("Hours", "closing time", ("5 pm", "6:30 pm", "9 pm", "noon")),
    ("Warranty", "warranty period", ("1 year", "2 years", "6 months")),
)


def _tabs_script() -> str:
    return (
        "document.querySelectorAll('[role=tab]').forEach(t => t.addEventListener('click', () => {"
        "document.querySelectorAll('[role=tab]').forEach(o => o.setAttribute('aria-selected',"
        " String(o === t)));"
        "document.querySelectorAll('[role=tabpanel]').forEach(p => p.hidden ="
        " p.id !== t.getAttribute('aria-controls'));}));"
    )


def tabs(rng: random.Random) -> Draft:
    chosen = rng.sample(TAB_FACTS, rng.randint(3, len(TAB_FACTS)))
    facts = [rng.choice(vals) for _, _, vals in chosen]
    ids = h.Ids()
    pids = [ids.new(tab) for tab, _, _ in chosen]
    bar = "".join(
        f'<button role="tab" aria-controls="{pid}" aria-selected="{str(n == 0).lower()}">'
        f"{h.esc(tab)}</button>"
        for n, (pid, (tab, _, _)) in enumerate(zip(pids, chosen, strict=True))
    )
    panels = "".join(
        f'<div role="tabpanel" id="{pid}"{"" if n == 0 else " hidden"}>'
        f"<p>The {h.esc(key)} is {h.esc(fact)}.</p></div>"
        for n, (pid, (_, key, _), fact) in enumerate(zip(pids, chosen, facts, strict=True))
    )
    pick = rng.randrange(1, len(chosen))
    tab, key, _ = chosen[pick]
    fact = facts[pick]
    body = f'<div role="tablist">{bar}</div>{panels}'
    page = h.page(rng, rng.choice(w.SITES), body, script=_tabs_script())
    goal = fill(rng, "{goal}", {**BROWSER, **TABS}, {"tab": quote(rng, tab), "key": key})
    plan = Plan((
        click(On("tab", tab), f"Element {{n}} is the {tab} tab."),
        Read(fact, f"Read the {tab} tab."),
        finish(f"The {key} is {fact}.", f"The {tab} tab says the {key} is {fact}."),
    ))  # fmt: skip
    wrong = [f for f in facts if f != fact and fact not in f and f not in fact]
    return draft(rng, goal, {START: page}, plan, answered(fact, wrong))


COLLAPSED = {
    "goal": [
        "Expand the {section} section and tell me the {key}{end}",
        "What is the {key}? It's in the {section} section{end}",
        "{please}open {section} and read me the {key}{end}",
        "The {key} is hidden under {section}; what is it{q}",
    ],
    "q": ["?", "?"],
}
SECTIONS: tuple[tuple[str, str, Callable[[random.Random], str]], ...] = (
    ("Account details", "account number", lambda r: f"{r.randint(10000, 99999)}-{r.randint(10, 99)}"),
    ("Booking", "booking code", lambda r: f"{r.choice(w.WORDS).upper()}{r.randint(100, 999)}"),
    ("Parking", "parking level", lambda r: f"level {r.randint(1, 6)}"),
    ("Wi-Fi", "network name", lambda r: f"{r.choice(w.WORDS)}-guest"),
    ("Billing", "invoice number", lambda r: f"INV-{r.randint(1000, 9999)}"),
)  # fmt: skip


def collapsible(rng: random.Random) -> Draft:
    chosen = rng.sample(SECTIONS, rng.randint(2, len(SECTIONS)))
    facts = [make(rng) for _, _, make in chosen]
    sections = "".join(
        f"<details><summary>{h.esc(s)}</summary><p>Your {h.esc(k)}: {h.esc(f)}</p></details>"
        for (s, k, _), f in zip(chosen, facts, strict=True)
    )
    pick = rng.randrange(len(chosen))
    section, key, _ = chosen[pick]
    fact = facts[pick]
    page = h.page(rng, rng.choice(("Your stay", "My account", "Help")), sections)
    values = {"section": quote(rng, section), "key": key}
    goal = fill(rng, "{goal}", {**BROWSER, **COLLAPSED}, values)
    plan = Plan((
        click(On("button", section), f"Element {{n}} opens the {section} section."),
        Read(fact, f"Read the {section} section."),
        finish(f"The {key} is {fact}.", f"The {section} section gives the {key}."),
    ))  # fmt: skip
    wrong = [f for f in facts if f != fact and fact not in f and f not in fact]
    return draft(rng, goal, {START: page}, plan, answered(fact, wrong))


MULTI = {
    "goal": [
        "{please}fill in the form: {pairs}{then} {send}{end}",
        "{please}{send} the form with {pairs}{end}{distractor}",
        "Set {pairs}, and {send}{end}",
        "I need this form sent with {pairs}{end}",
    ],
    "send": ["submit it", "send it", "press {button}", "click {button}"],
}


def _text_part(rng: random.Random, ids: h.Ids) -> tuple[str, str, str, Act]:
    label, name, pool = rng.choice(w.TEXT_FIELDS)
    value = rng.choice(pool)
    html, shown = h.text_field(rng, ids, label, name)
    act = type_into(On("textbox", shown), value, f"Element {{n}} is the {label} field.")
    return html, name, value, act


def _choice_part(rng: random.Random, ids: h.Ids) -> tuple[str, str, str, Act]:
    label, name, options = rng.choice(w.CHOICES)
    shown_options = w.distinct(rng, options, rng.randint(3, len(options)))
    value = rng.choice(shown_options[1:])
    html, shown = h.select_field(rng, ids, label, name, shown_options)
    act = Act("browser.select", On("combobox", shown), f"Element {{n}} is the {label} list.",
              {"option": value})  # fmt: skip
    return html, name, value, act


def multi_form(rng: random.Random) -> Draft:
    """Two to four fields of different kinds, named in the goal in any order."""
    ids = h.Ids()
    parts: list[tuple[str, str, str, Act]] = []
    labels: list[str] = []
    for _ in range(rng.randint(2, 4)):
        part = (_text_part if rng.random() < 0.6 else _choice_part)(rng, ids)
        if part[1] not in {p[1] for p in parts}:
            parts.append(part)
            labels.append(part[1].replace("_", " "))
    button = rng.choice(w.SUBMIT)
    inner = h.row(rng, [p[0] for p in parts] + [h.submit_button(rng, button)])
    page = h.page(rng, rng.choice(("Registration", "New entry", "Order form")), h.form(rng, inner))
    said = [f"{label} {quote(rng, p[2])}" for label, p in zip(labels, parts, strict=True)]
    rng.shuffle(said)
    pairs = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]
    goal = fill(rng, "{goal}", {**BROWSER, **MULTI}, {"pairs": pairs, "button": quote(rng, button)})
    acts = [p[3] for p in parts]
    plan = Plan((
        *acts,
        click(On("button", button), f"Element {{n}} is the {button} button."),
        finish("Filled in " + ", ".join(labels) + " and sent the form."),
    ))  # fmt: skip
    return draft(rng, goal, {START: page}, plan, one_sent({p[1]: [p[2]] for p in parts}))


TWO_PAGES = {
    "goal": [
        "{please}choose {plan} as the {field}, then give the name {name} and confirm{end}",
        "Choose {plan}, go on to the next page, enter {name} as the name and confirm{end}",
        "{please}pick {field} {plan} for {name} and confirm{end}{distractor}",
        "Two steps: {field} {plan}, then the name {name}. Confirm at the end{end}",
        "Select {plan} on the first page and {name} on the second{end}",
    ],
}


def two_pages(rng: random.Random) -> Draft:
    """A choice on the first page, then the name and a confirmation on the second."""
    label, name, options = rng.choice(w.CHOICES)
    opts = w.distinct(rng, options, rng.randint(3, len(options)))
    choice = rng.choice(opts)
    who = w.person(rng)
    ids = h.Ids()
    radios = [h.check_box(rng, ids, o, name, o, kind="radio") for o in opts]
    nxt = rng.choice(("Next", "Continue", "Go on"))
    first = h.form(
        rng, h.row(rng, [r for r, _ in radios] + [h.submit_button(rng, nxt)]), "step2.html"
    )
    field, shown = h.text_field(rng, h.Ids(), "Full name", "full_name")
    done = rng.choice(("Confirm", "Book now", "Finish", "Place order"))
    second = h.form(rng, h.row(rng, [field, h.submit_button(rng, done)]))
    pages = {
        START: h.page(rng, f"Step 1: {label}", f"<p>Choose the {h.esc(label.lower())}.</p>{first}"),
        "step2.html": h.page(rng, "Step 2: your name", second),
    }
    goal = fill(
        rng,
        "{goal}",
        {**BROWSER, **TWO_PAGES},
        {"plan": quote(rng, choice), "name": who, "field": label.lower()},
    )
    plan = Plan((
        Act("browser.check", On("radio", choice), f"Element {{n}} is {choice}.", {"checked": True}),
        click(On("button", nxt), "Element {n} goes on to the next page."),
        type_into(On("textbox", shown), who, "Element {n} is the name field."),
        click(On("button", done), f"Element {{n}} is the {done} button."),
        finish(f"Chose {choice} and confirmed for {who}."),
    ))  # fmt: skip

    def check(folder: Path, message: str) -> bool:
        forms = [(r.path, dict(r.fields)) for r in sent(folder)]
        want = [("/step2.html", {name: choice}), ("/sent", {"full_name": who})]
        return forms == want and bool(message)

    return draft(rng, goal, pages, plan, check)


SUGGEST = {
    "goal": [
        "{please}enter {city} as the destination{then} {send}{end}",
        "Set the destination to {city}; pick it from the suggestions and {send}{end}",
        "{please}search for a trip to {city} and {send}{end}",
        "I'm going to {city}. Choose it as the destination and {send}{end}",
    ],
    "send": ["search", "submit", "press {button}"],
}
_SUGGEST_JS = (
    "const box = document.getElementById('dest'), list = document.getElementById('hints');"
    "const all = JSON.parse(list.dataset.all);"
    "box.addEventListener('input', () => { list.innerHTML = '';"
    " const q = box.value.toLowerCase(); if (!q) return;"
    " all.filter(c => c.toLowerCase().startsWith(q)).forEach(c => {"
    " const li = document.createElement('li'); li.setAttribute('role', 'option');"
    " li.tabIndex = 0; li.textContent = c;"
    " li.addEventListener('click', () => { box.value = c; list.innerHTML = ''; });"
    " list.append(li); }); });"
)


def autocomplete(rng: random.Random) -> Draft:
    """A field that offers suggestions as you type: type the start, pick the city."""
    city = rng.choice(w.CITIES)
    prefix = city[: rng.randint(2, 3)]
    look = [c for c in w.CITIES if c.startswith(prefix[0]) and c != city]
    cities = sorted({city, *look, *rng.sample(w.CITIES, 5)})
    button = rng.choice(("Search", "Find trips", "Go"))
    data = h.esc(json.dumps(cities))
    inner = (
        '<label for="dest">Destination</label> <input id="dest" name="destination" '
        f'autocomplete="off"><ul id="hints" data-all="{data}"></ul>' + h.submit_button(rng, button)
    )
    page = h.page(
        rng, rng.choice(("Trips", "Travel search")), h.form(rng, inner), script=_SUGGEST_JS
    )
    goal = fill(rng, "{goal}", {**BROWSER, **SUGGEST}, {"city": city, "button": quote(rng, button)})
    plan = Plan((
        type_into(On("textbox", "Destination"), prefix, "Element {n} is the destination; type the start."),
        click(On("option", city), f"Element {{n}} is the suggestion {city}."),
        click(On("button", button), f"Element {{n}} is the {button} button."),
        finish(f"Searched for trips to {city}."),
    ))  # fmt: skip
    return draft(rng, goal, {START: page}, plan, one_sent({"destination": [city]}))


BELOW = {
    "goal": [
        "{please}press the button at the bottom of the page{end}",
        "Scroll down to the end and {click} {label}{end}",
        "At the very end of the page there is a {label} button. Please {click} it{end}",
        "{please}{click} the last button on the page{end}",
    ],
}


def below_fold(rng: random.Random) -> Draft:
    """A long page of many buttons; the one wanted is the last, far below the fold."""
    items = [f"{p} #{n}" for n, p in enumerate(rng.choices(w.PRODUCTS, k=rng.randint(70, 90)))]
    rows = "".join(f"<li>{h.esc(i)} <button type='button'>Details</button></li>" for i in items)
    label = rng.choice(("Load more", "Show more", "Next results", "More items"))
    body = f"<ul>{rows}</ul>" + h.form(rng, h.submit_button(rng, label, name="action"))
    page = h.page(rng, rng.choice(("Results", "All items", "Catalogue")), body)
    goal = fill(rng, "{goal}", {**BROWSER, **BELOW}, {"label": quote(rng, label)})
    plan = Plan((
        Act("browser.click", On("button", label), f"Element {{n}} is the {label} button.",
            {"confirm": False}, scroll=True),
        finish(f"Clicked {label}."),
    ))  # fmt: skip
    return draft(rng, goal, {START: page}, plan, one_sent({"action": [label]}))


TEMPLATES = (
    Template("browser.read_table", FAMILY, read_table),
    Template("browser.read_list", FAMILY, read_list),
    Template("browser.tabs", FAMILY, tabs),
    Template("browser.collapsible", FAMILY, collapsible),
    Template("browser.multi_form", FAMILY, multi_form),
    Template("browser.two_pages", FAMILY, two_pages),
    Template("browser.autocomplete", FAMILY, autocomplete),
    Template("browser.below_fold", FAMILY, below_fold),
)
