"""The journal's schema migrations: ordered, named functions, listed in `MIGRATIONS`, that
the store (agent/journal/store.py) applies once each, inside one exclusive transaction.

Invariants:
- A migration never changes after it has shipped; a schema change is a new function.
- Each one runs statement by statement on the journal's open transaction (`run_script`),
  so a failing migration leaves nothing behind.
- Old rows stay readable: a column added later is NULL on rows written before it, and
  readers treat NULL as the old meaning (a step or file change that is done).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from agent.journal.experience_index import m0006_experience


def run_script(db: sqlite_utils.Database, script: str) -> None:
    # Statement by statement: executescript() would commit the migration's transaction.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def m0001_initial(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY, goal TEXT, workspace TEXT, model_id TEXT,
            status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'interrupted')),
            outcome TEXT CHECK (outcome IN ('success', 'failed', 'stopped', 'error')),
            message TEXT, error TEXT, task_json TEXT, prompt_hash TEXT, tools_hash TEXT,
            pid INTEGER, started_at REAL, finished_at REAL, steps INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE steps (
            id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),
            idx INTEGER NOT NULL, model_id TEXT, prompt_hash TEXT, prompt_tokens INTEGER,
            tokens_reused INTEGER, tokens_evaluated INTEGER, completion_tokens INTEGER,
            model_seconds REAL, tool_seconds REAL, thought TEXT, tool TEXT, args_json TEXT,
            ok INTEGER, result_kind TEXT, result_text TEXT, result_json TEXT, error TEXT,
            created_at REAL,
            UNIQUE (run_id, idx)
        );
        CREATE TABLE approvals (
            id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),
            step_idx INTEGER, tool TEXT, capability TEXT, scope TEXT, summary TEXT,
            decision TEXT NOT NULL CHECK (decision IN ('allow', 'deny')), source TEXT,
            created_at REAL
        );
        CREATE TABLE events (
            id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),
            step_idx INTEGER, kind TEXT NOT NULL, detail_json TEXT, created_at REAL
        );
        CREATE TABLE file_changes (
            id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),
            step_idx INTEGER, op TEXT NOT NULL, change_json TEXT NOT NULL, undone_at REAL,
            created_at REAL
        );
        CREATE TABLE outcomes (
            run_id TEXT PRIMARY KEY REFERENCES runs(id), outcome TEXT, checks_json TEXT,
            created_at REAL
        );
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),
            step_idx INTEGER, rating INTEGER CHECK (rating IN (-1, 1)), note TEXT,
            created_at REAL
        );
        CREATE TABLE preferences (
            id INTEGER PRIMARY KEY, better_run_id TEXT NOT NULL REFERENCES runs(id),
            worse_run_id TEXT NOT NULL REFERENCES runs(id), note TEXT, created_at REAL
        );
        CREATE INDEX approvals_by_run ON approvals(run_id);
        CREATE INDEX events_by_run ON events(run_id);
        CREATE INDEX file_changes_by_run ON file_changes(run_id);
        CREATE INDEX feedback_by_run ON feedback(run_id);
        CREATE INDEX runs_by_status ON runs(status);
        CREATE INDEX runs_by_start ON runs(started_at)
        """,
    )
    # steps(run_id, idx) is already indexed by its UNIQUE constraint.


def m0002_step_sources(db: sqlite_utils.Database) -> None:
    # How many of a run's steps were replayed from a task file and how many the model chose.
    run_script(
        db,
        """
        ALTER TABLE runs ADD COLUMN replayed_steps INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE runs ADD COLUMN model_steps INTEGER NOT NULL DEFAULT 0
        """,
    )


def m0003_owner_start(db: sqlite_utils.Database) -> None:
    # The owning process's start time beside its pid, so a reused pid is not taken for
    # the owner (agent/procs.py). NULL on older rows: those fall back to the pid alone.
    run_script(db, "ALTER TABLE runs ADD COLUMN pid_started REAL")


def m0004_in_flight(db: sqlite_utils.Database) -> None:
    # Intent before action: a step is journaled 'running' before its tool runs and its
    # file changes as 'intent' before they are made; both become NULL (done) when the step
    # completes. What a killed process left in flight stays, for `deskhand undo`.
    run_script(
        db,
        """
        ALTER TABLE steps ADD COLUMN state TEXT;
        ALTER TABLE file_changes ADD COLUMN state TEXT
        """,
    )


def m0005_model_calls(db: sqlite_utils.Database) -> None:
    # Every model step exactly (agent/journal/trajectory.py): the messages after the ones
    # the run's previous call had (prefix_len of them; 0: the whole list), the raw reply,
    # the decoding settings, the model and adapter ids. One row per step that got a reply.
    run_script(
        db,
        """
        CREATE TABLE model_calls (
            id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),
            step_idx INTEGER NOT NULL, prefix_len INTEGER NOT NULL, messages_json TEXT NOT NULL,
            messages_sha256 TEXT NOT NULL, reply TEXT NOT NULL, model_id TEXT, adapter_id TEXT,
            max_tokens INTEGER, temperature REAL, schema_hash TEXT, created_at REAL,
            UNIQUE (run_id, step_idx)
        )
        """,
    )


#: In the order they are applied. Append only: a name, once shipped, never changes.
MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("0001_initial", m0001_initial),
    ("0002_step_sources", m0002_step_sources),
    ("0003_owner_start", m0003_owner_start),
    ("0004_in_flight", m0004_in_flight),
    ("0005_model_calls", m0005_model_calls),
    ("0006_experience", m0006_experience),
]
