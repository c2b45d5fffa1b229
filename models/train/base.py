"""Loading the GGUF base model into transformers, with a LoRA on top.

transformers reads a GGUF file directly (``gguf_file=``): the quantised weights are
dequantised to fp32 and the tokenizer and chat template come from the file's metadata,
so training starts from exactly the weights llama.cpp runs (up to quantisation). Such a
model cannot be ``save_pretrained`` (transformers refuses a "gguf-quantized" model); we
never need to, since only the adapter is written (`models.train.adapter`).

Invariants: the base weights are frozen; only the LoRA matrices require gradients. The
LoRA has no dropout, so a step is a deterministic function of the seed and the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

#: The projections a LoRA adapts (llama-style names).
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True, slots=True)
class LoraShape:
    rank: int = 16
    alpha: float = 32.0


def load_tokenizer(gguf: Path) -> Any:
    return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)


def load_base(gguf: Path, device: str) -> Any:
    """The dequantised base model, fp32, on `device`, in eval mode."""
    model: Any = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    return model.to(device).eval()


def with_lora(model: Any, shape: LoraShape) -> Any:
    """`model` wrapped by peft with a fresh LoRA (B = 0: the output is unchanged)."""
    config = LoraConfig(
        r=shape.rank,
        lora_alpha=int(shape.alpha),
        lora_dropout=0.0,
        target_modules=list(TARGETS),
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def pick_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"
