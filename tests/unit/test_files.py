"""The file tool on real files: every action, its effect summary, its undo, the real trash."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import send2trash
from send2trash import plat_other

import tools.files as files_module
from tools.base import Effect, ToolFailure, ToolResult, ToolSpec
from tools.files import FileTool
from tools.paths import Workspace
from tools.undo import undo_change

NAMES = [
    "files.list", "files.read", "files.write", "files.append", "files.make_folder",
    "files.move", "files.copy", "files.delete", "files.search_names", "files.search_text",
]  # fmt: skip


@pytest.fixture
def trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the freedesktop trash at $XDG_DATA_HOME under tmp_path; return its files/ dir."""
    if sys.platform != "linux":
        pytest.skip("checks the freedesktop trash")
    data_home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    # send2trash uses the home trash for files on the home folder's device
    monkeypatch.setenv("HOME", str(tmp_path))
    # ... and reads XDG_DATA_HOME once, when it is imported
    monkeypatch.setattr(plat_other, "XDG_DATA_HOME", os.fsencode(data_home))
    monkeypatch.setattr(plat_other, "HOMETRASH_B", os.fsencode(data_home / "Trash"))
    monkeypatch.setattr(plat_other, "HOMETRASH", str(data_home / "Trash"))
    monkeypatch.setattr(send2trash, "send2trash", plat_other.send2trash)
    return data_home / "Trash" / "files"


@pytest.fixture
def ws(tmp_path: Path, trash: Path) -> Path:
    root = tmp_path / "ws"
    (root / "docs").mkdir(parents=True)
    (root / "a.txt").write_text("alpha\n")
    (root / "docs" / "b.txt").write_text("bravo\nCharlie delta\n")
    (root / "docs" / "c.md").write_text("# notes\n")
    return root


@pytest.fixture
def tool(ws: Path, tmp_path: Path) -> FileTool:
    return FileTool(Workspace((ws,)), tmp_path / "undo", max_read_bytes=100)


def spec(tool: FileTool, name: str) -> ToolSpec[Any]:
    return next(s for s in tool.specs() if s.name == name)


def effect(tool: FileTool, name: str, **args: Any) -> Effect:
    s = spec(tool, name)
    return s.effect(s.args(**args))


def act(tool: FileTool, name: str, **args: Any) -> ToolResult:
    """As the executor does: effect first (it must not fail), then run."""
    s = spec(tool, name)
    parsed = s.args(**args)
    s.effect(parsed)
    return s.run(parsed)


def fails(kind: str, tool: FileTool, name: str, **args: Any) -> str:
    s = spec(tool, name)
    with pytest.raises(ToolFailure) as info:
        s.run(s.args(**args))
    assert info.value.kind == kind, info.value.message
    return info.value.message


def snapshot(root: Path) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        state[rel] = "<dir>" if p.is_dir() else p.read_bytes()
    return state


def undo_all(result: ToolResult) -> list[str]:
    json.dumps(list(result.undo))  # what the journal stores
    return [undo_change(change) for change in reversed(result.undo)]


# -- specs ------------------------------------------------------------------------------


def test_specs(tool: FileTool) -> None:
    specs = tool.specs()
    assert [s.name for s in specs] == NAMES
    for s in specs:
        assert s.description.endswith(".") and len(s.description) < 60
        assert s.example is not None
        s.args(**s.example)  # every example is valid
        schema = s.json_schema()
        assert set(schema["properties"]) == set(s.example)
        assert all(
            p["type"] in ("string", "integer", "boolean") for p in schema["properties"].values()
        )


@pytest.mark.parametrize(
    ("name", "args", "capability"),
    [
        ("files.list", {"path": "docs"}, "fs.read"),
        ("files.read", {"path": "a.txt"}, "fs.read"),
        ("files.search_names", {"pattern": "b"}, "fs.read"),
        ("files.search_text", {"text": "b"}, "fs.read"),
        ("files.write", {"path": "n.txt", "content": "x"}, "fs.write"),
        ("files.append", {"path": "a.txt", "content": "x"}, "fs.write"),
        ("files.make_folder", {"path": "new"}, "fs.write"),
        ("files.move", {"source": "a.txt", "destination": "z.txt"}, "fs.write"),
        ("files.copy", {"source": "a.txt", "destination": "z.txt"}, "fs.write"),
        ("files.delete", {"path": "a.txt"}, "fs.delete"),
    ],
)
def test_capabilities(
    tool: FileTool, ws: Path, name: str, args: dict[str, Any], capability: str
) -> None:
    e = effect(tool, name, **args)
    assert e.capability == capability
    assert Path(e.scope).is_absolute() and Path(e.scope).is_relative_to(ws)
    assert str(ws) not in e.summary  # the person approving sees workspace paths


# -- reading ----------------------------------------------------------------------------


def test_list(tool: FileTool, ws: Path) -> None:
    r = act(tool, "files.list", path=".")
    assert r.ok and r.output.splitlines() == ["docs/", "a.txt (6 bytes)"]
    assert act(tool, "files.list", path="docs").output == "b.txt (20 bytes)\nc.md (8 bytes)"
    (ws / "empty").mkdir()
    assert act(tool, "files.list", path="empty").output == "(empty folder)"
    assert effect(tool, "files.list", path="docs").summary == "list folder docs"
    fails("not_a_folder", tool, "files.list", path="a.txt")
    fails("not_found", tool, "files.list", path="nope")
    assert tool.listing(".") == act(tool, "files.list").output


def test_list_is_capped(tool: FileTool, ws: Path) -> None:
    (ws / "many").mkdir()
    for i in range(75):
        (ws / "many" / f"f{i:03}.txt").write_text("x")
    lines = act(tool, "files.list", path="many").output.splitlines()
    assert len(lines) == 61 and lines[-1] == "... and 15 more"
    assert lines[0] == "f000.txt (1 bytes)"


def test_read(tool: FileTool, ws: Path) -> None:
    r = act(tool, "files.read", path="docs/b.txt")
    assert r.output == "bravo\nCharlie delta\n" and r.data["cut"] is False
    assert effect(tool, "files.read", path="docs/b.txt").summary == "read docs/b.txt (20 bytes)"
    (ws / "empty.txt").write_text("")
    assert act(tool, "files.read", path="empty.txt").output == "(empty file)"
    fails("not_a_file", tool, "files.read", path="docs")
    fails("not_found", tool, "files.read", path="missing.txt")
    (ws / "bin.dat").write_bytes(b"\x00\x01\x02")
    fails("invalid", tool, "files.read", path="bin.dat")


def test_read_is_capped(tool: FileTool, ws: Path) -> None:
    (ws / "big.txt").write_text("x" * 99 + "é" + "y" * 200)  # é straddles the 100-byte cut
    r = act(tool, "files.read", path="big.txt")
    text, note = r.output.rsplit("\n", 1)
    assert text == "x" * 99  # the split character is dropped, not garbled
    assert note == "[... cut: showed the first 100 of 301 bytes]"
    assert r.data == {"path": "big.txt", "bytes": 301, "cut": True}


def test_search_names(tool: FileTool, ws: Path) -> None:
    assert act(tool, "files.search_names", pattern="B.TXT").output == "docs/b.txt"
    assert act(tool, "files.search_names", pattern="*.md").output == "docs/c.md"
    assert act(tool, "files.search_names", pattern="doc").output == "docs/"
    assert act(tool, "files.search_names", pattern="zzz").output.startswith("no names matching")
    for i in range(50):
        (ws / f"log{i}.txt").write_text("")
    lines = act(tool, "files.search_names", pattern="log").output.splitlines()
    assert len(lines) == 41 and lines[-1] == "... more matches not shown"


def test_search_text(tool: FileTool, ws: Path) -> None:
    r = act(tool, "files.search_text", text="charlie")
    assert r.output == "docs/b.txt:2: Charlie delta"
    assert act(tool, "files.search_text", text="ALPHA", path="a.txt").output == "a.txt:1: alpha"
    (ws / "bin.dat").write_bytes(b"\x00charlie")
    assert act(tool, "files.search_text", text="charlie").output == "docs/b.txt:2: Charlie delta"
    assert act(tool, "files.search_text", text="zulu").output.startswith("no lines containing")
    (ws / "many.txt").write_text("hit\n" * 100)
    lines = act(tool, "files.search_text", text="hit", path="many.txt").output.splitlines()
    assert len(lines) == 41 and lines[0] == "many.txt:1: hit"


# -- writing and undo -------------------------------------------------------------------


def test_write_new_file_and_undo(tool: FileTool, ws: Path, trash: Path) -> None:
    before = snapshot(ws)
    e = effect(tool, "files.write", path="reports/q1/a.txt", content="hello")
    assert e.summary == "write 5 bytes to reports/q1/a.txt (new file)"
    assert e.scope == str(ws / "reports" / "q1" / "a.txt")
    r = act(tool, "files.write", path="reports/q1/a.txt", content="hello")
    assert r.output == "wrote 5 bytes to reports/q1/a.txt"
    assert (ws / "reports" / "q1" / "a.txt").read_text() == "hello"
    assert [c["op"] for c in r.undo] == ["make_folder", "make_folder", "create_file"]
    undo_all(r)
    assert snapshot(ws) == before
    assert (trash / "a.txt").read_text() == "hello"  # undo trashes, never unlinks


def test_write_replaces_and_undo(tool: FileTool, ws: Path, tmp_path: Path) -> None:
    (ws / "forty.txt").write_bytes(b"o" * 40)
    before = snapshot(ws)
    e = effect(tool, "files.write", path="forty.txt", content="n" * 120)
    assert e.summary == "write 120 bytes to forty.txt (replaces existing 40-byte file)"
    r = act(tool, "files.write", path="forty.txt", content="n" * 120)
    (change,) = r.undo
    assert change["op"] == "modify_file" and Path(change["backup"]).is_relative_to(
        tmp_path / "undo"
    )
    assert Path(change["backup"]).read_bytes() == b"o" * 40
    assert undo_all(r) == [f"restored the earlier content of {ws / 'forty.txt'}"]
    assert snapshot(ws) == before
    assert "already" in undo_change(change)  # a second undo changes nothing


def test_write_refusals(tool: FileTool) -> None:
    fails("not_a_file", tool, "files.write", path="docs", content="x")
    fails("not_a_folder", tool, "files.write", path="a.txt/inner.txt", content="x")


def test_append_and_undo(tool: FileTool, ws: Path) -> None:
    before = snapshot(ws)
    e = effect(tool, "files.append", path="a.txt", content="more\n")
    assert e.summary == "append 5 bytes to a.txt (now 11 bytes)"
    r = act(tool, "files.append", path="a.txt", content="more\n")
    assert r.output == "appended 5 bytes to a.txt (now 11 bytes)"
    assert (ws / "a.txt").read_text() == "alpha\nmore\n"
    r2 = act(tool, "files.append", path="new.txt", content="first")
    assert [c["op"] for c in r2.undo] == ["create_file"]
    undo_all(r2)
    undo_all(r)
    assert snapshot(ws) == before


def test_make_folder_and_undo(tool: FileTool, ws: Path) -> None:
    before = snapshot(ws)
    assert effect(tool, "files.make_folder", path="reports").summary == "create folder reports"
    r = act(tool, "files.make_folder", path="reports/2024")
    assert r.output == "created folder reports/2024" and (ws / "reports" / "2024").is_dir()
    fails("exists", tool, "files.make_folder", path="reports")
    fails("exists", tool, "files.make_folder", path="a.txt")
    undo_all(r)
    assert snapshot(ws) == before


def test_move_and_undo(tool: FileTool, ws: Path) -> None:
    before = snapshot(ws)
    assert effect(tool, "files.move", source="a.txt", destination="old/a.txt").summary == (
        "move a.txt -> old/a.txt"
    )
    r = act(tool, "files.move", source="a.txt", destination="old/a.txt")
    assert r.output == "moved a.txt -> old/a.txt" and (ws / "old" / "a.txt").exists()
    r2 = act(tool, "files.move", source="docs", destination="old")  # into an existing folder
    assert r2.output == "moved docs -> old/docs"
    assert effect(tool, "files.move", source="old/a.txt", destination=".").summary == (
        "move old/a.txt -> a.txt"
    )
    undo_all(r2)
    undo_all(r)
    assert snapshot(ws) == before


def test_move_refusals(tool: FileTool, ws: Path) -> None:
    fails("invalid", tool, "files.move", source="a.txt", destination="docs/../a.txt")
    fails("exists", tool, "files.move", source="a.txt", destination="docs/b.txt")
    (ws / "docs" / "a.txt").write_text("other")
    fails("exists", tool, "files.move", source="a.txt", destination="docs")
    fails("invalid", tool, "files.move", source="docs", destination="docs/inner")
    fails("invalid", tool, "files.move", source=".", destination="elsewhere")
    fails("not_found", tool, "files.move", source="nope", destination="x")


def test_copy_and_undo(tool: FileTool, ws: Path) -> None:
    before = snapshot(ws)
    e = effect(tool, "files.copy", source="docs", destination="backup")
    assert e.summary == "copy folder docs -> backup (2 files)"
    assert effect(tool, "files.copy", source="a.txt", destination="b.txt").summary == (
        "copy a.txt -> b.txt (6 bytes)"
    )
    r = act(tool, "files.copy", source="docs", destination="backup")
    assert r.output == "copied docs -> backup"
    assert snapshot(ws / "backup") == snapshot(ws / "docs")
    r2 = act(tool, "files.copy", source="a.txt", destination="docs")
    assert r2.output == "copied a.txt -> docs/a.txt"
    undo_all(r2)
    undo_all(r)
    assert snapshot(ws) == before
    fails("invalid", tool, "files.copy", source=".", destination="inside")


def test_delete_file_goes_to_trash_and_undo(tool: FileTool, ws: Path, trash: Path) -> None:
    before = snapshot(ws)
    assert (
        effect(tool, "files.delete", path="a.txt").summary == "delete a.txt (6 bytes) to the trash"
    )
    r = act(tool, "files.delete", path="a.txt")
    assert r.output == "moved a.txt to the trash"
    assert not (ws / "a.txt").exists() and (trash / "a.txt").read_text() == "alpha\n"
    assert undo_all(r) == [f"restored {ws / 'a.txt'} from the backup"]
    assert snapshot(ws) == before


def test_delete_folder_goes_to_trash_and_undo(tool: FileTool, ws: Path, trash: Path) -> None:
    (ws / "docs" / "sub").mkdir()
    (ws / "docs" / "sub" / "d.txt").write_text("d")
    before = snapshot(ws)
    e = effect(tool, "files.delete", path="docs")
    assert e.summary == "delete folder docs (3 files) to the trash" and e.scope == str(ws / "docs")
    r = act(tool, "files.delete", path="docs")
    assert not (ws / "docs").exists() and (trash / "docs" / "sub" / "d.txt").read_text() == "d"
    undo_all(r)
    assert snapshot(ws) == before


def test_delete_refusals(tool: FileTool) -> None:
    fails("invalid", tool, "files.delete", path=".")
    fails("invalid", tool, "files.delete", path="docs/..")
    fails("not_found", tool, "files.delete", path="gone.txt")


def test_large_files_skip_backup(
    tool: FileTool, ws: Path, trash: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files_module, "BACKUP_LIMIT_BYTES", 10)
    (ws / "big.txt").write_text("x" * 11)
    fails("too_large", tool, "files.write", path="big.txt", content="y")
    fails("too_large", tool, "files.append", path="big.txt", content="y")
    r = act(tool, "files.delete", path="big.txt")
    assert "too large" in r.output and (trash / "big.txt").exists()
    (change,) = r.undo
    assert change["backup"] is None and change["note"]
    with pytest.raises(ToolFailure) as info:
        undo_change(change)
    assert info.value.kind == "undo_unavailable"


# -- undo conflicts ---------------------------------------------------------------------


def conflict(change: Any) -> None:
    with pytest.raises(ToolFailure) as info:
        undo_change(change)
    assert info.value.kind == "undo_conflict", info.value.message


def test_undo_conflicts(tool: FileTool, ws: Path) -> None:
    r = act(tool, "files.write", path="a.txt", content="mine")
    (ws / "a.txt").write_text("edited later")
    conflict(r.undo[-1])
    assert (ws / "a.txt").read_text() == "edited later"  # left as it is

    r = act(tool, "files.write", path="new.txt", content="mine")
    (ws / "new.txt").write_text("edited later")
    conflict(r.undo[-1])
    assert (ws / "new.txt").exists()

    r = act(tool, "files.make_folder", path="f")
    (ws / "f" / "x").write_text("")
    conflict(r.undo[-1])

    r = act(tool, "files.copy", source="docs", destination="d2")
    (ws / "d2" / "b.txt").write_text("changed")
    conflict(r.undo[-1])

    r = act(tool, "files.move", source="docs/c.md", destination="c.md")
    (ws / "docs" / "c.md").write_text("new one")
    conflict(r.undo[-1])

    r = act(tool, "files.delete", path="docs/b.txt")
    (ws / "docs" / "b.txt").write_text("recreated")
    conflict(r.undo[-1])
    Path(r.undo[-1]["backup"]).write_text("tampered")
    (ws / "docs" / "b.txt").unlink()
    conflict(r.undo[-1])


def test_unknown_change() -> None:
    with pytest.raises(ToolFailure) as info:
        undo_change({"op": "teleport"})
    assert info.value.kind == "invalid"


def test_changes_are_json(tool: FileTool, ws: Path) -> None:
    results: Iterator[ToolResult] = iter(
        [
            act(tool, "files.write", path="x/y.txt", content="1"),
            act(tool, "files.copy", source="x", destination="z"),
            act(tool, "files.move", source="z", destination="w"),
            act(tool, "files.delete", path="w"),
        ]
    )
    changes = [c for r in results for c in r.undo]
    assert {c["op"] for c in changes} == {"make_folder", "create_file", "copy", "move", "delete"}
    assert json.loads(json.dumps(changes)) == changes
