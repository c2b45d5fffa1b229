"""Writing a peft LoRA as a GGUF adapter that llama.cpp loads with ``lora_path``.

The layout is llama.cpp's own (what its ``convert_lora_to_gguf.py`` writes): metadata
``general.type = "adapter"``, ``adapter.type = "lora"``, ``adapter.lora.alpha``, the base's
``general.architecture``; for each adapted weight ``W`` (GGUF name ``blk.N.attn_q.weight``
...) two tensors ``W.lora_a`` (rank x in) and ``W.lora_b`` (out x rank), so llama.cpp adds
``alpha / rank * B @ A @ x``, the same scale peft uses. Names come from gguf-py's tensor
map, so no name is spelt here.

The metadata also says what run time needs to know about the adapter (models.adapter_meta
reads it): the prompt style of its examples and the tool families they came from.
`stamp_families` sets the families of an adapter written before that key existed,
copying everything else unchanged.

Invariants:
- An adapter file appears or changes only whole: it is written under a temporary name and
  renamed over the target.
- Only the LoRA matrices are written (f16 by default; about 10 MB for SmolLM2 at r=16).
- llama's GGUF stores the query and key projections with their rows permuted for
  llama.cpp's rotary embedding; transformers un-permutes them when it reads the GGUF, so
  the B matrices (output rows) of q and k are permuted back here, exactly as llama.cpp's
  converter does. An architecture whose row order we do not know is refused, not guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import numpy.typing as npt

from models.adapter_meta import FAMILIES_KEY, PROMPT_STYLE_KEY, format_families

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


def write_adapter(
    model: Any,
    base_gguf: Path,
    out: Path,
    *,
    alpha: float,
    f16: bool = True,
    prompt_style: str = "full",
    families: Iterable[str] = (),
) -> int:
    """Write the LoRA of peft `model` (trained on `base_gguf`) to `out`; the tensor count.
    `prompt_style` and `families` (the tool families the examples came from; none known:
    no key, read as files only) are recorded in the metadata."""
    families = frozenset(families)
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
    if families:
        writer.add_string(FAMILIES_KEY, format_families(families))
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


def stamp_families(adapter: Path, families: Iterable[str]) -> str:
    """Set `adapter`'s tool families (`FAMILIES_KEY`, replacing any) without retraining:
    every other key and every tensor is copied unchanged. The value written; `ValueError`
    for a name that is not a family name, before anything is written."""
    value = format_families(families)
    tmp = adapter.with_name(adapter.name + ".part")
    try:
        _copy_with_strings(adapter, tmp, {FAMILIES_KEY: value})
        tmp.replace(adapter)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return value


def _copy_with_strings(src: Path, dst: Path, strings: dict[str, str]) -> None:
    """Copy the GGUF `src` to `dst` with the string keys `strings` set (gguf-py's
    gguf_new_metadata, trimmed): the tensors' bytes are copied as they are."""
    reader = gguf.GGUFReader(str(src))
    own = {gguf.Keys.General.ARCHITECTURE, gguf.Keys.General.ALIGNMENT, *strings}
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(str(dst), arch=arch, endianess=reader.endianess)
    if gguf.Keys.General.ALIGNMENT in reader.fields:  # the writer pads by it: set, not copied
        writer.add_custom_alignment(int(reader.fields[gguf.Keys.General.ALIGNMENT].contents()))
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name in own:
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), kind, sub_type=sub)
    for key, value in strings.items():
        writer.add_string(key, value)
    for t in reader.tensors:
        writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for t in reader.tensors:
        writer.write_tensor_data(t.data, tensor_endianess=reader.endianess)
    writer.close()
