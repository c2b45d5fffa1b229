"""The journal against real SQLite files: schema, durability, concurrency, crash recovery."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import agent.journal.encode as encode_module
import agent.journal.migrations as journal_module
from agent import procs
from agent.journal import INTERRUPTED_MESSAGE, Journal, StepRecord, UnknownRun

#: The real migrations, read before any test patches the list.
MIGRATION_NAMES = [name for name, _ in journal_module.MIGRATIONS]

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "data" / "journal.db") as j:
        yield j


def _start(journal: Journal, goal: str = "tidy the reports folder") -> str:
    return journal.start_run(
        goal=goal,
        workspace="/tmp/ws",
        model_id="smollm2",
        task_json='{"goal": "x"}',
        prompt_hash="p1",
        tools_hash="t1",
    )


def _step(idx: int, **overrides: Any) -> StepRecord:
    values: dict[str, Any] = {
        "idx": idx,
        "model_id": "smollm2",
        "prompt_hash": f"h{idx}",
        "prompt_tokens": 120,
        "tokens_reused": 100,
        "tokens_evaluated": 20,
        "completion_tokens": 15,
        "model_seconds": 0.5,
        "tool_seconds": 0.25,
        "thought": "make the folder",
        "tool": "fs.mkdir",
        "args": {"path": "reports"},
        "ok": True,
        "result_kind": "ok",
        "result_text": "created reports",
        "result_data": {"path": "/tmp/ws/reports"},
    }
    values.update(overrides)
    return StepRecord(**values)


def _dead_pid() -> int:
    # subprocess.run reaps the child, so its pid names no process afterwards.
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


# -- schema and connection settings -------------------------------------------------------


def test_migrations_are_recorded_and_not_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal.db"
    with Journal(path) as j:
        assert j.applied_migrations() == MIGRATION_NAMES
        assert {"runs", "steps", "approvals", "events", "file_changes"} <= set(j.db.table_names())
        assert {"outcomes", "feedback", "preferences"} <= set(j.db.table_names())
    calls: list[str] = []

    def _m0002(db: sqlite_utils.Database) -> None:
        calls.append("0002")
        db.execute("ALTER TABLE runs ADD COLUMN label TEXT")

    monkeypatch.setattr(
        journal_module, "MIGRATIONS", [*journal_module.MIGRATIONS, ("0002", _m0002)]
    )
    with Journal(path) as j:
        assert j.applied_migrations() == [*MIGRATION_NAMES, "0002"]
    with Journal(path) as j:  # nothing left to apply: 0001 would fail on existing tables
        assert j.applied_migrations() == [*MIGRATION_NAMES, "0002"]
        assert "label" in j.db.table("runs").columns_dict
    assert calls == ["0002"]


def test_a_failing_migration_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal.db"
    Journal(path).close()

    def _broken(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("migration bug")

    monkeypatch.setattr(journal_module, "MIGRATIONS", [*journal_module.MIGRATIONS, ("b", _broken)])
    with pytest.raises(RuntimeError, match="migration bug"):
        Journal(path)
    monkeypatch.undo()
    with Journal(path) as j:
        assert "half_done" not in j.db.table_names()
        assert j.applied_migrations() == MIGRATION_NAMES


def test_pragmas_are_set(journal: Journal) -> None:
    def pragma(name: str) -> Any:
        return journal.db.execute(f"PRAGMA {name}").fetchone()[0]

    assert pragma("journal_mode") == "wal"
    assert pragma("synchronous") == 2  # FULL
    assert pragma("foreign_keys") == 1
    assert pragma("busy_timeout") == 5000
    # WAL is a property of the file: a plain connection sees it too.
    with closing(sqlite3.connect(journal.path)) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_constructor_creates_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "journal.db"
    Journal(path).close()
    assert path.is_file()


def test_close_and_context_manager(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal.db") as j:
        _start(j)
    with pytest.raises(sqlite3.ProgrammingError):
        j.runs()


# -- runs and steps -------------------------------------------------------------------------


def test_run_round_trip(journal: Journal) -> None:
    run_id = _start(journal)
    journal.record_step(run_id, _step(1))
    journal.record_step(run_id, _step(2, ok=False, result_kind="not_found", error="no such file"))
    journal.record_approval(
        run_id,
        1,
        tool="fs.mkdir",
        capability="fs.write",
        scope="/tmp/ws/reports",
        summary="create folder reports",
        decision="allow",
        source="user",
    )
    journal.record_event(run_id, "model_switched", {"from": "a", "to": "b"}, step_idx=2)
    journal.finish_run(run_id, outcome="failed", message="gave up", checks=[{"name": "exists"}])

    run = journal.run(run_id)
    assert run is not None
    assert (run["status"], run["outcome"], run["message"]) == ("finished", "failed", "gave up")
    assert (run["goal"], run["model_id"], run["prompt_hash"], run["tools_hash"]) == (
        "tidy the reports folder",
        "smollm2",
        "p1",
        "t1",
    )
    assert run["pid"] == os.getpid()
    assert run["steps"] == 2
    assert run["finished_at"] >= run["started_at"]

    steps = journal.steps(run_id)
    assert [s["idx"] for s in steps] == [1, 2]
    assert steps[0]["args"] == {"path": "reports"}
    assert steps[0]["result_data"] == {"path": "/tmp/ws/reports"}
    assert (steps[0]["ok"], steps[1]["ok"]) == (True, False)
    assert (steps[0]["tokens_reused"], steps[0]["tokens_evaluated"]) == (100, 20)
    assert steps[1]["error"] == "no such file"
    assert "args_json" not in steps[0]

    [approval] = journal.approvals(run_id)
    assert (approval["step_idx"], approval["decision"], approval["source"]) == (1, "allow", "user")
    [event] = journal.events(run_id)
    assert (event["kind"], event["step_idx"], event["detail"]) == (
        "model_switched",
        2,
        {"from": "a", "to": "b"},
    )
    outcome = journal.db.execute("SELECT outcome, checks_json FROM outcomes").fetchall()
    assert outcome == [("failed", '[{"name": "exists"}]')]


def test_step_idx_is_unique_within_a_run(journal: Journal) -> None:
    run_id = _start(journal)
    journal.record_step(run_id, _step(1))
    with pytest.raises(sqlite3.IntegrityError):
        journal.record_step(run_id, _step(1, thought="again"))
    # The failed insert took its step count with it.
    assert journal.run(run_id)["steps"] == 1  # type: ignore[index]
    assert [s["thought"] for s in journal.steps(run_id)] == ["make the folder"]
    other = _start(journal)
    journal.record_step(other, _step(1))  # the same idx in another run is fine


def test_rows_must_belong_to_a_known_run(journal: Journal) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        journal.record_step("no-such-run", _step(1))
    with pytest.raises(UnknownRun):
        journal.finish_run("no-such-run", outcome="success")
    assert journal.db.execute("SELECT count(*) FROM outcomes").fetchone()[0] == 0


def test_invalid_outcome_is_refused_and_the_run_stays_open(journal: Journal) -> None:
    run_id = _start(journal)
    with pytest.raises(sqlite3.IntegrityError):
        journal.finish_run(run_id, outcome="great")
    assert journal.run(run_id)["status"] == "running"  # type: ignore[index]


def test_runs_newest_first_with_limit(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = iter(["20250101-000000-aaaa", "20250101-000000-bbbb", "20250101-000000-cccc"])
    monkeypatch.setattr(encode_module, "new_run_id", lambda: next(ids))
    first, second, third = _start(journal), _start(journal), _start(journal)
    for run_id, started in ((first, 100.0), (second, 300.0), (third, 200.0)):
        journal.db.execute("UPDATE runs SET started_at = ? WHERE id = ?", [started, run_id])
    assert [r["id"] for r in journal.runs()] == [second, third, first]
    assert [r["id"] for r in journal.runs(limit=1)] == [second]


def test_run_id_collision_is_retried(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = iter(["20250101-000000-aaaa", "20250101-000000-aaaa", "20250101-000000-bbbb"])
    monkeypatch.setattr(encode_module, "new_run_id", lambda: next(ids))
    assert _start(journal) == "20250101-000000-aaaa"
    assert _start(journal) == "20250101-000000-bbbb"


def test_real_run_ids_are_short_sortable_and_unique(journal: Journal) -> None:
    ids = [_start(journal) for _ in range(20)]
    assert len(set(ids)) == 20
    assert all(len(i) == len("20250101-000000-aaaa") for i in ids)


def test_resolve_run_id(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = iter(["20250101-000000-aaaa", "20250101-000000-aabb", "20250101-000001-cccc"])
    monkeypatch.setattr(encode_module, "new_run_id", lambda: next(ids))
    a, b, c = _start(journal), _start(journal), _start(journal)

    assert journal.resolve_run_id(a) == a
    assert journal.resolve_run_id("20250101-000001") == c
    assert journal.resolve_run_id("20250101-000000-aab") == b
    with pytest.raises(UnknownRun, match="ambiguous") as ambiguous:
        journal.resolve_run_id("20250101-000000-aa")
    assert a in str(ambiguous.value) and b in str(ambiguous.value)
    # SQL wildcards are plain characters in a prefix.
    for missing in ("2024", "%", "20250101_"):
        with pytest.raises(LookupError, match="no run with id"):
            journal.resolve_run_id(missing)
    with pytest.raises(UnknownRun, match="no run id given"):
        journal.resolve_run_id("")


# -- interrupted runs and crashes -------------------------------------------------------------


def test_mark_interrupted_only_touches_runs_of_dead_processes(journal: Journal) -> None:
    dead = _start(journal)
    mine = _start(journal)
    alive_elsewhere = _start(journal)
    finished_dead = _start(journal)
    journal.finish_run(finished_dead, outcome="success")
    dead_pid = _dead_pid()
    owners = ((dead, dead_pid, None), (finished_dead, dead_pid, None), (alive_elsewhere, 1, None))
    for run_id, pid, started in owners:
        journal.db.execute(
            "UPDATE runs SET pid = ?, pid_started = ? WHERE id = ?", [pid, started, run_id]
        )

    assert journal.mark_interrupted() == [dead]

    row = journal.run(dead)
    assert row is not None
    assert (row["status"], row["outcome"], row["message"]) == (
        "interrupted",
        "error",
        INTERRUPTED_MESSAGE,
    )
    assert row["finished_at"] is not None
    assert journal.run(mine)["status"] == "running"  # type: ignore[index]
    assert journal.run(alive_elsewhere)["status"] == "running"  # type: ignore[index]
    assert journal.run(finished_dead)["outcome"] == "success"  # type: ignore[index]
    assert journal.mark_interrupted() == []


def test_a_reused_pid_does_not_keep_a_dead_run_running(journal: Journal) -> None:
    # pid 1 is alive, but it is not the process that started this run: the recorded start
    # time says the owner began an hour before pid 1 did.
    reused = _start(journal)
    live_owner = _start(journal)
    pid1_started = procs.started_at(1)
    assert pid1_started is not None and pid1_started > 0
    journal.db.execute(
        "UPDATE runs SET pid = 1, pid_started = ? WHERE id = ?", [pid1_started - 3600, reused]
    )
    journal.db.execute(
        "UPDATE runs SET pid = 1, pid_started = ? WHERE id = ?", [pid1_started, live_owner]
    )

    assert journal.mark_interrupted() == [reused]
    assert journal.run(live_owner)["status"] == "running"  # type: ignore[index]


def test_a_run_records_its_owner_with_the_owners_start_time(journal: Journal) -> None:
    run = journal.run(_start(journal))
    assert run is not None
    assert (run["pid"], run["pid_started"]) == procs.me()
    assert procs.owner_alive(run["pid"], run["pid_started"])
    assert not procs.owner_alive(run["pid"], run["pid_started"] - 60)
    assert not procs.owner_alive(_dead_pid(), None)
    assert not procs.owner_alive(0) and not procs.owner_alive(True)


_CRASHING_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from agent.journal import Journal, StepRecord

    journal = Journal(Path(sys.argv[1]))
    run_id = journal.start_run(goal="g", workspace="/w", model_id="m")
    journal.record_step(run_id, StepRecord(idx=1, tool="fs.mkdir", args={"path": "a"}))
    journal.record_step(run_id, StepRecord(idx=2, tool="fs.write", args={"path": "b"}))
    print(run_id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_steps_survive_a_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    pythonpath = [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in pythonpath if p)}
    child = subprocess.run(
        [sys.executable, "-c", _CRASHING_CHILD, str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    run_id = child.stdout.strip()
    # Killed without closing: the committed steps still sit in the WAL, not the main file.
    assert path.with_name(path.name + "-wal").stat().st_size > 0

    with Journal(path) as j:
        assert [(s["idx"], s["tool"], s["args"]) for s in j.steps(run_id)] == [
            (1, "fs.mkdir", {"path": "a"}),
            (2, "fs.write", {"path": "b"}),
        ]
        assert j.run(run_id)["steps"] == 2  # type: ignore[index]
        assert j.mark_interrupted() == [run_id]
        assert j.run(run_id)["status"] == "interrupted"  # type: ignore[index]


# -- several connections ------------------------------------------------------------------------


def test_a_second_journal_sees_committed_data(journal: Journal) -> None:
    run_id = _start(journal)
    journal.record_step(run_id, _step(1))
    with Journal(journal.path) as second:
        assert [s["idx"] for s in second.steps(run_id)] == [1]
        second.add_feedback(run_id, rating=1, note="good")
    assert [f["note"] for f in journal.feedback(run_id)] == ["good"]

    seen: list[list[int]] = []

    def reader() -> None:
        with Journal(journal.path) as third:
            seen.append([s["idx"] for s in third.steps(run_id)])

    thread = threading.Thread(target=reader)
    thread.start()
    thread.join()
    assert seen == [[1]]


def test_a_journal_belongs_to_the_thread_that_opened_it(journal: Journal) -> None:
    errors: list[BaseException] = []

    def misuse() -> None:
        try:
            journal.runs()
        except sqlite3.ProgrammingError as exc:
            errors.append(exc)

    thread = threading.Thread(target=misuse)
    thread.start()
    thread.join()
    assert len(errors) == 1


def test_concurrent_first_opens_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def open_and_write() -> None:
        try:
            barrier.wait()
            with Journal(path) as j:
                _start(j)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=open_and_write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with Journal(path) as j:
        assert j.applied_migrations() == MIGRATION_NAMES
        assert len(j.runs()) == 4


# -- file changes, feedback, preferences -----------------------------------------------------


def test_file_changes_and_undo_marks(journal: Journal) -> None:
    run_id = _start(journal)
    first = journal.record_file_change(run_id, 1, {"op": "mkdir", "path": Path("/tmp/ws/a")})
    second = journal.record_file_change(run_id, 2, {"op": "write", "path": "/tmp/ws/b"})
    journal.mark_undone(second)
    changes = journal.file_changes(run_id)
    assert [(c["id"], c["op"], c["step_idx"]) for c in changes] == [
        (first, "mkdir", 1),
        (second, "write", 2),
    ]
    assert changes[0]["change"] == {"op": "mkdir", "path": "/tmp/ws/a"}
    assert changes[0]["undone_at"] is None
    assert changes[1]["undone_at"] is not None
    with pytest.raises(KeyError):
        journal.record_file_change(run_id, 3, {"path": "/tmp/ws/c"})


def test_feedback_and_preferences(journal: Journal) -> None:
    better, worse = _start(journal), _start(journal)
    first = journal.add_feedback(better, rating=1, note="quick")
    second = journal.add_feedback(better, note="step 2 was odd", step_idx=2)
    assert second > first
    rows = journal.feedback(better)
    assert [(r["rating"], r["note"], r["step_idx"]) for r in rows] == [
        (1, "quick", None),
        (None, "step 2 was odd", 2),
    ]
    with pytest.raises(sqlite3.IntegrityError):
        journal.add_feedback(better, rating=5)
    pref = journal.add_preference(better, worse, note="fewer steps")
    row = journal.db.execute(
        "SELECT better_run_id, worse_run_id FROM preferences WHERE id = ?", [pref]
    )
    assert row.fetchone() == (better, worse)
    with pytest.raises(sqlite3.IntegrityError):
        journal.add_preference(better, "no-such-run")


def test_goals_are_not_logged_at_info(journal: Journal, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="agent.journal")
    run_id = _start(journal, goal="type my password hunter2")
    journal.finish_run(run_id, outcome="success")
    journal.db.execute("UPDATE runs SET status='running', pid=? WHERE id=?", [_dead_pid(), run_id])
    journal.mark_interrupted()
    assert any(r.levelno >= logging.INFO for r in caplog.records)
    assert not any("hunter2" in r.getMessage() for r in caplog.records)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    thought=st.text(),
    args=st.dictionaries(st.text(), _json, max_size=4),
    data=st.dictionaries(st.text(), _json, max_size=4),
)
def test_step_text_and_json_round_trip(
    tmp_path_factory: pytest.TempPathFactory, thought: str, args: dict[str, Any], data: Any
) -> None:
    with Journal(tmp_path_factory.mktemp("j") / "journal.db") as j:
        run_id = _start(j)
        j.record_step(run_id, _step(1, thought=thought, args=args, result_data=data))
        [step] = j.steps(run_id)
    assert (step["thought"], step["args"], step["result_data"]) == (thought, args, data)


def test_events_of_one_kind(journal: Journal) -> None:
    run_id = _start(journal)
    journal.record_event(run_id, "experience_used", {"runs": ["a"]})
    journal.record_event(run_id, "model_switched", {"from": "a", "to": "b"})
    journal.record_event(run_id, "experience_used", {"runs": ["b"]})
    used = journal.events(run_id, kind="experience_used")
    assert [e["detail"]["runs"] for e in used] == [["a"], ["b"]]
    assert len(journal.events(run_id)) == 3
    assert journal.events(run_id, kind="nothing") == []
