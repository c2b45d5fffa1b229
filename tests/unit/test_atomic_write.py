"""The one atomic write (tools/atomic_write.py): whole or not at all, and no litter."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tools.atomic_write import write_atomic


def _litter(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_text_and_bytes_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    write_atomic(target, "héllo")
    assert target.read_bytes() == "héllo".encode()
    write_atomic(target, b"\x00\x01", durable=False)
    assert target.read_bytes() == b"\x00\x01"
    assert _litter(tmp_path) == []


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "new \ud800")  # fails while the temp file is open
    assert target.read_text(encoding="utf-8") == "old"
    assert _litter(tmp_path) == []


def test_a_failed_replace_leaves_the_target_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_text("x", encoding="utf-8")
    with pytest.raises(OSError):
        write_atomic(target, "text")
    assert target.is_dir() and (target / "inside").read_text(encoding="utf-8") == "x"
    assert _litter(tmp_path) == []


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "no" / "file", "x")


def test_temp_names_are_unique_and_hidden(tmp_path: Path) -> None:
    # A stale temp file from a crash does not block the next write.
    (tmp_path / ".f.tmp").write_text("stale", encoding="utf-8")
    write_atomic(tmp_path / "f", "one")
    write_atomic(tmp_path / "f", "two")
    assert (tmp_path / "f").read_text(encoding="utf-8") == "two"
    assert _litter(tmp_path) == [".f.tmp"]


def test_permissions_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "f", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o644
