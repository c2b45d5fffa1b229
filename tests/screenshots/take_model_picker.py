"""Takes the README's picture of the model picker downloading, from the real window on a
real X server.

    .venv/bin/python tests/screenshots/take_model_picker.py   # writes tests/screenshots/model-picker.png

The download is real: the embedded GGUF file served by tests/hf_server.py on loopback as
a catalogue model (``tiny-test``), held at 60 MB so the picture shows it mid-way; the
hardware is this machine's, so the recommendation is what this machine gets.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # the project, tests/xserver.py, hf_server.py

from qt_wait import wait_signal as wait  # noqa: E402
from take import on_own_xvfb, save  # noqa: E402


def main() -> None:
    on_own_xvfb(shoot)


def shoot() -> None:
    from hf_server import FILE, NAME, REPO, HubFiles, serve, write_catalogue
    from PySide6.QtWidgets import QApplication

    from agent.settings import load_settings
    from app.qt.settings_window import SettingsWindow
    from models.catalogue import embedded_model_path

    qt = QApplication([])
    gguf = embedded_model_path()
    if gguf is None:
        sys.exit("the embedded model is not installed")
    settings = load_settings()
    write_catalogue(settings.config_dir, gguf)
    hub = HubFiles({f"{REPO}/{FILE}": gguf}, hold_after=60_000_000)
    with serve(hub) as url:
        window = SettingsWindow(settings)
        picker = window.open_model_picker(endpoint=url)
        picker.resize(900, 560)
        picker.select(NAME)
        wait(
            picker.progress_changed,
            start=picker.download,
            check=lambda done, total: done >= 50_000_000,
        )
        save(picker, "model-picker.png")
        hub.hold_after = None
        wait(picker.installed, start=hub.release.set)
    qt.processEvents()


if __name__ == "__main__":
    main()
