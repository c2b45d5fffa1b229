"""Names and contents for generated fixtures: file stems, folders, lines, facts.

Pools are plain tuples; every choice goes through the sample's ``random.Random``. Names
include spaces and nested folders on purpose (the model must copy them exactly), and
`decoys` makes look-alike names (another extension, a suffix, a plural) that a careless
action would hit instead.

Invariants: a generated name never contains ``/`` except as a folder separator, never
starts with a dot, and never contains ``..``; `distinct` never returns a name twice.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

STEMS = (
    "notes", "budget", "report", "todo", "invoice", "draft", "summary", "agenda",
    "meeting notes", "travel plan", "recipes", "ideas", "shopping list", "letter",
    "minutes", "contacts", "schedule", "readme", "changelog", "quotes", "tasks",
    "reading list", "expenses", "garden log", "birthday plans", "packing list",
)  # fmt: skip
EXTENSIONS = (".txt", ".txt", ".md", ".csv", ".log", ".json")
FOLDERS = (
    "archive", "reports", "old stuff", "projects", "docs", "backup", "inbox",
    "photos 2024", "work", "personal", "misc", "drafts", "shared", "to sort",
)  # fmt: skip
WORDS = (
    "apples", "blue", "paper", "river", "lamp", "tuesday", "window", "coffee", "seven",
    "north", "piano", "garden", "ticket", "orange", "cloud", "pencil", "bridge", "honey",
)  # fmt: skip
LINES = (
    "buy milk", "call the bank", "send the invoice", "water the plants", "book the room",
    "pay rent", "done", "renew the passport", "fix the bike", "reply to Sam",
    "check the oven", "print the tickets", "back up the laptop", "all good",
)  # fmt: skip
FACTS = (
    ("meeting room", ("B12", "C3", "the blue room", "4.07")),
    ("wifi password", ("tulip-42", "river99", "orange-cat-7")),
    ("deadline", ("March 3", "Friday", "the 14th of June")),
    ("total", ("1,240 euros", "87 dollars", "311")),
    ("owner", ("Priya", "Tomasz", "Ana Lopez", "Kenji")),
)


def file_name(rng: random.Random, ext: str | None = None) -> str:
    return rng.choice(STEMS) + (ext if ext is not None else rng.choice(EXTENSIONS))


def folder_path(rng: random.Random, depth: int | None = None) -> str:
    """A folder, sometimes nested (``docs/old stuff``)."""
    levels = depth if depth is not None else rng.choice((1, 1, 1, 2))
    parts: list[str] = []
    while len(parts) < levels:
        part = rng.choice(FOLDERS)
        if part not in parts:
            parts.append(part)
    return "/".join(parts)


def decoys(rng: random.Random, name: str, n: int) -> list[str]:
    """Up to `n` look-alikes of `name` (same folder), none equal to it."""
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = "." + ext if ext else ""
    options = [
        f"{stem} old{ext}",
        f"{stem}{ext}.bak",
        f"{stem} (copy){ext}",
        f"{stem}2{ext}",
        f"{stem}s{ext}",
        f"{stem}{rng.choice([e for e in EXTENSIONS if e != ext] or ['.txt'])}",
    ]
    rng.shuffle(options)
    prefix = f"{folder}/" if folder else ""
    return [prefix + o for o in options if o != base][:n]


def distinct(rng: random.Random, pool: Sequence[str], n: int) -> list[str]:
    """`n` different entries of `pool`."""
    return rng.sample(list(dict.fromkeys(pool)), n)


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def filler_text(rng: random.Random) -> str:
    """A few lines of plausible file text, ending in a newline."""
    return "\n".join(rng.choice(LINES) for _ in range(rng.randint(1, 3))) + "\n"
