"""Whatever the model asks, an escape from the workspace is refused in the tool and
recorded in the journal, even with every approval answered yes (--yes)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.events import ActionFinished, RunFinished
from agent.journal import Journal
from agent.settings import load_settings

#: The `scripted_run` fixture of tests/conftest.py.
ScriptedRun = Callable[[Path, Sequence[Any]], list[Any]]


def reply(tool: str, **args: str) -> dict[str, Any]:
    return {"tool": tool, "args": args, "thought": "try it"}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    home, ws, outside = tmp_path / "home", tmp_path / "ws", tmp_path / "outside"
    ws.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("do not touch")
    os.symlink(outside, ws / "link-out")
    return home, ws, outside


ESCAPES = [
    reply("files.write", path="../outside/new.txt", content="x"),
    reply("files.write", path="{outside}/new.txt", content="x"),
    reply("files.read", path="link-out/secret.txt"),
    reply("files.delete", path="link-out/secret.txt"),
    reply("files.move", source="link-out/secret.txt", destination="stolen.txt"),
    reply("files.copy", source="../outside/secret.txt", destination="stolen.txt"),
    reply("files.make_folder", path="../outside/made"),
]


def test_escapes_are_refused_and_recorded(
    setup: tuple[Path, Path, Path], scripted_run: ScriptedRun, deskhand_home: Path
) -> None:
    _, ws, outside = setup
    replies: list[Any] = [
        json.loads(json.dumps(r).replace("{outside}", str(outside))) for r in ESCAPES
    ]
    replies.append({"tool": "finish", "args": {"message": "done"}, "thought": ""})
    events = scripted_run(ws, replies)

    finished = [e for e in events if isinstance(e, ActionFinished)]
    assert len(finished) == len(ESCAPES) + 1
    for e in finished[:-1]:
        assert not e.result.ok
        assert e.result.kind == "outside_workspace", e.result.output
    assert isinstance(events[-1], RunFinished)

    run_id = events[0].run_id
    journal = Journal(load_settings({"DESKHAND_HOME": str(deskhand_home)}).journal_path)
    steps = journal.steps(run_id)
    assert [s["result_kind"] for s in steps[:-1]] == ["outside_workspace"] * len(ESCAPES)
    assert journal.file_changes(run_id) == []
    journal.close()
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "do not touch"
    assert sorted(p.name for p in ws.iterdir()) == ["link-out"]
