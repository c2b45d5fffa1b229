"""Chat examples as token ids with a loss mask: only the assistant's reply is learned.

A record is one model step as `agent.learn.trajectory.write_jsonl` exports it: the
messages the model saw, ending with the assistant reply. The prompt is rendered with the
model's own chat template with the generation prompt (exactly what llama.cpp renders
before it generates), and the reply is tokenized after it, followed by the end-of-turn
token, so the model learns both what to say and when to stop.

Invariants:
- ``len(input_ids) == len(labels)``; ``labels[i]`` is ``IGNORE`` for every prompt token
  and equals ``input_ids[i]`` for every reply token (and the end-of-turn token).
- The prompt ids are a prefix of what inference feeds (the same template, the same
  special-token parsing), so training and run time see the same tokens.
- An example longer than ``max_tokens`` is dropped, never truncated: a cut prompt would
  teach replies to questions never asked.
- ``weights`` is empty (every learned token counts once) or has one weight per token;
  with ``tool_weight`` the tokens of the reply's tool name weigh that much. The tool is
  the reply's one real decision (the arguments are mostly copied from the goal, the rest
  is JSON), yet it is one or two of ~40 learned tokens: measured on the mixed curriculum,
  an adapter at training loss 0.1 still chose the right first tool for only 9 of 16 of
  its own training examples.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: The label of a token that is not learned (PyTorch cross-entropy's ignore index).
IGNORE = -100


@dataclass(frozen=True, slots=True)
class ChatExample:
    """One model step: the messages seen (role, content) and the reply; `template` says
    which generator made it (the unit of the held-out split)."""

    messages: tuple[tuple[str, str], ...]
    reply: str
    template: str = ""

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ChatExample:
        msgs = record["messages"]
        if not msgs or msgs[-1]["role"] != "assistant":
            raise ValueError("a training record must end with the assistant's reply")
        seen = tuple((str(m["role"]), str(m["content"])) for m in msgs[:-1])
        return cls(seen, str(msgs[-1]["content"]), str(record.get("template", "")))


#: Where a reply names its tool (agent.decoding's JSON form: ``{"tool": "files.move", ...``).
_TOOL = re.compile(r'"tool"\s*:\s*"([^"]+)"')


@dataclass(frozen=True, slots=True)
class Encoded:
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    #: Per-token loss weights (empty: all 1); see the module docstring.
    weights: tuple[float, ...] = ()

    @property
    def learned(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE)


def end_of_turn_id(tokenizer: Any) -> int:
    """The token that ends an assistant turn (ChatML's ``<|im_end|>``, else EOS)."""
    vocab = tokenizer.get_vocab()
    if "<|im_end|>" in vocab:
        return int(vocab["<|im_end|>"])
    return int(tokenizer.eos_token_id)


def prompt_ids(tokenizer: Any, messages: Sequence[tuple[str, str]]) -> list[int]:
    chat = [{"role": role, "content": content} for role, content in messages]
    text = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    return list(tokenizer(text, add_special_tokens=True)["input_ids"])


def encode(
    tokenizer: Any, example: ChatExample, max_tokens: int, tool_weight: float = 1.0
) -> Encoded | None:
    """The example's ids and labels, or None when it is longer than `max_tokens`; with a
    `tool_weight` other than 1, the tokens of the reply's tool name weigh that much."""
    prompt = prompt_ids(tokenizer, example.messages)
    found = _TOOL.search(example.reply) if tool_weight != 1.0 else None
    # offsets only when weighing: a slow (non-Rust) tokenizer has none
    piece = tokenizer(example.reply, add_special_tokens=False, return_offsets_mapping=bool(found))
    reply = list(piece["input_ids"])
    reply.append(end_of_turn_id(tokenizer))
    if len(prompt) + len(reply) > max_tokens:
        return None
    weights: tuple[float, ...] = ()
    if found is not None:
        start, end = found.span(1)
        per = [tool_weight if a < end and b > start else 1.0 for a, b in piece["offset_mapping"]]
        weights = tuple([0.0] * len(prompt) + per + [1.0])
    return Encoded(tuple(prompt + reply), tuple([IGNORE] * len(prompt) + reply), weights)


def encode_all(
    tokenizer: Any, examples: Iterable[ChatExample], max_tokens: int, tool_weight: float = 1.0
) -> tuple[list[Encoded], int]:
    """The encoded examples that fit, and how many were dropped for length."""
    out: list[Encoded] = []
    dropped = 0
    for ex in examples:
        enc = encode(tokenizer, ex, max_tokens, tool_weight)
        if enc is None:
            dropped += 1
        else:
            out.append(enc)
    return out, dropped
