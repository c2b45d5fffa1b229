"""Words for the browser family's pages and goals: people, places, products, button
labels with look-alikes, form fields and their values.

Pools are plain tuples; every choice goes through the sample's ``random.Random``.
`LOOKALIKES` groups labels that differ by a word ("Save", "Save draft", "Save all"),
the distractors a careless click would hit.

Invariants: no entry is empty; labels hold no quotes (they are quoted in goals).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

SITES = (
    "Larkspur Books", "Tidewater Bank", "Quillon Travel", "Northgate Library",
    "Maple & Oak", "Brightside Clinic", "Copperline Tools", "Harbor Cafe",
    "Fenwick Council", "Orbit Cloud", "Pebble Post", "Juniper Gym",
)  # fmt: skip
MENU = ("Home", "About", "Help", "Contact", "News", "Account", "Blog", "Support", "Shop")
RELATED = (
    "Privacy", "Gift cards", "Careers", "Press", "Accessibility", "Store finder",
    "Delivery info", "Size guide", "Newsletter", "Sitemap", "Student discount", "Returns help",
)  # fmt: skip
FOOTERS = (
    "All rights reserved.", "Questions? Write to us.", "Open Monday to Friday.",
    "Terms apply.", "Made with care.", "Last updated this week.",
)  # fmt: skip
FIRST = (
    "Ada", "Bruno", "Chen", "Dalia", "Emeka", "Freya", "Gustavo", "Hana", "Ivan",
    "Jonas", "Keiko", "Lars", "Mina", "Nadia", "Omar", "Paula", "Rafael", "Sofia",
    "Tariq", "Uma", "Viktor", "Wen", "Yara", "Zoe",
)  # fmt: skip
LAST = (
    "Okafor", "Lindqvist", "Moreau", "Tanaka", "Novak", "Silva", "Haddad", "Kowalski",
    "Brennan", "Ortiz", "Petrov", "Nguyen", "Fischer", "Rossi", "Adeyemi", "Sato",
)  # fmt: skip
CITIES = (
    "Lisbon", "Oslo", "Nairobi", "Lima", "Kyoto", "Porto", "Denver", "Krakow", "Hobart",
    "Tunis", "Quebec", "Galway", "Bergen", "Seville", "Tartu", "Cusco",
)  # fmt: skip
WORDS = (
    "amber", "birch", "cobalt", "delta", "ember", "fjord", "glade", "harbor", "indigo",
    "juniper", "kestrel", "lumen", "meadow", "nectar", "onyx", "pepper", "quartz",
    "rowan", "saffron", "tundra", "umber", "velvet", "willow", "zephyr",
)  # fmt: skip
LOOKALIKES = (
    ("Save", "Save draft", "Save all", "Save as copy"),
    ("Delete", "Delete all", "Undo delete", "Delete draft"),
    ("Next", "Next page", "Skip", "Previous"),
    ("Send", "Send later", "Resend", "Send copy"),
    ("Export", "Export CSV", "Import", "Export all"),
    ("Archive", "Unarchive", "Archive all", "View archive"),
    ("Accept", "Accept all", "Decline", "Accept selected"),
    ("Print", "Print preview", "Print all", "Print label"),
    ("Share", "Share link", "Stop sharing", "Share all"),
    ("Refresh", "Refresh list", "Reset", "Refresh all"),
    ("Open", "Open in editor", "Open copy", "Reopen"),
    ("Publish", "Unpublish", "Publish later", "Preview"),
)  # fmt: skip
SUBMIT = ("Submit", "Send", "Save", "Continue", "Done", "Apply", "Confirm", "Update", "OK")
#: (label, name, value pool) of short text fields.
TEXT_FIELDS = (
    ("First name", "first_name", FIRST),
    ("Last name", "last_name", LAST),
    ("City", "city", CITIES),
    ("Nickname", "nickname", WORDS),
    ("Code word", "code_word", WORDS),
    ("Company", "company", ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay")),
    ("Phone", "phone", ("555-0101", "555-0178", "555-0144", "555-0190", "555-0123")),
    ("Zip code", "zip", ("10115", "75001", "94107", "2000", "1010", "08001")),
    ("Team", "team", ("Falcons", "Otters", "Comets", "Lynx", "Herons", "Badgers")),
    ("Color", "color", ("teal", "crimson", "olive", "navy", "mustard", "lilac")),
)  # fmt: skip
#: (label, name, options) of choice fields (selects, radio groups).
CHOICES = (
    ("Size", "size", ("Small", "Medium", "Large", "Extra large")),
    ("Country", "country", ("Portugal", "Norway", "Kenya", "Peru", "Japan", "Canada")),
    ("Delivery", "delivery", ("Standard", "Express", "Next day", "Pick up in store")),
    ("Plan", "plan", ("Free", "Basic", "Pro", "Team")),
    ("Language", "language", ("English", "Spanish", "German", "Swahili", "Hindi")),
    ("Payment", "payment", ("Card", "Bank transfer", "Cash", "Voucher")),
    ("Seat", "seat", ("Window", "Aisle", "Middle", "No preference")),
    ("Frequency", "frequency", ("Daily", "Weekly", "Monthly", "Never")),
)  # fmt: skip
#: (group label, name, items) of checkbox groups.
TICKS = (
    ("Toppings", "topping", ("Cheese", "Olives", "Mushrooms", "Peppers", "Onions", "Basil")),
    ("Topics", "topic", ("Sports", "Science", "Music", "Travel", "Cooking", "Films")),
    ("Alerts", "alert", ("Email alerts", "Text alerts", "Weekly digest", "Price drops")),
    ("Extras", "extra", ("Breakfast", "Parking", "Late checkout", "Airport shuttle")),
    ("Days", "day", ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")),
)  # fmt: skip
PRODUCTS = (
    "desk lamp", "kettle", "backpack", "umbrella", "notebook", "headphones", "teapot",
    "blender", "yoga mat", "water bottle", "phone case", "wall clock", "scarf", "toaster",
)  # fmt: skip


def distinct(rng: random.Random, pool: Sequence[str], n: int) -> list[str]:
    """`n` different entries of `pool`, in random order."""
    return rng.sample(list(dict.fromkeys(pool)), n)


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def username(rng: random.Random) -> str:
    return f"{rng.choice(FIRST).lower()}{rng.choice(('', '.', '_'))}{rng.choice(WORDS)}"


def password(rng: random.Random) -> str:
    return f"{rng.choice(WORDS)}-{rng.randint(10, 99)}{rng.choice('!#%+')}{rng.choice(WORDS)}"
