"""The wording machinery of the curriculum (agent/learn/phrases.py, names.py)."""

from __future__ import annotations

import random

import pytest

from agent.learn import names
from agent.learn.phrases import fill, tidy


def test_same_seed_same_text_and_other_seeds_vary() -> None:
    table = {"goal": ["{verb} {x}", "{please}{verb} the {x} now", "I want {x} {verb}d"]}
    table["verb"] = ["make", "create", "add"]
    texts = [fill(random.Random(s), "{goal}{end}", table, {"x": "a.txt"}) for s in range(30)]
    again = [fill(random.Random(s), "{goal}{end}", table, {"x": "a.txt"}) for s in range(30)]
    assert texts == again
    assert len(set(texts)) >= 10


def test_unknown_slot_is_an_error() -> None:
    with pytest.raises(KeyError, match="nope"):
        fill(random.Random(0), "do {nope}", {})


def test_values_are_inserted_verbatim() -> None:
    for value in ("../secrets.txt", "{please}", ".md", "a  b .txt", "notes.txt"):
        out = fill(random.Random(1), "read {v}{end}", {}, {"v": value})
        assert value in out


def test_a_value_at_the_start_is_not_capitalised() -> None:
    assert fill(random.Random(0), "{v} must go", {}, {"v": "notes.txt"}).startswith("notes.txt")


def test_tidy_merges_stops_and_spaces() -> None:
    assert tidy("  please  do it. . Leave the rest.") == "Please do it. Leave the rest."
    assert tidy("do it!. Thanks") == "Do it! Thanks"
    assert tidy("do it ,thanks") == "Do it,thanks"


def test_nested_slots_expand() -> None:
    table = {"a": ["{b} {b}"], "b": ["x"]}
    assert fill(random.Random(0), "{a}", table) == "X x"


def test_decoys_look_alike_but_differ() -> None:
    rng = random.Random(3)
    for name in ("notes.txt", "docs/meeting notes.md", "readme"):
        found = names.decoys(rng, name, 4)
        assert len(found) == 4 and name not in found
        folder = name.rpartition("/")[0]
        assert all(d.rpartition("/")[0] == folder for d in found)


def test_folder_paths_stay_inside() -> None:
    rng = random.Random(5)
    for _ in range(50):
        path = names.folder_path(rng)
        assert ".." not in path and not path.startswith(("/", "."))


def test_reworded_keeps_the_task_and_changes_only_its_words() -> None:
    from agent.learn.registry import generators, make, sample_seed

    gen = next(g for g in generators(["files"]) if g.template == "files.rename")
    seed = sample_seed(14, gen.template, 0)
    asks = [make(gen, seed, wording=w) for w in range(6)]
    assert len({a.goal for a in asks}) > 1
    assert all(a.fixture == asks[0].fixture and a.gold == asks[0].gold for a in asks)
    # outside `reworded` the sample is what it always was (the curriculum's data)
    assert make(gen, seed).goal == gen.make(__import__("random").Random(seed), seed).goal
