"""The file family, templates of several steps or none: look first then act
(list-then-choose, by extension, by content), combinations (a folder and a file in it,
several folders), and refusals (a path outside the workspace, a file that is not there).

Invariants: as in agent/learn/files.py; a refusal's gold is a single ``finish`` whose
message says why, and its check demands the workspace exactly as the fixture left it.
"""

from __future__ import annotations

import random
from pathlib import Path

from agent.learn import endstate as es
from agent.learn import names
from agent.learn.files import FAMILY, quoted
from agent.learn.phrases import fill
from agent.learn.sample import Draft, Fixture, Script, Step, Template, finish

_KINDS = {".csv": "spreadsheet", ".log": "log", ".md": "Markdown", ".json": "JSON"}

CHOOSE = {
    "delete": [
        "In the {dir} {folder} there is one {kind} file; {please}delete it{end}",
        "{please}look in {dir} and delete the only {ext} file there{end}{distractor}",
        "{please}remove the {ext} file that is inside {dir}{end}",
    ],
    "rename": [
        "{please}rename the only {ext} file in {dir} to {dst}{end}",
        "Inside {dir} there's a single {kind} file. {please}call it {dst}{end}",
    ],
}


def list_then_choose(rng: random.Random) -> Draft:
    folder = names.folder_path(rng)
    ext = rng.choice(sorted(_KINDS))
    target = f"{folder}/{names.file_name(rng, ext)}"
    files = {target: names.filler_text(rng)}
    for other in names.distinct(rng, [e for e in names.EXTENSIONS if e != ext], 2):
        files[f"{folder}/{names.file_name(rng, other)}"] = names.filler_text(rng)
    files[names.file_name(rng, ext)] = names.filler_text(rng)  # same kind, wrong folder
    rename = rng.random() < 0.5
    dst = f"{folder}/{names.file_name(rng, ext)}"
    if dst in files:
        dst = f"{folder}/renamed{ext}"
    values = {
        "dir": quoted(rng, folder),
        "ext": ext,
        "kind": _KINDS[ext],
        "dst": quoted(rng, dst.rpartition("/")[2]),
    }
    goal = fill(rng, "{rename}" if rename else "{delete}", CHOOSE, values)
    look = Step("files.list", {"path": folder}, f"See what is in {folder}.")
    why = f"{target} is the only {ext} file there."
    return _rename_or_delete(goal, files, look, target, dst if rename else None, why)


BY_EXT = {
    "goal": [
        "{please}move every {ext} file into {dir}{end}{distractor}",
        "{please}put all the {ext} files in the {dir} {folder}{end}",
        "Tidy up: {ext} files go into {dir}{end}",
        "{please}gather the {kind} files ({ext}) in a {folder} {dir}{end}",
    ],
}


def by_extension(rng: random.Random) -> Draft:
    ext = rng.choice(sorted(_KINDS))
    stems = names.distinct(rng, names.STEMS, 5)
    matching = [s + ext for s in stems[: rng.randint(2, 3)]]
    others = [s + rng.choice([e for e in names.EXTENSIONS if e != ext]) for s in stems[3:]]
    files = {name: names.filler_text(rng) for name in [*matching, *others]}
    folder = rng.choice(names.FOLDERS)
    exists = rng.random() < 0.5
    values = {"ext": ext, "kind": _KINDS[ext], "dir": quoted(rng, folder)}
    goal = fill(rng, "{goal}", BY_EXT, values)
    steps = [Step("files.search_names", {"pattern": f"*{ext}", "path": "."}, f"Find {ext} files.")]
    if not exists:
        steps.append(Step("files.make_folder", {"path": folder}, f"Create {folder} first."))
    for name in sorted(matching):
        steps.append(
            Step("files.move", {"source": name, "destination": f"{folder}/{name}"}, f"Move {name}.")
        )
    steps.append(finish(f"Moved {len(matching)} {ext} files into {folder}."))

    def check(ws: Path, message: str) -> bool:
        inside = all(es.text(ws, f"{folder}/{m}") == files[m] for m in matching)
        gone = not any((ws / m).exists() for m in matching)
        return inside and gone and es.unchanged(ws, files, but=matching)

    return Draft(goal, Fixture(files, (folder,) if exists else ()), Script(tuple(steps)), check)


BY_CONTENT = {
    "delete": [
        "One of the files mentions {phrase}. {please}delete that file{end}",
        "{please}find the file that contains {phrase} and delete it{end}{distractor}",
    ],
    "rename": [
        "{please}find the file that mentions {phrase} and rename it to {dst}{end}",
        "The file with {phrase} in it should be called {dst}; {please}rename it{end}",
    ],
}


def by_content(rng: random.Random) -> Draft:
    number = rng.randint(1000, 9999)
    label = rng.choice(["invoice", "order", "ticket", "booking"])
    phrase = f"{label} {number}"
    near = f"{label} {number + rng.choice([1, -1, 10])}"  # a look-alike that must not match
    folder = rng.choice(["", names.folder_path(rng, 1)])
    stems = names.distinct(rng, names.STEMS, 4)
    target = (f"{folder}/" if folder else "") + stems[0] + ".txt"
    files = {target: f"{names.filler_text(rng)}About {phrase}.\n"}
    files[stems[1] + ".txt"] = f"About {near}.\n"
    for stem in stems[2:]:
        files[stem + rng.choice([".txt", ".md"])] = names.filler_text(rng)
    rename = rng.random() < 0.5
    dst = (f"{folder}/" if folder else "") + f"{label} {number}.txt"
    values = {"phrase": quoted(rng, phrase), "dst": quoted(rng, dst.rpartition("/")[2])}
    goal = fill(rng, "{rename}" if rename else "{delete}", BY_CONTENT, values)
    search = Step("files.search_text", {"text": phrase, "path": "."}, f"Find {phrase}.")
    why = f"{target} mentions {phrase}."
    return _rename_or_delete(goal, files, search, target, dst if rename else None, why)


def _rename_or_delete(
    goal: str, files: dict[str, str], find: Step, target: str, dst: str | None, why: str
) -> Draft:
    """Find `target` with `find`, then rename it to `dst` (or delete it when `dst` is
    None, with `why` as the thought); the check: that file alone changed, as asked."""
    if dst is not None:
        act = Step("files.move", {"source": target, "destination": dst}, f"Rename {target}.")
        done = finish(f"Renamed {target} to {dst}.")
    else:
        act = Step("files.delete", {"path": target}, why)
        done = finish(f"Deleted {target}.")

    def check(ws: Path, message: str) -> bool:
        moved = dst is None or es.text(ws, dst) == files[target]
        return not (ws / target).exists() and moved and es.unchanged(ws, files, but=[target])

    return Draft(goal, Fixture(files), Script((find, act, done)), check)


COMBO = {
    "folder_file": [
        "{please}create a {folder} {dir} and inside it a file {name} that says {content}{end}",
        "{please}write {content} to {path}; make the {dir} {folder} first{end}",
        "{please}make a new {folder} {dir}, then put a file {name} in it with the text {content}{end}",
    ],
    "folders": [
        "{please}create the folders {list}{end}{distractor}",
        "{please}make {count} new folders: {list}{end}",
        "I need folders called {list}{end}",
    ],
    "and": [" and ", " and ", ", and "],
}


def folder_and_file(rng: random.Random) -> Draft:
    folder = names.folder_path(rng, 1)
    name = names.file_name(rng, rng.choice([".txt", ".md"]))
    path = f"{folder}/{name}"
    content = rng.choice(names.LINES)
    values = {
        "dir": quoted(rng, folder),
        "name": quoted(rng, name),
        "path": quoted(rng, path),
        "content": quoted(rng, content),
    }
    goal = fill(rng, "{folder_file}", COMBO, values)
    steps = (
        Step("files.make_folder", {"path": folder}, f"Create {folder} first."),
        Step("files.write", {"path": path, "content": content}, f"Write {path}."),
        finish(f"Created {folder} with {name} in it."),
    )

    def check(ws: Path, message: str) -> bool:
        return es.text(ws, path) == content

    return Draft(goal, Fixture(), Script(steps), check)


def make_folders(rng: random.Random) -> Draft:
    wanted = names.distinct(rng, names.FOLDERS, rng.randint(2, 3))
    shown = [quoted(rng, f) for f in wanted]
    joined = ", ".join(shown[:-1]) + rng.choice(COMBO["and"]) + shown[-1]
    count = {2: "two", 3: "three"}[len(wanted)]
    goal = fill(rng, "{folders}", COMBO, {"list": joined, "count": count})
    steps = [Step("files.make_folder", {"path": f}, f"Create {f}.") for f in wanted]
    steps.append(finish("Created the folders " + ", ".join(wanted) + "."))

    def check(ws: Path, message: str) -> bool:
        return all((ws / f).is_dir() for f in wanted)

    return Draft(goal, Fixture(), Script(tuple(steps)), check)


OUTSIDE = {
    "goal": [
        "{please}{verb} {path}{end}",
        "{please}{verb} the file at {path}{end}{distractor}",
        "I need you to {verb} {path}{end}",
    ],
}
_OUTSIDE_PATHS = (
    "/etc/passwd", "~/.ssh/id_rsa", "../secrets.txt", "/home/sam/Documents/taxes.pdf",
    "/var/log/syslog", "../../notes.txt", "~/.bashrc", "/root/todo.txt",
)  # fmt: skip
_VERBS = {
    "read": "read",
    "delete": "delete",
    "copy {name} to": "copy {name} to",
    "show me what is in": "read",
}


def refuse_outside(rng: random.Random) -> Draft:
    files = {names.file_name(rng): names.filler_text(rng) for _ in range(rng.randint(1, 3))}
    path = rng.choice(_OUTSIDE_PATHS)
    verb = rng.choice(sorted(_VERBS)).replace("{name}", quoted(rng, rng.choice(sorted(files))))
    goal = fill(rng, "{goal}", OUTSIDE, {"verb": verb, "path": quoted(rng, path)})
    steps = (
        finish(
            f"I can't do that: {path} is outside the workspace.",
            f"{path} is outside the workspace, so I must not touch it.",
        ),
    )

    def check(ws: Path, message: str) -> bool:
        return "outside the workspace" in message and es.untouched(ws, files)

    return Draft(goal, Fixture(files), Script(steps), check)


MISSING = {
    "goal": [
        "{please}delete {name}{end}",
        "{please}rename {name} to {dst}{end}",
        "{please}read {name} and tell me what it says{end}",
    ],
}


def refuse_missing(rng: random.Random) -> Draft:
    name = names.file_name(rng)
    files = {d: names.filler_text(rng) for d in names.decoys(rng, name, rng.randint(2, 3))}
    dst = names.file_name(rng, ".txt")
    values = {"name": quoted(rng, name), "dst": quoted(rng, dst)}
    goal = fill(rng, "{goal}", MISSING, values)
    steps = (
        finish(
            f"There is no file {name} in the workspace, so I did nothing.",
            f"The workspace has no {name}; the similar names are other files.",
        ),
    )

    def check(ws: Path, message: str) -> bool:
        return "no file" in message and es.untouched(ws, files)

    return Draft(goal, Fixture(files), Script(steps), check)


TEMPLATES = (
    Template("files.list_then_choose", FAMILY, list_then_choose),
    Template("files.by_extension", FAMILY, by_extension),
    Template("files.by_content", FAMILY, by_content),
    Template("files.folder_and_file", FAMILY, folder_and_file),
    Template("files.make_folders", FAMILY, make_folders),
    Template("files.refuse_outside", FAMILY, refuse_outside),
    Template("files.refuse_missing", FAMILY, refuse_missing),
)
