"""Training deskhand's embedded model: a LoRA fitted on the GGUF base, written as a GGUF
adapter that llama.cpp applies at run time (`LlamaCppModel(lora_path=...)`).

The optional extra ``deskhand[train]`` brings torch, transformers, peft and gguf. This
module imports none of them, so ``deskhand train`` can say what is missing in one line;
`examples`, `base`, `loop` and `adapter` import them and are imported only after
`missing_modules()` came back empty.

Invariants:
- torch, transformers, peft and gguf are imported only inside ``models.train`` (an
  import-linter contract), never at import time of anything else.
- The base weights are never written: the trainer reads the GGUF, trains only the LoRA
  matrices, and writes only the adapter (no dense checkpoint, no re-quantisation, which
  would erase the fine-tune at Q4_1).
"""

from __future__ import annotations

import importlib.util

#: What the ``train`` extra must provide (import names).
EXTRA_MODULES = ("torch", "transformers", "peft", "gguf")


class TrainExtraMissing(RuntimeError):
    """The optional ``deskhand[train]`` extra is not installed."""


def missing_modules() -> list[str]:
    """The import names of the train extra that cannot be found (empty when all can)."""
    return [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
