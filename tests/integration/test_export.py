"""``deskhand learn export`` against real runs (the real engine, file and browser tools,
SQLite journal; scripted models): a good run's steps and a corrected step become SFT
chat records with the exact messages the model saw; a correction and a preference become
DPO pairs; a typed secret's value appears nowhere in the export, its placeholder does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pages.runs import on, reply, run_browser_task
from pages.server import Site, serve_pages
from typer.testing import CliRunner

from agent import assemble
from agent.approval import AlwaysAllow, AlwaysDeny
from agent.events import RunStarted
from agent.journal import Journal
from agent.journal.experience_index import record_correction
from agent.loop import Engine, run
from agent.settings import Settings, load_settings
from agent.task import Task
from app.learn import learn_app
from models.router import FallbackPolicy, ModelRouter
from models.scripted import ScriptedModel
from models.secrets import set_secret

SECRET = "correct-horse-battery"


def act(tool: str, **args: Any) -> dict[str, Any]:
    return {"thought": f"I use {tool}.", "tool": tool, "args": args}


FINISH = act("finish", message="done")


@pytest.fixture
def settings(deskhand_home: Path) -> Settings:
    return load_settings()


def file_run(settings: Settings, ws: Path, goal: str, replies: list[dict[str, Any]]) -> str:
    journal = assemble.open_journal(settings)
    router = ModelRouter(ScriptedModel(replies), None, FallbackPolicy(remote_allowed=False))
    engine = Engine(router, assemble.registry(settings, [ws]), journal, AlwaysAllow())
    try:
        events = list(run(Task(goal=goal, workspace=(ws,)), engine))
    finally:
        journal.close()
    assert isinstance(events[0], RunStarted)
    return events[0].run_id


def export(tmp_path: Path, fmt: str, *extra: str) -> list[dict[str, Any]]:
    out = tmp_path / f"export-{fmt}.jsonl"
    result = CliRunner().invoke(learn_app, ["export", "--format", fmt, "-o", str(out), *extra])
    assert result.exit_code == 0, result.output
    assert "record(s)" in result.output
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def replies_of(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(r["messages"][-1]["content"]) for r in records]


def test_good_runs_and_corrections_are_sft_records_and_bad_runs_are_not(
    settings: Settings, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "a.txt").write_text("a")
    good = file_run(settings, workspace, "list the files", [act("files.list", path="."), FINISH])
    bad = file_run(settings, workspace, "copy a.txt", [act("files.delete", path="a.txt"), FINISH])
    with Journal(settings.journal_path) as journal:
        journal.add_feedback(good, rating=1)
        journal.add_feedback(bad, rating=-1)
        seen = journal.trajectory(good).steps
        record_correction(
            journal, bad, 1, tool="files.copy", args={"source": "a.txt", "destination": "b.txt"}
        )

    records = export(tmp_path, "sft")
    tools = [r["tool"] for r in replies_of(records)]
    assert tools == ["files.list", "finish", "files.copy"]  # the good run, then the label
    first = records[0]["messages"]
    assert first[:-1] == [{"role": m.role, "content": m.content} for m in seen[0].messages]
    assert first[-1] == {"role": "assistant", "content": seen[0].reply}
    assert replies_of(records)[2]["args"] == {"source": "a.txt", "destination": "b.txt"}
    assert all(set(r) == {"messages"} for r in records)  # OpenAI's chat format, nothing else

    (pair,) = export(tmp_path, "dpo")
    assert json.loads(pair["chosen"][0]["content"])["tool"] == "files.copy"
    assert json.loads(pair["rejected"][0]["content"])["tool"] == "files.delete"
    assert pair["prompt"][-1]["role"] == "user" and "copy a.txt" in pair["prompt"][-1]["content"]


def test_a_preference_is_a_dpo_pair(settings: Settings, workspace: Path, tmp_path: Path) -> None:
    looked = file_run(settings, workspace, "tidy up", [act("files.list", path="."), FINISH])
    rushed = file_run(settings, workspace, "tidy up", [FINISH])
    with Journal(settings.journal_path) as journal:
        journal.add_preference(looked, rushed, "it looked first")

    (pair,) = export(tmp_path, "dpo")
    assert set(pair) == {"prompt", "chosen", "rejected"}
    assert "tidy up" in pair["prompt"][-1]["content"]
    assert [m["role"] for m in pair["chosen"]] == ["assistant", "user", "assistant"]
    assert json.loads(pair["chosen"][0]["content"])["tool"] == "files.list"
    assert [json.loads(m["content"])["tool"] for m in pair["rejected"]] == ["finish"]
    assert export(tmp_path, "sft") == []  # a preference alone makes no run good


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve_pages() as s:
        yield s


def test_a_typed_secret_stays_a_placeholder_in_the_export(
    site: Site, workspace: Path, deskhand_home: Path, tmp_path: Path
) -> None:
    set_secret("pw", SECRET)
    browser = run_browser_task(
        deskhand_home,
        workspace,
        site.url("login.html"),
        [
            on("Password", "browser.type", text="{{secret:pw}}", submit=False),
            on("Note", "browser.type", text="pw={{secret:pw}}", submit=False),
            reply("browser.look"),
            reply("finish", message="logged in"),
        ],
        approver=AlwaysDeny(),
        grants=["browser.input:127.0.0.1", "browser.secret:127.0.0.1 pw"],
        goal="Log in",
    )
    with Journal(browser.settings.journal_path) as journal:
        journal.add_feedback(browser.run_id, rating=1)

    out = tmp_path / "sft.jsonl"
    args = ["export", "--format", "sft", "-o", str(out), "--with-screenshots"]
    result = CliRunner().invoke(learn_app, args)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert len(text.splitlines()) >= 3
    assert "{{secret:pw}}" in text
    assert SECRET not in text and SECRET.upper() not in text and SECRET[::-1] not in text


def test_an_unwritable_output_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(learn_app, ["export", "-o", str(tmp_path / "no" / "x.jsonl")])
    assert result.exit_code == 2
    assert result.output.strip().startswith("deskhand: cannot write")
    assert "Traceback" not in result.output


def test_deskhand_learn_export_is_a_command(tmp_path: Path) -> None:
    from app.cli import cli

    out = tmp_path / "empty.jsonl"
    result = CliRunner().invoke(cli, ["learn", "export", "--format", "dpo", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 0 dpo record(s)" in result.output and out.read_text() == ""
    bad = CliRunner().invoke(cli, ["learn", "export", "--format", "xml", "-o", str(out)])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
