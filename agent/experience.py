"""Experience: the user's own past runs, given back to the model as worked examples.

Before a goal run, `recall` finds the past runs most like it (the journal's full-text
index, agent/journal/experience_index.py, then a cheap similarity: shared goal words,
the same start site, the same workspace) among those that may teach (`usable`: rated
good, or succeeded with checks that all passed; never one rated bad), and turns the best
one or two into worked examples in the form of the built-in ones (agent/prompt.py
`worked_example`), which `Transcript.start` puts before the goal as earlier turns. The run journals which runs
were used (`USED_EVENT`) and yields `ExperienceUsed` right after `RunStarted`, so the
CLI and the palette can say so (agent/taskrun.py).

Also here, because they read a step the same way: the actions a person can pick to
correct a wrong step (`correction_choices`), drawn from what that step observed.

Invariants:
- A past run is shown only if every step shown uses a tool this run has, and only its
  steps whose action went through (a failed action teaches the failure).
- A reply is the one the model wrote (the journal keeps it, agent/journal/trajectory.py);
  for steps journaled before that, it is rebuilt in the decoder's layout.
- Examples come after the system prompt and before the goal, and never change during a
  run, so the transcript stays append-only and the prefix cache keeps working.
- Nothing here logs a goal or a reply at INFO or above.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent.journal import BrokenTrajectory, Journal
from agent.journal import experience_index as index
from tools.registry import Registry

log = logging.getLogger(__name__)

#: The event kind under which the runs used are journaled.
USED_EVENT = "experience_used"
#: Below this similarity a past run is not "like" this one.
MIN_OVERLAP = 0.3
#: Cap on an example's context and on each result shown, in characters: examples cost
#: prompt tokens on every step of the run.
MAX_TEXT = 1200

_STOPWORDS = frozenset(
    "a an the of and to in into on that this it is be for with please thanks thank you"
    " could would can will i me my need want just now no ask first later ll"
    " leave alone other others".split()
)
#: Words people use for the same thing, folded to one, so a request worded anew still
#: matches the run it is like.
_SAME = {
    "make": "create", "add": "create", "new": "create", "set": "create", "directory": "folder",
    "document": "file", "remove": "delete", "erase": "delete", "trash": "delete",
    "duplicate": "copy", "put": "move", "called": "named", "name": "named",
    "rid": "delete", "discard": "delete", "relocate": "move", "transfer": "move",
}  # fmt: skip
#: How much sharing the same names (files, folders, quoted text, numbers) adds: a run on
#: the very files this goal names is the user's same task, however it was worded.
NAME_WEIGHT = 0.4
#: A quoted name ('my notes.txt', "old stuff", `x`): a name, whatever words it holds.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")

Example = dict[str, Any]


def _words(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {_SAME.get(w, w) for w in words if w not in _STOPWORDS}


def _names(text: str) -> set[str]:
    """What `text` names: quoted text, and words with a dot, slash, underscore or digit
    (file names, paths, numbers), lower-cased, without the punctuation around them."""
    quoted = {q[1:-1].strip().lower() for q in _QUOTED.findall(text)}
    bare = _QUOTED.sub(" ", text).split()
    words = (t.rstrip(".,;:!?)").lstrip("(").lower() for t in bare)
    return {n for n in quoted | {w for w in words if re.search(r"[./\\_\d]", w)} if n}


def _host(url: str | None) -> str:
    return (urlsplit(url).hostname or "") if url else ""


def _plain(text: str) -> set[str]:
    """The words of `text` that are not names (no file name, path or number): what kind
    of task it is, whatever it is done to."""
    tokens = [t for t in _QUOTED.sub(" ", text).split() if not re.search(r"[./\\_\d]", t)]
    return _words(" ".join(tokens))


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def similarity(goal: str, row: Mapping[str, Any], workspace: str, start_url: str | None) -> float:
    """How much a past run (a journal row) is like this one: the share of words in common
    (Jaccard), weighted to the words that say what kind of task it is rather than the
    names it is done to; more when it named the same things (the same task asked in
    other words); plus a little for the same start site and the same workspace."""
    theirs = str(row.get("goal") or "")
    score = 0.75 * _jaccard(_plain(goal), _plain(theirs))
    score += 0.25 * _jaccard(_words(goal), _words(theirs))
    score += NAME_WEIGHT * _jaccard(_names(goal), _names(theirs))
    if score < MIN_OVERLAP:
        return 0.0
    if start_url and _host(start_url) == _host(row.get("start_url")):
        score += 0.3
    if workspace and workspace == row.get("workspace"):
        score += 0.1
    return score


def recall(
    journal: Journal,
    goal: str,
    registry: Registry,
    *,
    workspace: Path | None = None,
    start_url: str | None = None,
    limit: int = 2,
) -> tuple[Example, ...]:
    """The worked examples of the `limit` past runs most like this one that may teach,
    best last (a small model imitates the newest turns most)."""
    if limit <= 0:
        return ()
    place = str(workspace or "")
    text = " ".join(filter(None, (goal, _host(start_url))))
    scored = []
    for row in index.similar_runs(journal, text):
        score = similarity(goal, row, place, start_url) if index.usable(row) else 0.0
        if score > 0:
            scored.append((score, -float(row["rank"]), row))
    scored.sort(key=lambda t: t[:2], reverse=True)
    examples: list[Example] = []
    for _, _, row in scored:
        example = past_example(journal, row, registry)
        if example is not None:
            examples.append(example)
        if len(examples) == limit:
            break
    log.debug("recalled %d past run(s)", len(examples))
    return tuple(reversed(examples))


def past_example(journal: Journal, run: Mapping[str, Any], registry: Registry) -> Example | None:
    """A past run as a worked example (``run_id``, ``goal``, ``context``, ``steps`` of
    ``reply``/``tool``/``result``), or None when it has nothing to show or uses a tool
    this run does not have."""
    replies = _replies(journal, str(run["id"]))
    steps = []
    for step in journal.steps(str(run["id"])):
        if not step["ok"] or not step["tool"]:
            continue
        if step["tool"] not in registry:
            return None
        reply = replies.get(step["idx"]) or reply_text(step["thought"], step["tool"], step["args"])
        result = "done" if step["tool"] == "finish" else _clip(step["result_text"] or "")
        steps.append({"reply": reply, "tool": step["tool"], "result": result})
    if not steps:
        return None
    context = _clip(str(_task(run).get("context") or ""))
    return {"run_id": run["id"], "goal": run["goal"], "context": context, "steps": steps}


def reply_text(thought: str, tool: str, args: Mapping[str, Any]) -> str:
    """A reply in the layout the constrained decoder writes (agent/prompt.py `_reply`)."""
    return json.dumps({"tool": tool, "args": dict(args), "thought": thought}, ensure_ascii=False)


def _replies(journal: Journal, run_id: str) -> dict[int, str]:
    """The replies the model wrote, by step (empty for runs journaled before they were)."""
    try:
        return {s.step: s.reply for s in journal.trajectory(run_id).steps}
    except BrokenTrajectory:
        log.debug("run %s: the model calls do not rebuild; replies are re-laid", run_id)
        return {}


def _task(run: Mapping[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(run.get("task_json") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


# -- corrections: what a person can pick instead of a wrong action ----------------------


@dataclass(frozen=True, slots=True)
class Choice:
    """Something a step observed that a corrected action can name: a page element (by
    its number) or a file or folder (by its path)."""

    label: str
    #: The argument it fills: "element" or "path".
    kind: str
    value: int | str


_ELEMENT = re.compile(r"^\s*\[(\d+)\]\s*(.*)$")
_ENTRY = re.compile(r"^\s*([^\s(][^(]*?)(/|\s\((?:\d[^)]*|link)\))\s*$")


def correction_choices(observed: str) -> list[Choice]:
    """The elements (``[3] button "Send"``) and files (``notes.txt (5 bytes)``,
    ``old/``) that `observed` lists, in order, each once."""
    choices: dict[tuple[str, int | str], Choice] = {}
    for line in observed.splitlines():
        element = _ELEMENT.match(line)
        if element:
            key: tuple[str, int | str] = ("element", int(element.group(1)))
            label = f"[{element.group(1)}] {element.group(2).strip()}"
            choices.setdefault(key, Choice(label[:120], "element", int(element.group(1))))
            continue
        entry = _ENTRY.match(line)
        if entry:
            path = entry.group(1).strip() + ("/" if entry.group(2) == "/" else "")
            choices.setdefault(("path", path), Choice(line.strip()[:120], "path", path))
    return list(choices.values())


def observed_before(run: Mapping[str, Any], steps: Sequence[Mapping[str, Any]], idx: int) -> str:
    """What the model had observed when it chose step `idx`: the previous step's result,
    or for the first step what the run started with (its context)."""
    earlier = [s for s in steps if s["idx"] < idx]
    if earlier:
        return str(earlier[-1].get("result_text") or "")
    return str(_task(run).get("context") or "")


def apply_choice(tool_args: Mapping[str, Any], choice: Choice) -> dict[str, Any]:
    """`tool_args` with `choice` filled in: an element number into ``element``, a path
    into ``path`` (or ``source`` for a move or copy)."""
    args = dict(tool_args)
    if choice.kind == "element":
        args["element"] = choice.value
    elif "source" in args:
        args["source"] = choice.value
    else:
        args["path"] = choice.value
    return args
