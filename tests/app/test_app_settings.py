"""The settings window: an endpoint's key goes to the real keyring backend (keyrings.alt,
set up by tests/conftest.py) and never into config.toml; the rest is written to
config.toml and read back by `load_settings`; bad input writes nothing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import keyring
import pytest
from PySide6.QtCore import Qt

from agent.settings import Settings, load_settings
from app.qt.settings_window import SettingsWindow
from models.secrets import get_secret

SECRET = "sk-test-4f9a1c77e2"


def open_window(qtbot: Any, settings: Settings) -> SettingsWindow:
    window = SettingsWindow(settings)
    qtbot.addWidget(window)
    window.show()
    return window


def save(qtbot: Any, window: SettingsWindow) -> Any:
    with qtbot.waitSignal(window.saved, timeout=10_000) as saved:
        qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)
    return saved.args[0]


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def test_the_key_goes_to_the_keyring_and_never_to_the_config_file(
    qtbot: Any, settings: Settings
) -> None:
    assert type(keyring.get_keyring()).__module__.startswith("keyrings.alt")
    window = open_window(qtbot, settings)
    qtbot.keyClicks(window.remote_name, "lab")
    qtbot.keyClicks(window.remote_url, "http://127.0.0.1:9/v1")
    qtbot.keyClicks(window.remote_model, "big-model")
    qtbot.keyClicks(window.remote_key, SECRET)
    window.remote_fallback.setChecked(True)

    saved = save(qtbot, window)

    assert get_secret("remote:lab") == SECRET
    text = settings.config_file.read_text()
    assert SECRET not in text and 'key_name = "remote:lab"' in text
    for path in files_under(settings.config_dir, settings.data_dir):
        assert SECRET.encode() not in path.read_bytes(), path
    reloaded = load_settings()
    assert reloaded.model.remotes[0].model_dump() == {
        "name": "lab",
        "base_url": "http://127.0.0.1:9/v1",
        "model": "big-model",
        "key_name": "remote:lab",
    }
    assert reloaded.model.fallback == "lab" and saved.model == reloaded.model
    # The key is not shown again, and saving without retyping it keeps it.
    assert window.remote_key.text() == "" and "keyring" in window.remote_key.placeholderText()
    save(qtbot, window)
    assert load_settings().model.remotes[0].key_name == "remote:lab"
    assert get_secret("remote:lab") == SECRET


def test_model_hotkeys_workspaces_and_permissions_are_saved(
    qtbot: Any, settings: Settings, tmp_path: Path
) -> None:
    window = open_window(qtbot, settings)
    window.model_choice.setEditText(str(tmp_path / "model.gguf"))
    window.gpu_choice.setCurrentIndex(1)  # CPU only
    window.palette_key.setText("Ctrl+Alt+P")
    window.workspaces.addItem(str(tmp_path))
    window.permissions.add_rule("fs.write", "*", "allow")
    window.permissions.add_rule("fs.delete", "reports/*", "ask")
    window.permissions.add_rule("browser.navigate", "https://Example.COM/page", "allow")
    window.permissions.add_rule("shell.exec", "git status", "deny")
    (tmp_path / "inbox").mkdir()
    window.watch_folder.setText(str(tmp_path / "inbox"))
    window.tasks_folder.setText(str(tmp_path))

    save(qtbot, window)

    s = load_settings()
    assert s.model.default == str(tmp_path / "model.gguf") and s.model.gpu_layers == 0
    assert s.hotkeys.palette == "<ctrl>+<alt>+p"
    assert s.workspaces == [tmp_path]
    # Checked and normalised as --allow is: relative paths under the first workspace
    # folder, a page's address as its site.
    assert [(r.capability, r.scope, r.decision) for r in s.permissions] == [
        ("fs.write", "*", "allow"),
        ("fs.delete", str(tmp_path / "reports/*"), "ask"),
        ("browser.navigate", "example.com", "allow"),
        ("shell.exec", "git status", "deny"),
    ]
    assert s.watch_folder == tmp_path / "inbox" and s.tasks_folder == tmp_path
    assert window.permissions.rows()[1] == ("fs.delete", str(tmp_path / "reports/*"), "ask")


def test_bad_input_writes_nothing(qtbot: Any, settings: Settings) -> None:
    window = open_window(qtbot, settings)
    window.palette_key.setText("ctrl+nosuchkey")
    qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)
    assert "nosuchkey" in window.error.text()
    window.palette_key.setText(window.stop_key.text())
    qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)
    assert "differ" in window.error.text()
    window.palette_key.setText("ctrl+alt+space")
    qtbot.keyClicks(window.remote_key, SECRET)  # a key with no endpoint name
    qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)
    assert "name" in window.error.text()
    window.remote_key.clear()
    window.permissions.add_rule("fs.wrte", "*", "allow")
    qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)
    assert "permission rule 1" in window.error.text() and "fs.wrte" in window.error.text()
    window.permissions.table.removeRow(0)
    window.watch_folder.setText("/nonexistent/inbox")
    qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)
    assert "watch folder does not exist" in window.error.text()
    assert not settings.config_file.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG autostart is Linux's")
def test_start_at_login_writes_and_removes_the_xdg_autostart_entry(
    qtbot: Any, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    entry = tmp_path / "xdg" / "autostart" / "deskhand.desktop"
    window = open_window(qtbot, settings)
    assert not window.start_at_login.isChecked()

    window.start_at_login.setChecked(True)
    save(qtbot, window)
    text = entry.read_text()
    assert "[Desktop Entry]" in text and "Type=Application" in text
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_line.endswith(" tray") and "deskhand" in exec_line
    assert "start_at_login" not in settings.config_file.read_text()
    assert open_window(qtbot, settings).start_at_login.isChecked()  # read back from the entry

    window.start_at_login.setChecked(False)
    save(qtbot, window)
    assert not entry.exists() and entry.parent.is_dir()


def test_the_app_applies_saved_settings(qtbot: Any, make_app: Any, settings: Settings) -> None:
    app = make_app()
    app.show_settings()
    window = app.settings_window
    assert isinstance(window, SettingsWindow)
    window.stop_key.setText("ctrl+alt+k")
    save(qtbot, window)
    assert app.settings.hotkeys.stop == "<ctrl>+<alt>+k"
