"""The watched inbox with real filesystem events (watchdog on a temporary folder), the
real task runner, and a real ``deskhand watch`` process that is killed with SIGKILL.

Nothing here sleeps: tests wait on the inbox's notices, on lines the watcher prints, or
on a FIFO. A "gated" task reads a FIFO in its first step, so the test knows the run is
inside that step when the FIFO's reader opens, and decides when the step may finish.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.events import Event, RunStarted
from agent.inbox import Inbox, Notice
from agent.journal import Journal
from agent.runner import run_task_path
from agent.settings import load_settings
from agent.taskfile import load_task_file

DESKHAND = str(Path(sys.executable).parent / "deskhand")
WAIT = 60.0


#: A gated task's first step: `cat` of the FIFO blocks until the test releases the gate
#: (the file tool refuses FIFOs, so the shell tool reads it; the watcher must allow that).
GATE_GRANT = "shell.exec:cat gate.fifo"


def task_text(n: int | str, on_interrupt: str = "fail", *, gated: bool = False) -> str:
    gate = "  - tool: shell.run\n    args: {command: cat gate.fifo}\n" if gated else ""
    grants = f'"fs.write:out-{n}", "{GATE_GRANT}"' if gated else f'"fs.write:out-{n}"'
    return (
        f"name: task {n}\n"
        f"permissions: [{grants}]\n"
        "steps:\n"
        f"{gate}"
        f"  - tool: files.make_folder\n    args: {{path: out-{n}}}\n"
        f"checks:\n  - {{kind: file_exists, path: out-{n}}}\n"
        f"on_interrupt: {on_interrupt}\n"
    )


def result_of(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def move_in(folder: Path, staging: Path, name: str, text: str) -> None:
    (staging / name).write_text(text)
    os.rename(staging / name, folder / name)


class Notices:
    """Collects the inbox's notices; `wait_for` blocks on a condition, with a deadline."""

    def __init__(self) -> None:
        self.items: list[Notice] = []
        self._cond = threading.Condition()

    def __call__(self, notice: Notice) -> None:
        with self._cond:
            self.items.append(notice)
            self._cond.notify_all()

    def filed(self) -> list[Notice]:
        return [n for n in self.items if n.kind == "filed"]

    def wait_for(self, done: Callable[[Notices], bool], timeout: float = WAIT) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: done(self), timeout), self.items


@dataclass(frozen=True)
class FakeReport:
    outcome: str
    message: str
    run_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "run_id": self.run_id, "checks": []}


class RecordingRunner:
    """Loads each file as the real runner does and records the text it ran."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __call__(
        self, path: Path, *, stop: threading.Event, on_event: Callable[[Event], None]
    ) -> FakeReport:
        text = path.read_text()
        task = load_task_file(path)
        with self._lock:
            self.calls.append((path.name, text))
            run_id = f"run-{len(self.calls)}"
        on_event(RunStarted(run_id, task.name, "fake", "", ()))
        return FakeReport("success", "ok", run_id)


@pytest.fixture
def inbox_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (tmp_path / "staging").mkdir()
    return folder


def test_fifty_files_dropped_at_once_are_each_run_once(inbox_dir: Path) -> None:
    staging = inbox_dir.parent / "staging"
    runner, notices = RecordingRunner(), Notices()
    inbox = Inbox(inbox_dir, runner, settle_seconds=0.2, notify=notices)
    inbox.start()
    texts = {f"t{i:02}.task.yaml": task_text(i) for i in range(50)}
    began = time.monotonic()
    for i, (name, text) in enumerate(texts.items()):
        if i % 2:
            (inbox_dir / name).write_text(text)  # written in place
        else:
            move_in(inbox_dir, staging, name, text)  # written elsewhere, moved in
    notices.wait_for(lambda n: len(n.filed()) == 50)
    seconds = time.monotonic() - began
    inbox.stop()
    assert inbox.wait(WAIT)
    print(f"\n50 files, recording runner: {seconds:.2f} s")

    assert Counter(name for name, _ in runner.calls) == Counter(dict.fromkeys(texts, 1))
    assert all(text == texts[name] for name, text in runner.calls)  # never half a file
    for name in texts:
        stem = name.removesuffix(".task.yaml")
        result = result_of(inbox_dir / "done" / f"{stem}.result.json")
        assert result["outcome"] == "success" and result["attempts"] == 1
        assert (inbox_dir / "done" / name).read_text() == texts[name]
    assert not list((inbox_dir / "processing").iterdir())
    assert not list(inbox_dir.glob("*.task.yaml"))


def test_two_watchers_on_one_folder_never_run_a_file_twice(inbox_dir: Path) -> None:
    staging = inbox_dir.parent / "staging"
    runners, notices = [RecordingRunner(), RecordingRunner()], Notices()
    inboxes = [Inbox(inbox_dir, r, settle_seconds=0.0, notify=notices) for r in runners]
    for inbox in inboxes:
        inbox.start()
    names = [f"t{i:02}.task.yaml" for i in range(50)]
    for i, name in enumerate(names):
        move_in(inbox_dir, staging, name, task_text(i))
    notices.wait_for(lambda n: len(n.filed()) == 50)
    for inbox in inboxes:
        inbox.stop()
    assert all(inbox.wait(WAIT) for inbox in inboxes)
    ran = [name for r in runners for name, _ in r.calls]
    assert sorted(ran) == names
    assert sum(inbox.counts["done"] for inbox in inboxes) == 50
    assert len(list((inbox_dir / "done").glob("*.result.json"))) == 50


def test_a_half_written_file_is_not_run_until_it_is_complete(inbox_dir: Path) -> None:
    staging = inbox_dir.parent / "staging"
    runner, notices = RecordingRunner(), Notices()
    inbox = Inbox(inbox_dir, runner, settle_seconds=3.0, notify=notices)
    inbox.start()
    whole = task_text("slow")
    half = whole[: whole.index("checks:")]  # valid YAML, and a valid task on its own
    with (inbox_dir / "slow.task.yaml").open("w") as writer:
        writer.write(half)
        writer.flush()
        # While the writer pauses, another file comes and goes: the worker was free and
        # looking, and still left the half file alone.
        move_in(inbox_dir, staging, "other.task.yaml", task_text("other"))
        notices.wait_for(lambda n: any(f.name == "other.task.yaml" for f in n.filed()))
        writer.write(whole[len(half) :])
    notices.wait_for(lambda n: len(n.filed()) == 2)
    inbox.stop()
    assert inbox.wait(WAIT)
    assert runner.calls == [("other.task.yaml", task_text("other")), ("slow.task.yaml", whole)]


def test_malformed_files_fail_cleanly_and_the_watcher_carries_on(
    inbox_dir: Path, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    settings = load_settings()

    def run(path: Path, *, stop: threading.Event, on_event: Callable[[Event], None]) -> Any:
        return run_task_path(
            path, settings=settings, workspace=[workspace], stop=stop, on_event=on_event
        )

    staging = inbox_dir.parent / "staging"
    notices = Notices()
    inbox = Inbox(inbox_dir, run, settle_seconds=0.0, notify=notices)
    inbox.start()
    bad = {
        "syntax.task.yaml": "name: [unclosed\n",
        "schema.task.yaml": "name: x\nsteps:\n  - tool: files.make_folder\n    argz: {}\n",
        "tool.task.yaml": "name: x\nsteps:\n  - tool: files.teleport\n",
        "binary.task.yaml": "\udcff\udcfe",
        "empty.task.yaml": "",
    }
    for name, text in bad.items():
        (staging / name).write_bytes(text.encode("utf-8", "surrogateescape"))
        os.rename(staging / name, inbox_dir / name)
    notices.wait_for(lambda n: len(n.filed()) == len(bad))
    move_in(inbox_dir, staging, "good.task.yaml", task_text("good"))
    notices.wait_for(lambda n: len(n.filed()) == len(bad) + 1)
    inbox.stop()
    assert inbox.wait(WAIT)

    for name in bad:
        stem = name.removesuffix(".task.yaml")
        result = result_of(inbox_dir / "failed" / f"{stem}.result.json")
        assert result["outcome"] == "invalid" and result["message"].startswith(name + ":")
        assert result["errors"] and result["run_id"] is None
        assert (inbox_dir / "failed" / name).exists()
    good = result_of(inbox_dir / "done" / "good.result.json")
    assert good["outcome"] == "success" and good["checks"][0]["ok"] is True
    assert (workspace / "out-good").is_dir()


# -- a real `deskhand watch` process --------------------------------------------------------


class Watcher:
    """A `deskhand watch` subprocess whose output lines are read on a thread."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [DESKHAND, "watch", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def expect(self, start: str, timeout: float = WAIT) -> str:
        """Wait for a line starting with `start`."""
        deadline = time.monotonic() + timeout
        while True:
            line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f"watcher ended before {start!r}: {self.lines}"
            self.lines.append(line)
            if line.startswith(start):
                return line

    def finish(self, timeout: float = WAIT) -> tuple[int, str]:
        """Wait for the exit; the rest of stdout goes to `lines`. Returns code and stderr."""
        code = self.proc.wait(timeout)
        while (line := self._queue.get(timeout=timeout)) is not None:
            self.lines.append(line)
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()


class Gate:
    """The writing end of a FIFO that a gated task reads in its first step: `opened` is
    set when the task's read begins (so its run is inside that step), `release` lets the
    read finish."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            os.mkfifo(path)
        self.opened = threading.Event()
        self._go = threading.Event()
        self._write = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        fd = os.open(self.path, os.O_WRONLY)  # blocks until the task opens the FIFO
        self.opened.set()
        self._go.wait()
        try:
            if self._write:
                os.write(fd, b"go\n")
        except BrokenPipeError:
            pass
        finally:
            os.close(fd)

    def release(self, *, write: bool = True) -> None:
        self._write = write
        self._go.set()
        self._thread.join(WAIT)
        assert not self._thread.is_alive()


def status_of(folder: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [DESKHAND, "watch", str(folder), "--status", "--json"],
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def test_fifty_files_with_the_real_runner_and_cli(inbox_dir: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    staging = inbox_dir.parent / "staging"
    watcher = Watcher(str(inbox_dir), "-w", str(workspace), "--settle", "0.2")
    watcher.expect("watching ")
    began = time.monotonic()
    for i in range(50):
        text = task_text(i)
        if i % 2:
            (inbox_dir / f"t{i:02}.task.yaml").write_text(text)
        else:
            move_in(inbox_dir, staging, f"t{i:02}.task.yaml", text)
    for _ in range(50):
        watcher.expect("success: ")
    seconds = time.monotonic() - began
    watcher.proc.send_signal(signal.SIGTERM)
    code, err = watcher.finish()
    print(f"\n50 files, real runner through `deskhand watch`: {seconds:.2f} s")
    assert code == 0 and "Traceback" not in err, err

    assert {p.name for p in workspace.iterdir()} == {f"out-{i}" for i in range(50)}
    run_ids = set()
    for i in range(50):
        result = result_of(inbox_dir / "done" / f"t{i:02}.result.json")
        assert result["outcome"] == "success" and result["attempts"] == 1
        assert result["report"]["replayed_steps"] == 1 and result["report"]["model_steps"] == 0
        run_ids.add(result["run_id"])
    assert len(run_ids) == 50
    assert sum(line.startswith("running ") for line in watcher.lines) == 50
    journal = Journal(load_settings().journal_path)
    assert all(journal.run(r)["outcome"] == "success" for r in run_ids)  # type: ignore[index]
    journal.close()


@pytest.mark.parametrize("on_interrupt", ["rerun", "fail"])
def test_kill_9_mid_task_then_restart_loses_nothing_and_duplicates_nothing(
    inbox_dir: Path, tmp_path: Path, on_interrupt: str
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (inbox_dir / "a.task.yaml").write_text(task_text("a", on_interrupt, gated=True))
    for name in ("b", "c"):
        (inbox_dir / f"{name}.task.yaml").write_text(task_text(name))
    gate = Gate(workspace / "gate.fifo")

    first = Watcher(str(inbox_dir), "-w", str(workspace), "--settle", "0", "--allow", GATE_GRANT)
    first.expect("running a.task.yaml (attempt 1)")
    assert gate.opened.wait(WAIT)  # the run is inside its first step
    (state_file,) = (inbox_dir / ".deskhand-watch").glob("*.json")
    state = result_of(state_file)
    assert state["running"]["name"] == "a.task.yaml" and state["running"]["run_id"]
    first_run = state["running"]["run_id"]
    first.proc.kill()
    first.proc.wait(WAIT)
    gate.release(write=False)

    (claim,) = (inbox_dir / "processing").iterdir()
    assert (claim / "a.task.yaml").exists()
    assert sorted(p.name for p in inbox_dir.glob("*.task.yaml")) == ["b.task.yaml", "c.task.yaml"]
    status = status_of(inbox_dir)
    assert [r["name"] for r in status["interrupted"]] == ["a.task.yaml"]
    assert status["running"] == [] and status["waiting"] == ["b.task.yaml", "c.task.yaml"]

    second = Watcher(
        str(inbox_dir), "-w", str(workspace), "--settle", "0", "--once", "--allow", GATE_GRANT
    )
    second.expect("interrupted: a.task.yaml (1 attempt(s))")
    if on_interrupt == "rerun":
        gate = Gate(workspace / "gate.fifo")
        second.expect("running a.task.yaml (attempt 2)")
        assert gate.opened.wait(WAIT)
        gate.release()
    code, err = second.finish()
    assert "Traceback" not in err, err
    assert code == (0 if on_interrupt == "rerun" else 1)

    folder = "done" if on_interrupt == "rerun" else "failed"
    result = result_of(inbox_dir / folder / "a.result.json")
    history = result["attempt_history"]
    assert history[0]["end"] == "interrupted" and history[0]["run_id"] == first_run
    if on_interrupt == "rerun":
        assert result["outcome"] == "success" and result["rerun_after_interruption"] is True
        assert result["attempts"] == 2 and result["run_id"] != first_run
        assert (workspace / "out-a").is_dir()
    else:
        assert result["outcome"] == "interrupted" and result["attempts"] == 1
        assert not (workspace / "out-a").exists()
    for name in ("b", "c"):
        assert result_of(inbox_dir / "done" / f"{name}.result.json")["attempts"] == 1
    # Every file is in exactly one place, each ran to the end at most once.
    everywhere = [p.name for p in inbox_dir.rglob("*.task.yaml")]
    assert sorted(everywhere) == ["a.task.yaml", "b.task.yaml", "c.task.yaml"]
    assert not list((inbox_dir / "processing").iterdir())
    assert sum(line.startswith("running b.task.yaml") for line in second.lines) == 1
    journal = Journal(load_settings().journal_path)
    assert journal.run(first_run)["status"] == "interrupted"  # type: ignore[index]
    journal.close()


@pytest.mark.parametrize("on_interrupt", ["rerun", "fail"])
def test_sigterm_stops_after_the_current_task_and_leaves_nothing_half_moved(
    inbox_dir: Path, tmp_path: Path, on_interrupt: str
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (inbox_dir / "a.task.yaml").write_text(task_text("a", on_interrupt, gated=True))
    (inbox_dir / "b.task.yaml").write_text(task_text("b"))
    gate = Gate(workspace / "gate.fifo")
    watcher = Watcher(str(inbox_dir), "-w", str(workspace), "--settle", "0", "--allow", GATE_GRANT)
    watcher.expect("running a.task.yaml (attempt 1)")
    assert gate.opened.wait(WAIT)
    watcher.proc.send_signal(signal.SIGTERM)
    gate.release()
    code, err = watcher.finish()
    assert code == 0 and "stopping after the current task" in err, err
    assert (inbox_dir / "b.task.yaml").exists()  # not claimed after the stop
    assert not (workspace / "out-a").exists()  # the run stopped before its second step
    if on_interrupt == "rerun":
        assert watcher.lines[-1].startswith("stopped: a.task.yaml, left in processing/")
        (claim,) = (inbox_dir / "processing").iterdir()
        info = result_of(claim / "claim.json")
        assert info["attempts"][0]["end"] == "stopped"
    else:
        result = result_of(inbox_dir / "failed" / "a.result.json")
        assert result["outcome"] == "stopped" and result["attempts"] == 1
        assert not list((inbox_dir / "processing").iterdir())
    assert not list((inbox_dir / ".deskhand-watch").iterdir())  # state file removed


def test_set_gives_inputs_to_the_tasks_that_declare_them(inbox_dir: Path, tmp_path: Path) -> None:
    """``deskhand watch --set``: each task that declares the input gets the value, a task
    without it ignores it, and a value of the wrong type fails only that task, cleanly."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    takes = (
        "name: takes\ninputs:\n  folder: {type: path}\n"
        'permissions: ["fs.write:out-a"]\n'
        "steps:\n  - {tool: files.make_folder, args: {path: '{{ inputs.folder }}'}}\n"
        "checks:\n  - {kind: file_exists, path: '{{ inputs.folder }}'}\n"
    )
    typed = "name: typed\ninputs:\n  week: {type: int}\ngoal: archive week {{ inputs.week }}\n"
    (inbox_dir / "a.task.yaml").write_text(takes)
    (inbox_dir / "b.task.yaml").write_text(task_text("b"))
    (inbox_dir / "c.task.yaml").write_text(typed)
    proc = subprocess.run(
        [DESKHAND, "watch", str(inbox_dir), "--once", "-w", str(workspace),
         "--set", "folder=out-a", "--set", "week=soon"],
        capture_output=True, text=True, timeout=WAIT,
    )  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert (workspace / "out-a").is_dir() and (workspace / "out-b").is_dir()
    assert result_of(inbox_dir / "done" / "a.result.json")["outcome"] == "success"
    assert result_of(inbox_dir / "done" / "b.result.json")["outcome"] == "success"
    failed = result_of(inbox_dir / "failed" / "c.result.json")
    assert "--set week='soon' is not an int" in json.dumps(failed)

    bad = subprocess.run(
        [DESKHAND, "watch", str(inbox_dir), "--once", "--set", "nothing"],
        capture_output=True, text=True, timeout=WAIT,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip() == "deskhand: --set wants NAME=VALUE, got 'nothing'"
