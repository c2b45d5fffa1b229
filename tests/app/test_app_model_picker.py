"""The model picker in the settings window: the catalogue with what fits this machine, a
download with progress from a Hugging Face-compatible server on loopback, and the new
model saved as the default when it is installed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hf_server import FILE, NAME, REPO, HubFiles, serve, write_catalogue
from PySide6.QtCore import Qt

from agent.settings import Settings, load_settings
from app.qt.settings_window import SettingsWindow
from models.hardware import Hardware
from models.installed import installed_models

#: A machine with room for the 0.5-1.5B tier on its CPU (4 GiB for a model), no GPU.
LAPTOP = Hardware("linux", "x86_64", "test CPU", 2, ("avx2",), 8 * 2**30)


@pytest.fixture
def endpoint(settings: Settings, embedded_gguf: Path) -> Iterator[str]:
    write_catalogue(settings.config_dir, embedded_gguf)
    with serve(HubFiles({f"{REPO}/{FILE}": embedded_gguf})) as url:
        yield url


def cells(picker: Any, ref: str) -> list[str]:
    for row in range(picker.table.rowCount()):
        if picker.table.item(row, 0).text() == ref:
            return [picker.table.item(row, c).text() for c in range(picker.table.columnCount())]
    raise KeyError(ref)


def test_the_picker_shows_what_fits_downloads_with_progress_and_switches_the_default(
    qtbot: Any, settings: Settings, endpoint: str
) -> None:
    window = SettingsWindow(settings)
    qtbot.addWidget(window)
    picker = window.open_model_picker(hardware=LAPTOP, endpoint=endpoint)
    qtbot.addWidget(picker)

    assert "Recommended for this machine: qwen2.5-1.5b-instruct:Q8_0" in picker.summary.text()
    assert cells(picker, "qwen2.5-1.5b-instruct:Q8_0")[4] == "recommended"
    assert cells(picker, "qwen2.5-7b-instruct:Q4_K_M")[4] == "too big"
    assert cells(picker, NAME)[4:] == ["fits", ""]

    seen: list[int] = []
    picker.progress_changed.connect(lambda done, total: seen.append(done))
    picker.select(NAME)
    with qtbot.waitSignal(window.saved, timeout=120_000):
        qtbot.mouseClick(picker.download_button, Qt.MouseButton.LeftButton)

    assert len(seen) > 2 and seen == sorted(seen) and seen[-1] == embedded_gguf_size(settings)
    assert picker.progress.value() == picker.progress.maximum()
    assert "installed (sha256 verified)" in picker.status.text()
    assert cells(picker, NAME)[5] == "installed"
    assert [m.name for m in installed_models(settings.data_dir / "models")] == [NAME]
    assert load_settings().model.default == NAME
    assert window.model_choice.findText(NAME) >= 0


def test_a_failed_download_is_one_line_and_changes_nothing(
    qtbot: Any, settings: Settings, embedded_gguf: Path
) -> None:
    write_catalogue(settings.config_dir, embedded_gguf, sha256="0" * 64)
    with serve(HubFiles({f"{REPO}/{FILE}": embedded_gguf})) as url:
        window = SettingsWindow(settings)
        qtbot.addWidget(window)
        picker = window.open_model_picker(hardware=LAPTOP, endpoint=url)
        qtbot.addWidget(picker)
        picker.select(NAME)
        with qtbot.waitSignal(picker.failed, timeout=60_000):
            qtbot.mouseClick(picker.download_button, Qt.MouseButton.LeftButton)
    assert picker.status.text().startswith("not installed: tiny-test:Q4_1: the server's file")
    assert picker.download_button.isEnabled()
    assert installed_models(settings.data_dir / "models") == []
    assert load_settings().model.default == "embedded"


def embedded_gguf_size(settings: Settings) -> int:
    (model,) = installed_models(settings.data_dir / "models")
    return model.path.stat().st_size
