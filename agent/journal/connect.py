"""Opening the journal's database file with the settings every connection needs.

Invariants: WAL mode (several processes read while one writes), synchronous=FULL (a
committed step survives a power cut), foreign keys on, a 5 s busy timeout, and
``isolation_level=None`` so sqlite3 never opens a transaction on its own: the store's
`_tx` does, explicitly.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)

_SQLITE_BUSY = 5


def open_db(path: Path) -> sqlite3.Connection:
    """A connection to the journal at `path` (created if missing), set up as above."""
    conn = sqlite3.connect(str(path), timeout=5.0, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        mode = enable_wal(conn)
        if str(mode).lower() != "wal":
            log.warning("journal %s: WAL unavailable, journal_mode is %s", path, mode)
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
    except BaseException:
        conn.close()
        raise
    return conn


def enable_wal(conn: sqlite3.Connection, patience: float = 5.0) -> str:
    """Switch to WAL; return the journal mode now in force.

    Several processes opening a new file at once race to change its mode, and SQLite
    answers the losers BUSY at once, without the busy handler, so wait here instead.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            # Python 3.10 has no error codes on exceptions: wait for any, within patience.
            busy = getattr(exc, "sqlite_errorcode", _SQLITE_BUSY) == _SQLITE_BUSY
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
