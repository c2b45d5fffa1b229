"""Check-then-use races: a second process swaps a real folder inside the workspace for a
symlink to outside (``renameat2(RENAME_EXCHANGE)``) after the file tool has checked the
path and before it uses it; and `deskhand undo` replays a change after such a swap.

The swap is made exactly in the window: the workspace the tool is given asks the swapper
process for one exchange right after it resolves the path (`SwapAfterResolve`), and waits
for its answer on a pipe. On the code before tools/safe_fs.py (3f84cc1) these attacks
escaped: read and search_text returned the outside secret; write, append, make_folder,
move, delete and copy's destination changed the outside folder; copy brought the secret
in; undo of a delete, move, write and make_folder restored, moved, trashed and removed
things outside; the free-running attack (the swapper looping while read and write run,
a bounded number of tries) overwrote the outside file. Two are guards rather than
demonstrated escapes: list (the old code listed the outside folder but its second path
check refused before answering) and a record whose path lies outside its root.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import send2trash
from send2trash import plat_other
from swapper import Swapper

from tools.base import ToolFailure, ToolResult, ToolSpec
from tools.files import FileTool
from tools.paths import Workspace
from tools.undo import undo_change

SECRET = "TOPSECRET-race"
FREE_RUN_TRIES = 150

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="renameat2 is Linux-only")


@dataclass(frozen=True, slots=True)
class SwapAfterResolve(Workspace):
    """A workspace that, once armed with N, has the swapper exchange the folders right
    after its N-th `resolve` returns: the path is checked, then the attacker moves."""

    swap: Callable[[], None] = lambda: None
    armed: list[int] = field(default_factory=list)

    def resolve(self, user_path: str, *, must_exist: bool = False) -> Path:
        path = Workspace.resolve(self, user_path, must_exist=must_exist)
        if self.armed:
            self.armed[0] -= 1
            if self.armed[0] == 0:
                self.armed.clear()
                self.swap()
        return path


@pytest.fixture
def trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the freedesktop trash at $XDG_DATA_HOME under tmp_path; return its files/ dir."""
    data_home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(plat_other, "XDG_DATA_HOME", os.fsencode(data_home))
    monkeypatch.setattr(plat_other, "HOMETRASH_B", os.fsencode(data_home / "Trash"))
    monkeypatch.setattr(plat_other, "HOMETRASH", str(data_home / "Trash"))
    monkeypatch.setattr(send2trash, "send2trash", plat_other.send2trash)
    return data_home / "Trash" / "files"


@dataclass
class Scene:
    ws: Path
    outside: Path
    tool: FileTool
    workspace: SwapAfterResolve
    swapper: Swapper

    def spec(self, name: str) -> ToolSpec[Any]:
        return next(s for s in self.tool.specs() if s.name == name)

    def attack(self, name: str, after: int, **args: str) -> ToolResult | ToolFailure:
        """Effect (before the swap), then run with the swap made after the run's `after`-th
        path check; the folders are put back before returning."""
        s = self.spec(name)
        parsed = s.args(**args)
        s.effect(parsed)
        self.workspace.armed.append(after)
        swaps = self.swapper.swaps
        try:
            return s.run(parsed)
        except ToolFailure as failure:
            return failure
        finally:
            assert self.swapper.swaps == swaps + 1, "the swap did not happen"
            self.swapper.once()


def outside_state(outside: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(outside).as_posix(): None if p.is_dir() else p.read_bytes()
        for p in sorted(outside.rglob("*"))
    }


@pytest.fixture
def scene(tmp_path: Path, trash: Path) -> Iterator[Scene]:
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    (ws / "d").mkdir(parents=True)
    outside.mkdir()
    (ws / "d" / "f.txt").write_text("inside")
    (ws / "d" / "g.txt").write_text("inside g")
    (outside / "f.txt").write_text(SECRET)
    (ws / "swap").symlink_to(outside, target_is_directory=True)
    swapper = Swapper(ws / "d", ws / "swap")
    workspace = SwapAfterResolve((ws,), swap=swapper.once)
    try:
        yield Scene(ws, outside, FileTool(workspace, tmp_path / "undo"), workspace, swapper)
    finally:
        swapper.close()
    assert (ws / "d").is_dir() and not (ws / "d").is_symlink()


# (action, the path check after which the swap comes, arguments)
ATTACKS = [
    ("files.read", 1, {"path": "d/f.txt"}),
    ("files.write", 1, {"path": "d/f.txt", "content": "pwned"}),
    ("files.append", 1, {"path": "d/f.txt", "content": "pwned"}),
    ("files.write", 1, {"path": "d/new.txt", "content": "pwned"}),
    ("files.make_folder", 1, {"path": "d/newdir"}),
    ("files.copy", 1, {"source": "d/f.txt", "destination": "copied.txt"}),
    ("files.copy", 2, {"source": "inside.txt", "destination": "d/copied.txt"}),
    ("files.move", 1, {"source": "d/f.txt", "destination": "moved.txt"}),
    ("files.move", 2, {"source": "inside.txt", "destination": "d/moved.txt"}),
    ("files.delete", 1, {"path": "d/f.txt"}),
    ("files.list", 1, {"path": "d"}),
    ("files.search_text", 1, {"text": "TOPSECRET", "path": "d"}),
]


def escaped(scene: Scene, before: dict[str, bytes | None], outcome: Any) -> list[str]:
    """What the attack got: a changed outside folder, the secret brought inside, or outside
    content in the result (the secret, or a listing without the inside file g.txt)."""
    found = []
    if outside_state(scene.outside) != before:
        found.append(f"outside changed: {outside_state(scene.outside)}")
    inside = [p for p in scene.ws.rglob("*") if p.is_file() and not p.is_symlink()]
    if any(SECRET in p.read_text() for p in inside):
        found.append("the secret was brought inside")
    if isinstance(outcome, ToolResult):
        listed_outside = outcome.output.startswith("f.txt") and "g.txt" not in outcome.output
        if SECRET in outcome.output or listed_outside:
            found.append(f"the result shows outside content: {outcome.output!r}")
    return found


@pytest.mark.parametrize(("name", "after", "args"), ATTACKS, ids=lambda v: str(v))
def test_a_folder_swapped_after_the_check_is_never_followed(
    scene: Scene, name: str, after: int, args: dict[str, str]
) -> None:
    (scene.ws / "inside.txt").write_text("plain")
    before = outside_state(scene.outside)
    outcome = scene.attack(name, after, **args)
    assert escaped(scene, before, outcome) == []
    if isinstance(outcome, ToolFailure):
        assert outcome.kind == "changed", outcome.message
        assert len(outcome.message.splitlines()) == 1
        assert "nothing was done" in outcome.message


def test_free_running_swaps_never_let_an_action_out(scene: Scene) -> None:
    """The swapper loops while each action runs FREE_RUN_TRIES times; whatever timing it
    hits, nothing outside changes and no outside content comes back."""
    scene.workspace.armed.clear()
    before = outside_state(scene.outside)
    read, write = scene.spec("files.read"), scene.spec("files.write")
    outcomes: list[Any] = []
    with scene.swapper.running():
        for _ in range(FREE_RUN_TRIES):
            for s, args in (
                (read, read.args(path="d/f.txt")),
                (write, write.args(path="d/f.txt", content="mine")),
            ):
                try:
                    outcomes.append(s.run(args))
                except ToolFailure as failure:
                    outcomes.append(failure)
    assert scene.swapper.swaps > 0
    assert outside_state(scene.outside) == before
    assert not any(SECRET in getattr(o, "output", "") for o in outcomes)
    kinds = {getattr(o, "kind", "ok") for o in outcomes}
    assert kinds <= {"ok", "changed", "outside_workspace", "not_found"}, kinds


# -- undo after a swap ------------------------------------------------------------------


def swap_now(scene: Scene) -> None:
    scene.swapper.once()


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("files.delete", {"path": "d/g.txt"}),
        ("files.move", {"source": "d/g.txt", "destination": "g.txt"}),
        ("files.write", {"path": "d/new.txt", "content": "pwned"}),
        ("files.make_folder", {"path": "d/newdir"}),
    ],
    ids=lambda v: str(v),
)
def test_undo_after_a_folder_became_a_link_stays_inside(
    scene: Scene, name: str, args: dict[str, str]
) -> None:
    s = scene.spec(name)
    result = s.run(s.args(**args))
    # the attacker prepares what the old undo would act on: a file with the same content
    # (undo of a write trashes it) and an empty folder (undo of make_folder removes it)
    (scene.outside / "new.txt").write_text("pwned")
    (scene.outside / "newdir").mkdir()
    before = outside_state(scene.outside)
    swap_now(scene)
    try:
        with pytest.raises(ToolFailure) as info:
            undo_change(result.undo[-1])  # the newest change, which undo reverses first
        assert info.value.kind == "undo_conflict", info.value.message
        assert "nothing was done" in info.value.message
        assert outside_state(scene.outside) == before
    finally:
        swap_now(scene)


def test_undo_refuses_a_record_outside_its_root(scene: Scene) -> None:
    change = {
        "op": "create_file",
        "root": str(scene.ws),
        "path": str(scene.outside / "f.txt"),
        "sha256": "0" * 64,
    }
    with pytest.raises(ToolFailure) as info:
        undo_change(change)
    assert info.value.kind == "outside_workspace"
    assert (scene.outside / "f.txt").read_text() == SECRET
