"""Workspace containment against real directories and real symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.base import ToolFailure
from tools.paths import Workspace


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Workspace, Path, Path]:
    """ws/ with a file, a folder, links in and out; outside/ beside it."""
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    (ws / "docs" / "deep").mkdir(parents=True)
    (ws / "a.txt").write_text("a")
    (ws / "docs" / "b.txt").write_text("b")
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (ws / "link_out").symlink_to(outside / "secret.txt")
    (ws / "dir_out").symlink_to(outside, target_is_directory=True)
    (ws / "link_in").symlink_to(ws / "docs" / "b.txt")
    (ws / "dir_in").symlink_to(ws / "docs", target_is_directory=True)
    (ws / "docs" / "up").symlink_to("..", target_is_directory=True)
    (ws / "docs" / "upup").symlink_to("../..", target_is_directory=True)
    return Workspace((ws,)), ws, outside


def refused(ws: Workspace, path: str, kind: str = "outside_workspace") -> ToolFailure:
    with pytest.raises(ToolFailure) as info:
        ws.resolve(path)
    assert info.value.kind == kind, info.value.message
    return info.value


def test_relative_and_nested(layout: tuple[Workspace, Path, Path]) -> None:
    ws, root, _ = layout
    assert ws.resolve("a.txt") == root / "a.txt"
    assert ws.resolve("docs/b.txt") == root / "docs" / "b.txt"
    assert ws.resolve("./docs/./b.txt") == root / "docs" / "b.txt"
    assert ws.resolve(".") == root
    assert ws.resolve("docs/deep/../b.txt") == root / "docs" / "b.txt"


def test_dotdot_escapes_are_refused(layout: tuple[Workspace, Path, Path]) -> None:
    ws, root, _ = layout
    failure = refused(ws, "../outside/secret.txt")
    assert "../outside/secret.txt" in failure.message and str(root) in failure.message
    refused(ws, "..")
    refused(ws, "docs/../../x")
    refused(ws, "docs/deep/../../../outside")
    refused(ws, "nope/../../x")  # through a folder that does not exist


def test_absolute_paths(layout: tuple[Workspace, Path, Path]) -> None:
    ws, root, outside = layout
    assert ws.resolve(str(root / "docs" / "b.txt")) == root / "docs" / "b.txt"
    assert ws.resolve(str(root)) == root
    refused(ws, "/etc/passwd")
    refused(ws, "/")
    refused(ws, str(outside / "secret.txt"))
    refused(ws, str(root) + "x")  # a sibling whose name starts like the root


def test_symlinks_pointing_out_are_refused(layout: tuple[Workspace, Path, Path]) -> None:
    ws, _, _ = layout
    refused(ws, "link_out")
    refused(ws, "dir_out")
    refused(ws, "dir_out/secret.txt")
    refused(ws, "dir_out/new_file.txt")  # symlinked parent, file does not exist yet
    refused(ws, "dir_out/new/deeper/file.txt")
    refused(ws, "docs/upup/outside/secret.txt")  # relative link climbing out
    refused(ws, "dir_in/up/../link_out")


def test_symlinks_inside_are_followed(layout: tuple[Workspace, Path, Path]) -> None:
    ws, root, _ = layout
    assert ws.resolve("link_in") == root / "docs" / "b.txt"
    assert ws.resolve("dir_in/b.txt") == root / "docs" / "b.txt"
    assert ws.resolve("dir_in/new.txt") == root / "docs" / "new.txt"
    assert ws.resolve("docs/up/a.txt") == root / "a.txt"
    # ".." after a link applies to where the link led, as the OS does
    assert ws.resolve("dir_in/deep/..") == root / "docs"


def test_dangling_symlinks(layout: tuple[Workspace, Path, Path]) -> None:
    ws, root, outside = layout
    (root / "dangle_in").symlink_to(root / "future.txt")
    (root / "dangle_out").symlink_to(outside / "future.txt")
    assert ws.resolve("dangle_in") == root / "future.txt"
    refused(ws, "dangle_out")


def test_nonexistent_deep_paths(layout: tuple[Workspace, Path, Path]) -> None:
    ws, root, _ = layout
    assert ws.resolve("x/y/z/w.txt") == root / "x" / "y" / "z" / "w.txt"
    assert ws.resolve("docs/new/../deep/f") == root / "docs" / "deep" / "f"
    with pytest.raises(ToolFailure) as info:
        ws.resolve("x/y/z/w.txt", must_exist=True)
    assert info.value.kind == "not_found" and "x/y/z/w.txt" in info.value.message
    assert str(root) not in info.value.message  # the model sees relative paths
    assert ws.resolve("docs", must_exist=True) == root / "docs"


def test_bad_text(layout: tuple[Workspace, Path, Path]) -> None:
    ws, _, _ = layout
    for text in ("", "   ", "a\x00b", "~", "~/notes.txt"):
        refused(ws, text, "invalid")


def test_symlink_loop(layout: tuple[Workspace, Path, Path]) -> None:
    ws, root, _ = layout
    (root / "loop1").symlink_to(root / "loop2")
    (root / "loop2").symlink_to(root / "loop1")
    refused(ws, "loop1", "invalid")
    refused(ws, "loop1/x", "invalid")


def test_multiple_roots(tmp_path: Path) -> None:
    first, second, other = tmp_path / "one", tmp_path / "two", tmp_path / "three"
    for d in (first, second, other):
        d.mkdir()
    ws = Workspace((first, second))
    assert ws.resolve("f.txt") == first / "f.txt"  # relative means the first root
    assert ws.resolve(str(second / "g.txt")) == second / "g.txt"
    refused(ws, str(other / "h.txt"))
    (first / "to_second").symlink_to(second, target_is_directory=True)
    assert ws.resolve("to_second/g.txt") == second / "g.txt"
    assert ws.display(first / "f.txt") == "f.txt"
    assert ws.display(second / "g.txt") == str(second / "g.txt")


def test_roots_are_stored_resolved(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    ws = Workspace((tmp_path / "alias",))
    assert ws.roots == (real,)
    assert ws.resolve("a") == real / "a"
    with pytest.raises(ValueError):
        Workspace((Path("relative"),))
    with pytest.raises(ValueError):
        Workspace(())


def test_display_and_is_root(layout: tuple[Workspace, Path, Path]) -> None:
    ws, root, _ = layout
    assert ws.display(root) == "."
    assert ws.display(root / "docs" / "b.txt") == "docs/b.txt"
    assert ws.display(root / "~odd") == "./~odd"
    assert ws.resolve(ws.display(root / "~odd")) == root / "~odd"
    assert ws.is_root(ws.resolve("."))
    assert ws.is_root(ws.resolve("docs/.."))
    assert not ws.is_root(ws.resolve("docs"))


SEGMENTS = st.sampled_from(
    ["a", "b", "..", ".", "b/c", "/", "//", "docs", "dir_out", "link_out", "dir_in",
     "docs/up", "docs/upup", "new", "~", "", "a.txt", "x\x00", "outside"]
)  # fmt: skip


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(SEGMENTS, min_size=0, max_size=8), absolute=st.booleans())
def test_resolve_never_escapes(
    layout: tuple[Workspace, Path, Path], parts: list[str], absolute: bool
) -> None:
    ws, root, _ = layout
    text = "/".join(parts)
    if absolute:
        text = str(root) + "/" + text
    try:
        path = ws.resolve(text)
    except ToolFailure as failure:
        assert failure.kind in ("outside_workspace", "invalid")
        return
    assert path.is_absolute()
    assert path == Path(os.path.realpath(path))  # fully resolved
    assert any(path == r or path.is_relative_to(r) for r in ws.roots)
    assert ws.resolve(ws.display(path)) == path  # what the model sees leads back here
