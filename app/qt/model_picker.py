"""The model picker: the catalogue, what fits this machine, and a download with progress.

Opened from the settings window ("Get a model…"). Each row is one catalogue model at one
quantisation: its tier, file size, the memory it needs, whether it fits here (the
`models.hardware` budget: "too big" for the memory, "too slow here" above the tier the
cores run well) and whether it is installed; the recommended one is selected.
Download runs `models.pull.pull` on a short-lived thread (the UI thread never waits on
the network or the disk) and reports through queued signals: `progress` (bytes done,
total), then `installed` (the ``NAME:QUANT`` to use) or `failed` (one line). A pull cut
short keeps its partial file, so pressing Download again resumes it.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from agent.settings import Settings
from models.catalogue_data import (
    TIERS,
    CatalogueModel,
    ModelCatalogue,
    Quant,
    gib,
    installed_name,
    load_catalogue,
)
from models.hardware import Hardware, Recommendation, detect, recommend
from models.installed import installed_models
from models.pull import PullError, pull

COLUMNS = ("model", "tier", "file", "needs", "here", "state")


class _Bridge(QObject):
    progress = Signal(int, object)
    installed = Signal(str)
    failed = Signal(str)


class ModelPicker(QWidget):
    def __init__(
        self,
        settings: Settings,
        *,
        catalogue: ModelCatalogue | None = None,
        hardware: Hardware | None = None,
        endpoint: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("deskhand: get a model")
        self.setObjectName("model-picker")
        self.setMinimumWidth(760)
        self._settings = settings
        self._endpoint = endpoint
        self._catalogue = catalogue or load_catalogue(settings.config_dir / "catalogue.toml")
        self._rec = recommend(hardware or detect(), self._catalogue, settings.model.n_ctx)
        self._rows: list[tuple[CatalogueModel, Quant]] = [
            (m, q) for m in self._catalogue.models for q in m.quants
        ]
        self._bridge = _Bridge(self)
        self.progress_changed = self._bridge.progress
        self.installed = self._bridge.installed
        self.failed = self._bridge.failed
        self.progress_changed.connect(self._on_progress)
        self.installed.connect(self._on_installed)
        self.failed.connect(self._on_failed)
        self._build()
        self.refresh()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.summary = QLabel(_summary(self._rec))
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.table = QTableWidget(len(self._rows), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.download_button = QPushButton("Download and use")
        self.download_button.setDefault(True)
        self.download_button.clicked.connect(self.download)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.download_button)
        layout.addLayout(row)
        layout.addWidget(self.status)

    def refresh(self) -> None:
        """Fill the table: what fits, what is installed; select the recommended row."""
        installed = {m.name for m in installed_models(self._settings.data_dir / "models")}
        room = self._rec.budget
        allowed = TIERS[: TIERS.index(room.max_tier) + 1]
        for i, (model, quant) in enumerate(self._rows):
            ref = installed_name(model, quant)
            need = model.memory_bytes(quant, self._settings.model.n_ctx)
            here = "fits" if model.tier in allowed else "too slow here"
            here = "recommended" if ref == self._rec.ref else here
            here = "too big" if need > room.bytes else here
            cells = (
                ref,
                model.tier,
                gib(quant.size),
                gib(need),
                here,
                "installed" if ref in installed else "",
            )
            for j, text in enumerate(cells):
                self.table.setItem(i, j, QTableWidgetItem(text))
            if ref == self._rec.ref:
                self.table.selectRow(i)
        self.table.resizeColumnsToContents()

    def select(self, ref: str) -> None:
        for i, (model, quant) in enumerate(self._rows):
            if installed_name(model, quant) == ref:
                self.table.selectRow(i)
                return
        raise KeyError(ref)

    def selected(self) -> tuple[CatalogueModel, Quant] | None:
        rows = self.table.selectionModel().selectedRows()
        return self._rows[rows[0].row()] if rows else None

    def download(self) -> None:
        chosen = self.selected()
        if chosen is None:
            self.status.setText("choose a model first")
            return
        model, quant = chosen
        self.download_button.setEnabled(False)
        self.progress.setValue(0)
        self.status.setText(f"downloading {installed_name(model, quant)}…")
        threading.Thread(
            target=self._pull, args=(model, quant), name="deskhand-pull", daemon=True
        ).start()

    def _pull(self, model: CatalogueModel, quant: Quant) -> None:
        try:
            pull(
                model,
                quant,
                self._settings.data_dir / "models",
                progress=self.progress_changed.emit,
                endpoint=self._endpoint,
            )
        except PullError as exc:
            self.failed.emit(str(exc))
            return
        self.installed.emit(installed_name(model, quant))

    def _on_progress(self, done: int, total: int | None) -> None:
        if total:
            self.progress.setValue(int(1000 * done / total))
            self.status.setText(f"downloading: {done / 1e6:.0f} of {total / 1e6:.0f} MB")

    def _on_installed(self, ref: str) -> None:
        self.progress.setValue(1000)
        self.download_button.setEnabled(True)
        self.status.setText(f"{ref} installed (sha256 verified) and set as the model to use")
        self.refresh()

    def _on_failed(self, message: str) -> None:
        self.download_button.setEnabled(True)
        self.status.setText(f"not installed: {message}")


def _summary(rec: Recommendation) -> str:
    head = f"Recommended for this machine: {rec.ref}."
    return " ".join([head, "; ".join(rec.reasons) + ".", *(f"Fix: {f}." for f in rec.budget.fixes)])
