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
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class Encoded:
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]

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


def encode(tokenizer: Any, example: ChatExample, max_tokens: int) -> Encoded | None:
    """The example's ids and labels, or None when it is longer than `max_tokens`."""
    prompt = prompt_ids(tokenizer, example.messages)
    reply = list(tokenizer(example.reply, add_special_tokens=False)["input_ids"])
    reply.append(end_of_turn_id(tokenizer))
    if len(prompt) + len(reply) > max_tokens:
        return None
    return Encoded(tuple(prompt + reply), tuple([IGNORE] * len(prompt) + reply))


def encode_all(
    tokenizer: Any, examples: Iterable[ChatExample], max_tokens: int
) -> tuple[list[Encoded], int]:
    """The encoded examples that fit, and how many were dropped for length."""
    out: list[Encoded] = []
    dropped = 0
    for ex in examples:
        enc = encode(tokenizer, ex, max_tokens)
        if enc is None:
            dropped += 1
        else:
            out.append(enc)
    return out, dropped
