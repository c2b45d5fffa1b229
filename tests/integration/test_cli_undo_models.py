"""`deskhand undo` and `deskhand models` as a user runs them: real processes, a real
journal written by a real run (scripted model, real file tool)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DESKHAND = str(Path(sys.executable).parent / "deskhand")

#: The `scripted_run` fixture of tests/conftest.py.
ScriptedRun = Callable[[Path, Sequence[Any]], list[Any]]


def deskhand(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DESKHAND, *args], capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )


def act(tool: str, **args: str) -> dict[str, Any]:
    return {"tool": tool, "args": args, "thought": ""}


def test_undo_reverses_a_runs_changes_newest_first(
    scripted_run: ScriptedRun, workspace: Path
) -> None:
    (workspace / "keep.txt").write_text("original")
    (workspace / "old.txt").write_text("old")
    run_id = scripted_run(
        workspace,
        [
            act("files.make_folder", path="reports"),
            act("files.write", path="reports/summary.txt", content="all good"),
            act("files.write", path="keep.txt", content="changed"),
            act("files.delete", path="old.txt"),
            act("files.move", source="reports", destination="archive"),
            {"tool": "finish", "args": {"message": "done"}, "thought": ""},
        ],
    )[0].run_id
    assert (workspace / "archive" / "summary.txt").is_file()

    proc = deskhand("undo", run_id[:10])
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in workspace.iterdir()) == ["keep.txt", "old.txt"]
    assert (workspace / "keep.txt").read_text() == "original"
    assert (workspace / "old.txt").read_text() == "old"

    again = deskhand("undo", run_id)
    assert again.returncode == 0 and "no file changes to undo" in again.stdout
    shown = json.loads(deskhand("show", run_id, "--json").stdout)
    assert all(c["undone_at"] for c in shown["file_changes"])


def test_undo_refuses_when_a_file_changed_since(scripted_run: ScriptedRun, workspace: Path) -> None:
    run_id = scripted_run(
        workspace,
        [
            act("files.write", path="notes.txt", content="v1"),
            {"tool": "finish", "args": {"message": "done"}, "thought": ""},
        ],
    )[0].run_id
    (workspace / "notes.txt").write_text("edited by the user")
    proc = deskhand("undo", run_id)
    assert proc.returncode == 1
    assert "changed after it was written" in proc.stderr and "Traceback" not in proc.stderr
    assert (workspace / "notes.txt").read_text() == "edited by the user"


def test_undo_of_an_unknown_run_is_bad_input(deskhand_home: Path) -> None:
    proc = deskhand("undo", "no-such-run")
    assert proc.returncode == 2 and "no-such-run" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_models_lists_the_embedded_file_and_gpu_state(
    deskhand_home: Path, embedded_gguf: Path
) -> None:
    proc = deskhand("models", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    (embedded,) = [r for r in rows if r["name"] == "embedded"]
    assert embedded["default"] and embedded["available"]
    assert Path(embedded["location"]) == embedded_gguf
    assert embedded["gpu_offload"] in (True, False)
    human = deskhand("models")
    assert str(embedded_gguf) in human.stdout and "gpu offload" in human.stdout


def test_models_shows_a_configured_remote(deskhand_home: Path) -> None:
    config = deskhand_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(
        '[[model.remotes]]\nname = "lab"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n'
    )
    rows = json.loads(deskhand("models", "--json").stdout)
    (lab,) = [r for r in rows if r["name"] == "lab"]
    assert lab["kind"] == "openai" and lab["location"] == "http://127.0.0.1:9/v1"
    assert lab["gpu_offload"] is False


def test_models_says_how_local_models_run_on_this_cpu_and_how_to_opt_in(
    deskhand_home: Path, embedded_gguf: Path
) -> None:
    rows = json.loads(deskhand("models", "--json").stdout)
    (embedded,) = [r for r in rows if r["name"] == "embedded"]
    assert embedded["cpu_repack"] is False and embedded["threads"] == "follow the load"
    assert embedded["cpu_repack_choice"].startswith("cpu repack: off (")
    assert "model.cpu_repack = true opts in" in embedded["cpu_repack_choice"]
    config = deskhand_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text("[model]\ncpu_repack = true\nthreads = 1\n")
    human = deskhand("models")
    assert "cpu repack: on (model.cpu_repack = true)" in human.stdout
    assert "threads: 1" in human.stdout


def test_a_configured_adapter_is_applied_to_runs_and_a_missing_one_is_one_line(
    deskhand_home: Path, embedded_gguf: Path, tmp_path: Path
) -> None:
    import models

    adapter = Path(models.__file__).parent / "adapters" / "smollm2-deskhand.gguf"
    config = deskhand_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(f'[model]\nadapter = "{adapter}"\n')
    (embedded,) = [r for r in json.loads(deskhand("models", "--json").stdout) if r["default"]]
    assert embedded["adapter"] == str(adapter)
    ws = tmp_path / "ws"
    ws.mkdir()
    run = deskhand("run", "Create a folder named reports", "-w", str(ws), "--yes", "--json")
    assert run.returncode in (0, 1), run.stderr
    assert json.loads(run.stdout.splitlines()[-1])["event"] == "RunFinished"

    (config / "config.toml").write_text(f'[model]\nadapter = "{tmp_path / "nope.gguf"}"\n')
    missing = deskhand("run", "Create a folder named reports", "-w", str(ws), "--yes")
    assert missing.returncode == 2 and "adapter file not found" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
