"""A file action that overruns its timeout must not keep running unjournaled.

On the code before intents and cancellation (21d258f) the executor stopped *waiting*
for a timed-out action but the action ran on: `test_a_copy_that_overruns_its_timeout...`
and `test_a_write_that_overruns...` found the copy or write still landing on disk after
`execute` had returned "timeout" and journaled no file change, so `deskhand undo` could
not reverse it. The tool-level tests (`StopAfter`) could not be written against that
code at all: there was no stop flag to hand a file action. Now the executor sets the
action's stop flag, the action takes back what it half did, and what could not be taken
back stays journaled as in flight.

No sleeps: the executor tests use a 1 ms timeout against copies and writes of tens of
MiB; the tool tests stop an action after an exact number of its stop checks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.approval import AlwaysAllow
from agent.executor import Executor, ModelTrace, Proposal
from agent.journal import Journal
from agent.policy import Policy
from tools.base import Action, Cancelled, Effect, NoArgs, ToolResult, ToolSpec
from tools.files import FileTool
from tools.paths import Workspace
from tools.registry import Registry
from tools.undo import undo_in_flight

BIG = 64 << 20
TINY_TIMEOUT = (0.001, 0.001)


class StopAfter(threading.Event):
    """A stop flag that reads as set from its `calls`-th check on: an action stopped after
    an exact number of chunks or entries."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self._left = calls

    def is_set(self) -> bool:
        self._left -= 1
        return self._left <= 0 or super().is_set()


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / "ws").mkdir()
    return tmp_path / "ws"


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.db") as j:
        yield j


def execute(journal: Journal, registry: Registry, root: Path, tool: str, **args: Any) -> Any:
    run_id = journal.start_run(goal="g", workspace=str(root), model_id="m")
    executor = Executor(registry, Policy.for_workspace([root]), AlwaysAllow(), journal, run_id)
    gen = executor.execute(0, Proposal("", tool, args), ModelTrace())
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return run_id, stop.value


def tool(ws: Path, tmp_path: Path, timeouts: tuple[float, float] = (30.0, 120.0)) -> FileTool:
    return FileTool(Workspace((ws,)), tmp_path / "undo", timeouts=timeouts)


def files_under(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.lstat().st_size for p in folder.rglob("*")}


# -- through the executor, with a real timeout ------------------------------------------


def test_a_copy_that_overruns_its_timeout_leaves_nothing_half_copied(
    ws: Path, tmp_path: Path, journal: Journal
) -> None:
    (ws / "big.bin").write_bytes(b"\x01" * BIG)
    registry = Registry(tool(ws, tmp_path, TINY_TIMEOUT).specs())
    run_id, result = execute(journal, registry, ws, "files.copy", source="big.bin",
                             destination="sub/copy.bin")  # fmt: skip
    assert not result.ok and result.kind == "timeout", result
    assert files_under(ws) == {"big.bin": BIG}  # no partial copy, no folder made for it
    (step,) = journal.steps(run_id)
    assert step["result_kind"] == "timeout" and step["state"] is None
    assert journal.file_changes(run_id, in_flight=True) == []


def test_a_write_that_overruns_its_timeout_leaves_the_old_content(
    ws: Path, tmp_path: Path, journal: Journal
) -> None:
    (ws / "notes.txt").write_text("the old notes")
    registry = Registry(tool(ws, tmp_path, TINY_TIMEOUT).specs())
    run_id, result = execute(journal, registry, ws, "files.write", path="notes.txt",
                             content="x" * (32 << 20))  # fmt: skip
    assert not result.ok and result.kind == "timeout", result
    assert (ws / "notes.txt").read_text() == "the old notes"
    assert files_under(ws) == {"notes.txt": 13}
    (step,) = journal.steps(run_id)
    assert step["result_kind"] == "timeout" and step["state"] is None


def test_an_action_that_will_not_stop_stays_in_flight_for_undo(
    ws: Path, tmp_path: Path, journal: Journal, trash: Path
) -> None:
    """An action that ignores its stop flag: the step says so, its intent stays, and
    undo of the intent trashes what it left."""
    release = threading.Event()
    made = ws / "made.txt"

    def stubborn(_args: NoArgs, action: Action) -> ToolResult:
        action.intend([{"op": "create_file", "root": str(ws), "path": str(made)}])
        made.write_text("half")
        release.wait()  # never looks at action.stop
        return ToolResult(ok=True, output="done")

    spec: ToolSpec[NoArgs] = ToolSpec(
        "files.stubborn", "", NoArgs, lambda _a: Effect("fs.write", str(made), "make it"),
        lambda _a: ToolResult(ok=True, output=""), timeout_s=0.001, run_action=stubborn,
    )  # fmt: skip
    run_id = journal.start_run(goal="g", workspace=str(ws), model_id="m")
    executor = Executor(Registry([spec]), Policy.for_workspace([ws]), AlwaysAllow(), journal,
                        run_id, stop_grace_s=0.0)  # fmt: skip
    gen = executor.execute(0, Proposal("", "files.stubborn", {}), ModelTrace())
    with pytest.raises(StopIteration) as done:
        while True:
            next(gen)
    release.set()
    result = done.value.value
    assert result.kind == "in_flight" and "deskhand undo" in result.output
    (intent,) = journal.file_changes(run_id, in_flight=True)
    assert intent["state"] == "intent"
    assert "trash" in undo_in_flight(intent["change"])
    assert not made.exists()


# -- the tool itself, stopped after an exact number of checks ---------------------------


def run_stopped(ws: Path, tmp_path: Path, name: str, calls: int, **args: Any) -> list[Any]:
    """Run a file action whose stop flag trips on its `calls`-th check; return what it
    journaled as intents before it was stopped."""
    spec = next(s for s in tool(ws, tmp_path).specs() if s.name == name)
    intents: list[Mapping[str, Any]] = []

    def intend(records: Sequence[Mapping[str, Any]]) -> None:
        intents.extend(records)

    assert spec.run_action is not None
    with pytest.raises(Cancelled):
        spec.run_action(spec.args(**args), Action(StopAfter(calls), intend))
    return intents


@pytest.fixture
def trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path))
    from send2trash import plat_other

    monkeypatch.setattr(plat_other, "XDG_DATA_HOME", str(tmp_path / "xdg").encode())
    monkeypatch.setattr(plat_other, "HOMETRASH_B", str(tmp_path / "xdg" / "Trash").encode())
    monkeypatch.setattr(plat_other, "HOMETRASH", str(tmp_path / "xdg" / "Trash"))
    return tmp_path / "xdg" / "Trash" / "files"


def test_a_copy_stopped_mid_file_removes_the_partial_copy(ws: Path, tmp_path: Path) -> None:
    (ws / "big.bin").write_bytes(b"\x02" * (8 << 20))
    intents = run_stopped(ws, tmp_path, "files.copy", 5, source="big.bin", destination="c.bin")
    assert [i["op"] for i in intents] == ["copy"]
    assert files_under(ws) == {"big.bin": 8 << 20}


def test_a_folder_copy_stopped_between_entries_removes_the_partial_tree(
    ws: Path, tmp_path: Path
) -> None:
    for n in range(6):
        (ws / "src" / f"d{n}").mkdir(parents=True)
        (ws / "src" / f"d{n}" / "f.txt").write_text(str(n))
    before = files_under(ws)
    run_stopped(ws, tmp_path, "files.copy", 7, source="src", destination="new/dst")
    assert files_under(ws) == before


def test_a_new_file_stopped_mid_write_is_removed(ws: Path, tmp_path: Path) -> None:
    intents = run_stopped(ws, tmp_path, "files.write", 3, path="a/b/new.txt",
                          content="y" * (8 << 20))  # fmt: skip
    assert [i["op"] for i in intents] == ["make_folder", "make_folder", "create_file"]
    assert files_under(ws) == {}


def test_a_file_stopped_mid_rewrite_gets_its_old_content_back(ws: Path, tmp_path: Path) -> None:
    (ws / "notes.txt").write_text("keep me")
    intents = run_stopped(ws, tmp_path, "files.write", 3, path="notes.txt",
                          content="z" * (8 << 20))  # fmt: skip
    (intent,) = intents
    assert intent["op"] == "modify_file" and Path(intent["backup"]).read_text() == "keep me"
    assert (ws / "notes.txt").read_text() == "keep me"


def test_a_delete_stopped_during_its_backup_leaves_the_folder_and_no_backup(
    ws: Path, tmp_path: Path
) -> None:
    for n in range(5):
        (ws / "old" / str(n)).mkdir(parents=True)
        (ws / "old" / str(n) / "f.txt").write_text(str(n))
    before = files_under(ws)
    assert run_stopped(ws, tmp_path, "files.delete", 4, path="old") == []
    assert files_under(ws) == before
    assert list((tmp_path / "undo").iterdir()) == []
