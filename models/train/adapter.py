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

`read_adapter_into` is the inverse of `write_adapter`: it loads such a file into the
LoRA of a peft model, so training can start from an adapter (``deskhand train --init``)
instead of fresh weights. It refuses (`AdapterMismatch`, one line) an adapter whose
architecture, rank or adapted weights differ from the LoRA being trained, before it
changes any weight.

Invariants:
- An adapter file appears or changes only whole: it is written under a temporary name and
  renamed over the target.
- Only the LoRA matrices are written (f16 by default; about 10 MB for SmolLM2 at r=16).
- llama's GGUF stores the query and key projections with their rows permuted for
  llama.cpp's rotary embedding; transformers un-permutes them when it reads the GGUF, so
  the B matrices (output rows) of q and k are permuted back here, exactly as llama.cpp's
  converter does. An architecture whose row order we do not know is refused, not guessed.
- Writing, reading and writing again gives the same bytes: reading undoes the permutation
  exactly, and f16 -> f32 -> f16 is lossless. An adapter whose alpha differs from the
  LoRA's has its B rescaled on reading, so that ``alpha / rank * B @ A`` is unchanged.
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
#: The keys `read_adapter_into` checks (only these are decoded).
_READ_KEYS = {
    gguf.Keys.General.TYPE,
    gguf.Keys.General.ARCHITECTURE,
    gguf.Keys.Adapter.TYPE,
    gguf.Keys.Adapter.LORA_ALPHA,
}


class UnsupportedArchitecture(ValueError):
    """The base model's architecture is one this writer cannot lay out safely."""


class AdapterMismatch(ValueError):
    """An adapter that cannot start the LoRA being trained: another architecture, rank,
    set of adapted weights or prompt style. The message is one line."""


def base_architecture(base_gguf: Path) -> str:
    reader = gguf.GGUFReader(str(base_gguf))
    field = reader.fields["general.architecture"]
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def _permute(rows: npt.NDArray[Any], n_head: int) -> npt.NDArray[Any]:
    """llama.cpp's LlamaModel.permute on the output rows (HF order -> GGUF order)."""
    out, rest = rows.shape[0], rows.shape[1:]
    return rows.reshape(n_head, 2, out // n_head // 2, *rest).swapaxes(1, 2).reshape(rows.shape)


def _unpermute(rows: npt.NDArray[Any], n_head: int) -> npt.NDArray[Any]:
    """The inverse of `_permute` (GGUF order -> HF order)."""
    out, rest = rows.shape[0], rows.shape[1:]
    return rows.reshape(n_head, out // n_head // 2, 2, *rest).swapaxes(1, 2).reshape(rows.shape)


def _qk_heads(hf: str, config: Any) -> int | None:
    """The head count whose rows `_permute` reorders for weight `hf` (None: not q or k)."""
    if hf.endswith("q_proj.weight"):
        return int(config.num_attention_heads)
    if hf.endswith("k_proj.weight"):
        return int(config.num_key_value_heads)
    return None


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
        heads = _qk_heads(hf, config)
        if heads is not None:
            b_np = _permute(b_np, heads)
        writer.add_tensor(target + ".lora_a", np.ascontiguousarray(a_np, dtype=dtype))
        writer.add_tensor(target + ".lora_b", np.ascontiguousarray(b_np, dtype=dtype))
        count += 2
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(out)
    return count


def read_adapter_into(model: Any, adapter: Path, base_gguf: Path, *, alpha: float) -> int:
    """Load the GGUF LoRA `adapter` (as `write_adapter` writes it) into the LoRA of peft
    `model` (trained on `base_gguf`, LoRA alpha `alpha`); the tensor count.
    `AdapterMismatch` when it does not fit, before any weight changes."""
    try:
        reader = gguf.GGUFReader(str(adapter))
    except ValueError as exc:
        raise AdapterMismatch(f"{adapter.name} is not a GGUF file ({exc})") from None
    fields = {f.name: f.contents() for f in reader.fields.values() if f.name in _READ_KEYS}
    kind = fields.get(gguf.Keys.Adapter.TYPE)
    if fields.get(gguf.Keys.General.TYPE) != gguf.GGUFType.ADAPTER or kind != "lora":
        raise AdapterMismatch(f"{adapter.name} is not a LoRA adapter")
    arch, want = fields.get(gguf.Keys.General.ARCHITECTURE), base_architecture(base_gguf)
    if arch != want:
        raise AdapterMismatch(f"{adapter.name} is for architecture {arch!r}, the base is {want!r}")
    if want not in _PERMUTED_QK:
        raise UnsupportedArchitecture(f"cannot read a LoRA for architecture {want!r}")
    plain = (gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.F32)
    quantised = sorted(t.name for t in reader.tensors if t.tensor_type not in plain)
    if quantised:
        raise AdapterMismatch(f"{adapter.name}: {quantised[0]} is quantised (f16/f32 only)")
    config = model.config
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, int(config.num_hidden_layers))
    targets: dict[str, tuple[str, Any, Any]] = {}
    for hf, a, b in lora_pairs(model):
        target = names.get_name(hf, try_suffixes=(".weight",))
        if target is None:
            raise UnsupportedArchitecture(f"no GGUF name for {hf}")
        targets[target] = (hf, a, b)
    tensors = {t.name: np.asarray(t.data) for t in reader.tensors}
    _check_layout(adapter.name, tensors, {k: (a, b) for k, (_, a, b) in targets.items()})
    rank = next(iter(targets.values()))[1].shape[0]
    # llama.cpp scales by alpha / rank, and by 1 when the alpha is missing or 0
    scale = float(fields.get(gguf.Keys.Adapter.LORA_ALPHA) or rank) / float(alpha)
    for target, (hf, a, b) in targets.items():
        b_np = tensors[f"{target}.lora_b"].astype(np.float32)
        heads = _qk_heads(hf, config)
        if heads is not None:
            b_np = _unpermute(b_np, heads)
        _assign(a, tensors[f"{target}.lora_a"].astype(np.float32))
        _assign(b, b_np * np.float32(scale) if scale != 1.0 else b_np)
    return 2 * len(targets)


def _check_layout(name: str, tensors: dict[str, npt.NDArray[Any]], lora: dict[str, Any]) -> None:
    """`AdapterMismatch` unless `tensors` are exactly the A and B of `lora` (GGUF weight
    name -> (A, B)), shape for shape."""
    rank = next(iter(lora.values()))[0].shape[0]
    ranks = {int(v.shape[0]) for k, v in tensors.items() if k.endswith(".lora_a")}
    if ranks != {int(rank)}:
        shown = ",".join(str(r) for r in sorted(ranks)) or "none"
        raise AdapterMismatch(f"{name} has LoRA rank {shown}, the trainer's LoRA has {rank}")
    want = {f"{t}.lora_{ab}" for t in lora for ab in "ab"}
    if set(tensors) != want:
        missing, extra = sorted(want - set(tensors)), sorted(set(tensors) - want)
        first = (missing or extra)[0]
        raise AdapterMismatch(
            f"{name} adapts other weights than the trainer's LoRA ({len(missing)} missing, "
            f"{len(extra)} extra, first {first})"
        )
    for target, (a, b) in lora.items():
        for suffix, param in (("lora_a", a), ("lora_b", b)):
            have, need = tuple(tensors[f"{target}.{suffix}"].shape), tuple(param.shape)
            if have != need:
                raise AdapterMismatch(f"{name}: {target}.{suffix} is {have}, the LoRA's is {need}")


def _assign(param: Any, values: npt.NDArray[Any]) -> None:
    """Copy `values` into the torch parameter `param`, keeping its dtype and device
    (through the tensor's own methods: this module does not import torch)."""
    param.data.copy_(param.data.new_tensor(values))


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
