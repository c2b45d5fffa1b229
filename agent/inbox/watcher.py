"""The watched inbox: task files dropped into a folder are claimed, run one at a time and
filed under done/ or failed/ with a result beside each (``deskhand watch DIR``).

Layout of DIR::

    NAME.task.yaml                          waiting: the folder itself is the queue
    processing/CLAIM/NAME.task.yaml         claimed; CLAIM is "<UTC time>-<random>"
    processing/CLAIM/owner.lock             locked by the owning watcher while it lives
    processing/CLAIM/claim.json             the name, the owner, one record per attempt
    processing/CLAIM/result.json            the result, written before the file moves out
    done/STEM.task.yaml + STEM.result.json     outcome "success"
    failed/STEM.task.yaml + STEM.result.json   any other outcome (malformed, failed, ...)
    .deskhand-watch/PID.json                each live watcher's state, for ``--status``

A file moved into DIR is claimed at once (a rename is atomic); one written in place only
once it has settled (`agent.inbox.settle`): producers that can should write elsewhere, or under
a name not ending in ``.task.yaml``, and move the file in. Only regular files with names
not starting with a dot count.

Invariants:
- Claiming is one os.rename from DIR into a fresh claim folder whose lock the claimer
  already holds: of two watchers racing for a file, the loser gets FileNotFoundError and
  skips it. The lock lives as long as its owner (the OS drops it when the process dies,
  even on kill -9), so a claim folder that can be locked belongs to nobody.
- One task runs at a time per `Inbox`: its worker thread claims and runs; the watchdog
  thread only records events. A file is claimed only when the worker is free to run it.
- Each attempt is recorded in claim.json before the runner is called (and its run id as
  soon as the run starts), so a kill at any moment leaves a record of it.
- result.json is complete (temp + os.replace) in the claim folder, naming where the file
  goes, before anything leaves the claim folder. Moves into done/ and failed/ never
  replace a file: a taken name gets ``-2``, ``-3``, ...
- At start, claim folders of dead owners are recovered: with a result.json, the moves are
  finished; with recorded attempts, the run was interrupted and the file is rerun or failed
  by its ``on_interrupt`` (at most `MAX_ATTEMPTS` attempts); a file that cannot be loaded is
  failed with its message; a claim that never started is run; an empty one is removed. A
  rerun's result says so and lists the earlier attempts.
- `Inbox.stop` sets the runner's stop flag: the current run ends, is treated as cut short
  (left for a rerun at the next start, or failed, by its on_interrupt), and the worker
  exits without claiming more. Nothing is left half-moved.
"""

from __future__ import annotations

import logging
import stat
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from agent.assemble import BadInput
from agent.events import Event, RunStarted
from agent.inbox.claims import (
    DONE,
    FAILED,
    MAX_ATTEMPTS,
    PROCESSING,
    RESULT_FILE,
    Claim,
    Report,
    adopt,
    claim_file,
    file_result,
    is_task_name,
    now_iso,
    read_json,
    remove_state,
    result_record,
    write_state,
)
from agent.inbox.settle import Settler
from agent.taskfile import TaskFileError, load_task_file

log = logging.getLogger(__name__)

_WRITE_EVENTS = frozenset({"created", "modified", "closed"})


class RunTask(Protocol):
    """Runs one task file (`agent.runner.run_task_path` with the settings bound).

    Raises `TaskFileError` or `BadInput` for a file that cannot run; stops soon after
    `stop` is set; passes the run's events to `on_event`.
    """

    def __call__(
        self, path: Path, *, stop: threading.Event, on_event: Callable[[Event], None]
    ) -> Report: ...


@dataclass(frozen=True, slots=True)
class Notice:
    """A change the inbox reports.

    kind: ``recovered`` (an interrupted claim found at start; outcome "rerun" or "fail"),
    ``started``, ``filed`` (moved to done/ or failed/; `path` is its new place) or
    ``deferred`` (stopped with the watcher, left in processing/ for a rerun at next start).
    """

    kind: Literal["recovered", "started", "filed", "deferred"]
    name: str
    outcome: str = ""
    message: str = ""
    attempt: int = 0
    path: Path | None = None


class _Events(FileSystemEventHandler):
    """Runs on the watchdog thread: hands paths to the inbox, nothing more."""

    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        if event.event_type == "moved":
            self._inbox.seen(Path(str(event.dest_path)), complete=True)
        elif event.event_type in _WRITE_EVENTS:
            self._inbox.seen(Path(str(event.src_path)))


class Inbox:
    """Watches `folder` and runs each task file that lands there with `run`.

    `notify` is called (on the worker thread, or the starting thread during recovery) with
    a `Notice` at each change; it must not block for long.
    """

    def __init__(
        self,
        folder: Path,
        run: RunTask,
        *,
        settle_seconds: float = 1.0,
        notify: Callable[[Notice], None] | None = None,
    ) -> None:
        self.folder = folder.resolve()
        self._run = run
        self._notify = notify or (lambda notice: None)
        self._cond = threading.Condition()
        self._settler = Settler(settle_seconds)
        self._reruns: list[Claim] = []
        self._stop = threading.Event()
        self._once = False
        self._observer: BaseObserver | None = None
        self._worker: threading.Thread | None = None
        self._started_at = now_iso()
        self._running: dict[str, Any] | None = None
        self._counts = {DONE: 0, FAILED: 0}
        self._recovered: list[dict[str, Any]] = []
        self._failure: Exception | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, *, once: bool = False) -> None:
        """Recover what a dead watcher left, then watch (`once`: until nothing is left)."""
        for sub in (PROCESSING, DONE, FAILED):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        remove_state(self.folder, stale_only=True)
        self._once = once
        self._observer = _observer()
        self._observer.schedule(_Events(self), str(self.folder), recursive=False)
        self._observer.start()  # before the scan, so no file falls between the two
        self._recover()
        self._scan()
        self._save_state()
        self._worker = threading.Thread(target=self._work, name="deskhand-inbox", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        """Stop after the current task: its run is asked to stop, nothing new is claimed."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the worker to end (after `stop`, or in `once` mode when all is done);
        False on timeout. Raises what stopped the worker, if something did."""
        assert self._worker is not None, "start() first"
        self._worker.join(timeout)
        if self._worker.is_alive():
            return False
        if self._observer is not None:
            self._observer.stop()
            self._observer.join()
            self._observer = None
        remove_state(self.folder)
        if self._failure is not None:
            raise self._failure
        return True

    @property
    def counts(self) -> dict[str, int]:
        """How many files this inbox filed under done/ and failed/."""
        with self._cond:
            return dict(self._counts)

    # -- events --------------------------------------------------------------------------

    def seen(self, path: Path, *, complete: bool = False) -> None:
        """A file in the folder was written (or moved in, `complete`); thread-safe."""
        if path.parent != self.folder or not is_task_name(path.name):
            return
        with self._cond:
            self._settler.seen(path, complete=complete)
            self._cond.notify_all()

    def _scan(self) -> None:
        # At start and after each task: catches files whose events were lost or came
        # while the observer was not yet running.
        with self._cond:
            for path in sorted(self.folder.iterdir()):
                if is_task_name(path.name) and path not in self._settler:
                    self._settler.seen(path)
            self._cond.notify_all()

    # -- the worker ----------------------------------------------------------------------

    def _work(self) -> None:
        try:
            while (claim := self._next()) is not None:
                self._process(claim)
                self._scan()
        except Exception as exc:
            # The folder failed us (disk full, permissions...): whatever was claimed stays
            # in processing/ for the next start, and `wait` raises this to the caller.
            log.exception("the inbox stopped")
            self._failure = exc
        finally:
            with self._cond:
                self._running = None
            self._save_state()

    def _next(self) -> Claim | None:
        with self._cond:
            while not self._stop.is_set():
                if self._reruns:
                    return self._reruns.pop(0)
                path = self._settler.take_ready()
                if path is not None:
                    claim = claim_file(self.folder, path)
                    if claim is not None:
                        return claim
                    continue  # another watcher took it, or it went away
                if self._once and not self._settler:
                    return None
                self._cond.wait(self._settler.wait_seconds())
            # Claims recovered for a rerun stay in processing/ for the next start.
            for claim in self._reruns:
                claim.release_lock()
            self._reruns.clear()
            return None

    def _process(self, claim: Claim) -> None:
        attempt = claim.begin_attempt()
        with self._cond:
            self._running = {"name": claim.name, "claim": claim.folder.name, **attempt}
        self._save_state()
        self._notify(Notice("started", claim.name, attempt=attempt["attempt"]))

        def on_event(event: Event) -> None:
            if isinstance(event, RunStarted):
                attempt["run_id"] = event.run_id
                claim.save()
                with self._cond:
                    if self._running is not None:
                        self._running["run_id"] = event.run_id
                self._save_state()

        started = time.monotonic()
        outcome, message, report, errors = self._call(claim, on_event)
        attempt["ended_at"] = now_iso()
        if outcome == "stopped" and self._stop.is_set() and _interrupt_setting(claim)[0] == "rerun":
            attempt["end"] = "stopped"
            claim.save()
            claim.release_lock()
            self._notify(Notice("deferred", claim.name, outcome, message, attempt["attempt"]))
        else:
            attempt["end"] = "finished"
            seconds = round(time.monotonic() - started, 3)
            result = result_record(claim, outcome, message, report, errors, seconds)
            self._file(claim, result)
        with self._cond:
            self._running = None
        self._save_state()

    def _call(
        self, claim: Claim, on_event: Callable[[Event], None]
    ) -> tuple[str, str, Report | None, list[dict[str, Any]]]:
        if not stat.S_ISREG(claim.task_path.lstat().st_mode):
            # a link could point anywhere (a file the dropper may not read, a FIFO that
            # blocks the inbox): only a file that is itself in the folder runs
            message = f"{claim.name}: not a regular file (a symbolic link, FIFO or device)"
            return "invalid", message, None, [{"kind": "not_a_file", "message": message}]
        try:
            report = self._run(claim.task_path, stop=self._stop, on_event=on_event)
        except TaskFileError as exc:
            return "invalid", _as_named(exc, claim), None, [_problem(p) for p in exc.problems]
        except BadInput as exc:
            return "invalid", str(exc), None, [{"kind": "bad_input", "message": str(exc)}]
        except Exception as exc:
            # One run's bug must not stop the inbox: it is logged in full and filed.
            log.exception("running %s raised", claim.name)
            error = {"kind": "internal", "type": type(exc).__name__, "message": str(exc)}
            return "error", f"internal error: {type(exc).__name__}: {exc}", None, [error]
        return report.outcome, report.message, report, []

    def _file(self, claim: Claim, result: dict[str, Any]) -> None:
        where = file_result(self.folder, claim, result)
        with self._cond:
            self._counts[where.parent.name] += 1
        self._notify(
            Notice(
                "filed",
                claim.name,
                result["outcome"],
                result["message"],
                result["attempts"],
                where,
            )
        )

    # -- recovery ------------------------------------------------------------------------

    def _recover(self) -> None:
        processing = self.folder / PROCESSING
        for folder in sorted(p for p in processing.iterdir() if p.is_dir()):
            claim = adopt(folder)
            if claim is not None:  # None: a live watcher owns it
                self._recover_one(claim)

    def _recover_one(self, claim: Claim) -> None:
        result = read_json(claim.folder / RESULT_FILE)
        if isinstance(result, dict) and isinstance(result.get("outcome"), str):
            self._file(claim, result)  # died between writing the result and moving out
            return
        if not claim.task_path.is_file():
            claim.discard()
            return
        if not claim.attempts:  # claimed but never started: nothing ran, so just run it
            self._reruns.append(claim)
            return
        for attempt in claim.attempts:
            if attempt.get("end") is None:
                attempt["end"] = "interrupted"
        claim.save()
        done = len(claim.attempts)
        setting, problem = _interrupt_setting(claim)
        if setting == "rerun" and done < MAX_ATTEMPTS:
            action, message = "rerun", f"interrupted after {done} attempt(s); on_interrupt: rerun"
        else:
            why = "gave up" if setting == "rerun" else "on_interrupt: fail"
            action, message = "fail", f"interrupted: the watcher ended while it ran ({why})"
            if problem is not None:
                message += f"; and it cannot be loaded: {_as_named(problem, claim)}"
        record = {"name": claim.name, "attempts": done, "action": action, "at": now_iso()}
        self._recovered.append(record)
        self._notify(Notice("recovered", claim.name, action, message, done))
        if action == "rerun":
            self._reruns.append(claim)
        else:
            errors = [_problem(p) for p in problem.problems] if problem is not None else []
            self._file(claim, result_record(claim, "interrupted", message, None, errors))

    def _save_state(self) -> None:
        with self._cond:
            state = {
                "started_at": self._started_at,
                "running": self._running,
                "filed": dict(self._counts),
                "recovered": list(self._recovered),
                "stopping": self._stop.is_set(),
                "settle_seconds": self._settler.settle_seconds,
            }
        write_state(self.folder, state)


def _observer() -> BaseObserver:
    if sys.platform.startswith("linux"):
        from watchdog.observers.inotify import InotifyObserver

        # Full events: a file moved in from another folder is a move (complete at once),
        # not a creation that has to settle.
        return InotifyObserver(generate_full_events=True)
    return Observer()


def _interrupt_setting(claim: Claim) -> tuple[str, TaskFileError | None]:
    """The file's on_interrupt ("fail" for a file that cannot be loaded, with why)."""
    try:
        return load_task_file(claim.task_path, require_inputs=False).on_interrupt, None
    except TaskFileError as exc:
        return "fail", exc


def _as_named(exc: TaskFileError, claim: Claim) -> str:
    """The error's one line, naming the file as dropped rather than its claim folder."""
    text = str(exc)
    return claim.name + text[len(exc.source) :] if text.startswith(exc.source) else text


def _problem(problem: Any) -> dict[str, Any]:
    keys = ("kind", "message", "line", "column", "field")
    return {key: getattr(problem, key) for key in keys}
