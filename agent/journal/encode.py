"""How values become journal rows: the pure half of the store's writes.

Invariants:
- Table and column names come from this package, never from callers' data; values are
  always bound parameters.
- JSON columns use ``default=str``: a Path or datetime in a result's data is recorded,
  not a crash mid-run.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

from agent.journal.records import StepRecord


def new_run_id() -> str:
    """Short, and sorted by start time: ``20250131-142502-9f3a``."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def dumps(value: Mapping[str, Any] | Sequence[Any]) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def insert_sql(table: str, row: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    marks = ", ".join("?" * len(row))
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks})", tuple(row.values())


def step_row(run_id: str, step: StepRecord) -> dict[str, Any]:
    row: dict[str, Any] = {"run_id": run_id}
    row.update((f.name, getattr(step, f.name)) for f in fields(StepRecord))
    row["ok"] = int(step.ok)
    row["args_json"] = dumps(dict(row.pop("args")))
    row["result_json"] = dumps(dict(row.pop("result_data")))
    row["created_at"] = time.time()
    return row


def change_row(run_id: str, step_idx: int, change: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "step_idx": step_idx,
        "op": str(change["op"]),
        "change_json": dumps(dict(change)),
        "created_at": time.time(),
    }
