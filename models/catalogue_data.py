"""The curated model catalogue, read from data: which GGUF models deskhand can download.

`models/catalogue.toml` (package data) lists instruct models that run well as agents, by
size tier, each with its Hugging Face repository and, per quantisation, the exact GGUF
file, its size, its sha256 where known, and the memory it needs. A user's
``<config>/catalogue.toml`` with the same fields adds entries or replaces ones of the
same name. This module only reads and validates that data; `models.hardware` recommends
from it, `models.pull` downloads from it, `models.installed` records what was pulled.

A model is named ``NAME`` or ``NAME:QUANT`` (``qwen2.5-7b-instruct:Q4_K_M``); without a
quantisation the first one the entry lists is meant (the catalogue lists its preferred
one first). Within a tier, earlier entries are preferred.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Size tiers, smallest first.
TIERS = ("0.5-1.5B", "3-4B", "7-9B", "14B+")
Tier = Literal["0.5-1.5B", "3-4B", "7-9B", "14B+"]
Template = Literal["chatml", "llama3", "gemma", "phi"]
_GIB = 2**30
#: What llama.cpp needs besides weights and KV cache (compute buffers, scratch), roughly.
OVERHEAD_BYTES = 512 * 2**20


class CatalogueError(ValueError):
    """A catalogue file that cannot be read; the message names the file and the field."""


class UnknownCatalogueModel(LookupError):
    """A NAME[:QUANT] the catalogue does not list; the message says what it does list."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Quant(_Frozen):
    """One GGUF file of a model."""

    name: str = Field(min_length=1)
    file: str = Field(pattern=r"^[^/\\]+\.gguf$")
    size: int = Field(gt=0)
    #: "" when not known to us: pull then trusts the sha256 the server reports.
    sha256: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")
    memory_gib: float = Field(gt=0)


class CatalogueModel(_Frozen):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    tier: Tier
    params_b: float = Field(gt=0)
    family: str
    template: Template
    licence: str
    context_length: int = Field(gt=0)
    repo: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    kv_bytes_per_token: int = Field(gt=0)
    #: A matching deskhand adapter (a file under models/adapters/), "" when there is none.
    adapter: str = ""
    notes: str = ""
    quant: tuple[Quant, ...] = Field(min_length=1)

    @property
    def quants(self) -> tuple[Quant, ...]:
        return self.quant

    def pick(self, name: str | None) -> Quant:
        """The quantisation `name` (case-insensitive), or the preferred one."""
        if name is None:
            return self.quant[0]
        for q in self.quant:
            if q.name.lower() == name.lower():
                return q
        have = ", ".join(q.name for q in self.quant)
        raise UnknownCatalogueModel(f"{self.name} has no quantisation {name!r} (it has {have})")

    def memory_bytes(self, quant: Quant, n_ctx: int) -> int:
        """RAM or VRAM to run `quant` with an `n_ctx`-token context: weights, f16 KV
        cache and llama.cpp's buffers."""
        return quant.size + self.kv_bytes_per_token * n_ctx + OVERHEAD_BYTES


class _File(_Frozen):
    model: tuple[CatalogueModel, ...] = ()


class ModelCatalogue:
    """The catalogue's models in file order, packaged entries first, user entries
    replacing packaged ones of the same name."""

    def __init__(self, models: tuple[CatalogueModel, ...]) -> None:
        merged: dict[str, CatalogueModel] = {}
        for m in models:
            merged[m.name] = m
        self.models = tuple(merged.values())

    def find(self, ref: str) -> tuple[CatalogueModel, Quant]:
        """``NAME`` or ``NAME:QUANT`` → the model and the quantisation meant."""
        name, _, quant = ref.strip().partition(":")
        for m in self.models:
            if m.name == name.lower():
                return m, m.pick(quant or None)
        known = ", ".join(m.name for m in self.models)
        raise UnknownCatalogueModel(f"{name!r} is not in the catalogue (it lists {known})")

    def by_tier(self, tier: str) -> tuple[CatalogueModel, ...]:
        return tuple(m for m in self.models if m.tier == tier)


def installed_name(model: CatalogueModel, quant: Quant) -> str:
    """The name a pulled model goes by in `deskhand models` and ``--model``."""
    return f"{model.name}:{quant.name}"


def parse_catalogue(text: str, source: str) -> tuple[CatalogueModel, ...]:
    try:
        data = tomllib.loads(text)
        return _File.model_validate(data).model
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{source}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CatalogueError(f"{source}: {where}: {first['msg']}") from None


def packaged_text() -> str:
    return resources.files("models").joinpath("catalogue.toml").read_text(encoding="utf-8")


def load_catalogue(user_file: Path | None = None) -> ModelCatalogue:
    """The packaged catalogue, plus `user_file` when it exists."""
    models = parse_catalogue(packaged_text(), "models/catalogue.toml")
    if user_file is not None and user_file.is_file():
        try:
            text = user_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogueError(f"{user_file}: cannot read: {exc.strerror}") from None
        models += parse_catalogue(text, str(user_file))
    return ModelCatalogue(models)


def gib(n: int | float) -> str:
    """Bytes as GiB with one decimal, for messages."""
    return f"{n / _GIB:.1f} GiB"
