"""The journal's side of learning from the user: a full-text index of past runs, the
corrections a person made to wrong steps, and the reads that retrieval and the export
need (agent/experience.py, app/learn.py). SQL lives here because only the journal package
may speak to SQLite.

Invariants:
- ``run_text`` (FTS5) holds one row per run, rowid = the run's rowid: its goal and its
  place (workspace, then the start page's URL once the run journals one). Triggers keep
  it current, so every writer of ``runs`` and ``events`` feeds it without knowing.
- A correction is a label: the action that should have happened at one step (tool and
  arguments), and it always comes with a bad rating of that step, written in the same
  transaction, so a corrected run is never taken for a good one.
- A run is usable as an example only if nobody rated it or any of its steps bad, and it
  was rated good (latest run rating +1) or it succeeded with checks that all passed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlite_utils

if TYPE_CHECKING:
    from agent.journal.store import Journal

Row = dict[str, Any]

#: The event kind under which a run's start page is journaled (agent/taskfile/from_run.py).
_START_PAGE = "start_page"

_SCHEMA = (
    "CREATE VIRTUAL TABLE run_text USING fts5(goal, place, tokenize='unicode61')",
    "CREATE TRIGGER run_text_insert AFTER INSERT ON runs BEGIN"
    " INSERT INTO run_text(rowid, goal, place) VALUES (new.rowid, new.goal, new.workspace);"
    " END",
    "CREATE TRIGGER run_text_update AFTER UPDATE OF goal, workspace ON runs BEGIN"
    " UPDATE run_text SET goal = new.goal, place = new.workspace WHERE rowid = new.rowid;"
    " END",
    f"CREATE TRIGGER run_text_start_page AFTER INSERT ON events WHEN new.kind = '{_START_PAGE}'"
    " BEGIN UPDATE run_text SET place = place || ' ' || json_extract(new.detail_json, '$.url')"
    " WHERE rowid = (SELECT rowid FROM runs WHERE id = new.run_id); END",
    "INSERT INTO run_text(rowid, goal, place)"
    " SELECT rowid, coalesce(goal, ''), coalesce(workspace, '') FROM runs",
    "CREATE TABLE corrections ("
    " id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),"
    " step_idx INTEGER NOT NULL, tool TEXT NOT NULL, args_json TEXT NOT NULL, note TEXT,"
    " created_at REAL)",
    "CREATE INDEX corrections_by_run ON corrections(run_id)",
)


def m0006_experience(db: sqlite_utils.Database) -> None:
    # Statement by statement (a trigger body holds ';', so no script splitting), on the
    # migration's open transaction.
    for statement in _SCHEMA:
        db.execute(statement)


# -- what makes a run usable ------------------------------------------------------------

_JUDGED = f"""
    (SELECT rating FROM feedback f WHERE f.run_id = r.id AND f.step_idx IS NULL
        AND f.rating IS NOT NULL ORDER BY f.id DESC LIMIT 1) AS rating,
    EXISTS (SELECT 1 FROM feedback f WHERE f.run_id = r.id AND f.step_idx IS NOT NULL
        AND f.rating = -1) AS bad_step,
    (SELECT json_extract(e.detail_json, '$.url') FROM events e
        WHERE e.run_id = r.id AND e.kind = '{_START_PAGE}' ORDER BY e.id LIMIT 1) AS start_url,
    o.checks_json AS checks_json
"""


def usable(row: Mapping[str, Any]) -> bool:
    """Whether a run row read with `_JUDGED` columns may teach: never one rated bad (the
    run or a step); one rated good; else one that succeeded with checks that all passed."""
    if row.get("rating") == -1 or row.get("bad_step"):
        return False
    if row.get("rating") == 1:
        return True
    checks = json.loads(row.get("checks_json") or "[]")
    return row.get("outcome") == "success" and bool(checks) and all(c.get("ok") for c in checks)


def _fts_query(text: str) -> str:
    # Each word quoted: FTS5 syntax in a goal (AND, NEAR, "*") is data, never an operator.
    words = dict.fromkeys(w.lower() for w in re.findall(r"\w+", text) if len(w) > 1)
    return " OR ".join(f'"{w}"' for w in words)


def similar_runs(journal: Journal, text: str, limit: int = 20) -> list[Row]:
    """Finished runs whose goal or place shares words with `text`, best full-text match
    first (``rank``: bm25, lower is better), each with its judgement (`usable` reads it)."""
    query = _fts_query(text)
    if not query:
        return []
    sql = f"""
        SELECT r.*, bm25(run_text) AS rank, {_JUDGED}
        FROM run_text JOIN runs r ON r.rowid = run_text.rowid
        LEFT JOIN outcomes o ON o.run_id = r.id
        WHERE run_text MATCH ? AND r.status = 'finished'
        ORDER BY rank LIMIT ?
    """
    return list(journal.db.query(sql, [query, limit]))


def judged_runs(journal: Journal, limit: int = 10_000) -> list[Row]:
    """Every finished run, newest first, with its judgement (for the export)."""
    sql = f"""
        SELECT r.*, {_JUDGED} FROM runs r LEFT JOIN outcomes o ON o.run_id = r.id
        WHERE r.status = 'finished' ORDER BY r.started_at DESC, r.id DESC LIMIT ?
    """
    return list(journal.db.query(sql, [limit]))


# -- corrections ------------------------------------------------------------------------


def record_correction(
    journal: Journal,
    run_id: str,
    step_idx: int,
    *,
    tool: str,
    args: Mapping[str, Any],
    note: str = "",
) -> int:
    """Label step `step_idx` of a run with the action that should have happened; the
    step is rated bad in the same transaction. Returns the correction's id."""
    now = time.time()
    with journal._tx() as conn:  # noqa: SLF001  (the journal package's own transaction)
        conn.execute(
            "INSERT INTO feedback (run_id, step_idx, rating, note, created_at)"
            " VALUES (?, ?, -1, ?, ?)",
            (run_id, step_idx, note, now),
        )
        cur = conn.execute(
            "INSERT INTO corrections (run_id, step_idx, tool, args_json, note, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, step_idx, tool, json.dumps(dict(args), ensure_ascii=False), note, now),
        )
    return int(cur.lastrowid or 0)


def corrections(journal: Journal, run_ids: Sequence[str] | None = None) -> list[Row]:
    """Corrections (of `run_ids`, or all), oldest first, ``args`` decoded; the newest one
    of a step is the one that counts."""
    where, params = "", []
    if run_ids is not None:
        where = f" WHERE run_id IN ({', '.join('?' * len(run_ids))})"
        params = list(run_ids)
    rows = list(journal.db.query(f"SELECT * FROM corrections{where} ORDER BY id", params))
    for row in rows:
        row["args"] = json.loads(row.pop("args_json") or "{}")
    return rows


def preferences(journal: Journal) -> list[Row]:
    """Every "this run was better" judgement, oldest first."""
    return list(journal.db.query("SELECT * FROM preferences ORDER BY id"))
