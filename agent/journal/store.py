"""The journal's store: one class, `Journal`, owns deskhand's SQLite database.

Invariants:
- WAL mode with synchronous=FULL, and every write method commits before it returns: a
  step is on disk before the next action starts, so a crash (even kill -9) loses nothing
  that happened.
- Writes go through one explicit ``BEGIN IMMEDIATE`` transaction per method (`_tx`), in
  plain SQL, so a method's rows land together or not at all whatever sqlite-utils version
  is installed (older ones commit inside their own helpers). sqlite-utils serves the reads.
- The schema changes only through `migrations.MIGRATIONS`, ordered named functions;
  applied names are recorded in ``_migrations`` and never run twice, also when several
  processes open a fresh file at once (the migration transaction is exclusive).
- Rows carry the model id and the hashes of the prompt template and tool specs, so old
  outcomes stay interpretable after either changes.
- A run left 'running' by a process that no longer exists is marked 'interrupted' by
  `mark_interrupted()`, which entry points call at start. Runs owned by this process or
  by a live one (same pid and same process start time, agent/procs.py) are never touched.
- Intent before action: `begin_step` commits a step as 'running' before its tool runs,
  and `record_intents` commits a file change as an 'intent' before it is made (the
  executor relays them from the tool's thread). `record_step` completes the step in one
  transaction with its final file changes, which replace its intents when the action
  settled (finished, or took back what it half did); an action that did not stop, or
  could not take back its half-done change, keeps its intents. A killed process leaves
  the step 'running' and its intents in place; `file_changes(..., in_flight=True)` returns them
  for `deskhand undo`. ``state`` is NULL on done rows, also on rows older than it.
- Every model step that got a reply is kept exactly (`record_model_call`, before its
  action runs): messages, raw reply, decoding settings, model and adapter ids, stored as
  deltas of the run's previous call (agent/journal/trajectory.py); `trajectory` rebuilds
  them byte for byte.
- A `Journal` belongs to the thread that opened it (sqlite3 enforces this); other threads
  and processes open their own `Journal` on the same file.

Goals, prompts and typed text are never logged at INFO or above.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlite_utils

from agent import procs
from agent.journal import connect, encode, migrations
from agent.journal import trajectory as traj
from agent.journal.records import (
    FeedbackRecord,
    JournaledStep,
    PreferenceRecord,
    Row,
    RunRecord,
    StepRecord,
)
from models.base import Completion, Message

log = logging.getLogger(__name__)

INTERRUPTED_MESSAGE = "interrupted: the process ended before the run finished"


class UnknownRun(LookupError):
    """No run (or more than one) matches the id or prefix given."""


class Journal:
    """The SQLite journal. Use it from one thread; other processes may open the same file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect.open_db(self.path)
        try:
            self._conn = conn
            self.db = sqlite_utils.Database(conn)
            #: run id -> the messages of its last recorded model call (see record_model_call)
            self._last_call: dict[str, tuple[Message, ...]] = {}
            self._migrate()
        except BaseException:
            conn.close()
            raise

    # -- lifecycle --------------------------------------------------------------------

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed durably (synchronous=FULL) when the block ends.

        IMMEDIATE takes the write lock up front, so a transaction that reads before it
        writes waits for another writer (busy_timeout) instead of failing on upgrade.
        """
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            if self._conn.in_transaction:  # some errors already rolled it back
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _write(self, sql: str, params: Sequence[Any]) -> int:
        with self._tx() as conn:
            cur = conn.execute(sql, params)
        return int(cur.lastrowid or 0)

    def _insert(self, table: str, **values: Any) -> int:
        return self._write(*encode.insert_sql(table, {**values, "created_at": time.time()}))

    def _rows(self, sql: str, params: Sequence[Any], decode: Mapping[str, str] = {}) -> list[Row]:
        """Query rows; each JSON column in `decode` is replaced by its decoded value."""
        rows = list(self.db.query(sql, params))
        for row in rows:
            for column, key in decode.items():
                row[key] = json.loads(row.pop(column) or "{}")
        return rows

    def _migrate(self) -> None:
        with self._tx() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL)"
            )
            done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
            for name, migrate in migrations.MIGRATIONS:
                if name in done:
                    continue
                migrate(self.db)
                conn.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, time.time())
                )
                log.debug("journal migration %s applied", name)

    def applied_migrations(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT name FROM _migrations ORDER BY rowid")]

    # -- runs -------------------------------------------------------------------------

    def start_run(
        self,
        *,
        goal: str,
        workspace: str,
        model_id: str,
        task_json: str = "{}",
        prompt_hash: str = "",
        tools_hash: str = "",
    ) -> str:
        """Record a new run owned by this process; return its id (sortable by start time)."""
        owner_pid, owner_started = procs.me()
        row = {
            "goal": goal,
            "workspace": workspace,
            "model_id": model_id,
            "status": "running",
            "task_json": task_json,
            "prompt_hash": prompt_hash,
            "tools_hash": tools_hash,
            "pid": owner_pid,
            "pid_started": owner_started,
            "started_at": time.time(),
        }
        while True:
            run_id = encode.new_run_id()
            try:
                self._write(*encode.insert_sql("runs", {"id": run_id, **row}))
            except sqlite3.IntegrityError:
                if self.run(run_id) is None:  # not an id collision: a real constraint failed
                    raise
                continue
            log.debug("run %s started", run_id)
            return run_id

    def finish_run(
        self,
        run_id: str,
        *,
        outcome: str,
        message: str = "",
        error: str | None = None,
        checks: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Close a run and write its outcome row, in one transaction."""
        now = time.time()
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE runs SET status='finished', outcome=?, message=?, error=?, finished_at=?"
                " WHERE id=?",
                (outcome, message, error, now, run_id),
            )
            if cur.rowcount == 0:
                raise UnknownRun(f"no run with id {run_id!r}")
            conn.execute(
                "INSERT OR REPLACE INTO outcomes (run_id, outcome, checks_json, created_at)"
                " VALUES (?, ?, ?, ?)",
                (run_id, outcome, encode.dumps([dict(c) for c in checks or ()]), now),
            )
        self._last_call.pop(run_id, None)
        log.debug("run %s finished: %s", run_id, outcome)

    def set_step_sources(self, run_id: str, *, replayed: int) -> None:
        """Record that `replayed` of the run's steps were fixed task-file steps; every other
        journaled step was proposed by the model."""
        self._write(
            "UPDATE runs SET replayed_steps = ?, model_steps = MAX(steps - ?, 0) WHERE id = ?",
            (replayed, replayed, run_id),
        )

    def mark_interrupted(self) -> list[str]:
        """Mark runs whose owning process died while they ran; return their ids.

        The owner is the recorded pid and that process's start time, so a pid reused by
        another process (after a reboot, say) does not keep a dead run "running"."""
        me = procs.me()
        marked: list[str] = []
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT id, pid, pid_started FROM runs WHERE status='running'"
            ).fetchall()
            for run_id, pid, started in rows:
                if (pid, started) == me or procs.owner_alive(pid, started):
                    continue
                conn.execute(
                    "UPDATE runs SET status='interrupted', outcome='error', message=?,"
                    " finished_at=? WHERE id=? AND status='running'",
                    (INTERRUPTED_MESSAGE, time.time(), run_id),
                )
                marked.append(str(run_id))
        if marked:
            log.info("marked %d run(s) interrupted: %s", len(marked), ", ".join(marked))
        return marked

    def runs(self, limit: int = 50) -> list[Row]:
        """The newest `limit` runs, newest first."""
        return list(
            self.db.query("SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT ?", [limit])
        )

    def run(self, run_id: str) -> Row | None:
        rows = list(self.db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
        return rows[0] if rows else None

    def run_records(self, limit: int = 50) -> list[RunRecord]:
        """`runs`, typed."""
        return [RunRecord.from_row(row) for row in self.runs(limit)]

    def run_record(self, run_id: str) -> RunRecord | None:
        """`run`, typed."""
        row = self.run(run_id)
        return None if row is None else RunRecord.from_row(row)

    def resolve_run_id(self, prefix: str) -> str:
        """The run whose id is `prefix`, or the only one whose id starts with it."""
        if not prefix:
            raise UnknownRun("no run id given")
        if self.run(prefix) is not None:
            return prefix
        ids = [
            str(r[0])
            for r in self._conn.execute(
                "SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 6",
                (len(prefix), prefix),
            )
        ]
        if not ids:
            raise UnknownRun(f"no run with id {prefix!r} (see `deskhand runs`)")
        if len(ids) > 1:
            shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
            raise UnknownRun(f"run id {prefix!r} is ambiguous; it matches {shown}")
        return ids[0]

    # -- steps and what happened in them ----------------------------------------------

    def begin_step(self, run_id: str, step: StepRecord) -> None:
        """Commit a step as 'running' before its tool runs; `record_step` completes it."""
        row = encode.step_row(run_id, step)
        row.update(state="running", result_kind="running")
        with self._tx() as conn:
            conn.execute(*encode.insert_sql("steps", row))
            conn.execute("UPDATE runs SET steps = steps + 1 WHERE id = ?", (run_id,))

    def record_intents(
        self, run_id: str, step_idx: int, changes: Sequence[Mapping[str, Any]]
    ) -> None:
        """Commit the undo records of changes about to be made, as intents of the step."""
        with self._tx() as conn:
            for change in changes:
                row = {**encode.change_row(run_id, step_idx, change), "state": "intent"}
                conn.execute(*encode.insert_sql("file_changes", row))

    def record_step(
        self,
        run_id: str,
        step: StepRecord,
        changes: Sequence[Mapping[str, Any]] = (),
        *,
        settled: bool = True,
    ) -> None:
        """Complete the step begun with `begin_step`, or append it (its idx unique within
        the run, counted on the run), with its final file `changes`. When the action
        `settled` (it ended, having finished or taken back what it half did) these replace
        its intents; otherwise the intents stay, in flight. One transaction."""
        row = encode.step_row(run_id, step)
        with self._tx() as conn:
            sets = ", ".join(f"{k} = ?" for k in row)
            cur = conn.execute(
                f"UPDATE steps SET {sets}, state = NULL"
                " WHERE run_id = ? AND idx = ? AND state = 'running'",
                (*row.values(), run_id, step.idx),
            )
            if cur.rowcount == 0:
                conn.execute(*encode.insert_sql("steps", row))
                conn.execute("UPDATE runs SET steps = steps + 1 WHERE id = ?", (run_id,))
            if settled:
                conn.execute(
                    "DELETE FROM file_changes WHERE run_id = ? AND step_idx = ?"
                    " AND state = 'intent'",
                    (run_id, step.idx),
                )
            for change in changes:
                conn.execute(
                    *encode.insert_sql("file_changes", encode.change_row(run_id, step.idx, change))
                )

    def steps(self, run_id: str) -> list[Row]:
        """The run's steps by idx; ``args`` and ``result_data`` decoded, ``ok`` a bool."""
        sql = "SELECT * FROM steps WHERE run_id = ? ORDER BY idx"
        rows = self._rows(sql, [run_id], {"args_json": "args", "result_json": "result_data"})
        for row in rows:
            row["ok"] = bool(row["ok"])
        return rows

    def step_records(self, run_id: str) -> list[JournaledStep]:
        """The run's steps by idx, typed."""
        sql = "SELECT * FROM steps WHERE run_id = ? ORDER BY idx"
        return [JournaledStep.from_row(row) for row in self.db.query(sql, [run_id])]

    # -- model calls: every model step exactly (agent/journal/trajectory.py) -----------

    def record_model_call(
        self,
        run_id: str,
        step: int,
        messages: Sequence[Message],
        reply: Completion,
        *,
        schema: Mapping[str, Any] | None,
        max_tokens: int,
    ) -> None:
        """Keep what the model was given for `step` and what it replied, committed before
        the step's action runs: the messages after the run's previous call when they
        extend it (the transcript is append-only), else all of them."""
        previous = self._last_call.get(run_id)
        if previous is None:
            steps = self.trajectory(run_id).steps
            previous = steps[-1].messages if steps else None
        decoding = traj.Decoding(max_tokens, reply.temperature, traj.schema_hash(schema))
        row = traj.call_row(
            previous,
            messages,
            reply=reply.text,
            model_id=reply.model_id,
            adapter_id=reply.adapter_id,
            decoding=decoding,
        )
        if previous is not None and row["prefix_len"] == 0:
            log.debug("run %s step %d: messages kept whole (not an extension)", run_id, step)
        row = {"run_id": run_id, "step_idx": step, **row, "created_at": time.time()}
        self._write(*encode.insert_sql("model_calls", row))
        self._last_call[run_id] = tuple(messages)

    def trajectory(self, run_id: str) -> traj.Trajectory:
        """Every journaled model step of the run, rebuilt exactly (no steps for runs
        journaled before model calls were kept); `BrokenTrajectory` if rows disagree."""
        sql = "SELECT * FROM model_calls WHERE run_id = ? ORDER BY id"
        return traj.rebuild(run_id, self.db.query(sql, [run_id]))

    def record_approval(
        self,
        run_id: str,
        step_idx: int,
        *,
        tool: str,
        capability: str,
        scope: str,
        summary: str,
        decision: str,
        source: str,
    ) -> None:
        self._insert(
            "approvals",
            run_id=run_id,
            step_idx=step_idx,
            tool=tool,
            capability=capability,
            scope=scope,
            summary=summary,
            decision=decision,
            source=source,
        )

    def approvals(self, run_id: str) -> list[Row]:
        return list(self.db.query("SELECT * FROM approvals WHERE run_id = ? ORDER BY id", [run_id]))

    def record_event(
        self, run_id: str, kind: str, detail: Mapping[str, Any], step_idx: int | None = None
    ) -> None:
        detail_json = encode.dumps(dict(detail))
        self._insert("events", run_id=run_id, step_idx=step_idx, kind=kind, detail_json=detail_json)

    def events(self, run_id: str, kind: str | None = None) -> list[Row]:
        """The run's events in order (only those of `kind` when given), ``detail`` decoded."""
        if kind is None:
            sql, params = "SELECT * FROM events WHERE run_id = ? ORDER BY id", [run_id]
        else:
            sql = "SELECT * FROM events WHERE run_id = ? AND kind = ? ORDER BY id"
            params = [run_id, kind]
        return self._rows(sql, params, {"detail_json": "detail"})

    def record_file_change(self, run_id: str, step_idx: int, change: Mapping[str, Any]) -> int:
        """Record what `deskhand undo` needs to reverse one change; return its id."""
        return self._write(
            *encode.insert_sql("file_changes", encode.change_row(run_id, step_idx, change))
        )

    def file_changes(self, run_id: str, *, in_flight: bool = False) -> list[Row]:
        """The run's file changes, oldest first, ``change`` decoded; with `in_flight`,
        also the intents of changes that never completed (``state`` 'intent')."""
        where = "" if in_flight else " AND state IS NULL"
        sql = f"SELECT * FROM file_changes WHERE run_id = ?{where} ORDER BY id"
        return self._rows(sql, [run_id], {"change_json": "change"})

    def mark_undone(self, change_id: int) -> None:
        self._write("UPDATE file_changes SET undone_at = ? WHERE id = ?", (time.time(), change_id))

    # -- feedback ---------------------------------------------------------------------

    def add_feedback(
        self,
        run_id: str,
        *,
        rating: int | None = None,
        note: str = "",
        step_idx: int | None = None,
    ) -> int:
        """A person's judgement of a run (or one step): rating +1/-1 and/or a note."""
        return self._insert("feedback", run_id=run_id, step_idx=step_idx, rating=rating, note=note)

    def feedback(self, run_id: str) -> list[Row]:
        return list(self.db.query("SELECT * FROM feedback WHERE run_id = ? ORDER BY id", [run_id]))

    def feedback_records(self, run_id: str) -> list[FeedbackRecord]:
        """`feedback`, typed."""
        return [FeedbackRecord.from_row(row) for row in self.feedback(run_id)]

    def preference_records(self, run_id: str | None = None) -> list[PreferenceRecord]:
        """Every preference, oldest first; with `run_id`, those naming that run."""
        where = "" if run_id is None else " WHERE ? IN (better_run_id, worse_run_id)"
        sql = f"SELECT * FROM preferences{where} ORDER BY id"
        rows = self.db.query(sql, [] if run_id is None else [run_id])
        return [PreferenceRecord.from_row(row) for row in rows]

    def add_preference(self, better_run_id: str, worse_run_id: str, note: str = "") -> int:
        """Record that one run did the job better than another."""
        return self._insert(
            "preferences", better_run_id=better_run_id, worse_run_id=worse_run_id, note=note
        )
