"""Without the optional train extra, ``deskhand train`` says what is missing in one line
and exits 2 (CI's case: the extra is not in the test install). With the extra installed
the end-to-end test is tests/integration/test_train.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from models.train import EXTRA_MODULES, missing_modules


def test_the_extra_names_the_trainer_libraries() -> None:
    assert set(EXTRA_MODULES) == {"torch", "transformers", "peft", "gguf"}
    assert set(missing_modules()) <= set(EXTRA_MODULES)


def test_train_without_the_extra_fails_in_one_line(tmp_path: Path) -> None:
    missing = missing_modules()
    if not missing:
        pytest.skip("the train extra is installed here")
    out = tmp_path / "a.gguf"
    result = CliRunner().invoke(cli, ["train", "--data", str(tmp_path / "x.jsonl"), "-o", str(out)])
    assert result.exit_code == 2
    assert "train extra" in result.output and missing[0] in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()
