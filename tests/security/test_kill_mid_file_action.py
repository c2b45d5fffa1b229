"""kill -9 in the middle of a file action: the journal must hold what was in flight, and
`deskhand undo` must put the workspace back.

A child process runs the real engine (tests/security/inflight_child.py) on one large
copy or write and is parked exactly mid-action, after some 1 MiB chunks have landed (its
stop flag, handed to the registry as data, signals on a pipe and blocks); the test kills
it with SIGKILL there. On the code before intents (21d258f) the step had no journal row
and no file change was recorded: `deskhand undo` said "no file changes to undo" and left
the partial copy, the half-written new file and the half-overwritten file in place.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.journal import Journal
from agent.settings import load_settings

CHILD = str(Path(__file__).with_name("inflight_child.py"))
DESKHAND = str(Path(sys.executable).parent / "deskhand")
BIG = 24 << 20

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL and fd passing")


def kill_mid_action(home: Path, ws: Path, tool: str, calls: int, **args: Any) -> str:
    """Run the action in a child, kill -9 it once it is parked mid-action; its run id."""
    read, write = os.pipe()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, CHILD, str(home), str(ws), str(write), str(calls), tool],
        pass_fds=(write,), env=env, stdin=subprocess.PIPE,
    )  # fmt: skip
    os.close(write)
    try:
        assert child.stdin is not None
        with child.stdin:
            child.stdin.write(json.dumps(args).encode())
        run_id = os.read(read, 64).decode()  # blocks until parked; "" if the child died
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        os.close(read)
    assert run_id, "the child ended before it reached the middle of the action"
    return run_id


def in_flight(home: Path, run_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with Journal(load_settings({"DESKHAND_HOME": str(home)}).journal_path) as journal:
        assert journal.mark_interrupted() == [run_id]
        (step,) = journal.steps(run_id)
        return step, journal.file_changes(run_id, in_flight=True)


def undo(run_id: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DESKHAND, "undo", run_id], capture_output=True, text=True, timeout=120,
        env=dict(os.environ),
    )  # fmt: skip


def test_kill_mid_copy_then_undo_removes_the_partial_copy(
    deskhand_home: Path, workspace: Path
) -> None:
    (workspace / "big.bin").write_bytes(b"\x03" * BIG)
    run_id = kill_mid_action(deskhand_home, workspace, "files.copy", 6, source="big.bin",
                             destination="out/copy.bin")  # fmt: skip
    assert 0 < (workspace / "out" / "copy.bin").stat().st_size < BIG  # caught mid-copy
    step, changes = in_flight(deskhand_home, run_id)
    assert step["state"] == "running" and step["tool"] == "files.copy"
    assert [(c["op"], c["state"]) for c in changes] == [("make_folder", "intent"),
                                                         ("copy", "intent")]  # fmt: skip
    proc = undo(run_id)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in workspace.iterdir()) == ["big.bin"]


def test_kill_mid_write_of_a_new_file_then_undo_removes_it(
    deskhand_home: Path, workspace: Path
) -> None:
    run_id = kill_mid_action(deskhand_home, workspace, "files.write", 4, path="new.txt",
                             content="n" * BIG)  # fmt: skip
    assert 0 < (workspace / "new.txt").stat().st_size < BIG
    _, changes = in_flight(deskhand_home, run_id)
    assert [c["op"] for c in changes] == ["create_file"]
    proc = undo(run_id)
    assert proc.returncode == 0, proc.stderr
    assert list(workspace.iterdir()) == []


def test_kill_mid_overwrite_then_undo_restores_the_old_content(
    deskhand_home: Path, workspace: Path
) -> None:
    (workspace / "notes.txt").write_text("the notes before")
    run_id = kill_mid_action(deskhand_home, workspace, "files.write", 4, path="notes.txt",
                             content="o" * BIG)  # fmt: skip
    assert (workspace / "notes.txt").read_text().startswith("ooo")  # half overwritten
    _, changes = in_flight(deskhand_home, run_id)
    assert [c["op"] for c in changes] == ["modify_file"]
    proc = undo(run_id)
    assert proc.returncode == 0, proc.stderr
    assert "restored the earlier content" in proc.stdout
    assert (workspace / "notes.txt").read_text() == "the notes before"
