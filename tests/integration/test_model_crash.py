"""A model process that crashes in the middle of a run, from the CLI and from the watched
inbox (the palette's case is in tests/app/test_app_model_crash.py): the run is journaled
as ``error`` with a one-line reason, the process that ran it lives on, the next run works.

The crash is a real SIGSEGV sent to the real llama.cpp child once the run's first action
has been proposed; the run's next model call finds the child dead. Nothing sleeps: the
tests wait on the CLI's JSON event lines and on the inbox's notices.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from model_processes import model_children

from agent.events import ActionProposed, Event
from agent.inbox import Inbox, Notice
from agent.journal import Journal
from agent.runner import unattended
from agent.settings import load_settings

pytestmark = pytest.mark.model

DESKHAND = str(Path(sys.executable).parent / "deskhand")
WAIT = 300.0
CRASHED = "the model process crashed (SIGSEGV, signal 11); it will be restarted"


def segfault_model_of(parent: int) -> int:
    (child,) = model_children(parent)
    os.kill(child.pid, signal.SIGSEGV)
    return child.pid


def cli_run(ws: Path, on_event: Callable[[dict[str, Any], int], None]) -> tuple[int, list[Any]]:
    proc = subprocess.Popen(
        [DESKHAND, "run", "List the files in the workspace", "--workspace", str(ws)]
        + ["--yes", "--json", "--max-steps", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    events = []
    for line in proc.stdout:
        events.append(json.loads(line))
        on_event(events[-1], proc.pid)
    code = proc.wait(WAIT)
    assert "Traceback" not in proc.stderr.read()
    return code, events


def test_a_model_crash_mid_run_from_the_cli_is_an_error_and_the_next_run_works(
    embedded_gguf: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "notes.txt").write_text("hello\n")
    killed: list[int] = []

    def kill_at_first_action(event: dict[str, Any], pid: int) -> None:
        if event["event"] == "ActionProposed" and not killed:
            killed.append(segfault_model_of(pid))

    code, events = cli_run(ws, kill_at_first_action)
    assert killed, "the run proposed no action"
    end = events[-1]
    assert end["event"] == "RunFinished" and end["outcome"] == "error", end
    assert end["message"] == f"model error: {CRASHED}"
    assert code == 1
    with Journal(load_settings().journal_path) as journal:
        run = journal.run(end["run_id"])
    assert run is not None and run["outcome"] == "error" and CRASHED in run["message"]

    code, events = cli_run(ws, lambda event, pid: None)
    assert code in (0, 1) and events[-1]["outcome"] in ("success", "failed")
    assert any(e["event"] == "ActionProposed" for e in events)


def test_a_model_crash_mid_run_in_the_watched_inbox_files_an_error_and_the_next_task_runs(
    embedded_gguf: Path, tmp_path: Path
) -> None:
    inbox_dir, ws = tmp_path / "inbox", tmp_path / "ws"
    inbox_dir.mkdir()
    ws.mkdir()
    (ws / "notes.txt").write_text("hello\n")
    real = unattended(load_settings(), [ws])
    killed: list[int] = []

    def run(path: Path, *, stop: threading.Event, on_event: Callable[[Event], None]) -> Any:
        def watch(event: Event) -> None:
            if isinstance(event, ActionProposed) and path.name == "a.task.yaml" and not killed:
                killed.append(segfault_model_of(os.getpid()))
            on_event(event)

        return real(path, stop=stop, on_event=watch)

    filed: list[Notice] = []
    cond = threading.Condition()

    def notify(notice: Notice) -> None:
        with cond:
            if notice.kind == "filed":
                filed.append(notice)
            cond.notify_all()

    inbox = Inbox(inbox_dir, run, settle_seconds=0.0, notify=notify)
    inbox.start()
    task = "goal: List the files in the workspace\nlimits: {max_steps: 3}\n"
    (inbox_dir / "a.task.yaml").write_text("name: a\n" + task)
    with cond:
        assert cond.wait_for(lambda: len(filed) == 1, WAIT), filed
    (inbox_dir / "b.task.yaml").write_text("name: b\n" + task)
    with cond:
        assert cond.wait_for(lambda: len(filed) == 2, WAIT), filed
    inbox.stop()
    assert inbox.wait(60)

    assert killed and psutil.Process().is_running()
    first, second = filed
    assert first.outcome == "error" and CRASHED in first.message
    assert first.path is not None and first.path.parent.name == "failed"
    assert second.outcome in ("success", "failed") and CRASHED not in second.message
