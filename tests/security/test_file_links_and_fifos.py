"""Hard links and named pipes in the workspace.

A hard link inside the workspace shares its inode with a file that may live outside it
(or in a folder a deny rule covers): on the code before tools/safe_fs.py (3f84cc1)
files.read and files.search_text returned the outside secret through it, files.write and
files.append rewrote the outside file, and files.copy (of the link, or of a folder
holding it) brought the secret in. A FIFO blocked files.read until something opened its
other end, holding a worker thread forever (write, append and copy failed with a bare
"SpecialFileError" of kind os_error). Each test below is that attack; now every one is
refused at once, before and when it runs, with a one-line failure of its own kind
(hard_link, not_a_file), and nothing outside changes. Deleting a hard link (which only
removes the name inside) stays allowed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import send2trash

from tools.base import ToolFailure, ToolResult, ToolSpec
from tools.files import FileTool
from tools.paths import Workspace

SECRET = "TOPSECRET-hardlink"
BLOCKED_AFTER_S = 10.0


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret.txt").write_text(SECRET)
    return out


@pytest.fixture
def ws(tmp_path: Path, outside: Path) -> Path:
    root = tmp_path / "ws"
    (root / "linked").mkdir(parents=True)
    os.link(outside / "secret.txt", root / "hl.txt")
    os.link(outside / "secret.txt", root / "linked" / "also.txt")
    (root / "linked" / "plain.txt").write_text("plain")
    os.mkfifo(root / "pipe")
    return root


@pytest.fixture
def tool(ws: Path, tmp_path: Path) -> FileTool:
    return FileTool(Workspace((ws,)), tmp_path / "undo")


def spec(tool: FileTool, name: str) -> ToolSpec[Any]:
    return next(s for s in tool.specs() if s.name == name)


def refused(tool: FileTool, name: str, kind: str, **args: str) -> str:
    """run() (the attack) and effect() (what a person would be asked) both refuse with
    `kind` and a one-line message."""
    s = spec(tool, name)
    parsed = s.args(**args)
    for call in (s.run, s.effect):
        with pytest.raises(ToolFailure) as info:
            finishes(lambda call=call: call(parsed))  # type: ignore[misc]
        assert info.value.kind == kind, info.value.message
        assert len(info.value.message.splitlines()) == 1
    return info.value.message


def finishes(fn: Callable[[], Any]) -> Any:
    """`fn()` on a helper thread; fails the test if it is still blocked after
    BLOCKED_AFTER_S (and unblocks it by opening the FIFO's other end)."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(fn())
        except BaseException as exc:  # noqa: BLE001 - handed back to the test thread
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(BLOCKED_AFTER_S)
    if thread.is_alive():
        for fifo in _fifos:
            for flags in (os.O_WRONLY | os.O_NONBLOCK, os.O_RDONLY | os.O_NONBLOCK):
                try:
                    os.close(os.open(fifo, flags))
                except OSError:
                    pass
        thread.join(BLOCKED_AFTER_S)
        pytest.fail(f"blocked for {BLOCKED_AFTER_S} s")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


_fifos: list[Path] = []


@pytest.fixture(autouse=True)
def _known_fifo(ws: Path) -> None:
    _fifos[:] = [ws / "pipe"]


# -- hard links -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("files.read", {"path": "hl.txt"}),
        ("files.write", {"path": "hl.txt", "content": "pwned"}),
        ("files.append", {"path": "hl.txt", "content": "pwned"}),
        ("files.copy", {"source": "hl.txt", "destination": "copy.txt"}),
        ("files.copy", {"source": "linked", "destination": "copied"}),
    ],
    ids=lambda v: str(v),
)
def test_a_hard_link_to_an_outside_file_is_not_read_written_or_copied(
    tool: FileTool, ws: Path, outside: Path, name: str, args: dict[str, str]
) -> None:
    message = refused(tool, name, "hard_link", **args)
    assert "hard links" in message and SECRET not in message
    assert (outside / "secret.txt").read_text() == SECRET
    assert os.stat(outside / "secret.txt").st_nlink == 3
    assert not (ws / "copy.txt").exists() and not (ws / "copied").exists()


def test_search_skips_hard_linked_files(tool: FileTool) -> None:
    search = spec(tool, "files.search_text")
    result = search.run(search.args(text="TOPSECRET"))
    assert isinstance(result, ToolResult) and result.data["matches"] == 0
    assert SECRET not in result.output
    assert search.run(search.args(text="plain")).output == "linked/plain.txt:1: plain"


def test_deleting_a_hard_link_leaves_the_other_file(
    tool: FileTool, ws: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trashed: list[str] = []

    def fake_trash(path: str) -> None:
        trashed.append(path)
        os.unlink(path)

    monkeypatch.setattr(send2trash, "send2trash", fake_trash)
    delete = spec(tool, "files.delete")
    delete.run(delete.args(path="hl.txt"))
    assert not (ws / "hl.txt").exists() and len(trashed) == 1
    assert (outside / "secret.txt").read_text() == SECRET


# -- FIFOs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("files.read", {"path": "pipe"}),
        ("files.write", {"path": "pipe", "content": "x"}),
        ("files.append", {"path": "pipe", "content": "x"}),
        ("files.copy", {"source": "pipe", "destination": "pipe-copy"}),
    ],
    ids=lambda v: str(v),
)
def test_a_fifo_is_refused_without_blocking(
    tool: FileTool, ws: Path, name: str, args: dict[str, str]
) -> None:
    message = refused(tool, name, "not_a_file", **args)
    assert "named pipe" in message
    assert not (ws / "pipe-copy").exists()


def test_search_and_list_pass_a_fifo_by(tool: FileTool, ws: Path) -> None:
    search = spec(tool, "files.search_text")
    assert finishes(lambda: search.run(search.args(text="zzz"))).data["matches"] == 0
    assert "pipe" in finishes(lambda: tool.listing("."))
