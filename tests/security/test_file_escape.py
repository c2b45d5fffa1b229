"""No file action reaches outside the workspace: not by '..', not by an absolute path,
not through a symlink (to a file, to a folder, or inside a folder being walked).

Each test snapshots a sibling 'outside' folder and checks that nothing in it was
created, changed or deleted.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
import send2trash
from send2trash import plat_other

from tools.base import ToolFailure, ToolSpec
from tools.files import FileTool
from tools.paths import Workspace

SECRET = "TOPSECRET-7f3a"

# (action, the argument that carries the path, the other arguments)
PATH_ARGS: list[tuple[str, str, dict[str, str]]] = [
    ("files.list", "path", {}),
    ("files.read", "path", {}),
    ("files.write", "path", {"content": "pwned"}),
    ("files.append", "path", {"content": "pwned"}),
    ("files.make_folder", "path", {}),
    ("files.move", "source", {"destination": "moved"}),
    ("files.move", "destination", {"source": "inside.txt"}),
    ("files.copy", "source", {"destination": "copied"}),
    ("files.copy", "destination", {"source": "inside.txt"}),
    ("files.delete", "path", {}),
    ("files.search_names", "path", {"pattern": "secret"}),
    ("files.search_text", "path", {"text": "secret"}),
]

BAD_PATHS = [
    "../x",
    "../outside/secret.txt",
    "../outside",
    "/etc/passwd",
    "/etc",
    "{outside}/secret.txt",
    "{outside}/new.txt",
    "link_out",
    "dir_out",
    "dir_out/secret.txt",
    "dir_out/new.txt",
    "dir_out/new/deeper.txt",
    "inner/../../outside/secret.txt",
]


@pytest.fixture
def trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the freedesktop trash at $XDG_DATA_HOME under tmp_path; return its files/ dir."""
    if sys.platform != "linux":
        pytest.skip("checks the freedesktop trash")
    data_home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    monkeypatch.setenv("HOME", str(tmp_path))  # the home trash serves files on home's device
    # send2trash reads XDG_DATA_HOME once, when it is imported
    monkeypatch.setattr(plat_other, "XDG_DATA_HOME", os.fsencode(data_home))
    monkeypatch.setattr(plat_other, "HOMETRASH_B", os.fsencode(data_home / "Trash"))
    monkeypatch.setattr(plat_other, "HOMETRASH", str(data_home / "Trash"))
    monkeypatch.setattr(send2trash, "send2trash", plat_other.send2trash)
    return data_home / "Trash" / "files"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    out = tmp_path / "outside"
    (out / "sub").mkdir(parents=True)
    (out / "secret.txt").write_text(SECRET)
    (out / "sub" / "deep.txt").write_text(SECRET)
    return out


@pytest.fixture
def ws(tmp_path: Path, outside: Path, trash: Path) -> Path:
    root = tmp_path / "ws"
    (root / "inner").mkdir(parents=True)
    (root / "inside.txt").write_text("inside")
    (root / "link_out").symlink_to(outside / "secret.txt")
    (root / "dir_out").symlink_to(outside, target_is_directory=True)
    (root / "inner" / "nested_out").symlink_to(outside / "sub", target_is_directory=True)
    return root


@pytest.fixture
def tool(ws: Path, tmp_path: Path) -> FileTool:
    return FileTool(Workspace((ws,)), tmp_path / "undo")


def snapshot(root: Path) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        content = p.read_bytes() if p.is_file() and not p.is_symlink() else None
        state[p.relative_to(root).as_posix()] = (st.st_mode, st.st_mtime_ns, content)
    return state


def spec(tool: FileTool, name: str) -> ToolSpec[Any]:
    return next(s for s in tool.specs() if s.name == name)


@pytest.mark.parametrize("bad", BAD_PATHS)
@pytest.mark.parametrize(("name", "field", "others"), PATH_ARGS, ids=lambda v: str(v))
def test_every_path_argument_refuses_escapes(
    tool: FileTool,
    tmp_path: Path,
    outside: Path,
    name: str,
    field: str,
    others: dict[str, str],
    bad: str,
) -> None:
    s = spec(tool, name)
    args = s.args(**others, **{field: bad.format(outside=outside)})
    before, passwd = snapshot(outside), os.stat("/etc/passwd")
    for call in (s.effect, s.run):
        with pytest.raises(ToolFailure) as info:
            call(args)
        assert info.value.kind == "outside_workspace", info.value.message
    assert snapshot(outside) == before
    assert os.stat("/etc/passwd") == passwd
    assert not (tmp_path / "x").exists()


def test_search_does_not_follow_links_out(tool: FileTool, outside: Path) -> None:
    before = snapshot(outside)
    text = spec(tool, "files.search_text")
    result = text.run(text.args(text=SECRET))
    assert result.output == f"no lines containing '{SECRET}' under ."
    assert result.data["matches"] == 0
    names = spec(tool, "files.search_names")
    assert names.run(names.args(pattern="deep")).output.startswith("no names")
    assert names.run(names.args(pattern="*out")).output.splitlines() == [
        "dir_out",
        "link_out",
        "inner/nested_out",
    ]
    assert snapshot(outside) == before


def test_listing_shows_links_without_reading_through_them(tool: FileTool) -> None:
    listing = tool.listing(".")
    assert "link_out (link)" in listing and "dir_out (link)" in listing
    assert str(len(SECRET)) not in listing


def test_copying_a_folder_copies_links_not_their_targets(
    tool: FileTool, ws: Path, outside: Path
) -> None:
    before = snapshot(outside)
    copy = spec(tool, "files.copy")
    copy.run(copy.args(source="inner", destination="inner2"))
    link = ws / "inner2" / "nested_out"
    assert link.is_symlink() and not any(
        p.is_file() and not p.is_symlink() for p in (ws / "inner2").rglob("*")
    )
    assert snapshot(outside) == before


def test_deleting_a_folder_with_links_out_leaves_the_targets(
    tool: FileTool, ws: Path, outside: Path, tmp_path: Path
) -> None:
    before = snapshot(outside)
    delete = spec(tool, "files.delete")
    result = delete.run(delete.args(path="inner"))
    assert not (ws / "inner").exists()
    assert snapshot(outside) == before
    backup = Path(result.undo[0]["backup"])
    assert (backup / "nested_out").is_symlink()  # the backup holds the link, not a copy
    assert not any(
        SECRET in p.read_text() for p in backup.rglob("*") if p.is_file() and not p.is_symlink()
    )


def test_move_and_write_inside_through_link_in_stay_inside(tool: FileTool, ws: Path) -> None:
    (ws / "link_in").symlink_to(ws / "inside.txt")
    write = spec(tool, "files.write")
    effect = write.effect(write.args(path="link_in", content="new"))
    assert effect.scope == str(ws / "inside.txt")  # the policy judges the real target
    write.run(write.args(path="link_in", content="new"))
    assert (ws / "inside.txt").read_text() == "new"
