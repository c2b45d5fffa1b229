"""The file family, single-action templates: make, write, append, read-then-answer,
copy, move, rename, delete.

Each template drafts a fixture (with look-alike decoys), a goal worded from its phrase
table, the gold actions, and an end-state check that also proves the decoys untouched.

Invariants: every choice comes from the ``Random`` passed in; a goal never starts with a
file name (`phrases.tidy` capitalises the first letter); gold paths are exactly the
fixture's paths, spaces included.
"""

from __future__ import annotations

import random
from pathlib import Path

from agent.learn import endstate as es
from agent.learn import names
from agent.learn.phrases import fill
from agent.learn.sample import Check, Draft, Fixture, Script, Step, Template, finish

FAMILY = "files"


def quoted(rng: random.Random, name: str) -> str:
    """A name as people write it in a request: bare, or in quotes (always, with spaces)."""
    marks = ("'", '"', "`") if " " in name else ("", "", "'", '"')
    mark = rng.choice(marks)
    return f"{mark}{name}{mark}"


def _base_files(rng: random.Random, avoid: set[str], n: int) -> dict[str, str]:
    """`n` unrelated top-level files, none named in `avoid`."""
    out: dict[str, str] = {}
    while len(out) < n:
        name = names.file_name(rng)
        if name not in avoid:
            out[name] = names.filler_text(rng)
    return out


MAKE_FOLDER = {
    "goal": [
        "{please}{make} a {folder} {called} {name}{end}{distractor}",
        "{please}{make} a new {folder}: {name}{end}",
        "I need a {folder} {called} {name}{end}{distractor}",
        "{please}{make} the {folder} {name} in the workspace{end}",
    ],
    "make": ["create", "make", "add", "set up"],
    "called": ["named", "called", ""],
}


def make_folder(rng: random.Random) -> Draft:
    path = names.folder_path(rng)
    files = _base_files(rng, set(), rng.randint(0, 3))
    goal = fill(rng, "{goal}", MAKE_FOLDER, {"name": quoted(rng, path)})
    steps = (
        Step("files.make_folder", {"path": path}, f"Create the folder {path}."),
        finish(f"Created the folder {path}."),
    )

    def check(ws: Path, message: str) -> bool:
        return (ws / path).is_dir() and es.unchanged(ws, files)

    return Draft(goal, Fixture(files), Script(steps), check)


WRITE = {
    "goal": [
        "{please}{make} a {file} {name} that says {content}{end}",
        "{please}write {content} into a new {file} called {name}{end}{distractor}",
        "{please}{make} {name} containing the text {content}{end}",
        "{please}put the words {content} in a {file} named {name}{end}",
        "I need a {file} {name} with {content} in it{end}{distractor}",
    ],
    "make": ["create", "make", "write"],
}


def write_file(rng: random.Random) -> Draft:
    folder = rng.choice(["", "", names.folder_path(rng, 1)])
    name = (f"{folder}/" if folder else "") + names.file_name(rng, rng.choice([".txt", ".md"]))
    content = rng.choice([rng.choice(names.LINES), names.words(rng, rng.randint(2, 4))])
    files = _base_files(rng, {name}, rng.randint(0, 3))
    goal = fill(rng, "{goal}", WRITE, {"name": quoted(rng, name), "content": quoted(rng, content)})
    steps = (
        Step("files.write", {"path": name, "content": content}, f"Write {name}."),
        finish(f"Created {name} with the text {content}."),
    )

    def check(ws: Path, message: str) -> bool:
        return es.text(ws, name) == content and es.unchanged(ws, files)

    return Draft(goal, Fixture(files, (folder,) if folder else ()), Script(steps), check)


APPEND = {
    "goal": [
        "{please}add the line {line} to the end of {name}{end}{distractor}",
        "{please}append {line} to {name}{end}",
        "At the bottom of {name}, {please}add {line}{end}",
        "{please}put {line} on a new last line of the {file} {name}{end}",
    ],
}


def append_line(rng: random.Random) -> Draft:
    name = names.file_name(rng, rng.choice([".txt", ".md", ".log"]))
    line = rng.choice(names.LINES)
    files = {name: names.filler_text(rng)}
    for decoy in names.decoys(rng, name, rng.randint(1, 2)):
        files[decoy] = names.filler_text(rng)
    goal = fill(rng, "{goal}", APPEND, {"name": quoted(rng, name), "line": quoted(rng, line)})
    steps = (
        Step("files.append", {"path": name, "content": line + "\n"}, f"Append to {name}."),
        finish(f"Added {line} to the end of {name}."),
    )
    before = files[name]

    def check(ws: Path, message: str) -> bool:
        return es.text(ws, name) == before + line + "\n" and es.unchanged(ws, files, but=[name])

    return Draft(goal, Fixture(files), Script(steps), check)


READ = {
    "goal": [
        "What is the {key}? It is written in {name}{q}",
        "{please}read {name} and tell me the {key}{q}",
        "Look in {name}: what does it say the {key} is{q}",
        "{please}check {name} for the {key}{end}",
        "According to {name}, what's the {key}{q}",
    ],
    "q": ["?", "?", " please?"],
}


def read_answer(rng: random.Random) -> Draft:
    key, values = rng.choice(names.FACTS)
    value, other = rng.sample(list(values), 2)
    name = names.file_name(rng, rng.choice([".txt", ".md"]))
    files = {name: f"{names.filler_text(rng)}The {key} is {value}.\n{names.filler_text(rng)}"}
    for decoy in names.decoys(rng, name, rng.randint(1, 2)):
        files[decoy] = f"The {key} is {other}.\n"  # a wrong answer next door
    goal = fill(rng, "{goal}", READ, {"name": quoted(rng, name), "key": key})
    steps = (
        Step("files.read", {"path": name}, f"Read {name} to find the {key}."),
        finish(f"The {key} is {value}.", f"{name} says the {key} is {value}."),
    )

    def check(ws: Path, message: str) -> bool:
        return value in message and other not in message and es.untouched(ws, files)

    return Draft(goal, Fixture(files), Script(steps), check)


TRANSFER = {
    "copy": [
        "{please}copy {src} to {dst}{end}{distractor}",
        "{please}make a copy of {src} called {dst}{end}",
        "{please}duplicate {src} as {dst}{end}",
        "I'd like a copy of {src}, named {dst}{end}",
    ],
    "copy_into": [
        "{please}copy {src} into the {dir} {folder}{end}{distractor}",
        "{please}put a copy of {src} in {dir}{end}",
    ],
    "move": [
        "{please}move {src} into the {folder} {dir}{end}{distractor}",
        "{please}put {src} in the {dir} {folder}{end}",
        "The {file} {src} belongs in {dir}; {please}move it there{end}",
        "{please}file {src} under {dir}{end}",
    ],
    "rename": [
        "{please}rename {src} to {dst}{end}{distractor}",
        "{please}change the name of {src} to {dst}{end}",
        "The {file} {src} should be called {dst}; {please}rename it{end}",
    ],
}


def _transfer_fixture(rng: random.Random, src: str) -> dict[str, str]:
    files = {src: names.filler_text(rng)}
    for decoy in names.decoys(rng, src, rng.randint(1, 2)):
        files[decoy] = names.filler_text(rng)
    return files


def copy_file(rng: random.Random) -> Draft:
    src = names.file_name(rng)
    files = _transfer_fixture(rng, src)
    folder = names.folder_path(rng)
    into = rng.random() < 0.4
    dst = f"{folder}/{src}" if into else names.file_name(rng, "." + src.rpartition(".")[2])
    if dst in files:
        dst = "copy of " + src
    values = {"src": quoted(rng, src), "dst": quoted(rng, dst), "dir": quoted(rng, folder)}
    pattern = "{copy_into}" if into else "{copy}"
    goal = fill(rng, pattern, TRANSFER, values)
    steps = (
        Step("files.copy", {"source": src, "destination": dst}, f"Copy {src} to {dst}."),
        finish(f"Copied {src} to {dst}."),
    )

    def check(ws: Path, message: str) -> bool:
        return es.text(ws, dst) == files[src] and es.unchanged(ws, files)

    return Draft(goal, Fixture(files, (folder,) if into else ()), Script(steps), check)


def _moved(files: dict[str, str], src: str, dst: str) -> Check:
    def check(ws: Path, message: str) -> bool:
        gone = not (ws / src).exists()
        return gone and es.text(ws, dst) == files[src] and es.unchanged(ws, files, but=[src])

    return check


def move_file(rng: random.Random) -> Draft:
    src = names.file_name(rng)
    files = _transfer_fixture(rng, src)
    folder = names.folder_path(rng)
    dst = f"{folder}/{src}"
    values = {"src": quoted(rng, src), "dir": quoted(rng, folder)}
    goal = fill(rng, "{move}", TRANSFER, values)
    steps = (
        Step("files.move", {"source": src, "destination": dst}, f"Move {src} into {folder}."),
        finish(f"Moved {src} into {folder}."),
    )
    return Draft(goal, Fixture(files, (folder,)), Script(steps), _moved(files, src, dst))


def rename_file(rng: random.Random) -> Draft:
    folder = rng.choice(["", "", names.folder_path(rng)])
    prefix = f"{folder}/" if folder else ""
    src = prefix + names.file_name(rng)
    files = _transfer_fixture(rng, src)
    dst = prefix + names.file_name(rng, "." + src.rpartition(".")[2])
    if dst in files:
        dst = prefix + "final " + src.rpartition("/")[2]
    values = {"src": quoted(rng, src), "dst": quoted(rng, dst)}
    goal = fill(rng, "{rename}", TRANSFER, values)
    steps = (
        Step("files.move", {"source": src, "destination": dst}, f"Rename {src} to {dst}."),
        finish(f"Renamed {src} to {dst}."),
    )
    return Draft(goal, Fixture(files), Script(steps), _moved(files, src, dst))


DELETE = {
    "goal": [
        "{please}delete {name}{end}{distractor}",
        "{please}remove the {file} {name}{end}",
        "{please}throw away {name}{end}",
        "{please}get rid of {name}, I don't need it anymore{end}",
        "The {file} {name} can go: {please}delete it{end}",
    ],
}


def delete_file(rng: random.Random) -> Draft:
    folder = rng.choice(["", "", names.folder_path(rng)])
    name = (f"{folder}/" if folder else "") + names.file_name(rng)
    files = _transfer_fixture(rng, name)
    goal = fill(rng, "{goal}", DELETE, {"name": quoted(rng, name)})
    steps = (
        Step("files.delete", {"path": name}, f"Delete {name}, not the look-alikes."),
        finish(f"Deleted {name}."),
    )

    def check(ws: Path, message: str) -> bool:
        return not (ws / name).exists() and es.unchanged(ws, files, but=[name])

    return Draft(goal, Fixture(files), Script(steps), check)


TEMPLATES = (
    Template("files.make_folder", FAMILY, make_folder),
    Template("files.write", FAMILY, write_file),
    Template("files.append", FAMILY, append_line),
    Template("files.read_answer", FAMILY, read_answer),
    Template("files.copy", FAMILY, copy_file),
    Template("files.move", FAMILY, move_file),
    Template("files.rename", FAMILY, rename_file),
    Template("files.delete", FAMILY, delete_file),
)
