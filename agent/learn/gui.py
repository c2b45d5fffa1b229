"""The GUI family: windows the generator opens on an X display (Xvfb), and tasks on them:
click a button, type into a field, press a key or shortcut, focus one window of several,
and refuse a goal the window cannot meet (a button it does not have).

A GUI sample is a `GuiSample`: a `Sample` that also names its windows (specs that
`agent.learn.gui_app` draws). Its gold is a `Reach`: fixed steps and `Aim`s, actions on
an element named by its text, numbered from the newest screen reading in the messages,
as the model must (`gui.observe` shows ``[7] "Save" at (x, y)``). The end state is what
the windows report after the run (`agent.learn.gui_stage`): buttons clicked, fields
submitted, keys pressed, which window holds the keyboard.

Invariants: every choice comes from the ``Random`` passed in; window titles of a sample
are distinct and none contains another; labels are plain words OCR reads back as
written; a gold that cannot find its element in the reading raises `GoldExhausted`
(never a training example).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.learn import browser_words as w
from agent.learn.gui_stage import WindowSpec, states_in
from agent.learn.phrases import fill
from agent.learn.sample import Check, Fixture, GoldExhausted, Sample, Step, finish
from models.base import Message

FAMILY = "gui"
_ELEMENT = re.compile(r'^\[(\d+)\] "(.*)" at \(', re.MULTILINE)
_READING = "; x,y are in this image."
_ONCE = {"button": "left", "count": 1}


@dataclass(frozen=True, slots=True)
class GuiSample(Sample):
    """A sample whose fixture includes windows: the first one starts focused."""

    windows: tuple[WindowSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Aim:
    """A gold action on the element whose text is `text`; ``{n}`` in `thought` and in a
    string argument becomes its number."""

    tool: str
    text: str
    thought: str
    args: Mapping[str, Any] = field(default_factory=dict)
    arg: str = "target"


def newest_reading(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if message.role == "user" and _READING in message.content:
            return message.content
    return ""


def element_number(reading: str, text: str) -> int | None:
    for match in _ELEMENT.finditer(reading):
        if match.group(2).strip().lower() == text.lower():
            return int(match.group(1))
    return None


@dataclass(frozen=True, slots=True)
class Reach:
    """A GUI gold: one action per model step, `Aim`s resolved against the screen."""

    acts: tuple[Step | Aim, ...]

    def next_step(self, messages: Sequence[Message], index: int) -> Step:
        if index >= len(self.acts):
            raise GoldExhausted(f"gold has {len(self.acts)} steps, step {index + 1} asked")
        act = self.acts[index]
        if isinstance(act, Step):
            return act
        number = element_number(newest_reading(messages), act.text)
        if number is None:
            raise GoldExhausted(f"no element {act.text!r} in the newest reading")
        args = {**act.args, act.arg: str(number)}
        return Step(act.tool, args, act.thought.format(n=number))


# -- windows ---------------------------------------------------------------------------

APPS = (
    ("Notes", "Notepad"), ("Invoices", "Ledger"), ("Settings", "Control"),
    ("Timer", "Clock"), ("Mail", "Mailer"), ("Calendar", "Planner"),
    ("Tasks", "Todo"), ("Photos", "Viewer"), ("Music", "Player"), ("Contacts", "People"),
)  # fmt: skip
SUFFIXES = ("", "", " - draft", " - home", " 2", " - work")
BUTTONS = (
    ("Save", "Save as", "Save all", "Save copy"),
    ("Send", "Send later", "Resend", "Send test"),
    ("Print", "Print preview", "Print page"),
    ("Delete", "Delete all", "Undo delete"),
    ("Start", "Restart", "Start timer", "Stop"),
    ("Import", "Export", "Import later"),
    ("Open", "Open recent", "Reopen"),
)
FIELDS = (
    ("Name", "name", ("Ada Lovelace", "Sam Ortiz", "Mia Chen", "Tom Berg")),
    ("City", "city", ("Lisbon", "Oslo", "Nairobi", "Porto", "Kyoto")),
    ("Phone", "phone", ("555 0142", "020 7946 0018", "31 6 1234")),
    ("Company", "company", ("Acme", "Northwind", "Blue River")),
    ("Title", "title", ("Weekly report", "Budget plan", "Trip notes")),
    ("Code", "code", ("A17", "K42 B", "ZX 9")),
)
#: (chord, what the window says it does) for the key template.
SHORTCUTS = (
    ("ctrl+s", "saves the draft"), ("ctrl+n", "starts a new page"),
    ("ctrl+p", "prints the page"), ("esc", "closes the panel"), ("f5", "reloads the list"),
    ("f2", "renames the item"), ("ctrl+z", "undoes the last change"),
)  # fmt: skip
_SHOWN = {"ctrl+s": "Ctrl+S", "ctrl+n": "Ctrl+N", "ctrl+p": "Ctrl+P", "ctrl+z": "Ctrl+Z",
          "esc": "Esc", "f5": "F5", "f2": "F2"}  # fmt: skip


def titles(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """`n` (title, app class) pairs with distinct titles, none a part of another."""
    apps = rng.sample(APPS, n)
    return [(title + rng.choice(SUFFIXES), app) for title, app in apps]


def window(title: str, app: str, slot: int, **parts: Any) -> dict[str, Any]:
    geometry = f"460x330+{40 + 420 * (slot % 2)}+{30 + 380 * (slot // 2)}"
    return {"title": title, "app": app, "geometry": geometry, **parts}


def gui_check(test: Callable[[dict[str, dict[str, Any]], str], bool]) -> Check:
    """A check on the windows' states (title → state) and the finish message."""

    def check(folder: Path, message: str) -> bool:
        states = states_in(folder)
        return bool(states) and bool(message.strip()) and test(states, message)

    return check


def quiet(states: Mapping[str, Mapping[str, Any]], but: str = "") -> bool:
    """No window except `but` was clicked, submitted or sent keys."""
    return all(
        not (s["clicked"] or s["submitted"] or s["keys"]) for t, s in states.items() if t != but
    )


def observe(title: str) -> Step:
    return Step("gui.observe", {"window": title}, f"Read the {title} window.")


def sample(template: str, seed: int, goal: str, windows: list[dict[str, Any]],
           gold: Reach, check: Check) -> GuiSample:  # fmt: skip
    return GuiSample(template, FAMILY, seed, goal, Fixture(), gold, check, None, tuple(windows))


GUI = {
    "please": ["", "", "please ", "could you ", "can you "],
    "click": ["click", "press", "hit", "click on"],
    "in": ["in the {title} window", "in {title}", "on the {title} window"],
    "distractor": ["", "", "", ". Leave the other windows alone.", ". Only that, please."],
}
CLICK = {
    "goal": [
        "{please}{click} the {label} button {in}{end}{distractor}",
        "{in}, {please}{click} {label}{end}",
        "Find the {label} button {in} and {click} it{end}",
        "{please}use the {label} button {in}{end}",
    ],
}


def click_button(rng: random.Random, seed: int) -> GuiSample:
    (title, app), (other, other_app) = titles(rng, 2)
    labels = w.distinct(rng, rng.choice(BUTTONS), 3)
    target = rng.choice(labels)
    decoys = w.distinct(rng, rng.choice(BUTTONS), 2)
    windows = [window(title, app, 0, buttons=labels), window(other, other_app, 1, buttons=decoys)]
    rng.shuffle(windows)
    goal = fill(rng, "{goal}", {**GUI, **CLICK}, {"label": target, "title": title})
    gold = Reach((
        observe(title),
        Aim("gui.click", target, f"Element {{n}} is the {target} button.",
            _ONCE),
        finish(f"Clicked {target} in {title}."),
    ))  # fmt: skip

    def test(states: dict[str, dict[str, Any]], message: str) -> bool:
        return states[title]["clicked"] == [target] and quiet(states, title)

    return sample("gui.click_button", seed, goal, windows, gold, gui_check(test))


TYPE = {
    "goal": [
        "{please}type {value} into the {field} field {in} and {send}{end}",
        "{in}, {please}enter {value} as the {field}, then {send}{end}{distractor}",
        "{please}fill in {field} with {value} {in} and {send}{end}",
        "The {field} field {in} should be {value}; {please}type it and {send}{end}",
    ],
    "send": ["{submit}", "{submit}", "save"],
}


def type_field(rng: random.Random, seed: int) -> GuiSample:
    (title, app), (other, other_app) = titles(rng, 2)
    specs = rng.sample(FIELDS, rng.randint(2, 3))
    label, name, pool = rng.choice(specs)
    value = rng.choice(pool)
    enter = rng.random() < 0.5
    submit = "press Enter" if enter else "click Save"
    fields = [[lab, nm] for lab, nm, _ in specs]
    parts = {"fields": fields, "buttons": ["Save"], "submit": "Save"}
    windows = [window(title, app, 0, **parts), window(other, other_app, 1, buttons=["Save"])]
    values = {"field": label, "value": f"'{value}'", "title": title, "submit": submit}
    goal = fill(rng, "{goal}", {**GUI, **TYPE}, values)
    last: Step | Aim = (
        Step("gui.key", {"keys": "enter"}, "Enter sends the form.")
        if enter
        else Aim("gui.click", "Save", "Element {n} is the Save button.", _ONCE)
    )
    gold = Reach((
        observe(title),
        Aim("gui.type", label, f"Element {{n}} is the {label} label; type into its field.",
            {"text": value}),
        last,
        finish(f"Typed {value} as the {label} and saved."),
    ))  # fmt: skip
    want = {nm: (value if nm == name else "") for _, nm, _ in specs}

    def test(states: dict[str, dict[str, Any]], message: str) -> bool:
        return states[title]["submitted"] == [want] and quiet(states, title)

    return sample("gui.type_field", seed, goal, windows, gold, gui_check(test))


KEY = {
    "by_chord": [
        "{please}press {chord} {in}{end}{distractor}",
        "{in}, {please}press {chord}{end}",
        "Use the shortcut {chord} {in}{end}",
        "{please}hit {chord} while {title} is in front{end}",
    ],
    "by_effect": [
        "{in}, use the keyboard shortcut that {effect}{end}",
        "{please}press the key that {effect} {in}{end}{distractor}",
        "The {title} window lists its shortcuts; {please}use the one that {effect}{end}",
    ],
}


def press_key(rng: random.Random, seed: int) -> GuiSample:
    (title, app), (other, other_app) = titles(rng, 2)
    shortcuts = rng.sample(SHORTCUTS, 3)
    chord, effect = rng.choice(shortcuts)
    lines = [f"{_SHOWN[c]} {what}" for c, what in shortcuts]
    chords = [c for c, _ in shortcuts]
    windows = [window(other, other_app, 1, lines=["Nothing to do here"], keys=chords),
               window(title, app, 0, lines=lines, keys=chords)]  # fmt: skip
    by_effect = rng.random() < 0.4
    values = {"chord": _SHOWN[chord], "effect": effect, "title": title}
    goal = fill(rng, "{by_effect}" if by_effect else "{by_chord}", {**GUI, **KEY}, values)
    focus = Step("gui.focus_window", {"window": title}, f"Bring {title} to the front first.")
    read = (observe(title),) if by_effect else ()
    gold = Reach((
        focus, *read, Step("gui.key", {"keys": chord}, f"{_SHOWN[chord]} {effect}."),
        finish(f"Pressed {_SHOWN[chord]} in {title}."),
    ))  # fmt: skip

    def test(states: dict[str, dict[str, Any]], message: str) -> bool:
        return states[title]["keys"] == [chord] and quiet(states, title)

    return sample("gui.press_key", seed, goal, windows, gold, gui_check(test))


FOCUS = {
    "goal": [
        "{please}switch to the {title} window{end}{distractor}",
        "{please}bring {title} to the front{end}",
        "I want to work in {title}; {please}focus that window{end}",
        "{please}give the {title} window the keyboard{end}",
        "Which window is {title}? {please}make it the active one{end}",
    ],
}


def focus_window(rng: random.Random, seed: int) -> GuiSample:
    named = titles(rng, rng.randint(2, 3))
    target = rng.randrange(1, len(named))  # never the window focused at the start
    windows = [window(t, a, i, lines=[t]) for i, (t, a) in enumerate(named)]
    title = named[target][0]
    goal = fill(rng, "{goal}", {**GUI, **FOCUS}, {"title": title})
    gold = Reach((
        Step("gui.list_windows", {}, "See which windows are open."),
        Step("gui.focus_window", {"window": title}, f"Focus {title}."),
        finish(f"{title} is in front now."),
    ))  # fmt: skip

    def test(states: dict[str, dict[str, Any]], message: str) -> bool:
        focused = [t for t, s in states.items() if s["focused"]]
        return focused == [title] and quiet(states)

    return sample("gui.focus_window", seed, goal, windows, gold, gui_check(test))


MISSING = {
    "goal": [
        "{please}{click} the {label} button {in}{end}",
        "{in}, {please}{click} {label}{end}{distractor}",
        "Find {label} {in} and {click} it{end}",
    ],
}


def refuse_missing(rng: random.Random, seed: int) -> GuiSample:
    """The goal names a button the window does not have: look, then say so."""
    (title, app), (other, other_app) = titles(rng, 2)
    group = rng.choice(BUTTONS)
    labels = w.distinct(rng, group, 3)
    words = {part for label in labels for part in label.lower().split()}
    absent = rng.choice([
        b for g in BUTTONS if g is not group for b in g if not set(b.lower().split()) & words
    ])  # fmt: skip
    windows = [window(title, app, 0, buttons=labels), window(other, other_app, 1, lines=[other])]
    goal = fill(rng, "{goal}", {**GUI, **MISSING}, {"label": absent, "title": title})
    message = rng.choice((
        f"There is no {absent} button in {title}, so I did not click anything.",
        f"I cannot do that: {title} has no {absent} button.",
    ))  # fmt: skip
    gold = Reach((observe(title), finish(message, f"{title} shows no {absent}; I cannot do it.")))

    def test(states: dict[str, dict[str, Any]], said: str) -> bool:
        return quiet(states) and absent in said and ("no " in said or "not" in said)

    return sample("gui.refuse_missing", seed, goal, windows, gold, gui_check(test))


@dataclass(frozen=True, slots=True)
class GuiTemplate:
    """A `Generator` of GUI samples (they carry windows, so they are built whole)."""

    template: str
    family: str
    build: Callable[[random.Random, int], GuiSample]

    def make(self, rng: random.Random, seed: int) -> Sample:
        return self.build(rng, seed)


TEMPLATES = (
    GuiTemplate("gui.click_button", FAMILY, click_button),
    GuiTemplate("gui.type_field", FAMILY, type_field),
    GuiTemplate("gui.press_key", FAMILY, press_key),
    GuiTemplate("gui.focus_window", FAMILY, focus_window),
    GuiTemplate("gui.refuse_missing", FAMILY, refuse_missing),
)
