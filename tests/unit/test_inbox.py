"""The inbox's folder logic: settling, claims, filing results, recovery after a crash.

A crash is simulated the way it happens: a claim is made and an attempt recorded, then
the claim's lock is released without filing anything (the OS does that when a process
dies). Real watchdog events are exercised in tests/integration/test_inbox.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent.events import Event, RunStarted
from agent.inbox import Inbox, Notice
from agent.inbox.claims import (
    MAX_ATTEMPTS,
    RESULT_FILE,
    Claim,
    adopt,
    claim_file,
    file_result,
    move_no_replace,
    read_status,
    result_record,
    write_json_atomic,
)
from agent.inbox.settle import Settler
from agent.taskfile import load_task_file


def task_text(n: int | str, on_interrupt: str = "fail") -> str:
    return (
        f"name: task {n}\n"
        "steps:\n"
        f"  - tool: files.make_folder\n    args: {{path: out-{n}}}\n"
        f"on_interrupt: {on_interrupt}\n"
    )


@dataclass(frozen=True)
class FakeReport:
    outcome: str
    message: str
    run_id: str | None

    def to_json(self) -> dict[str, Any]:
        checks = [{"kind": "file_exists", "ok": self.outcome == "success"}]
        return {"outcome": self.outcome, "run_id": self.run_id, "checks": checks}


@dataclass
class Runner:
    """Loads the file as the real runner does, records the call, returns `outcome`."""

    outcome: str = "success"
    wait_for_stop: bool = False
    error: Exception | None = None
    calls: list[tuple[str, str]] = field(default_factory=list)
    started: threading.Event = field(default_factory=threading.Event)

    def __call__(
        self, path: Path, *, stop: threading.Event, on_event: Callable[[Event], None]
    ) -> FakeReport:
        text = path.read_text()
        self.calls.append((path.name, text))
        task = load_task_file(path)
        run_id = f"run-{len(self.calls)}"
        on_event(RunStarted(run_id, task.name, "fake", "", ()))
        self.started.set()
        if self.error is not None:
            raise self.error
        if self.wait_for_stop:
            assert stop.wait(30), "the inbox never set the stop flag"
            return FakeReport("stopped", "stopped by the user", run_id)
        return FakeReport(self.outcome, f"{self.outcome} as told", run_id)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


def drop(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def run_once(folder: Path, runner: Runner) -> list[Notice]:
    notices: list[Notice] = []
    inbox = Inbox(folder, runner, settle_seconds=0.0, notify=notices.append)
    inbox.start(once=True)
    assert inbox.wait(30)
    return notices


def result_of(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def crashed_claim(folder: Path, name: str, text: str, *, attempts: int = 1) -> Path:
    """A claim as a killed watcher leaves it: attempts recorded, nothing filed."""
    claim = claim_file(folder, drop(folder, name, text))
    assert claim is not None
    for _ in range(attempts):
        claim.begin_attempt()
    claim.release_lock()
    return claim.folder


# -- settling ------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_fresh_file_waits_until_it_has_not_changed_for_the_settle_time(tmp_path: Path) -> None:
    clock, wall = Clock(), Clock()
    settler = Settler(2.0, clock=clock, wall=wall)
    path = drop(tmp_path, "a.task.yaml", "name: half")
    os.utime(path, (wall.now, wall.now))
    settler.seen(path)
    assert settler.take_ready() is None and settler.wait_seconds() == 2.0

    clock.now += 1.5
    wall.now += 1.5
    with path.open("a") as file:  # the writer goes on
        file.write("\nsteps: []")
    os.utime(path, (wall.now, wall.now))
    settler.seen(path)
    clock.now += 1.0
    assert settler.take_ready() is None  # 1 s since the last write

    clock.now += 1.0
    assert settler.take_ready() == path
    assert path not in settler and settler.wait_seconds() is None


def test_a_change_without_an_event_restarts_the_wait(tmp_path: Path) -> None:
    clock, wall = Clock(), Clock()
    settler = Settler(1.0, clock=clock, wall=wall)
    path = drop(tmp_path, "a.task.yaml", "x")
    os.utime(path, (wall.now, wall.now))
    settler.seen(path)
    path.write_text("xy")  # size changes; suppose its event was lost
    clock.now += 1.0
    assert settler.take_ready() is None
    clock.now += 1.0
    assert settler.take_ready() == path


def test_moved_in_and_old_files_are_ready_at_once_folders_and_missing_are_ignored(
    tmp_path: Path,
) -> None:
    clock, wall = Clock(), Clock()
    settler = Settler(5.0, clock=clock, wall=wall)
    moved = drop(tmp_path, "moved.task.yaml", "x")
    old = drop(tmp_path, "old.task.yaml", "x")
    os.utime(old, (wall.now - 60, wall.now - 60))
    (tmp_path / "dir.task.yaml").mkdir()
    (tmp_path / "link.task.yaml").symlink_to(old)
    settler.seen(moved, complete=True)
    settler.seen(old)
    settler.seen(tmp_path / "dir.task.yaml")
    settler.seen(tmp_path / "link.task.yaml")
    settler.seen(tmp_path / "gone.task.yaml")
    # the symlink is pending too (the inbox then files it under failed/ with the reason,
    # tests/security/test_own_files_and_config_caps.py); it settles like a file written in place
    assert len(settler) == 3
    assert [settler.take_ready(), settler.take_ready(), settler.take_ready()] == [moved, old, None]


# -- claims and results ------------------------------------------------------------------


def test_a_claim_moves_the_file_and_holds_a_lock(tmp_path: Path) -> None:
    path = drop(tmp_path, "a.task.yaml", task_text(1))
    claim = claim_file(tmp_path, path)
    assert claim is not None and not path.exists()
    assert claim.task_path.read_text() == task_text(1)
    assert claim.task_path.parent.parent == tmp_path / "processing"
    assert adopt(claim.folder) is None  # locked: its owner is alive
    assert claim_file(tmp_path, path) is None  # already taken
    assert len(list((tmp_path / "processing").iterdir())) == 1  # the loser left nothing
    claim.release_lock()
    adopted = adopt(claim.folder)
    assert adopted is not None and adopted.name == "a.task.yaml"


def test_racing_claimers_each_file_is_claimed_once(tmp_path: Path) -> None:
    paths = [drop(tmp_path, f"t{i:03}.task.yaml", task_text(i)) for i in range(200)]
    won: list[list[Claim]] = [[], [], [], []]
    barrier = threading.Barrier(len(won))

    def claimer(mine: list[Claim]) -> None:
        barrier.wait()
        for path in paths:
            claim = claim_file(tmp_path, path)
            if claim is not None:
                mine.append(claim)

    threads = [threading.Thread(target=claimer, args=(w,)) for w in won]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    names = sorted(c.name for w in won for c in w)
    assert names == sorted(p.name for p in paths)
    assert len(list((tmp_path / "processing").iterdir())) == 200


def test_filing_never_overwrites_and_puts_the_result_beside(tmp_path: Path) -> None:
    done = tmp_path / "done"
    done.mkdir()
    (done / "a.task.yaml").write_text("an older a")
    (done / "a-2.result.json").write_text("{}")
    claim = claim_file(tmp_path, drop(tmp_path, "a.task.yaml", task_text(1)))
    assert claim is not None
    claim.begin_attempt()
    result = result_record(claim, "success", "ok", FakeReport("success", "ok", "r1"), [])
    where = file_result(tmp_path, claim, result)
    assert where == done / "a-3.task.yaml" and where.read_text() == task_text(1)
    assert (done / "a.task.yaml").read_text() == "an older a"
    saved = result_of(done / "a-3.result.json")
    assert saved["file"] == "done/a-3.task.yaml" and saved["run_id"] == "r1"
    assert saved["attempts"] == 1 and saved["checks"] == [{"kind": "file_exists", "ok": True}]
    assert not claim.folder.exists()


def test_filing_again_completes_a_claim_left_half_filed(tmp_path: Path) -> None:
    claim = claim_file(tmp_path, drop(tmp_path, "a.task.yaml", task_text(1)))
    assert claim is not None
    result = result_record(claim, "failed", "no", None, [])
    result["file"] = "failed/a.task.yaml"
    (tmp_path / "failed").mkdir()
    # Crashed after moving the task out, before moving the result.
    write_json_atomic(claim.folder / RESULT_FILE, result)
    assert move_no_replace(claim.task_path, tmp_path / "failed" / "a.task.yaml")
    claim.release_lock()
    notices = run_once(tmp_path, runner := Runner())
    assert runner.calls == [] and [n.kind for n in notices] == ["filed"]
    assert result_of(tmp_path / "failed" / "a.result.json")["outcome"] == "failed"
    assert list((tmp_path / "processing").iterdir()) == []


def test_a_move_left_as_two_links_is_finished_not_duplicated(tmp_path: Path) -> None:
    source, target = drop(tmp_path, "a", "x"), tmp_path / "b"
    os.link(source, target)
    assert move_no_replace(source, target) and not source.exists()
    other = drop(tmp_path, "c", "y")
    assert not move_no_replace(other, target) and other.exists()


# -- running and recovery ------------------------------------------------------------------


def test_runs_files_and_files_them_by_outcome(tmp_path: Path) -> None:
    drop(tmp_path, "good.task.yaml", task_text("good"))
    drop(tmp_path, "bad.task.yaml", "name: [unclosed\n")
    drop(tmp_path, "notes.txt", "not a task")
    notices = run_once(tmp_path, runner := Runner())
    assert [c[0] for c in runner.calls] == ["bad.task.yaml", "good.task.yaml"]
    good = result_of(tmp_path / "done" / "good.result.json")
    assert good["outcome"] == "success" and good["run_id"] == "run-2"
    assert good["rerun_after_interruption"] is False and good["attempts"] == 1
    assert good["seconds"] >= 0 and good["started_at"] and good["finished_at"]
    bad = result_of(tmp_path / "failed" / "bad.result.json")
    assert bad["outcome"] == "invalid" and bad["message"].startswith("bad.task.yaml:2:")
    assert bad["errors"][0]["kind"] == "syntax" and bad["errors"][0]["line"] == 2
    assert (tmp_path / "failed" / "bad.task.yaml").read_text() == "name: [unclosed\n"
    assert (tmp_path / "notes.txt").exists()
    assert sorted(n.kind for n in notices) == ["filed", "filed", "started", "started"]


def test_a_runner_bug_is_filed_and_the_inbox_carries_on(tmp_path: Path) -> None:
    drop(tmp_path, "a.task.yaml", task_text("a"))
    drop(tmp_path, "b.task.yaml", task_text("b"))
    runner = Runner(error=RuntimeError("boom"))
    run_once(tmp_path, runner)
    for name in ("a", "b"):
        result = result_of(tmp_path / "failed" / f"{name}.result.json")
        assert result["outcome"] == "error" and "RuntimeError: boom" in result["message"]
        assert result["run_id"] == f"run-{1 if name == 'a' else 2}"


@pytest.mark.parametrize("on_interrupt", ["rerun", "fail"])
def test_an_interrupted_claim_is_rerun_or_failed_by_its_setting(
    tmp_path: Path, on_interrupt: str
) -> None:
    crashed_claim(tmp_path, "a.task.yaml", task_text("a", on_interrupt))
    notices = run_once(tmp_path, runner := Runner())
    assert notices[0].kind == "recovered" and notices[0].outcome == on_interrupt
    if on_interrupt == "rerun":
        assert [c[0] for c in runner.calls] == ["a.task.yaml"]
        result = result_of(tmp_path / "done" / "a.result.json")
        assert result["outcome"] == "success" and result["rerun_after_interruption"] is True
        assert result["attempts"] == 2
        assert [a["end"] for a in result["attempt_history"]] == ["interrupted", "finished"]
    else:
        assert runner.calls == []
        result = result_of(tmp_path / "failed" / "a.result.json")
        assert result["outcome"] == "interrupted" and "on_interrupt: fail" in result["message"]
        assert result["attempts"] == 1
    assert list((tmp_path / "processing").iterdir()) == []


def test_recovery_fails_unloadable_and_worn_out_files_and_runs_unstarted_claims(
    tmp_path: Path,
) -> None:
    crashed_claim(tmp_path, "broken.task.yaml", "name: x\nsteps: 5\n")
    crashed_claim(tmp_path, "worn.task.yaml", task_text("w", "rerun"), attempts=MAX_ATTEMPTS)
    crashed_claim(tmp_path, "fresh.task.yaml", task_text("f", "fail"), attempts=0)
    (tmp_path / "processing" / "empty-claim").mkdir()
    run_once(tmp_path, runner := Runner())
    assert [c[0] for c in runner.calls] == ["fresh.task.yaml"]
    fresh = result_of(tmp_path / "done" / "fresh.result.json")
    assert fresh["rerun_after_interruption"] is False and fresh["attempts"] == 1
    broken = result_of(tmp_path / "failed" / "broken.result.json")
    assert broken["outcome"] == "interrupted" and "steps" in broken["message"]
    assert broken["errors"] and broken["errors"][0]["field"] == "steps"
    worn = result_of(tmp_path / "failed" / "worn.result.json")
    assert worn["attempts"] == MAX_ATTEMPTS and "gave up" in worn["message"]
    assert list((tmp_path / "processing").iterdir()) == []


def test_a_live_watchers_claim_is_left_alone(tmp_path: Path) -> None:
    live = claim_file(tmp_path, drop(tmp_path, "a.task.yaml", task_text("a", "rerun")))
    assert live is not None
    live.begin_attempt()
    run_once(tmp_path, runner := Runner())
    assert runner.calls == [] and live.task_path.exists()
    status = read_status(tmp_path)
    assert [r["name"] for r in status["running"]] == ["a.task.yaml"]
    assert status["interrupted"] == [] and status["running"][0]["attempts"] == 1
    live.release_lock()


@pytest.mark.parametrize("on_interrupt", ["rerun", "fail"])
def test_stop_ends_the_current_run_and_files_it_by_its_setting(
    tmp_path: Path, on_interrupt: str
) -> None:
    drop(tmp_path, "a.task.yaml", task_text("a", on_interrupt))
    drop(tmp_path, "b.task.yaml", task_text("b"))
    runner = Runner(wait_for_stop=True)
    notices: list[Notice] = []
    inbox = Inbox(tmp_path, runner, settle_seconds=0.0, notify=notices.append)
    inbox.start()
    assert runner.started.wait(30)
    inbox.stop()
    assert inbox.wait(30)
    assert [c[0] for c in runner.calls] == ["a.task.yaml"]
    assert (tmp_path / "b.task.yaml").exists()  # never claimed
    if on_interrupt == "rerun":
        assert notices[-1].kind == "deferred"
        (folder,) = (tmp_path / "processing").iterdir()
        status = read_status(tmp_path)
        assert [r["name"] for r in status["interrupted"]] == ["a.task.yaml"]
        rerun = Runner()
        run_once(tmp_path, rerun)
        result = result_of(tmp_path / "done" / "a.result.json")
        assert result["attempts"] == 2 and result["rerun_after_interruption"] is True
        assert result["attempt_history"][0]["end"] == "stopped"
        assert result["attempt_history"][0]["run_id"] == "run-1"
    else:
        result = result_of(tmp_path / "failed" / "a.result.json")
        assert result["outcome"] == "stopped"
        assert list((tmp_path / "processing").iterdir()) == []


def test_status_counts_the_folder(tmp_path: Path) -> None:
    drop(tmp_path, "w1.task.yaml", task_text(1))
    drop(tmp_path, "w2.task.yaml", task_text(2))
    cut = crashed_claim(tmp_path, "cut.task.yaml", task_text(3))
    info = json.loads((cut / "claim.json").read_text())
    write_json_atomic(cut / "claim.json", {**info, "owner_pid": dead_pid()})
    for sub, n in (("done", 3), ("failed", 1)):
        (tmp_path / sub).mkdir(exist_ok=True)
        for i in range(n):
            drop(tmp_path / sub, f"x{i}.task.yaml", "")
    status = read_status(tmp_path)
    assert status["waiting"] == ["w1.task.yaml", "w2.task.yaml"]
    assert status["done"] == 3 and status["failed"] == 1 and status["running"] == []
    assert [r["name"] for r in status["interrupted"]] == ["cut.task.yaml"]


def test_status_does_not_take_a_reused_pid_for_a_live_watcher(tmp_path: Path) -> None:
    # pid 1 lives, but not since the time the claim and the watcher state recorded: the
    # watcher that wrote them is gone and its pid was given to another process.
    cut = crashed_claim(tmp_path, "cut.task.yaml", task_text(1))
    info = json.loads((cut / "claim.json").read_text())
    write_json_atomic(cut / "claim.json", {**info, "owner_pid": 1, "owner_started": 1.0})
    state = tmp_path / ".deskhand-watch"
    state.mkdir()
    write_json_atomic(state / "1.json", {"pid": 1, "pid_started": 1.0, "queue": []})

    status = read_status(tmp_path)

    assert [r["name"] for r in status["interrupted"]] == ["cut.task.yaml"]
    assert status["running"] == [] and status["watchers"] == []
