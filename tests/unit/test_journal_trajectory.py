"""Model calls in the journal against real SQLite files: deltas of an append-only
transcript, the whole list when it is not one, exact rebuilds, old databases, typed reads.
(tests/integration/test_trajectory.py runs the real model through real runs.)"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from agent.approval import AlwaysAllow
from agent.events import RunFinished
from agent.journal import (
    MIGRATIONS,
    BrokenTrajectory,
    Journal,
    RunRecord,
    StepRecord,
)
from agent.journal.trajectory import schema_hash
from agent.loop import Engine, run
from agent.task import Limits, Task
from models.base import Completion, Message, adapter_id
from models.router import FallbackPolicy, ModelRouter
from models.scripted import ScriptedModel
from tools.registry import Registry, finish_spec

SCHEMA = {"type": "object", "properties": {"tool": {"type": "string"}}}


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.db") as j:
        yield j


def _start(journal: Journal) -> str:
    return journal.start_run(goal="g", workspace="/w", model_id="m")


def _transcript(steps: int) -> list[list[Message]]:
    """The message lists of `steps` calls of one append-only run."""
    messages = [Message("system", "You are deskhand. ünïcödé ✓"), Message("user", "the goal")]
    lists = [list(messages)]
    for i in range(1, steps):
        messages += [Message("assistant", f'{{"tool": "t{i}"}}'), Message("user", f"result {i}")]
        lists.append(list(messages))
    return lists


def _record(journal: Journal, run_id: str, step: int, messages: list[Message]) -> None:
    reply = Completion(f"reply {step}", "m", adapter_id="a.gguf@0123456789ab")
    journal.record_model_call(run_id, step, messages, reply, schema=SCHEMA, max_tokens=99)


def _prefixes(journal: Journal, run_id: str) -> list[int]:
    sql = "SELECT prefix_len FROM model_calls WHERE run_id = ? ORDER BY id"
    return [r[0] for r in journal.db.execute(sql, [run_id]).fetchall()]


def test_an_append_only_run_is_kept_as_deltas_and_rebuilt_exactly(journal: Journal) -> None:
    run_id = _start(journal)
    lists = _transcript(4)
    for step, messages in enumerate(lists, start=1):
        _record(journal, run_id, step, messages)
    assert _prefixes(journal, run_id) == [0, 2, 4, 6]
    stored = journal.db.execute("SELECT messages_json FROM model_calls ORDER BY id").fetchall()
    assert [len(json.loads(r[0])) for r in stored] == [2, 2, 2, 2]
    trajectory = journal.trajectory(run_id)
    assert [s.step for s in trajectory.steps] == [1, 2, 3, 4]
    assert [list(s.messages) for s in trajectory.steps] == lists
    assert [s.reply for s in trajectory.steps] == ["reply 1", "reply 2", "reply 3", "reply 4"]
    first = trajectory.steps[0]
    assert (first.model_id, first.adapter_id) == ("m", "a.gguf@0123456789ab")
    assert first.decoding.max_tokens == 99 and first.decoding.temperature == 0.0
    assert first.decoding.schema_hash == schema_hash(dict(reversed(SCHEMA.items())))


def test_messages_that_do_not_extend_the_previous_call_are_kept_whole(journal: Journal) -> None:
    run_id = _start(journal)
    first, second = _transcript(2)
    fresh = [Message("system", "another transcript"), Message("user", "an agent: step")]
    for step, messages in enumerate([first, second, fresh, fresh + [Message("user", "x")]], 1):
        _record(journal, run_id, step, messages)
    assert _prefixes(journal, run_id) == [0, 2, 0, 2]
    rebuilt = [list(s.messages) for s in journal.trajectory(run_id).steps]
    assert rebuilt == [first, second, fresh, fresh + [Message("user", "x")]]


def test_a_reopened_journal_goes_on_from_the_stored_calls(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    lists = _transcript(3)
    with Journal(path) as j:
        run_id = _start(j)
        _record(j, run_id, 1, lists[0])
    with Journal(path) as j:
        _record(j, run_id, 2, lists[1])
        _record(j, run_id, 3, lists[2])
        assert _prefixes(j, run_id) == [0, 2, 4]
        assert [list(s.messages) for s in j.trajectory(run_id).steps] == lists


def test_any_text_survives_byte_for_byte(journal: Journal) -> None:
    run_id = _start(journal)
    odd = 'nul\x00 tab\t crlf\r\n lone surrogate \udcff emoji 🧪 rtl \u202e quote " \\'
    messages = [Message("system", odd), Message("user", odd * 3)]
    journal.record_model_call(
        run_id, 1, messages, Completion(odd.replace("\udcff", "?"), "m"), schema=None, max_tokens=5
    )
    (step,) = journal.trajectory(run_id).steps
    assert list(step.messages) == messages and step.reply == odd.replace("\udcff", "?")
    assert step.decoding.schema_hash == "" and step.adapter_id == ""


def test_a_row_that_no_longer_rebuilds_is_an_error_not_a_near_miss(journal: Journal) -> None:
    run_id = _start(journal)
    for step, messages in enumerate(_transcript(2), start=1):
        _record(journal, run_id, step, messages)
    journal.db.execute(
        "UPDATE model_calls SET messages_json = ? WHERE step_idx = 2",
        [json.dumps([["assistant", "edited"], ["user", "result 1"]])],
    )
    with pytest.raises(BrokenTrajectory, match="step 2"):
        journal.trajectory(run_id)


def _old_database(path: Path) -> None:
    """A journal as the release before model calls left it: migrations up to 0004."""
    names = [name for name, _ in MIGRATIONS]
    old = MIGRATIONS[: names.index("0005_model_calls")]
    conn = sqlite3.connect(str(path), isolation_level=None)
    db = sqlite_utils.Database(conn)
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    for name, migrate in old:
        migrate(db)
        conn.execute("INSERT INTO _migrations VALUES (?, 0)", (name,))
    conn.execute(
        "INSERT INTO runs (id, goal, workspace, model_id, status, outcome, message, task_json,"
        " started_at, finished_at, steps) VALUES ('20240101-000000-old1', 'an old goal', '/w',"
        " 'smollm2', 'finished', 'success', 'done', '{\"goal\": \"an old goal\"}', 1.0, 2.0, 1)"
    )
    conn.execute(
        "INSERT INTO steps (run_id, idx, tool, args_json, ok, result_json, created_at)"
        " VALUES ('20240101-000000-old1', 1, 'finish', '{}', 1, '{}', 1.5)"
    )
    conn.close()


def test_an_old_database_opens_and_its_runs_read_as_before(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_database(path)
    with Journal(path) as j:
        assert j.applied_migrations()[-1] == MIGRATIONS[-1][0]
        (row,) = j.runs()
        assert (row["id"], row["goal"], row["outcome"]) == (
            "20240101-000000-old1",
            "an old goal",
            "success",
        )
        record = j.run_record("20240101-000000-old1")
        assert isinstance(record, RunRecord)
        assert (record.goal, record.steps, record.pid_started) == ("an old goal", 1, None)
        assert record.task == {"goal": "an old goal"}
        (step,) = j.step_records(record.id)
        assert step.record.tool == "finish" and step.record.ok and not step.in_flight
        assert j.trajectory(record.id).steps == ()
        new = _start(j)
        _record(j, new, 1, _transcript(1)[0])
        assert len(j.trajectory(new).steps) == 1


def test_typed_reads_match_the_rows(journal: Journal) -> None:
    better, worse = _start(journal), _start(journal)
    journal.begin_step(better, StepRecord(idx=1, tool="fs.write", args={"path": "a"}))
    journal.record_step(worse, StepRecord(idx=1, tool="finish", ok=True, result_data={"k": 1}))
    journal.finish_run(worse, outcome="failed", message="no")
    journal.add_feedback(worse, rating=-1, note="wrong file", step_idx=1)
    journal.add_preference(better, worse, note="cleaner")
    assert [r.id for r in journal.run_records()] == [r["id"] for r in journal.runs()]
    (running,) = journal.step_records(better)
    assert running.in_flight and running.record.args == {"path": "a"}
    (done,) = journal.step_records(worse)
    assert not done.in_flight and done.record.result_data == {"k": 1}
    (fb,) = journal.feedback_records(worse)
    assert (fb.rating, fb.note, fb.step_idx) == (-1, "wrong file", 1)
    (pref,) = journal.preference_records(worse)
    assert (pref.better_run_id, pref.worse_run_id, pref.note) == (better, worse, "cleaner")
    assert journal.preference_records("nobody") == []
    record = journal.run_record(worse)
    assert record is not None and (record.status, record.outcome) == ("finished", "failed")


def test_an_adapter_id_names_the_file_and_its_content(tmp_path: Path) -> None:
    path = tmp_path / "deskhand.gguf"
    path.write_bytes(b"one")
    first = adapter_id(path)
    path.write_bytes(b"two")
    assert first.startswith("deskhand.gguf@") and len(first) == len("deskhand.gguf@") + 12
    assert adapter_id(path) != first


def test_the_loop_journals_every_accepted_call_as_the_model_saw_it(tmp_path: Path) -> None:
    """With a scripted model: an invalid reply retried on the same model is not a step;
    the accepted reply is, with exactly the messages it answered."""
    replies = ["not json", '{"thought": "x", "tool": "finish", "args": {"message": "ok"}}']
    model = ScriptedModel(replies)
    registry = Registry([finish_spec()])
    router = ModelRouter(model, None, FallbackPolicy(remote_allowed=False))
    with Journal(tmp_path / "j.db") as journal:
        engine = Engine(router, registry, journal, AlwaysAllow())
        task = Task(goal="just finish", workspace=(tmp_path,), limits=Limits(max_steps=3))
        end = list(run(task, engine))[-1]
        assert isinstance(end, RunFinished) and end.outcome == "success"
        (step,) = journal.trajectory(end.run_id).steps
    assert len(model.calls) == 2 and model.calls[0] == model.calls[1]
    assert (step.step, list(step.messages), step.reply) == (1, model.calls[-1], replies[1])
    assert step.model_id == "scripted"
    assert step.decoding.schema_hash == schema_hash(registry.action_schema())
