"""deskhand's shipped adapter is the embedded model's default: ``deskhand models`` shows
it, a run journals it and shows the tuned model its compact prompt; ``--no-adapter`` and
``model.use_adapter = false`` run the bare base with the full prompt. Real processes, the
real embedded model, a real journal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.journal import Journal
from agent.prompt import COMPACT, FULL, style_of_system
from agent.settings import load_settings
from models.adapter_meta import prompt_style, shipped_adapter
from models.base import adapter_id

DESKHAND = str(Path(sys.executable).parent / "deskhand")

pytestmark = pytest.mark.model


def deskhand(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DESKHAND, *args], capture_output=True, text=True, timeout=300, env=dict(os.environ)
    )


@pytest.fixture
def shipped() -> Path:
    path = shipped_adapter()
    assert path is not None, "models/adapters/ lacks the embedded model's adapter"
    return path


def _embedded_row() -> dict[str, object]:
    result = deskhand("models", "--json")
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    (row,) = [r for r in rows if r["name"] == "embedded"]
    return row


def test_the_shipped_adapter_says_it_was_trained_on_the_compact_prompt(shipped: Path) -> None:
    assert prompt_style(shipped) == COMPACT


def test_models_shows_the_shipped_adapter_unless_use_adapter_is_off(
    deskhand_home: Path, embedded_gguf: Path, shipped: Path
) -> None:
    assert _embedded_row()["adapter"] == str(shipped)
    human = deskhand("models")
    assert f"adapter: {shipped}" in human.stdout
    config = deskhand_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text("[model]\nuse_adapter = false\n")
    assert _embedded_row()["adapter"] is None


def _run(ws: Path, *extra: str) -> str:
    """Run the README's goal for at most 2 steps; the run id."""
    result = deskhand(
        "run",
        "Create a folder named reports",
        "-w",
        str(ws),
        "--yes",
        "--json",
        "--max-steps",
        "2",
        *extra,
    )
    assert result.returncode in (0, 1), result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    (finished,) = [e for e in events if e["event"] == "RunFinished"]
    return str(finished["run_id"])


def test_a_run_uses_the_adapter_by_default_and_no_adapter_runs_the_bare_base(
    deskhand_home: Path, embedded_gguf: Path, shipped: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    tuned_run = _run(ws)
    (tmp_path / "ws2").mkdir()
    bare_run = _run(tmp_path / "ws2", "--no-adapter")
    settings = load_settings(dict(os.environ))
    with Journal(settings.journal_path) as journal:
        tuned = journal.trajectory(tuned_run).steps
        bare = journal.trajectory(bare_run).steps
    assert tuned and bare
    assert {s.adapter_id for s in tuned} == {adapter_id(shipped)}
    assert {s.adapter_id for s in bare} == {""}
    assert style_of_system(tuned[0].messages[0].content) == COMPACT
    assert style_of_system(bare[0].messages[0].content) == FULL
