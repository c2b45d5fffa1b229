"""The browser family, single-widget templates: buttons, links, text fields (labelled
and not), passwords, selects, checkboxes, radios and dialogs; the shared parts of every
browser template (phrases, checks of what the site received, gold helpers).

Each template writes its page (`agent.learn.browser_html`) with look-alike distractors,
words its goal from a phrase table, plans the gold on elements named as the observation
shows them (`agent.learn.browser_gold`), and checks the end state: what the page sent
back to the loopback site (`agent.learn.browser_site`) and the finish message.

Invariants: every choice comes from the ``Random`` passed in; a form sends exactly the
fields the check expects and nothing the model did not choose; the start page is
``index.html``. MiniWoB++ is the exam: no goal takes the shape of one of its utterances
("Click on the "X" button.", "Select X and click Submit."; a test checks).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from agent.learn import browser_html as h
from agent.learn import browser_words as w
from agent.learn import names
from agent.learn.browser_gold import Act, On, Plan
from agent.learn.browser_site import Request, requests_in
from agent.learn.phrases import fill
from agent.learn.sample import Check, Draft, Fixture, Template, finish

FAMILY = "browser"
START = "index.html"

#: Slots the browser templates share (they override the file family's distractors).
BROWSER = {
    "distractor": [
        "", "", "", ". Don't change anything else on the page.", ". Leave the rest as it is.",
        ". Nothing else needs doing.", ". Only that, please.",
    ],
    "click": ["click", "press", "hit", "push"],
    "then": [", then", " and then", " and", ". Then"],
}  # fmt: skip


def quote(rng: random.Random, text: str) -> str:
    mark = rng.choice(("'", '"', '"', ""))
    return f"{mark}{text}{mark}"


def sent(folder: Path) -> list[Request]:
    """The requests that carried fields (a submitted form), in order."""
    return [r for r in requests_in(folder) if r.fields]


def one_sent(expect: dict[str, list[str]], more: Callable[[str], bool] = bool) -> Check:
    """A check: exactly one form was sent, with exactly these fields (name → values in
    order; an empty list: the field was sent empty or not at all), and `more(message)`."""

    def check(folder: Path, message: str) -> bool:
        forms = sent(folder)
        if len(forms) != 1 or not message.strip() or not more(message):
            return False
        got: dict[str, list[str]] = {}
        for key, value in forms[0].fields:
            if value:
                got.setdefault(key, []).append(value)
        return got == {k: v for k, v in expect.items() if v}

    return check


def draft(rng: random.Random, goal: str, pages: dict[str, str], plan: Plan, check: Check) -> Draft:
    """The sample's draft; the workspace holds a few unrelated files (as a user's does), so
    the listing the model is first shown varies too. Drawn last: the page stays the same."""
    files = {
        names.file_name(rng): names.filler_text(rng) for _ in range(rng.choice((0, 0, 1, 2, 3)))
    }
    return Draft(goal, Fixture(files=files, pages=pages), plan, check, START)


def click(on: On, thought: str, *, confirm: bool = False) -> Act:
    return Act("browser.click", on, thought, {"confirm": confirm})


CLICK_BUTTON = {
    "goal": [
        "{please}{click} the {label} button{end}{distractor}",
        "{please}{click} {label}{end}",
        "Find the button {called} {label} and {click} it{end}",
        "I want to {click} {label} on this page{end}{distractor}",
        "{please}use the {label} button{end}",
        "{label}: {please}{click} that button{end}",
    ],
    "called": ["called", "named", "labelled", "that says"],
}


def click_button(rng: random.Random) -> Draft:
    group = rng.choice(w.LOOKALIKES)
    labels = w.distinct(rng, group, rng.randint(3, len(group)))
    target = rng.choice(labels)
    intro = f"<p>{h.esc(rng.choice(w.FOOTERS))}</p>" if rng.random() < 0.5 else ""
    buttons = " ".join(h.submit_button(rng, b, name="action") for b in labels)
    body = intro + h.form(rng, h.row(rng, [buttons]))
    title = rng.choice(("Your document", "Messages", "Settings", "Orders", "Photos", "Files"))
    goal = fill(rng, "{goal}", {**BROWSER, **CLICK_BUTTON}, {"label": quote(rng, target)})
    plan = Plan((
        click(On("button", target), f"Element {{n}} is the {target} button."),
        finish(f"Clicked {target}."),
    ))  # fmt: skip
    check = one_sent({"action": [target]})
    return draft(rng, goal, {START: h.page(rng, title, body)}, plan, check)


FOLLOW_LINK = {
    "goal": [
        "{please}open the {label} link{end}{distractor}",
        "{please}follow the link to {label}{end}",
        "{please}go to the {label} page{end}",
        "Take me to {label}{end}",
        "{please}{click} the {label} link{end}{distractor}",
        "Which page has {label}? Open it, please{end}",
    ],
}
TOPICS = (
    ("Opening hours", "Opening hours (old)", "Holiday hours", "Hours and prices"),
    ("Pricing", "Pricing FAQ", "Old pricing", "Price list archive"),
    ("Returns", "Return labels", "Returns policy 2019", "Refunds"),
    ("Team", "Team photos", "Join the team", "Past team"),
    ("Events", "Past events", "Event tickets", "Events calendar"),
    ("Recipes", "Recipe index", "Recipes for kids", "Saved recipes"),
    ("Timetable", "Winter timetable", "Timetable changes", "Bus timetable"),
    ("Membership", "Membership cards", "Cancel membership", "Membership fees"),
)  # fmt: skip


def follow_link(rng: random.Random) -> Draft:
    group = rng.choice(TOPICS)
    labels = w.distinct(rng, group, rng.randint(3, len(group)))
    target = rng.choice(labels)
    slug = {label: "".join(c if c.isalnum() else "-" for c in label.lower()) for label in labels}
    items = [f'<a href="{slug[label]}.html">{h.esc(label)}</a>' for label in labels]
    if rng.random() < 0.5:
        links = "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
    else:
        links = h.row(rng, items)
    pages = {START: h.page(rng, rng.choice(w.SITES), links)}
    for label in labels:
        text = f"<p>This page is about {h.esc(label.lower())}.</p>"
        pages[f"{slug[label]}.html"] = h.page(rng, label, text)
    goal = fill(rng, "{goal}", {**BROWSER, **FOLLOW_LINK}, {"label": quote(rng, target)})
    plan = Plan((
        click(On("link", target), f"Element {{n}} is the link to {target}."),
        finish(f"Opened the {target} page."),
    ))  # fmt: skip
    want = f"/{slug[target]}.html"

    def check(folder: Path, message: str) -> bool:
        paths = [r.path for r in requests_in(folder)]
        return paths[1:] == [want] and target in message

    return draft(rng, goal, pages, plan, check)


def type_into(on: On, text: str, thought: str, *, submit: bool = False) -> Act:
    return Act("browser.type", on, thought, {"text": text, "submit": submit})


FILL_FIELD = {
    "goal": [
        "{please}type {value} into the {field} field and {send} the form{end}",
        "{please}enter {value} as the {field}{then} {send} it{end}{distractor}",
        "Put {value} in the {field} box{then} {send}{end}",
        "{please}fill in {field} with {value} and {send}{end}",
        "The {field} should be {value}; {please}fill it in and {send}{end}",
        "{please}{send} the form with {field} set to {value}{end}",
    ],
    "send": ["submit", "send", "save"],
}


def fill_field(rng: random.Random) -> Draft:
    """One text field of a few (labelled or not) filled in, then the form sent."""
    specs = rng.sample(w.TEXT_FIELDS, rng.randint(2, 4))
    target = rng.randrange(len(specs))
    label, name, pool = specs[target]
    value = rng.choice(pool)
    ids = h.Ids()
    fields = [h.text_field(rng, ids, lab, nm) for lab, nm, _ in specs]
    button = rng.choice(w.SUBMIT)
    parts = [html for html, _ in fields] + [h.submit_button(rng, button)]
    title = rng.choice(("Your details", "Profile", "Sign up", "Contact form", "Edit entry"))
    page = h.page(rng, title, h.form(rng, h.row(rng, parts)))
    shown = fields[target][1]
    values = {"field": label.lower(), "value": quote(rng, value)}
    goal = fill(rng, "{goal}", {**BROWSER, **FILL_FIELD}, values)
    enter = rng.random() < 0.3
    acts: list[Act] = [
        type_into(On("textbox", shown), value, f"Element {{n}} is the {label} field.", submit=enter)
    ]
    if not enter:
        acts.append(click(On("button", button), f"Element {{n}} is the {button} button."))
    plan = Plan((*acts, finish(f"Sent the form with {label} set to {value}.")))
    return draft(rng, goal, {START: page}, plan, one_sent({name: [value]}))


LOGIN = {
    "goal": [
        "{please}log in as {user} with the password {pw}{end}",
        "Sign in: username {user}, password {pw}{end}",
        "{please}sign in with user name {user} and password {pw}{end}{distractor}",
        "Use {user} / {pw} to log in{end}",
        "My login is {user} and my password is {pw}. Please log me in{end}",
    ],
}


def login(rng: random.Random) -> Draft:
    user, pw = w.username(rng), w.password(rng)
    ids = h.Ids()
    user_label = rng.choice(("Username", "User name", "Login", "Email or username"))
    pw_label = rng.choice(("Password", "Your password", "Passphrase"))
    style = rng.choice(h.LABEL_STYLES)
    user_html, user_shown = h.text_field(rng, ids, user_label, "user", style=style)
    pw_html, pw_shown = h.text_field(rng, ids, pw_label, "password", kind="password", style=style)
    button = rng.choice(("Log in", "Sign in", "Enter", "Continue"))
    decoy = rng.choice(("Forgot password?", "Create account", "Help"))
    parts = [user_html, pw_html, h.submit_button(rng, button), f'<a href="#help">{decoy}</a>']
    page = h.page(rng, rng.choice(w.SITES), h.form(rng, h.row(rng, parts)))
    values = {"user": quote(rng, user), "pw": quote(rng, pw)}
    goal = fill(rng, "{goal}", {**BROWSER, **LOGIN}, values)
    plan = Plan((
        type_into(On("textbox", user_shown), user, f"Element {{n}} is the {user_label} field."),
        type_into(On("textbox", pw_shown), pw, f"Element {{n}} is the {pw_label} field."),
        click(On("button", button), f"Element {{n}} is the {button} button."),
        finish(f"Logged in as {user}."),
    ))  # fmt: skip
    return draft(rng, goal, {START: page}, plan, one_sent({"user": [user], "password": [pw]}))


SELECT = {
    "goal": [
        "{please}choose {option} as the {field}{then} {send}{end}",
        "{please}set {field} to {option} and {send}{end}{distractor}",
        "Pick {option} for {field}, then {send}{end}",
        "I'd like {option} as my {field}. Select it and {send}{end}",
        "{please}change the {field} to {option}, then {send}{end}",
    ],
    "send": ["submit", "save", "send the form", "confirm"],
}


def select_option(rng: random.Random) -> Draft:
    label, name, options = rng.choice(w.CHOICES)
    shown_options = w.distinct(rng, options, rng.randint(3, len(options)))
    option = rng.choice(shown_options[1:])  # never the preselected first one
    ids = h.Ids()
    select_html, shown = h.select_field(rng, ids, label, name, shown_options)
    other_label, other_name, other_pool = rng.choice(w.TEXT_FIELDS)
    other_html, _ = h.text_field(rng, ids, other_label, other_name)
    button = rng.choice(w.SUBMIT)
    parts = [other_html, select_html] if rng.random() < 0.5 else [select_html, other_html]
    page = h.page(
        rng,
        rng.choice(("Preferences", "Order", "Options", "Booking")),
        h.form(rng, h.row(rng, [*parts, h.submit_button(rng, button)])),
    )
    values = {"field": label.lower(), "option": quote(rng, option)}
    goal = fill(rng, "{goal}", {**BROWSER, **SELECT}, values)
    plan = Plan((
        Act("browser.select", On("combobox", shown), f"Element {{n}} is the {label} list.",
            {"option": option}),
        click(On("button", button), f"Element {{n}} is the {button} button."),
        finish(f"Chose {option} as the {label.lower()}."),
    ))  # fmt: skip
    return draft(rng, goal, {START: page}, plan, one_sent({name: [option]}))


def tick(on: On, checked: bool, label: str) -> Act:
    verb = "check" if checked else "uncheck"
    return Act("browser.check", on, f"Element {{n}} is {label}; {verb} it.", {"checked": checked})


CHECKBOXES = {
    "goal": [
        "{please}tick {items}{then} {send}{end}{distractor}",
        "Check the boxes for {items}, then {send}{end}",
        "I want {items}. Tick them and {send}{end}",
        "{please}make sure {items} {are} checked and nothing else{then} {send}{end}",
    ],
    "send": ["submit", "save", "press {button}", "click {button}"],
    "are": ["are", "are all"],
}


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def checkboxes(rng: random.Random) -> Draft:
    """Some boxes of a group ticked (some already are, and one of those must go)."""
    group, name, pool = rng.choice(w.TICKS)
    items = w.distinct(rng, pool, rng.randint(3, len(pool)))
    wanted = sorted(rng.sample(items, rng.randint(1, min(3, len(items) - 1))), key=items.index)
    pre = {i for i in items if rng.random() < 0.3}
    ids = h.Ids()
    boxes = [h.check_box(rng, ids, i, name, i, checked=i in pre) for i in items]
    button = rng.choice(w.SUBMIT)
    legend = f"<fieldset><legend>{h.esc(group)}</legend>"
    inner = (
        legend + h.row(rng, [b for b, _ in boxes]) + "</fieldset>" + h.submit_button(rng, button)
    )
    page = h.page(
        rng, rng.choice(("Preferences", "Your order", "Settings", "Sign up")), h.form(rng, inner)
    )
    table = {**BROWSER, **CHECKBOXES}
    goal = fill(rng, "{goal}", table, {"items": _listed(wanted), "button": quote(rng, button)})
    acts: list[Act] = []
    for item, (_, shown) in zip(items, boxes, strict=True):
        if (item in wanted) != (item in pre):
            acts.append(tick(On("checkbox", shown), item in wanted, item))
    acts.append(click(On("button", button), f"Element {{n}} is the {button} button."))
    plan = Plan((*acts, finish(f"Checked {_listed(wanted)} and sent the form.")))
    return draft(rng, goal, {START: page}, plan, one_sent({name: wanted}))


RADIO = {
    "goal": [
        "{please}choose {option} for {field} and {send}{end}",
        "{please}pick the {option} option{then} {send}{end}{distractor}",
        "Set {field} to {option} and {send}{end}",
        "For {field}, select {option}, then {send}{end}",
        "I prefer {option}. Mark it and {send}{end}",
    ],
    "send": ["submit", "save", "continue", "send it"],
}


def radio(rng: random.Random) -> Draft:
    label, name, options = rng.choice(w.CHOICES)
    shown_options = w.distinct(rng, options, rng.randint(3, len(options)))
    option = rng.choice(shown_options)
    ids = h.Ids()
    buttons = [h.check_box(rng, ids, o, name, o, kind="radio") for o in shown_options]
    button = rng.choice(w.SUBMIT)
    inner = f"<p>{h.esc(label)}</p>" + h.row(rng, [b for b, _ in buttons])
    page = h.page(
        rng,
        rng.choice(("Checkout", "Booking", "Survey", "Your plan")),
        h.form(rng, inner + h.submit_button(rng, button)),
    )
    values = {"field": label.lower(), "option": quote(rng, option)}
    goal = fill(rng, "{goal}", {**BROWSER, **RADIO}, values)
    plan = Plan((
        tick(On("radio", option), True, f"the {option} option"),
        click(On("button", button), f"Element {{n}} is the {button} button."),
        finish(f"Chose {option} for {label.lower()}."),
    ))  # fmt: skip
    return draft(rng, goal, {START: page}, plan, one_sent({name: [option]}))


DIALOG = {
    "confirm": [
        "{please}{click} {label} and confirm when it asks{end}",
        "{please}{click} {label}; answer OK to the question{end}{distractor}",
        "{please}{click} {label}. Yes, I'm sure{end}",
        "{please}{click} {label} and accept the confirmation{end}",
    ],
    "alert": [
        "{please}{click} {label}{end}{distractor}",
        "{please}{click} the {label} button and dismiss the message{end}",
        "Hit {label}; close the pop-up if one shows{end}",
    ],
}


def dialog(rng: random.Random) -> Draft:
    """A button that asks to confirm (or shows an alert) before its form is sent."""
    group = rng.choice(w.LOOKALIKES)
    labels = w.distinct(rng, group, 3)
    target = labels[0]
    confirm = rng.random() < 0.6
    ask = rng.choice(("Are you sure?", "Really do this?", "This cannot be undone. Go on?"))
    buttons = []
    for n, label in enumerate(labels):
        js = f"confirm({ask!r})" if confirm and n == 0 else f"(alert('Done: ' + {label!r}), true)"
        buttons.append(
            f'<button type="button" onclick="if ({h.esc(js)}) {{ this.form.elements.action.value = '
            f'{h.esc(repr(label))}; this.form.submit(); }}">{h.esc(label)}</button>'
        )
    rng.shuffle(buttons)
    inner = '<input type="hidden" name="action" value="">' + h.row(rng, [" ".join(buttons)])
    page = h.page(rng, rng.choice(("Item 42", "Draft", "Account", "Queue")), h.form(rng, inner))
    pattern = "{confirm}" if confirm else "{alert}"
    goal = fill(rng, pattern, {**BROWSER, **DIALOG}, {"label": quote(rng, target)})
    said = " and confirmed" if confirm else ""
    plan = Plan((
        click(On("button", target), f"Element {{n}} is the {target} button.", confirm=confirm),
        finish(f"Clicked {target}{said}."),
    ))  # fmt: skip
    return draft(rng, goal, {START: page}, plan, one_sent({"action": [target]}))


TEMPLATES = (
    Template("browser.click_button", FAMILY, click_button),
    Template("browser.follow_link", FAMILY, follow_link),
    Template("browser.fill_field", FAMILY, fill_field),
    Template("browser.login", FAMILY, login),
    Template("browser.select_option", FAMILY, select_option),
    Template("browser.checkboxes", FAMILY, checkboxes),
    Template("browser.radio", FAMILY, radio),
    Template("browser.dialog", FAMILY, dialog),
)
