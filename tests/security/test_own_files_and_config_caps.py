"""Attacks on what outranks what: deskhand's own folders inside a workspace, a task file
against the user's configured denials, and files dropped into a watched inbox that grant
themselves more than the watcher allows (or are not files at all).

Every attack runs through the real task runner (`agent.runner.run_task_path`, what
`deskhand run FILE` and the inbox use) or the real inbox, with real files and the real
SQLite journal. Each succeeded on f83fde3:
- a task granting ``fs.*`` in ``--workspace`` = the folder holding deskhand's config and
  data rewrote config.toml to allow everything and overwrote the journal;
- a task granting ``shell.exec:*`` / ``fs.write:*`` ran although config.toml denied both;
- a dropped file granting itself ``shell.exec:*`` ran unattended;
- a symlink named *.task.yaml in the inbox was left in place with no word.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.approval import AlwaysAllow
from agent.inbox import Inbox, Notice
from agent.journal import Journal
from agent.runner import run_task_path, unattended
from agent.settings import Settings, load_settings

ALLOW_ALL = '[[permissions]]\ncapability = "*"\nscope = "*"\ndecision = "allow"\n'
WAIT = 60.0


@pytest.fixture
def settings(deskhand_home: Path) -> Settings:
    s = load_settings()
    s.config_dir.mkdir(parents=True, exist_ok=True)
    s.config_file.write_text("max_steps = 12\n")
    with Journal(s.journal_path) as journal:  # a journal with one run to lose
        journal.start_run(goal="a run that happened", workspace="/", model_id="m")
    return s


def run_file(tmp_path: Path, settings: Settings, workspace: Path, text: str) -> Any:
    task = tmp_path / "attack.task.yaml"
    task.write_text(text)
    return run_task_path(
        task, settings=settings, workspace=[workspace], approver=AlwaysAllow(), model="embedded"
    )


def step(tool: str, **args: str) -> str:
    inner = ", ".join(f"{k}: {v!r}" for k, v in args.items())
    return f"  - tool: {tool}\n    args: {{{inner}}}\n"


@pytest.mark.parametrize(
    ("attack", "target"),
    [
        (step("files.write", path="config/config.toml", content=ALLOW_ALL), "config.toml"),
        (step("files.write", path="data/journal.sqlite", content="gone"), "journal"),
        (step("files.delete", path="data"), "data folder"),
        (step("files.move", source="config", destination="elsewhere"), "config folder"),
        (step("files.read", path="data/journal.sqlite"), "journal read"),
        (step("files.write", path="xdg-data/Trash/files/planted.txt", content="x"), "trash"),
    ],
)
def test_a_workspace_that_holds_deskhands_own_folders_cannot_reach_them(
    tmp_path: Path, settings: Settings, deskhand_home: Path, attack: str, target: str
) -> None:
    before = settings.config_file.read_text()
    report = run_file(
        tmp_path,
        settings,
        deskhand_home,  # --workspace = the folder that holds config/, data/ and the trash
        f'name: own {target}\npermissions: ["fs.*"]\nsteps:\n{attack}',
    )
    assert report.outcome == "failed" and "permission denied" in report.message
    assert settings.config_file.read_text() == before
    assert (deskhand_home / "data").is_dir() and not (deskhand_home / "elsewhere").exists()
    assert not (deskhand_home / "xdg-data" / "Trash" / "files" / "planted.txt").exists()
    with Journal(settings.journal_path) as journal:  # still a database, with its runs
        assert any(r["goal"] == "a run that happened" for r in journal.runs(limit=50))
        approvals = journal.approvals(report.run_id)
    assert approvals and all(a["decision"] == "deny" for a in approvals)
    assert {a["source"] for a in approvals} == {"policy:protected"}


def test_the_default_workspace_inside_the_data_folder_stays_usable(
    tmp_path: Path, settings: Settings
) -> None:
    settings.default_workspace.mkdir(parents=True, exist_ok=True)
    report = run_file(
        tmp_path,
        settings,
        settings.default_workspace,
        'name: ok\npermissions: ["fs.write"]\nsteps:\n'
        + step("files.write", path="a.txt", content="a"),
    )
    assert report.outcome == "success"
    assert (settings.default_workspace / "a.txt").read_text() == "a"


def deny_in_config(settings: Settings, *rules: tuple[str, str, str]) -> None:
    text = "".join(
        f'[[permissions]]\ncapability = "{c}"\nscope = "{s}"\ndecision = "{d}"\n'
        for c, s, d in rules
    )
    settings.config_file.write_text(text)


def test_a_configured_deny_caps_what_a_task_file_grants(
    tmp_path: Path, deskhand_home: Path
) -> None:
    settings = load_settings()
    settings.config_dir.mkdir(parents=True, exist_ok=True)
    deny_in_config(settings, ("shell.exec", "*", "deny"), ("fs.*", "*", "deny"))
    settings = load_settings()
    ws = tmp_path / "ws"
    ws.mkdir()
    report = run_file(
        tmp_path,
        settings,
        ws,
        'name: t\npermissions: ["fs.write:*", "fs.*"]\nsteps:\n'
        + step("files.write", path="x.txt", content="x"),
    )
    assert report.outcome == "failed" and "permission denied" in report.message
    assert not (ws / "x.txt").exists()


def test_config_order_still_holds_an_allow_before_a_deny(
    tmp_path: Path, deskhand_home: Path
) -> None:
    settings = load_settings()
    settings.config_dir.mkdir(parents=True, exist_ok=True)
    deny_in_config(settings, ("fs.write", "*/reports/*", "allow"), ("fs.write", "*", "deny"))
    settings = load_settings()
    ws = tmp_path / "ws"
    (ws / "reports").mkdir(parents=True)
    granted = 'name: t\npermissions: ["fs.write:*"]\nsteps:\n'
    ok = run_file(
        tmp_path, settings, ws, granted + step("files.write", path="reports/a", content="a")
    )
    assert ok.outcome == "success" and (ws / "reports" / "a").exists()
    denied = run_file(tmp_path, settings, ws, granted + step("files.write", path="b", content="b"))
    assert denied.outcome == "failed" and not (ws / "b").exists()


class Filed:
    def __init__(self) -> None:
        self.items: list[Notice] = []
        self._cond = threading.Condition()

    def __call__(self, notice: Notice) -> None:
        with self._cond:
            if notice.kind == "filed":
                self.items.append(notice)
            self._cond.notify_all()

    def wait(self, n: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.items) >= n, WAIT), self.items


def inbox_of(tmp_path: Path, run: Callable[..., Any]) -> tuple[Inbox, Path, Filed]:
    folder = tmp_path / "inbox"
    folder.mkdir()
    filed = Filed()
    inbox = Inbox(folder, run, settle_seconds=0.0, notify=filed)
    inbox.start()
    return inbox, folder, filed


def test_a_dropped_file_asking_for_the_shell_is_refused_unless_the_watcher_allows_it(
    tmp_path: Path, deskhand_home: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    proof = tmp_path / "ran"
    shell = f'name: s\npermissions: ["shell.exec:*"]\nsteps:\n  - tool: shell.run\n    args: {{command: "touch {proof}"}}\n'
    inbox, folder, filed = inbox_of(tmp_path, unattended(load_settings(), [ws]))
    (folder / "shell.task.yaml").write_text(shell)
    filed.wait(1)
    inbox.stop()
    assert inbox.wait(WAIT)
    (notice,) = filed.items
    assert notice.outcome == "invalid" and notice.path is not None
    assert notice.path.parent.name == "failed"
    assert "this inbox does not allow shell.exec:*" in notice.message
    assert "--allow 'shell.exec:*'" in notice.message
    assert not proof.exists()


def test_the_watchers_allow_covers_a_dropped_files_grant(
    tmp_path: Path, deskhand_home: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    text = 'name: s\npermissions: ["shell.exec:git status*"]\nsteps:\n' + step(
        "files.write", path="a.txt", content="a"
    )
    run = unattended(load_settings(), [ws], allow=["shell.exec:git *"])
    inbox, folder, filed = inbox_of(tmp_path, run)
    (folder / "ok.task.yaml").write_text(text)
    filed.wait(1)
    inbox.stop()
    assert inbox.wait(WAIT)
    (notice,) = filed.items
    assert "does not allow" not in notice.message


def test_a_symlinked_task_file_is_filed_under_failed_with_the_reason(
    tmp_path: Path, deskhand_home: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    elsewhere = tmp_path / "private.task.yaml"
    elsewhere.write_text("name: p\nsteps:\n" + step("files.write", path="a.txt", content="a"))
    inbox, folder, filed = inbox_of(tmp_path, unattended(load_settings(), [ws]))
    os.symlink(elsewhere, folder / "link.task.yaml")
    filed.wait(1)
    inbox.stop()
    assert inbox.wait(WAIT)
    (notice,) = filed.items
    assert notice.outcome == "invalid" and "not a regular file" in notice.message
    assert notice.path is not None and notice.path.parent.name == "failed"
    assert not (folder / "link.task.yaml").exists() and elsewhere.exists()
    assert not (ws / "a.txt").exists()


def test_the_journal_survives_as_a_database(settings: Settings) -> None:
    with sqlite3.connect(settings.journal_path) as conn:
        assert conn.execute("select count(*) from runs").fetchone()[0] >= 1


def test_a_search_of_the_workspace_skips_what_the_config_denies_reading(
    tmp_path: Path, deskhand_home: Path
) -> None:
    """On f83fde3 `files.search_text .` printed the lines of a file under a folder whose
    reading config.toml denied; the folder-level read was allowed, the file is not."""
    settings = load_settings()
    settings.config_dir.mkdir(parents=True, exist_ok=True)
    deny_in_config(settings, ("fs.read", "*/private/*", "deny"))
    settings = load_settings()
    ws = tmp_path / "ws"
    (ws / "private").mkdir(parents=True)
    (ws / "private" / "keys.txt").write_text("password: hunter2\n")
    (ws / "notes.txt").write_text("password policy: long\n")
    from agent import assemble

    specs = {s.name: s for s in assemble.file_tool(settings, [ws]).specs()}
    for tool, args in (
        ("files.search_text", {"text": "password"}),
        ("files.search_names", {"pattern": "*.txt"}),
    ):
        spec = specs[tool]
        result = spec.run(spec.args.model_validate({"path": ".", **args}))
        assert result.ok and "notes.txt" in result.output
        assert "keys.txt" not in result.output and "hunter2" not in result.output
