"""The watched inbox's folder protocol: claims, results, the state of watchers.

Everything here is what one watcher can see or change on disk, so that several watchers
(and a crash at any moment) agree on who runs what; `agent.inbox` drives it. See the
docstring of `agent.inbox` for the layout and the invariants kept here:

- `claim_file` renames a waiting file into a fresh claim folder whose lock it already
  holds; `adopt` takes over a claim folder only when its lock is free, which means its
  owner died (locks are released by the OS with the process). Lock files are opened
  non-inheritable, so a child process never keeps a dead watcher's lock alive.
- `file_result` writes ``result.json`` completely (`write_json_atomic`) in the claim folder,
  naming the file's destination, before moving anything; it is safe to call again on a
  claim left half-filed. `move_no_replace` never overwrites: a taken name gets a suffix.
- `write_json_atomic` is the only way JSON is written (through `tools.atomic_write`), so a
  reader (``--status``, a restart) sees an old version or a new one, never a torn one.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import stat
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from agent import procs
from tools.atomic_write import write_atomic

SUFFIX = ".task.yaml"
PROCESSING, DONE, FAILED = "processing", "done", "failed"
STATE_DIR = ".deskhand-watch"
LOCK_FILE, CLAIM_FILE, RESULT_FILE = "owner.lock", "claim.json", "result.json"
#: Attempts of one file (first run plus reruns after interruptions) before it is failed,
#: so a task that kills its watcher every time cannot loop forever.
MAX_ATTEMPTS = 3

if sys.platform == "win32":  # pragma: no cover
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


class Report(Protocol):
    """What a runner returns for one task file (`agent.runner.TaskReport`)."""

    @property
    def outcome(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def run_id(self) -> str | None: ...
    def to_json(self) -> dict[str, Any]: ...


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def is_task_name(name: str) -> bool:
    return name.endswith(SUFFIX) and not name.startswith(".") and len(name) > len(SUFFIX)


def write_json_atomic(path: Path, data: Any, *, durable: bool = True) -> None:
    """Write JSON to a temporary file and rename it over `path`. `durable` also syncs
    it to disk first, so it survives a power cut (a kill needs no sync)."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    write_atomic(path, text, durable=durable)


def read_json(path: Path) -> Any:
    """The JSON in `path`, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _try_lock(path: Path) -> int | None:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # non-inheritable by default
    except FileNotFoundError:  # the folder was removed meanwhile
        return None
    try:
        _lock(fd)
    except OSError:
        os.close(fd)
        return None
    return fd


class Claim:
    """A claim folder whose lock this process holds."""

    def __init__(self, folder: Path, lock_fd: int, info: dict[str, Any]) -> None:
        self.folder = folder
        self._fd: int | None = lock_fd
        self.info = info

    @property
    def name(self) -> str:
        return str(self.info["name"])

    @property
    def task_path(self) -> Path:
        return self.folder / self.name

    @property
    def attempts(self) -> list[dict[str, Any]]:
        attempts: list[dict[str, Any]] = self.info["attempts"]
        return attempts

    def save(self) -> None:
        write_json_atomic(self.folder / CLAIM_FILE, self.info)

    def begin_attempt(self) -> dict[str, Any]:
        """Record a new attempt (on disk before it starts) and return its record."""
        attempt = {
            "attempt": len(self.attempts) + 1,
            "pid": os.getpid(),
            "started_at": now_iso(),
            "run_id": None,
            "ended_at": None,
            "end": None,
        }
        self.attempts.append(attempt)
        self.info["owner_pid"], self.info["owner_started"] = procs.me()
        self.save()
        return attempt

    def release_lock(self) -> None:
        """Give the claim up as it is, for whoever starts next (recovery)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def discard(self) -> None:
        """Remove the (emptied) claim folder: our own files, then the folder."""
        for entry in self.folder.iterdir():
            if entry.name != LOCK_FILE and not entry.name.endswith(SUFFIX) and entry.is_file():
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
        self.release_lock()
        with contextlib.suppress(FileNotFoundError):
            (self.folder / LOCK_FILE).unlink()
        # Not empty: another watcher's recovery is looking at it, or a file was left in
        # it by hand; either way it is not ours to delete.
        with contextlib.suppress(OSError):
            self.folder.rmdir()


def _claim_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f") + "-" + secrets.token_hex(4)


def claim_file(inbox: Path, path: Path) -> Claim | None:
    """Move `path` into a new claim folder; None when it is gone (another watcher won)."""
    for _ in range(3):
        folder = inbox / PROCESSING / _claim_id()
        folder.mkdir(parents=True)
        fd = _try_lock(folder / LOCK_FILE)
        if fd is None:  # a starting watcher took the new folder for an orphan; try again
            continue
        pid, started = procs.me()
        info = {
            "name": path.name,
            "claimed_at": now_iso(),
            "owner_pid": pid,
            "owner_started": started,
        }
        claim = Claim(folder, fd, {**info, "attempts": []})  # saved by begin_attempt
        try:
            os.rename(path, claim.task_path)
        except FileNotFoundError:
            claim.discard()
            return None
        return claim
    return None


def adopt(folder: Path) -> Claim | None:
    """Take over a claim folder whose owner is gone; None when its owner is alive."""
    fd = _try_lock(folder / LOCK_FILE)
    if fd is None:
        return None
    info = read_json(folder / CLAIM_FILE)
    tasks = sorted(p.name for p in folder.iterdir() if is_task_name(p.name))
    if not isinstance(info, dict) or not isinstance(info.get("name"), str):
        info = {"name": tasks[0] if tasks else "unknown" + SUFFIX, "claimed_at": None}
    if not isinstance(info.get("attempts"), list):
        info["attempts"] = []
    info["attempts"] = [a for a in info["attempts"] if isinstance(a, dict)]
    info["owner_pid"], info["owner_started"] = procs.me()
    return Claim(folder, fd, info)


def result_record(
    claim: Claim,
    outcome: str,
    message: str,
    report: Report | None,
    errors: list[dict[str, Any]],
    seconds: float | None = None,
) -> dict[str, Any]:
    """The result of a claim: the runner's report plus what the inbox knows."""
    report_json = report.to_json() if report is not None else None
    attempts = claim.attempts
    last_run = next((a["run_id"] for a in reversed(attempts) if a.get("run_id")), None)
    return {
        "task": claim.name,
        "outcome": outcome,
        "message": message,
        "run_id": report.run_id if report is not None else last_run,
        "checks": (report_json or {}).get("checks", []),
        "errors": errors,
        "claimed_at": claim.info.get("claimed_at"),
        "started_at": attempts[-1]["started_at"] if attempts else None,
        "finished_at": now_iso(),
        "seconds": seconds,
        "attempts": len(attempts),
        "rerun_after_interruption": any(a.get("end") != "finished" for a in attempts[:-1]),
        "attempt_history": attempts,
        "report": report_json,
    }


def _free_stem(folder: Path, name: str) -> str:
    base = name.removesuffix(SUFFIX)
    for n in itertools.count(1):
        stem = base if n == 1 else f"{base}-{n}"
        if (
            not (folder / (stem + SUFFIX)).exists()
            and not (folder / f"{stem}.result.json").exists()
        ):
            return stem
    raise AssertionError("unreachable")


def move_no_replace(source: Path, target: Path) -> bool:
    """Move `source` to `target` unless `target` exists (then False). A hard link makes
    the check and the move one step; where links are unsupported, check then rename."""
    try:
        os.link(source, target)
    except FileExistsError:
        if not os.path.samefile(source, target):
            return False
        # A crash between link and unlink left both names: finish the move.
    except OSError:
        if target.exists():
            return False
        os.replace(source, target)
        return True
    os.unlink(source)
    return True


def file_result(inbox: Path, claim: Claim, result: dict[str, Any]) -> Path:
    """Write the result, then move the task and the result into done/ or failed/.

    Returns the task file's new path. Called again on a claim left half-filed (by a
    crash), it completes the moves that remain.
    """
    dest = inbox / (DONE if result.get("outcome") == "success" else FAILED)
    dest.mkdir(exist_ok=True)
    pending = claim.folder / RESULT_FILE
    if not claim.task_path.exists() and not pending.exists():
        write_json_atomic(pending, result)  # the task file itself went missing: keep the result
    while claim.task_path.exists():
        stem = _free_stem(dest, claim.name)
        result["file"] = f"{dest.name}/{stem}{SUFFIX}"
        write_json_atomic(pending, result)
        if move_no_replace(claim.task_path, dest / (stem + SUFFIX)):
            break
    file = result.get("file")
    stem = Path(file if isinstance(file, str) else claim.name).name.removesuffix(SUFFIX)
    for n in itertools.count(1):
        target = dest / (f"{stem}.result.json" if n == 1 else f"{stem}.result-{n}.json")
        if not pending.exists() or move_no_replace(pending, target):
            break
    claim.discard()
    return dest / (stem + SUFFIX)


# -- watcher state and --status -------------------------------------------------------------


def write_state(inbox: Path, state: Mapping[str, Any]) -> None:
    folder = inbox / STATE_DIR
    folder.mkdir(exist_ok=True)
    pid, started = procs.me()
    data = {**state, "pid": pid, "pid_started": started, "updated_at": now_iso()}
    write_json_atomic(folder / f"{os.getpid()}.json", data, durable=False)


def remove_state(inbox: Path, *, stale_only: bool = False) -> None:
    """Remove this process's state file, or (`stale_only`) those of dead watchers."""
    for path in (inbox / STATE_DIR).glob("*.json"):
        mine = path.stem == str(os.getpid())
        if (not stale_only and mine) or (stale_only and not mine and not _watcher_alive(path)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _watcher_alive(path: Path) -> bool:
    state = read_json(path)
    if not isinstance(state, dict):
        return procs.owner_alive(int(path.stem) if path.stem.isdigit() else None)
    return procs.owner_alive(state.get("pid"), state.get("pid_started"))


def _task_files(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    names = []
    for entry in folder.iterdir():
        with contextlib.suppress(OSError):
            if is_task_name(entry.name) and stat.S_ISREG(entry.lstat().st_mode):
                names.append(entry.name)
    return sorted(names)


def read_status(inbox: Path) -> dict[str, Any]:
    """The queue as the folder and the live watchers' state files show it.

    Read-only, and takes no lock: liveness of a claim's owner is judged by its pid and
    that process's start time (agent/procs.py), so a reused pid does not look alive.
    """
    running: list[dict[str, Any]] = []
    interrupted: list[dict[str, Any]] = []
    processing = inbox / PROCESSING
    for folder in sorted(processing.iterdir()) if processing.is_dir() else []:
        if not folder.is_dir():
            continue
        info = read_json(folder / CLAIM_FILE)
        if not isinstance(info, dict):  # just claimed, or never started: name it by its file
            info = {"name": next(iter(_task_files(folder)), None), "attempts": []}
            if info["name"] is None:
                continue
        attempts = info["attempts"] if isinstance(info.get("attempts"), list) else []
        last = attempts[-1] if attempts and isinstance(attempts[-1], dict) else {}
        entry = {
            "name": info.get("name"),
            "claim": folder.name,
            "attempts": len(attempts),
            "started_at": last.get("started_at"),
            "run_id": last.get("run_id"),
            "pid": info.get("owner_pid"),
        }
        owner = procs.owner_alive(info.get("owner_pid"), info.get("owner_started"))
        alive = owner and last.get("end") is None
        (running if alive else interrupted).append(entry)
    watchers = []
    for path in sorted((inbox / STATE_DIR).glob("*.json")):
        state = read_json(path)
        if isinstance(state, dict) and procs.owner_alive(
            state.get("pid"), state.get("pid_started")
        ):
            watchers.append(state)
    return {
        "folder": str(inbox),
        "waiting": _task_files(inbox),
        "running": running,
        "interrupted": interrupted,
        "done": len(_task_files(inbox / DONE)),
        "failed": len(_task_files(inbox / FAILED)),
        "watchers": watchers,
    }
