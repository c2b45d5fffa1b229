"""The app's pure parts: fuzzy suggestions, how steps read, and writing config.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.events import ActionFinished, ActionProposed, ApprovalNeeded, RunFinished
from agent.settings import Settings, load_settings
from app.config_file import config_text, write_config
from app.fuzzy import rank, score
from app.timeline import event_lines, status_text, step_lines
from tools.base import Effect, ToolResult


def test_fuzzy_matches_letters_in_order_and_prefers_word_starts() -> None:
    goals = ["rename the photos by date", "sort my downloads by type", "sort notes"]
    assert rank("srt dwn", goals) == ["sort my downloads by type"]
    assert rank("sort", goals)[0] == "sort notes"  # shorter of the two exact hits
    assert score("xyz", "sort notes") is None
    assert rank("", ["b", "a", "b"]) == ["b", "a"]  # recent first, no duplicates


def test_events_read_as_thought_action_result() -> None:
    proposed = ActionProposed("r", 2, "look first", "files.list", {"path": "."}, "m")
    assert [(line.kind, line.text) for line in event_lines(proposed)] == [
        ("thought", "2. look first"),
        ("action", '→ files.list {"path": "."}'),
    ]
    ok = ActionFinished("r", 2, "files.list", ToolResult(ok=True, output="a.txt"), 0.1)
    denied = ActionFinished("r", 3, "files.write", ToolResult.failure("denied", "no"), 0.1)
    assert event_lines(ok)[0].text == "✓ a.txt"
    assert event_lines(denied)[0].text == "✗ denied: no"
    asked = ApprovalNeeded("r", 3, "files.write", Effect("fs.write", "/w/a", "write a"))
    assert status_text(asked) == "step 3: waiting for your approval"
    end = RunFinished("r", "stopped", "stopped by the user", 3, 1.5)
    assert event_lines(end)[0].text.startswith("stopped: stopped by the user")


def test_journal_steps_read_the_same() -> None:
    row = {"idx": 1, "thought": "t", "tool": "files.read", "args": {"path": "a"}, "ok": False,
           "result_kind": "not_found", "result_text": "no such file"}  # fmt: skip
    assert [line.text for line in step_lines(row)] == [
        "1. t",
        '→ files.read {"path": "a"}',
        "✗ not_found: no such file",
    ]


def edited(settings: Settings, **changes: object) -> Settings:
    data = settings.model_dump()
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        target = data
        for key in path:
            target = target[key]
        target[last] = value
    return Settings.model_validate(data)


def test_config_keeps_other_sections_and_writes_only_changes(deskhand_home: Path) -> None:
    settings = load_settings()
    settings.config_file.parent.mkdir(parents=True)
    settings.config_file.write_text("max_steps = 5\n[model]\nn_ctx = 4096\n")
    settings = load_settings()
    new = edited(settings, hotkeys__palette="<ctrl>+<alt>+p", model__default="lab",
                 model__remotes=[{"name": "lab", "base_url": "http://h/v1", "model": "m",
                                  "key_name": "remote:lab"}])  # fmt: skip
    write_config(new)
    text = new.config_file.read_text()
    assert "max_steps = 5" in text and "n_ctx = 4096" in text
    assert "embedded" not in text and "home" not in text and "browser" not in text
    again = load_settings()
    assert again.hotkeys.palette == "<ctrl>+<alt>+p" and again.model == new.model
    assert not list(new.config_dir.glob("*.tmp"))


def test_a_setting_that_does_not_round_trip_is_refused(deskhand_home: Path) -> None:
    settings = load_settings()
    broken = settings.model_copy(update={"max_steps": 0})  # copies skip validation
    with pytest.raises(Exception):  # noqa: B017 - pydantic's or ours: either way, nothing written
        config_text(broken.model_copy(update={"workspaces": [Path("rel")]}), {"max_steps": 0})
    assert not settings.config_file.exists()


def test_the_command_line_starts_without_qt() -> None:
    code = "import sys, app.cli; assert 'PySide6' not in sys.modules, 'Qt imported'"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
