"""deskhand's shipped LoRA adapters, and what an adapter file says about itself.

An adapter (a GGUF file that `deskhand train` writes, see models/train) is applied by
llama.cpp at run time on top of its base model. The ones deskhand ships live in
``models/adapters/`` (package data) with a data card each (``models/adapters/README.md``);
`EMBEDDED_ADAPTER` is the one trained for the embedded model and loaded with it by
default (settings ``model.use_adapter = false`` or ``deskhand run --no-adapter`` run the
bare base).

An adapter records the prompt style it was trained on (metadata key
``deskhand.prompt_style``, agent.prompt): the run must show the tuned model the same
prompt. It also records the tool families its examples came from (``deskhand.families``,
sorted names joined by commas: ``browser,files,gui``), so a run given the browser or the
GUI keeps an adapter only when it learned them (agent.settings.adapter_scope). This
module reads both keys with a small GGUF header reader, so neither gguf-py (the train
extra) nor llama.cpp is needed to know them, and owns the families' format
(`families_of`, `format_families`); models.train writes and stamps them.

Invariants: reading never loads tensors (only the header and key-value section); a file
that is not a GGUF, or has no such key, reads as the ``full`` style and as
`UNLABELLED_FAMILIES` (``files``: the first shipped adapter, trained before the key
existed, learned file tasks only).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

#: The adapter shipped for the embedded model (SmolLM2-135M-Instruct Q4_1).
EMBEDDED_ADAPTER = "smollm2-deskhand.gguf"
#: Where shipped adapters live (package data).
ADAPTERS_DIR = Path(__file__).resolve().parent / "adapters"
PROMPT_STYLE_KEY = "deskhand.prompt_style"
FAMILIES_KEY = "deskhand.families"
#: What an adapter without `FAMILIES_KEY` learned (the first shipped one: files only).
UNLABELLED_FAMILIES = frozenset({"files"})
#: A family name as generators spell it (the text before a template's first dot).
_FAMILY = re.compile(r"[a-z][a-z0-9_]*")
#: A user run's template is ``user.FAMILY.VERB`` (app.learn.template_of).
_USER_PREFIX = "user."

# GGUF value types -> byte size of fixed-size values (8: string, 9: array).
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9


def shipped_adapter(name: str = EMBEDDED_ADAPTER) -> Path | None:
    """The shipped adapter file `name` under models/adapters/, or None when absent."""
    path = ADAPTERS_DIR / name
    return path if name and path.is_file() else None


def _u(f: BinaryIO, fmt: str) -> int:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise ValueError("truncated GGUF header")
    return int(struct.unpack(fmt, data)[0])


def _string(f: BinaryIO) -> str:
    n = _u(f, "<Q")
    return f.read(n).decode("utf-8", errors="replace")


def _skip(f: BinaryIO, kind: int) -> None:
    if kind == _STRING:
        f.seek(_u(f, "<Q"), 1)
    elif kind == _ARRAY:
        inner, count = _u(f, "<I"), _u(f, "<Q")
        if inner in _FIXED:
            f.seek(_FIXED[inner] * count, 1)
        else:
            for _ in range(count):
                _skip(f, inner)
    elif kind in _FIXED:
        f.seek(_FIXED[kind], 1)
    else:
        raise ValueError(f"unknown GGUF value type {kind}")


def string_metadata(path: Path) -> dict[str, str]:
    """The string-valued metadata of the GGUF file `path` (other values are skipped)."""
    out: dict[str, str] = {}
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError(f"not a GGUF file: {path}")
        _u(f, "<I")  # version
        _u(f, "<Q")  # tensor count
        for _ in range(_u(f, "<Q")):
            key, kind = _string(f), _u(f, "<I")
            if kind == _STRING:
                out[key] = _string(f)
            else:
                _skip(f, kind)
    return out


def prompt_style(adapter: Path | None) -> str:
    """The prompt style `adapter` was trained on; ``full`` without one (or unknown)."""
    if adapter is None:
        return "full"
    try:
        return string_metadata(adapter).get(PROMPT_STYLE_KEY, "full")
    except (OSError, ValueError):
        return "full"


def families_of(templates: Iterable[str]) -> frozenset[str]:
    """The tool families of training examples' generator templates: the text before the
    first dot (``files.write`` -> ``files``); a user run's ``user.FAMILY.VERB`` counts as
    FAMILY. A name without a dot (no generator: ``journal``, empty) counts as none."""
    out = set()
    for template in templates:
        name = template.removeprefix(_USER_PREFIX) if template.count(".") > 1 else template
        family, dot, _ = name.partition(".")
        if dot and _FAMILY.fullmatch(family):
            out.add(family)
    return frozenset(out)


def format_families(families: Iterable[str]) -> str:
    """The value of `FAMILIES_KEY`: sorted names joined by commas; `ValueError` for a
    name that is not a family name (lower case letters, digits, ``_``)."""
    names = sorted(set(families))
    bad = [n for n in names if not _FAMILY.fullmatch(n)]
    if bad or not names:
        raise ValueError(f"not family names: {', '.join(bad) or '(none)'}")
    return ",".join(names)


def adapter_families(adapter: Path) -> frozenset[str]:
    """The tool families `adapter` was trained on (`FAMILIES_KEY`, header only);
    `UNLABELLED_FAMILIES` when it has no such key or cannot be read."""
    try:
        value = string_metadata(adapter).get(FAMILIES_KEY)
    except (OSError, ValueError):
        return UNLABELLED_FAMILIES
    if value is None:
        return UNLABELLED_FAMILIES
    return frozenset(n for n in (p.strip() for p in value.split(",")) if _FAMILY.fullmatch(n))
