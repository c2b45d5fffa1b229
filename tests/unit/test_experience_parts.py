"""The pure parts of experience retrieval and corrections: which past run is like this
one, which runs may teach, what a wrong step's observation offers as corrections, and
the prompt shape of past runs (agent/experience.py, agent/journal/experience_index.py)."""

from __future__ import annotations

import json

from agent.experience import (
    Choice,
    apply_choice,
    correction_choices,
    observed_before,
    similarity,
)
from agent.journal.experience_index import _fts_query, usable
from agent.prompt import Transcript
from tools.registry import Registry


def test_similarity_shares_goal_words_and_prefers_the_same_site() -> None:
    row = {"goal": "Rename draft.txt to final.txt", "workspace": "/w", "start_url": None}
    same = similarity("Rename draft.txt to final.txt", row, "/other", None)
    close = similarity("Rename draft.txt to last.txt", row, "/other", None)
    assert same > close > 0
    assert similarity("Write a poem about the sea", row, "/w", None) == 0.0
    assert similarity("rename draft.txt to final.txt", row, "/w", None) > same  # workspace
    page = {**row, "start_url": "http://127.0.0.1:8000/login.html"}
    assert similarity(row["goal"], page, "", "http://127.0.0.1:8000/x") > same


def test_only_runs_rated_good_or_with_passed_checks_may_teach() -> None:
    passed = json.dumps([{"kind": "file_exists", "ok": True}])
    failed = json.dumps([{"kind": "file_exists", "ok": False}])
    assert usable({"rating": 1, "outcome": "failed"})
    assert usable({"rating": None, "outcome": "success", "checks_json": passed})
    assert not usable({"rating": None, "outcome": "success", "checks_json": "[]"})  # unverified
    assert not usable({"rating": None, "outcome": "success", "checks_json": failed})
    assert not usable({"rating": -1, "outcome": "success", "checks_json": passed})
    assert not usable({"rating": 1, "bad_step": 1, "outcome": "success"})


def test_fts_words_are_quoted_so_a_goal_is_never_a_query() -> None:
    assert _fts_query('Delete "a" OR NEAR(x*)') == '"delete" OR "or" OR "near"'
    assert _fts_query("  ") == ""


def test_choices_come_from_the_elements_and_files_a_step_saw() -> None:
    page = '[1] heading "Sign in"\n[2] textbox "Name"\n[3] button "Send"\nsome text'
    assert correction_choices(page) == [
        Choice('[1] heading "Sign in"', "element", 1),
        Choice('[2] textbox "Name"', "element", 2),
        Choice('[3] button "Send"', "element", 3),
    ]
    listing = "Workspace contents:\nold/\nnotes.txt (5 bytes)\nmy report.pdf (1.2 kB)\n"
    assert [(c.kind, c.value) for c in correction_choices(listing)] == [
        ("path", "old/"),
        ("path", "notes.txt"),
        ("path", "my report.pdf"),
    ]


def test_a_choice_fills_the_argument_it_names() -> None:
    assert apply_choice({"element": 2, "text": "x"}, Choice("", "element", 5)) == {
        "element": 5,
        "text": "x",
    }
    assert apply_choice({"path": "a"}, Choice("", "path", "b.txt")) == {"path": "b.txt"}
    moved = apply_choice({"source": "a", "destination": "d"}, Choice("", "path", "b"))
    assert moved == {"source": "b", "destination": "d"}


def test_a_step_observed_the_previous_result_or_the_context() -> None:
    run = {"task_json": json.dumps({"context": "Workspace contents:\na.txt (1 bytes)"})}
    steps = [{"idx": 1, "result_text": "listed"}, {"idx": 2, "result_text": "moved"}]
    assert observed_before(run, steps, 1).startswith("Workspace contents")
    assert observed_before(run, steps, 2) == "listed"


def test_past_runs_are_earlier_turns_after_the_built_in_example() -> None:
    registry = Registry(())
    past = {
        "run_id": "r1",
        "goal": "Rename draft.txt to final.txt",
        "context": "",
        "steps": [{"reply": '{"tool": "finish"}', "tool": "finish", "result": "done"}],
    }
    plain = Transcript.start(registry, "Rename a to b").messages
    shown = Transcript.start(registry, "Rename a to b", examples=[past]).messages
    assert shown[: len(plain) - 1] == plain[:-1]  # the same prefix: the cache survives
    assert shown[-1] == plain[-1]  # the goal is last
    added = shown[len(plain) - 1 : -1]
    assert [m.role for m in added] == ["user", "assistant"]
    assert "Rename draft.txt to final.txt" in added[0].content


def test_the_cli_and_the_palette_say_which_past_runs_were_used() -> None:
    from agent.events import ExperienceUsed
    from app.timeline import event_lines

    event = ExperienceUsed("r3", ("r1", "r2"), ("Rename a to b", "Rename c to d"))
    (line,) = event_lines(event)
    assert line.text == "using 2 past runs: r1 “Rename a to b”, r2 “Rename c to d”"


def test_the_same_task_in_other_words_is_like_it_by_the_names_it_shares() -> None:
    row = {"goal": "Please change the name of budget.txt to minutes.txt", "workspace": "/w"}
    asked_again = similarity("Rename budget.txt to minutes.txt, thanks.", row, "", None)
    other_files = similarity("Rename notes.txt to old.txt, thanks.", row, "", None)
    assert asked_again > other_files
    assert asked_again >= 0.3  # shown (MIN_OVERLAP); without the names it was not


def test_names_are_quoted_text_and_words_with_a_dot_slash_or_digit() -> None:
    from agent.experience import _names

    assert _names("Copy 'travel plan.md' to ../secrets.txt, thanks.") == {
        "travel plan.md",
        "../secrets.txt",
    }
    assert _names("Put the .json files in the 'photos 2024' folder.") == {".json", "photos 2024"}
