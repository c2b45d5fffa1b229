"""The journal: deskhand's SQLite record of every run, step, model call and judgement.

    store.py       `Journal`, the one class that owns the database (reads and writes)
    connect.py     opening the file: WAL, synchronous=FULL, busy timeout
    migrations.py  the ordered, named schema changes (`MIGRATIONS`)
    records.py     typed records: `StepRecord` (written), `RunRecord`, `JournaledStep`,
                   `FeedbackRecord`, `PreferenceRecord` (read back)
    trajectory.py  model calls kept exactly, and the `Trajectory` rebuilt from them
    encode.py      how values become rows
    experience_index.py  the FTS5 index of runs that may teach, and corrections

Only this package imports sqlite3 and sqlite_utils (an import-linter contract in
pyproject.toml). Everything a caller needs is importable from ``agent.journal``.
"""

from agent.journal.experience_index import record_correction
from agent.journal.migrations import MIGRATIONS
from agent.journal.records import (
    FeedbackRecord,
    JournaledStep,
    PreferenceRecord,
    Row,
    RunRecord,
    StepRecord,
)
from agent.journal.store import INTERRUPTED_MESSAGE, Journal, UnknownRun
from agent.journal.trajectory import BrokenTrajectory, Decoding, ModelStep, Trajectory

__all__ = [
    "INTERRUPTED_MESSAGE",
    "MIGRATIONS",
    "BrokenTrajectory",
    "Decoding",
    "FeedbackRecord",
    "Journal",
    "JournaledStep",
    "ModelStep",
    "PreferenceRecord",
    "Row",
    "RunRecord",
    "StepRecord",
    "Trajectory",
    "UnknownRun",
    "record_correction",
]
