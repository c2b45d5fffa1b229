"""Typed records: what the journal holds, as frozen values instead of dict rows.

`StepRecord` is what the executor writes for one step. The others are what the typed
read methods of `agent.journal.Journal` return (`run_record`, `run_records`,
`step_records`, `feedback_records`, `preference_records`); the older dict-returning
methods stay for their callers.

Invariants:
- A record is built only from a row of its table (`from_row`), never from a caller's
  data, and every column a reader needs is a typed field.
- Columns added by later migrations are NULL on older rows; `from_row` reads NULL as the
  meaning it had before the column existed (a step that is done, no owner start time).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One step as journaled: what the model proposed, what it cost, what happened."""

    idx: int
    model_id: str = ""
    prompt_hash: str = ""
    prompt_tokens: int = 0
    tokens_reused: int = 0
    tokens_evaluated: int = 0
    completion_tokens: int = 0
    model_seconds: float = 0.0
    tool_seconds: float = 0.0
    thought: str = ""
    tool: str = ""
    args: Mapping[str, Any] = field(default_factory=dict)
    ok: bool = False
    result_kind: str = ""
    result_text: str = ""
    result_data: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None


def _text(row: Row, key: str) -> str:
    value = row.get(key)
    return "" if value is None else str(value)


def _int(row: Row, key: str) -> int:
    value = row.get(key)
    return 0 if value is None else int(value)


def _float(row: Row, key: str) -> float:
    value = row.get(key)
    return 0.0 if value is None else float(value)


def _maybe_float(row: Row, key: str) -> float | None:
    value = row.get(key)
    return None if value is None else float(value)


def _json(row: Row, key: str) -> Any:
    return json.loads(row.get(key) or "{}")


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run: what was asked, by whom, with which model, and how it ended."""

    id: str
    goal: str
    workspace: str
    model_id: str
    #: 'running', 'finished' or 'interrupted'.
    status: str
    #: 'success', 'failed', 'stopped' or 'error'; None while the run is running.
    outcome: str | None
    message: str
    error: str | None
    task: Mapping[str, Any]
    prompt_hash: str
    tools_hash: str
    pid: int | None
    pid_started: float | None
    started_at: float
    finished_at: float | None
    steps: int
    replayed_steps: int
    model_steps: int

    @classmethod
    def from_row(cls, row: Row) -> RunRecord:
        return cls(
            id=str(row["id"]),
            goal=_text(row, "goal"),
            workspace=_text(row, "workspace"),
            model_id=_text(row, "model_id"),
            status=str(row["status"]),
            outcome=row.get("outcome"),
            message=_text(row, "message"),
            error=row.get("error"),
            task=_json(row, "task_json"),
            prompt_hash=_text(row, "prompt_hash"),
            tools_hash=_text(row, "tools_hash"),
            pid=row.get("pid"),
            pid_started=_maybe_float(row, "pid_started"),
            started_at=_float(row, "started_at"),
            finished_at=_maybe_float(row, "finished_at"),
            steps=_int(row, "steps"),
            replayed_steps=_int(row, "replayed_steps"),
            model_steps=_int(row, "model_steps"),
        )


@dataclass(frozen=True, slots=True)
class JournaledStep:
    """A step read back: the `StepRecord` written, and where it stands."""

    record: StepRecord
    #: True while the step's action had not completed (a killed process leaves it so).
    in_flight: bool
    created_at: float

    @classmethod
    def from_row(cls, row: Row) -> JournaledStep:
        record = StepRecord(
            idx=int(row["idx"]),
            model_id=_text(row, "model_id"),
            prompt_hash=_text(row, "prompt_hash"),
            prompt_tokens=_int(row, "prompt_tokens"),
            tokens_reused=_int(row, "tokens_reused"),
            tokens_evaluated=_int(row, "tokens_evaluated"),
            completion_tokens=_int(row, "completion_tokens"),
            model_seconds=_float(row, "model_seconds"),
            tool_seconds=_float(row, "tool_seconds"),
            thought=_text(row, "thought"),
            tool=_text(row, "tool"),
            args=_json(row, "args_json"),
            ok=bool(row.get("ok")),
            result_kind=_text(row, "result_kind"),
            result_text=_text(row, "result_text"),
            result_data=_json(row, "result_json"),
            error=row.get("error"),
        )
        return cls(record, row.get("state") == "running", _float(row, "created_at"))


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """A person's judgement of a run, or of one of its steps."""

    id: int
    run_id: str
    step_idx: int | None
    #: +1, -1, or None when only a note was given.
    rating: int | None
    note: str
    created_at: float

    @classmethod
    def from_row(cls, row: Row) -> FeedbackRecord:
        return cls(
            id=int(row["id"]),
            run_id=str(row["run_id"]),
            step_idx=row.get("step_idx"),
            rating=row.get("rating"),
            note=_text(row, "note"),
            created_at=_float(row, "created_at"),
        )


@dataclass(frozen=True, slots=True)
class PreferenceRecord:
    """That one run did the job better than another (a DPO pair, later)."""

    id: int
    better_run_id: str
    worse_run_id: str
    note: str
    created_at: float

    @classmethod
    def from_row(cls, row: Row) -> PreferenceRecord:
        return cls(
            id=int(row["id"]),
            better_run_id=str(row["better_run_id"]),
            worse_run_id=str(row["worse_run_id"]),
            note=_text(row, "note"),
            created_at=_float(row, "created_at"),
        )
