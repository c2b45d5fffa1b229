"""Writing a peft LoRA as a GGUF adapter that llama.cpp loads with ``lora_path``.

The layout is llama.cpp's own (what its ``convert_lora_to_gguf.py`` writes): metadata
``general.type = "adapter"``, ``adapter.type = "lora"``, ``adapter.lora.alpha``, the base's
``general.architecture``; for each adapted weight ``W`` (GGUF name ``blk.N.attn_q.weight``
...) two tensors ``W.lora_a`` (rank x in) and ``W.lora_b`` (out x rank), so llama.cpp adds
``alpha / rank * B @ A @ x``, the same scale peft uses. Names come from gguf-py's tensor
map, so no name is spelt here.

Invariants:
- Only the LoRA matrices are written (f16 by default; about 10 MB for SmolLM2 at r=16).
- llama's GGUF stores the query and key projections with their rows permuted for
  llama.cpp's rotary embedding; transformers un-permutes them when it reads the GGUF, so
  the B matrices (output rows) of q and k are permuted back here, exactly as llama.cpp's
  converter does. An architecture whose row order we do not know is refused, not guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gguf
import numpy as np
import numpy.typing as npt

#: Architectures whose q/k row permutation is known (llama.cpp's LlamaModel.permute).
_PERMUTED_QK = {"llama"}
_PEFT_PREFIX = "base_model.model."


class UnsupportedArchitecture(ValueError):
    """The base model's architecture is one this writer cannot lay out safely."""


def base_architecture(base_gguf: Path) -> str:
    reader = gguf.GGUFReader(str(base_gguf))
    field = reader.fields["general.architecture"]
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def _permute(rows: npt.NDArray[Any], n_head: int) -> npt.NDArray[Any]:
    """llama.cpp's LlamaModel.permute on the output rows (HF order -> GGUF order)."""
    out, rest = rows.shape[0], rows.shape[1:]
    return rows.reshape(n_head, 2, out // n_head // 2, *rest).swapaxes(1, 2).reshape(rows.shape)


def lora_pairs(model: Any) -> list[tuple[str, Any, Any]]:
    """(HF weight name, A, B) for every LoRA module of a peft model (torch tensors)."""
    pairs = []
    for name, module in model.named_modules():
        if not hasattr(module, "lora_A") or "default" not in module.lora_A:
            continue
        hf = name.removeprefix(_PEFT_PREFIX) + ".weight"
        pairs.append((hf, module.lora_A["default"].weight, module.lora_B["default"].weight))
    return pairs


#: Metadata key: the prompt style the adapter was trained on (agent.prompt); models.adapters
#: reads it so the run shows the tuned model the same prompt.
PROMPT_STYLE_KEY = "deskhand.prompt_style"


def write_adapter(
    model: Any,
    base_gguf: Path,
    out: Path,
    *,
    alpha: float,
    f16: bool = True,
    prompt_style: str = "full",
) -> int:
    """Write the LoRA of peft `model` (trained on `base_gguf`) to `out`; the tensor count.
    `prompt_style` is recorded in the metadata (``deskhand.prompt_style``)."""
    arch = base_architecture(base_gguf)
    if arch not in _PERMUTED_QK:
        raise UnsupportedArchitecture(f"cannot write a LoRA for architecture {arch!r}")
    config = model.config
    n_head, n_kv = int(config.num_attention_heads), int(config.num_key_value_heads)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, int(config.num_hidden_layers))
    dtype = np.float16 if f16 else np.float32
    tmp = out.with_name(out.name + ".part")
    writer = gguf.GGUFWriter(str(tmp), arch=arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    writer.add_string(PROMPT_STYLE_KEY, prompt_style)
    count = 0
    for hf, a, b in lora_pairs(model):
        target = names.get_name(hf, try_suffixes=(".weight",))
        if target is None:
            raise UnsupportedArchitecture(f"no GGUF name for {hf}")
        a_np = a.detach().float().cpu().numpy()
        b_np = b.detach().float().cpu().numpy()
        if hf.endswith("q_proj.weight"):
            b_np = _permute(b_np, n_head)
        elif hf.endswith("k_proj.weight"):
            b_np = _permute(b_np, n_kv)
        writer.add_tensor(target + ".lora_a", np.ascontiguousarray(a_np, dtype=dtype))
        writer.add_tensor(target + ".lora_b", np.ascontiguousarray(b_np, dtype=dtype))
        count += 2
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(out)
    return count
