"""The browser family, goals the page cannot meet: a control or a field it does not
have. The gold is one ``finish`` that says so; the check wants the missing thing named,
a "no"/"not", and nothing sent (an attempt is never kept).

Invariants: as `agent.learn.browser`; the missing thing is no part of any label shown,
so the refusal is right by construction.
"""

from __future__ import annotations

import random
from pathlib import Path

from agent.learn import browser_html as h
from agent.learn import browser_words as w
from agent.learn.browser import BROWSER, START, draft, quote, sent
from agent.learn.browser_gold import Plan
from agent.learn.phrases import fill
from agent.learn.sample import Draft, Template, finish

FAMILY = "browser"


MISSING = {
    "goal": [
        "{please}{click} the {label} button{end}",
        "{please}open the {label} link{end}",
        "{please}use {label} on this page{end}",
        "Find {label} here and {click} it{end}",
    ],
}


def refuse_missing(rng: random.Random) -> Draft:
    """The goal names a control the page does not have: the answer is to say so."""
    group = rng.choice(w.LOOKALIKES)
    labels = w.distinct(rng, group, 3)
    shown = " ".join(labels).lower()
    absent = rng.choice([
        g for grp in w.LOOKALIKES for g in grp
        if grp is not group and g.lower() not in shown and not any(p in g.lower() for p in shown.split())
    ])  # fmt: skip
    buttons = " ".join(h.submit_button(rng, b, name="action") for b in labels)
    page = h.page(
        rng, rng.choice(("Messages", "Files", "Orders")), h.form(rng, h.row(rng, [buttons]))
    )
    goal = fill(rng, "{goal}", {**BROWSER, **MISSING}, {"label": quote(rng, absent)})
    message = rng.choice((
        f"There is no {absent} on this page, so I did not click anything.",
        f"I cannot do that: this page has no {absent} button or link.",
    ))  # fmt: skip
    plan = Plan((finish(message, f"The page shows no {absent}; I cannot do this."),))

    def check(folder: Path, said: str) -> bool:
        return not sent(folder) and absent in said and ("no " in said or "not" in said)

    return draft(rng, goal, {START: page}, plan, check)


MISSING_FIELD = {
    "goal": [
        "{please}enter {value} in the {field} field and {send}{end}",
        "{please}fill in {field} with {value}{then} {send}{end}",
        "Put {value} into the {field} box and {send} the form{end}",
        "My {field} is {value}; {please}add it to the form and {send}{end}",
    ],
    "send": ["submit", "send", "save"],
}
ABSENT_FIELDS = (
    ("passport number", ("X1234567", "P0098765")), ("date of birth", ("1990-04-12", "12 May 1985")),
    ("middle name", ("Rose", "James")), ("fax number", ("555-0199", "555-0110")),
    ("tax ID", ("DE123456", "TX-4471")), ("student number", ("S-20931", "88412")),
)  # fmt: skip


def refuse_missing_field(rng: random.Random) -> Draft:
    """The goal asks to fill in a field the form does not have: say so, send nothing."""
    specs = rng.sample(w.TEXT_FIELDS, rng.randint(2, 4))
    field, pool = rng.choice(ABSENT_FIELDS)
    value = rng.choice(pool)
    ids = h.Ids()
    button = rng.choice(w.SUBMIT)
    parts = [h.text_field(rng, ids, lab, nm)[0] for lab, nm, _ in specs]
    title = rng.choice(("Your details", "Profile", "Contact form", "Application"))
    page = h.page(rng, title, h.form(rng, h.row(rng, [*parts, h.submit_button(rng, button)])))
    values = {"field": field, "value": quote(rng, value)}
    goal = fill(rng, "{goal}", {**BROWSER, **MISSING_FIELD}, values)
    message = rng.choice((
        f"The form has no {field} field, so I did not fill in or send anything.",
        f"I cannot do that: there is no {field} field on this page.",
    ))  # fmt: skip
    plan = Plan((finish(message, f"No field on the page asks for the {field}."),))

    def check(folder: Path, said: str) -> bool:
        return not sent(folder) and field in said and ("no " in said or "not" in said)

    return draft(rng, goal, {START: page}, plan, check)


TEMPLATES = (
    Template("browser.refuse_missing", FAMILY, refuse_missing),
    Template("browser.refuse_missing_field", FAMILY, refuse_missing_field),
)
