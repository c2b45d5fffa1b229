"""The models `deskhand models pull` installed: one GGUF file and one record per model.

Layout under the models folder (``<data>/models``)::

    Qwen2.5-7B-Instruct-Q4_K_M.gguf            the verified file
    Qwen2.5-7B-Instruct-Q4_K_M.gguf.json       its record (written last)
    Qwen2.5-7B-Instruct-Q4_K_M.gguf.partial    a download in progress or cut short

Invariant: a record exists only for a file whose sha256 was verified, and it is written
after the file is in place (atomically), so a model is listed as installed only when it
is complete and correct. A record whose file has gone is not listed. A record may point
outside the folder: a file already in the Hugging Face cache is used where it lies.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from models.catalogue import LocalOptions, ModelEntry, gguf_entry
from tools.atomic_write import write_atomic

RECORD_SUFFIX = ".json"
PARTIAL_SUFFIX = ".partial"


@dataclass(frozen=True, slots=True)
class InstalledModel:
    name: str
    path: Path
    repo: str
    file: str
    sha256: str
    size: int

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "path": str(self.path)}, indent=2)


def record_path(models_dir: Path, file: str) -> Path:
    return models_dir / (file + RECORD_SUFFIX)


def partial_path(models_dir: Path, file: str) -> Path:
    return models_dir / (file + PARTIAL_SUFFIX)


def write_record(models_dir: Path, model: InstalledModel) -> None:
    """Write `model`'s record atomically and durably (the last step of an install)."""
    write_atomic(record_path(models_dir, model.file), model.to_json())


def _read_record(path: Path) -> InstalledModel | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return InstalledModel(
            name=str(data["name"]),
            path=Path(data["path"]),
            repo=str(data["repo"]),
            file=str(data["file"]),
            sha256=str(data["sha256"]),
            size=int(data["size"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a damaged record lists nothing; pull writes a new one


def installed_models(models_dir: Path) -> list[InstalledModel]:
    """Every installed model whose file is present, by name."""
    if not models_dir.is_dir():
        return []
    found = (_read_record(p) for p in models_dir.glob("*" + RECORD_SUFFIX))
    return sorted((m for m in found if m and m.path.is_file()), key=lambda m: m.name)


def find_installed(models_dir: Path, name: str) -> InstalledModel | None:
    for model in installed_models(models_dir):
        if model.name == name:
            return model
    return None


def remove_installed(models_dir: Path, model: InstalledModel) -> list[Path]:
    """Delete `model`'s record, then its file and any partial download when they live in
    the models folder (a file in the Hugging Face cache stays: that cache is not ours).
    Returns what was deleted."""
    removed: list[Path] = []
    record = record_path(models_dir, model.file)
    if record.exists():
        record.unlink()
        removed.append(record)
    for path in (model.path, partial_path(models_dir, model.file)):
        if path.parent == models_dir and path.exists():
            path.unlink()
            removed.append(path)
    return removed


def installed_entries(models_dir: Path, options: LocalOptions) -> list[ModelEntry]:
    """Installed models as catalogue entries: named ``NAME:QUANT``, opened like any GGUF."""
    return [gguf_entry(m.name, m.path, options) for m in installed_models(models_dir)]
