"""The engine's worker thread, and the bridge that carries what it does to the UI.

Invariants:
- One thread (``deskhand-engine``) owns the model router and its own `Journal`: it
  opens them, runs every goal, and closes them (llama.cpp contexts and sqlite3
  connections are bound to one thread). The UI thread only posts commands on a queue
  and receives signals; it never waits on the model, a tool or the disk.
- `WorkerSignals` lives on the UI thread, so every emission from the worker is queued
  there. Each engine event is emitted as it is yielded, as `WorkerSignals.engine_event`.
- The model loads once, when `start()` posts the first command (the app calls it after
  its first paint). Goals submitted earlier wait in the queue behind it. The engine's
  modules are imported on the worker thread too, so none of that delays the first paint.
- The worker thread runs at a lower CPU priority than the UI thread (`lower_priority`,
  Linux), and so do the threads and processes it starts (llama.cpp's compute threads,
  the browser): on a busy machine the UI thread gets a core first and never queues
  behind the model for one (measured in tests/benchmarks/desktop_app.py).
- A goal gets the tools the CLI's ``run`` would give it: the files tool, and the browser
  when the goal names a web page (opened first, its site granted for this run, as with
  ``--start-url``) or the configured permissions grant a browser capability. The browser
  lives on this thread and is closed when the run ends, however it ends.
- Goals and saved task files are prepared as the CLI and the inbox prepare them
  (`agent.prepare.prepare_run`) and run through the one lifecycle (`agent.taskrun`),
  with the UI's approver, the app's loaded model and this worker's journal and stop flag.
- `stop()` sets the engine's stop flag (checked between steps and between generated
  tokens), settles any approval the run is parked on as a denial, and drops goals
  queued behind the run.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from agent.settings import Settings
from app.qt.approval import QtApprover

if TYPE_CHECKING:
    from agent.events import Event
    from agent.journal import Journal
    from agent.prepare import RunRequest
    from models.router import ModelRouter

log = logging.getLogger(__name__)

#: Opens the model a run uses; called on the worker thread (loading is slow).
ModelOpener = Callable[[Settings], "ModelRouter"]


def open_configured_model(settings: Settings) -> ModelRouter:
    """The model the settings name, plus the configured fallback (as the CLI opens it)."""
    from agent import assemble

    return assemble.open_router(settings, assemble.resolve_model(settings, None))


#: How much nicer than the UI the engine's threads run (Linux nice levels).
ENGINE_NICENESS = 10


def lower_priority(step: int = ENGINE_NICENESS) -> None:
    """Make the calling thread (and what it starts later) yield the CPU to the UI thread:
    `step` nice levels below the process's main thread. Calling it again changes nothing.

    Linux nice values are per thread and inherited by threads and processes created
    afterwards. Elsewhere this does nothing (the OS schedulers there favour the
    foreground window's thread already)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        target = min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + step)
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), target)
    except OSError as exc:  # a sandbox without setpriority: correct, only less smooth
        log.debug("cannot lower the engine's priority: %s", exc)


@dataclass(frozen=True, slots=True)
class _Goal:
    seq: int
    goal: str
    context: str


@dataclass(frozen=True, slots=True)
class _TaskFile:
    seq: int
    path: Path


@dataclass(frozen=True, slots=True)
class _Reload:
    settings: Settings
    reopen_model: bool


class _Load:
    pass


class _Quit:
    pass


_Command = _Goal | _TaskFile | _Reload | _Load | _Quit

#: A web page named in a goal: the browser opens it first.
_URL = re.compile(r"\bhttps?://[^\s<>\"')]+")


class WorkerSignals(QObject):
    model_loading = Signal()
    #: The model is ready: its id.
    model_ready = Signal(str)
    #: The model could not be opened: a one-line reason.
    model_failed = Signal(str)
    #: A goal starts (True) or the worker has nothing left to do (False).
    busy_changed = Signal(bool)
    #: Every engine event (`agent.events.Event`), in order. (Not named `event`: that
    #: would hide QObject.event, through which Qt delivers this object's own events.)
    engine_event = Signal(object)
    #: A goal could not start, or the engine raised (a bug): a one-line reason.
    run_failed = Signal(str)


class EngineWorker:
    """Runs goals one at a time on a thread of its own."""

    def __init__(
        self,
        settings: Settings,
        approver: QtApprover,
        *,
        open_model: ModelOpener = open_configured_model,
        parent: QObject | None = None,
    ) -> None:
        self.signals = WorkerSignals(parent)
        self._settings = settings
        self._approver = approver
        self._open_model = open_model
        self._commands: queue.Queue[_Command] = queue.Queue()
        self._stop = threading.Event()
        self._seq = itertools.count(1)
        self._dropped_below = 0
        self._thread = threading.Thread(target=self._main, name="deskhand-engine", daemon=True)
        self._started = False
        self._router: ModelRouter | None = None
        self._journal: Journal | None = None
        #: The worker thread's OS thread id, once it runs.
        self.native_id: int | None = None

    # -- called on the UI thread ----------------------------------------------------------

    def start(self) -> None:
        """Start the thread and load the model in the background."""
        if not self._started:
            self._started = True
            self._thread.start()
            self._commands.put(_Load())

    def submit(self, goal: str, context: str = "") -> None:
        self._commands.put(_Goal(next(self._seq), goal, context))

    def submit_task_file(self, path: Path) -> None:
        """Run a saved *.task.yaml (its checks decide the outcome)."""
        self._commands.put(_TaskFile(next(self._seq), path))

    def stop(self) -> None:
        """Stop the current run within one generated token, and forget queued goals."""
        self._dropped_below = next(self._seq)
        self._stop.set()
        self._approver.deny_all()

    def reload(self, settings: Settings, *, reopen_model: bool = True) -> None:
        """Use new settings from the next goal on (reopening the model when asked)."""
        self._commands.put(_Reload(settings, reopen_model))

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Stop, close the model and the journal, end the thread; False if it hung."""
        self.stop()
        self._commands.put(_Quit())
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the worker thread ----------------------------------------------------------------

    def _main(self) -> None:
        self.native_id = threading.get_native_id()
        lower_priority()  # first: llama.cpp's threads and the browser inherit it
        from agent import assemble

        self._journal = assemble.open_journal(self._settings)
        try:
            while True:
                command = self._commands.get()
                if isinstance(command, _Quit):
                    break
                if isinstance(command, _Load):
                    if self._router is None:  # a goal queued before start() loaded it
                        self._load()
                elif isinstance(command, _Reload):
                    self._settings = command.settings
                    if command.reopen_model:
                        self._close_model()
                        self._load()
                elif command.seq <= self._dropped_below:
                    continue
                elif isinstance(command, _TaskFile):
                    self._run_task_file(command)
                else:
                    self._run_goal(command)
        finally:
            self._close_model()
            self._journal.close()

    def _load(self) -> None:
        from agent.assemble import BadInput
        from models.base import ModelError

        self.signals.model_loading.emit()
        try:
            self._router = self._open_model(self._settings)
        except (BadInput, ModelError) as exc:
            log.warning("cannot open the model: %s", exc)
            self.signals.model_failed.emit(str(exc))
            return
        self.signals.model_ready.emit(self._router.model_id)

    def _close_model(self) -> None:
        if self._router is not None:
            self._router.close()
            self._router = None

    def _run_goal(self, goal: _Goal) -> None:
        from agent.prepare import RunRequest

        if self._router is None:
            self._load()  # the last attempt failed; the settings may have been fixed
        if self._router is None:
            self.signals.run_failed.emit("no model is available; see Settings")
            return
        # What the CLI's `run` builds for a plain goal, with ``--start-url`` when the goal
        # names a page, on the app's loaded model.
        request = RunRequest(
            goal=goal.goal,
            workspace=self._settings.workspaces,
            model=self._router,
            start_url=page_in(goal.goal),
            attached=goal.context,
            approver=self._approver,
        )
        self._run(request, goal.seq)

    def _run_task_file(self, command: _TaskFile) -> None:
        from agent.assemble import BadInput
        from agent.prepare import RunRequest
        from agent.taskfile import TaskFileError, load_task_file

        try:
            task = load_task_file(command.path)
        except (TaskFileError, BadInput) as exc:
            self.signals.run_failed.emit(str(exc).splitlines()[0] if str(exc) else repr(exc))
            return
        request = RunRequest(
            task_file=task,
            source=str(command.path),
            workspace=self._settings.workspaces,
            default_model=self._router,  # the app's model, not a second copy
            approver=self._approver,
        )
        self._run(request, command.seq)

    def _run(self, request: RunRequest, seq: int) -> None:
        """Prepare and drive one run (`agent.prepare`, as the CLI and the inbox do), with
        this worker's journal and stop flag; a request that cannot start is one line."""
        from agent.assemble import BadInput
        from agent.prepare import prepare_run
        from agent.taskfile import TaskFileError
        from agent.taskrun import run_task

        self._arm_stop(seq)
        try:
            plan = prepare_run(request, self._settings, self._stop)
        except (TaskFileError, BadInput) as exc:
            self.signals.run_failed.emit(str(exc).splitlines()[0] if str(exc) else repr(exc))
            return
        assert self._journal is not None
        journal = self._journal
        self._drive(lambda: run_task(plan, journal))

    def _drive(self, events: Callable[[], Iterator[Event]]) -> None:
        """Run one run's events to the end, as signals (the run closes what it started,
        its browser, however it ends)."""
        self.signals.busy_changed.emit(True)
        try:
            for event in events():
                self.signals.engine_event.emit(event)
        except Exception as exc:  # noqa: BLE001 - a bug: reported, and the thread serves on
            log.exception("the run raised")
            self.signals.run_failed.emit(f"internal error: {type(exc).__name__}: {exc}")
        finally:
            self.signals.busy_changed.emit(False)

    def _arm_stop(self, seq: int) -> None:
        self._stop.clear()
        if seq < self._dropped_below:
            self._stop.set()  # Stop was pressed while this run was being prepared


def page_in(goal: str) -> str | None:
    """The first web address in a goal (trailing punctuation left out), if any."""
    found = _URL.search(goal)
    return found.group(0).rstrip(".,;:!?") if found else None
