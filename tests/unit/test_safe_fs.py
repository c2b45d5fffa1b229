"""tools/safe_fs.py on real files: walks that refuse links, checked opens, the staged trash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import send2trash

from tools import safe_fs
from tools.base import ToolFailure
from tools.safe_fs import Unsafe
from tools.undo import undo_change


@pytest.fixture
def root(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "d").mkdir(parents=True)
    (ws / "d" / "f.txt").write_text("f")
    return ws


def test_a_walk_refuses_a_link_on_the_way(root: Path, tmp_path: Path) -> None:
    (root / "link").symlink_to(root / "d", target_is_directory=True)
    with pytest.raises(Unsafe) as info, safe_fs.folder(root, root / "link"):
        pass
    assert info.value.kind == "changed" and info.value.filename == str(root / "link")
    with pytest.raises(Unsafe), safe_fs.parent(root, root / "link" / "f.txt"):
        pass


def test_missing_folders_are_made_below_the_root_only(root: Path, tmp_path: Path) -> None:
    made: list[dict[str, str]] = []
    with safe_fs.folder(root, root / "a" / "b", made=made):
        pass
    assert made == [
        {"op": "make_folder", "root": str(root), "path": str(root / "a")},
        {"op": "make_folder", "root": str(root), "path": str(root / "a" / "b")},
    ]
    gone = tmp_path / "gone"
    with pytest.raises(FileNotFoundError), safe_fs.folder(gone, gone / "x", made=[]):
        pass
    assert not gone.exists()


@pytest.mark.parametrize("bad", ["/elsewhere/x", "{root}/../x", "relative"])
def test_paths_outside_the_root_are_refused(root: Path, bad: str) -> None:
    with pytest.raises(ToolFailure) as info:
        safe_fs.check_inside(root, Path(bad.format(root=root)))
    assert info.value.kind == "outside_workspace"


def test_open_file_checks_what_it_opened(root: Path, tmp_path: Path) -> None:
    d = root / "d"
    os.mkfifo(d / "pipe")
    os.link(d / "f.txt", tmp_path / "other-link")
    (d / "sym").symlink_to(d / "f.txt")
    with safe_fs.folder(root, d) as fd:
        for name, kind in [("pipe", "not_a_file"), ("f.txt", "hard_link"), ("sym", "changed")]:
            with pytest.raises(Unsafe) as info:
                safe_fs.open_file(fd, name, d / name, os.O_RDONLY)
            assert info.value.kind == kind, name
        opened = safe_fs.open_file(fd, "f.txt", d / "f.txt", os.O_RDONLY, one_link=False)
        assert safe_fs.read_fd(opened, 10) == b"f"
        os.close(opened)


def test_trash_stages_beside_the_entry_and_cleans_up(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: list[str] = []

    def fake_trash(path: str) -> None:
        handed.append(path)
        os.unlink(path)

    monkeypatch.setattr(send2trash, "send2trash", fake_trash)
    safe_fs.trash(root, root / "d" / "f.txt")
    (staged,) = handed
    assert Path(staged).parent.parent == root / "d"
    assert Path(staged).parent.name.startswith(".deskhand-trash-")
    assert os.listdir(root / "d") == []


def test_a_failed_trash_puts_the_entry_back(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(path: str) -> None:
        raise OSError(5, "trash unavailable", path)

    monkeypatch.setattr(send2trash, "send2trash", broken)
    with pytest.raises(OSError):
        safe_fs.trash(root, root / "d" / "f.txt")
    assert os.listdir(root / "d") == ["f.txt"]


def test_undo_of_a_record_without_a_root_walks_from_slash(root: Path) -> None:
    (root / "made").mkdir()
    assert undo_change({"op": "make_folder", "path": str(root / "made")}).startswith("removed")
    (root / "again").mkdir()
    (root / "alias").symlink_to(root, target_is_directory=True)
    with pytest.raises(ToolFailure) as info:
        undo_change({"op": "make_folder", "path": str(root / "alias" / "again")})
    assert info.value.kind == "undo_conflict" and (root / "again").is_dir()
