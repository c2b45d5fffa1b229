"""The settings window: model (embedded, a GGUF file, an OpenAI-compatible endpoint),
GPU offload, the endpoint's key, hotkeys, workspace roots, the watch and tasks folders,
permission defaults (`permissions_editor`), and start at login (`app.autostart`).

Invariants:
- The endpoint's key goes to the keyring (`models.secrets`) and nowhere else; the
  config file gets only the name it is stored under. The key field is never filled
  back in from the keyring.
- Saving (keyring and file) runs on a short-lived thread: a keyring backend may block
  (a D-Bus prompt) and the UI thread never waits on it. `saved` carries the new
  `Settings` once both are written; `failed` a one-line reason.
- Input is checked before anything is written: hotkeys parse, permission rules parse
  as the policy reads them, folders exist, the settings validate.
- Start at login is the autostart entry itself (written or removed with the rest, on
  the save thread), not a field of the config file.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from agent.settings import Settings
from app import autostart
from app.config_file import write_config
from app.qt.hotkeys import HotkeyError, normalize
from app.qt.permissions_editor import BadRule, PermissionsEditor
from models.installed import installed_models
from models.secrets import SecretStoreError, set_secret

log = logging.getLogger(__name__)

_GPU_CHOICES = ("automatic (all layers with CUDA or Metal)", "CPU only", "this many layers:")


def key_name_for(remote: str) -> str:
    return f"remote:{remote}"


class _Bridge(QObject):
    saved = Signal(object)
    failed = Signal(str)


class SettingsWindow(QWidget):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("deskhand settings")
        self.setObjectName("settings")
        self.setMinimumWidth(620)
        self._settings = settings
        self._bridge = _Bridge(self)
        self.saved = self._bridge.saved
        self.failed = self._bridge.failed
        self.saved.connect(self._on_saved)
        self.failed.connect(self._on_failed)
        layout = QVBoxLayout(self)
        layout.addWidget(self._model_box())
        layout.addWidget(self._remote_box())
        layout.addWidget(self._hotkey_box())
        layout.addWidget(self._workspace_box())
        layout.addWidget(self._folders_box())
        layout.addWidget(self._permission_box())
        layout.addWidget(self._startup_box())
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setStyleSheet("color: #d33c3c")
        self.error.setWordWrap(True)
        self.save_button = QPushButton("Save")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        cancel = QPushButton("Close")
        cancel.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.error, 1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        self.load(settings)

    # -- sections -------------------------------------------------------------------------

    def _model_box(self) -> QGroupBox:
        box = QGroupBox("Model")
        form = QFormLayout(box)
        self.model_choice = QComboBox()
        self.model_choice.setEditable(True)
        self.model_choice.setToolTip("'embedded', a configured endpoint's name, or a .gguf path")
        browse = QPushButton("GGUF file…")
        browse.clicked.connect(self._browse_gguf)
        get = QPushButton("Get a model…")
        get.setToolTip("the catalogue: what fits this machine, downloaded and checked")
        get.clicked.connect(lambda: self.open_model_picker())
        row = QHBoxLayout()
        row.addWidget(self.model_choice, 1)
        row.addWidget(browse)
        row.addWidget(get)
        form.addRow("use", row)
        self.gpu_choice = QComboBox()
        self.gpu_choice.addItems(_GPU_CHOICES)
        self.gpu_layers = QSpinBox()
        self.gpu_layers.setRange(1, 999)
        self.gpu_choice.currentIndexChanged.connect(lambda i: self.gpu_layers.setEnabled(i == 2))
        gpu = QHBoxLayout()
        gpu.addWidget(self.gpu_choice, 1)
        gpu.addWidget(self.gpu_layers)
        form.addRow("GPU offload", gpu)
        return box

    def _remote_box(self) -> QGroupBox:
        box = QGroupBox("OpenAI-compatible endpoint (optional)")
        form = QFormLayout(box)
        self.remote_name = QLineEdit()
        self.remote_url = QLineEdit()
        self.remote_url.setPlaceholderText("https://api.example.com/v1")
        self.remote_model = QLineEdit()
        self.remote_key = QLineEdit()
        self.remote_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.remote_fallback = QCheckBox("use it when the local model fails")
        form.addRow("name", self.remote_name)
        form.addRow("base URL", self.remote_url)
        form.addRow("model", self.remote_model)
        form.addRow("API key", self.remote_key)
        form.addRow("", self.remote_fallback)
        return box

    def _hotkey_box(self) -> QGroupBox:
        box = QGroupBox("Global hotkeys (X11, Windows, macOS)")
        form = QFormLayout(box)
        self.hotkeys_enabled = QCheckBox("enabled")
        self.palette_key = QLineEdit()
        self.stop_key = QLineEdit()
        form.addRow("", self.hotkeys_enabled)
        form.addRow("command palette", self.palette_key)
        form.addRow("stop any run", self.stop_key)
        return box

    def _workspace_box(self) -> QGroupBox:
        box = QGroupBox("Workspace folders (empty: the default workspace)")
        row = QHBoxLayout(box)
        self.workspaces = QListWidget()
        self.workspaces.setMaximumHeight(90)
        add = QPushButton("Add…")
        add.clicked.connect(self._add_workspace)
        remove = QPushButton("Remove")
        remove.clicked.connect(
            lambda: [
                self.workspaces.takeItem(self.workspaces.row(i))
                for i in self.workspaces.selectedItems()
            ]  # fmt: skip
        )
        side = QVBoxLayout()
        side.addWidget(add)
        side.addWidget(remove)
        side.addStretch(1)
        row.addWidget(self.workspaces, 1)
        row.addLayout(side)
        return box

    def _folders_box(self) -> QGroupBox:
        box = QGroupBox("Folders (optional)")
        form = QFormLayout(box)
        self.watch_folder = QLineEdit()
        self.watch_folder.setPlaceholderText("run each *.task.yaml dropped here")
        self.tasks_folder = QLineEdit()
        self.tasks_folder.setPlaceholderText("saved *.task.yaml the palette suggests")
        for label, field in (
            ("watch folder", self.watch_folder),
            ("tasks folder", self.tasks_folder),
        ):
            browse = QPushButton("Choose…")
            browse.clicked.connect(lambda _=False, f=field: self._choose_folder(f))
            row = QHBoxLayout()
            row.addWidget(field, 1)
            row.addWidget(browse)
            form.addRow(label, row)
        return box

    def _permission_box(self) -> QGroupBox:
        box = QGroupBox("Permission defaults (before the built-in ones; first match wins)")
        column = QVBoxLayout(box)
        self.permissions = PermissionsEditor()
        column.addWidget(self.permissions)
        return box

    def _startup_box(self) -> QGroupBox:
        box = QGroupBox("Startup")
        column = QVBoxLayout(box)
        self.start_at_login = QCheckBox("Start deskhand (the tray icon) at login")
        if not autostart.supported():
            self.start_at_login.setEnabled(False)
            self.start_at_login.setToolTip("Linux only for now: see the README")
        column.addWidget(self.start_at_login)
        return box

    def _choose_folder(self, field: QLineEdit) -> None:
        path = QFileDialog.getExistingDirectory(self, "A folder")
        if path:
            field.setText(path)

    def _browse_gguf(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "A GGUF model", "", "GGUF models (*.gguf)")
        if path:
            self.model_choice.setEditText(path)

    def open_model_picker(self, **options: Any) -> QWidget:
        """The catalogue picker (`app.qt.model_picker`); the model it installs becomes the
        default at once (saved like any edit)."""
        from app.qt.model_picker import ModelPicker

        self.model_picker = ModelPicker(self._settings, **options)
        self.model_picker.installed.connect(self.use_model)
        self.model_picker.show()
        return self.model_picker

    def use_model(self, name: str) -> None:
        self.model_choice.setEditText(name)
        self.save()

    def _add_workspace(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "A workspace folder")
        if path:
            self.workspaces.addItem(path)

    # -- settings in and out --------------------------------------------------------------

    def load(self, settings: Settings) -> None:
        self._settings = settings
        m = settings.model
        self.model_choice.clear()
        pulled = [p.name for p in installed_models(settings.data_dir / "models")]
        self.model_choice.addItems(["embedded", *[r.name for r in m.remotes], *pulled])
        self.model_choice.setEditText(m.default)
        self.gpu_choice.setCurrentIndex(
            0 if m.gpu_layers is None else 1 if m.gpu_layers == 0 else 2
        )
        self.gpu_layers.setValue(m.gpu_layers or 99)
        self.gpu_layers.setEnabled(self.gpu_choice.currentIndex() == 2)
        remote = m.remotes[0] if m.remotes else None
        self.remote_name.setText(remote.name if remote else "")
        self.remote_url.setText(remote.base_url if remote else "")
        self.remote_model.setText(remote.model if remote else "")
        self.remote_key.clear()
        stored = bool(remote and remote.key_name)
        self.remote_key.setPlaceholderText("stored in the keyring" if stored else "")
        self.remote_fallback.setChecked(bool(remote and m.fallback == remote.name))
        self.hotkeys_enabled.setChecked(settings.hotkeys.enabled)
        self.palette_key.setText(settings.hotkeys.palette)
        self.stop_key.setText(settings.hotkeys.stop)
        self.workspaces.clear()
        self.workspaces.addItems([str(p) for p in settings.workspaces])
        self.watch_folder.setText(str(settings.watch_folder or ""))
        self.tasks_folder.setText(str(settings.tasks_folder or ""))
        self.permissions.set_rules(settings.permissions)
        self.start_at_login.setChecked(autostart.is_enabled())

    def collect(self) -> tuple[Settings, str | None, str]:
        """The edited settings, the keyring name of a newly typed key, and the key.
        Raises HotkeyError, BadRule, ValidationError or ValueError for bad input."""
        data: dict[str, Any] = self._settings.model_dump()
        model = data["model"]
        model["default"] = self.model_choice.currentText().strip() or "embedded"
        model["gpu_layers"] = (None, 0, self.gpu_layers.value())[self.gpu_choice.currentIndex()]
        key = self.remote_key.text().strip()
        key_name = self._edit_remote(model, key)
        palette, stop = normalize(self.palette_key.text()), normalize(self.stop_key.text())
        if palette == stop:
            raise HotkeyError("the palette and stop hotkeys must differ")
        data["hotkeys"] = {
            "enabled": self.hotkeys_enabled.isChecked(),
            "palette": palette,
            "stop": stop,
        }
        data["workspaces"] = [
            self.workspaces.item(i).text() for i in range(self.workspaces.count())
        ]
        roots = [Path(p).expanduser() for p in data["workspaces"]]
        data["permissions"] = self.permissions.rules(roots or [self._settings.default_workspace])
        data["watch_folder"] = _folder(self.watch_folder.text(), "watch folder")
        data["tasks_folder"] = _folder(self.tasks_folder.text(), "tasks folder")
        return Settings.model_validate(data), (key_name if key else None), key

    def _edit_remote(self, model: dict[str, Any], key: str) -> str | None:
        """Put the endpoint fields into `model`; return the keyring name of its key."""
        name = self.remote_name.text().strip()
        others = [r for r in model["remotes"] if r["name"] != name]
        if not name:
            if self.remote_url.text().strip() or key:
                raise ValueError("give the endpoint a name")
            if model["remotes"]:
                dropped = model["remotes"][0]["name"]
                model["remotes"] = model["remotes"][1:]
                if model["fallback"] == dropped:
                    model["fallback"] = None
            return None
        old = next((r for r in model["remotes"] if r["name"] == name), None)
        key_name = key_name_for(name) if key else (old or {}).get("key_name")
        remote = {"name": name, "base_url": self.remote_url.text().strip(),
                  "model": self.remote_model.text().strip(), "key_name": key_name}  # fmt: skip
        model["remotes"] = [remote, *others]
        if self.remote_fallback.isChecked():
            model["fallback"] = name
        elif model["fallback"] == name:
            model["fallback"] = None
        return key_name

    def save(self) -> None:
        try:
            settings, key_name, key = self.collect()
        except (HotkeyError, BadRule, ValidationError, ValueError) as exc:
            self.error.setText(_first_line(exc))
            return
        self.error.setText("saving…")
        self.save_button.setEnabled(False)
        login = self.start_at_login.isChecked() if self.start_at_login.isEnabled() else None
        threading.Thread(
            target=self._write,
            args=(settings, key_name, key, login),
            name="deskhand-save",
            daemon=True,
        ).start()

    def _write(
        self, settings: Settings, key_name: str | None, key: str, login: bool | None
    ) -> None:
        try:
            if key_name is not None:
                set_secret(key_name, key)
            write_config(settings)
            if login is not None and login != autostart.is_enabled():
                autostart.set_enabled(login)
        except (SecretStoreError, OSError, ValueError) as exc:
            log.warning("settings not saved: %s", exc)
            self.failed.emit(_first_line(exc))
            return
        self.saved.emit(settings)

    def _on_saved(self, settings: Settings) -> None:
        self.save_button.setEnabled(True)
        self.load(settings)
        self.error.setText("")

    def _on_failed(self, message: str) -> None:
        self.save_button.setEnabled(True)
        self.error.setText(f"not saved: {message}")


def _folder(text: str, what: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    path = Path(text).expanduser()
    if not path.is_dir():
        raise ValueError(f"{what} does not exist or is not a folder: {path}")
    return str(path.resolve())


def _first_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
