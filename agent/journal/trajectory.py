"""Model calls as the journal keeps them, and the `Trajectory` rebuilt from them.

For every model step the journal keeps the messages the model received, its raw reply,
the decoding settings (`Decoding`) and the model and adapter ids, so any step can be
rebuilt byte for byte as a training example (ARCHITECTURE.md, "Learning").

Storage: a run's transcript is append-only (agent/prompt.py), so a step's messages are
the previous step's plus the newest reply and result. A row therefore keeps only the
messages after the previous step's (``prefix_len`` = how many it shares, all of them);
the first step of a run keeps the whole list. That assumption is checked at write time:
a step whose messages do not extend the previous step's (a task file's ``agent:`` step
starts a transcript of its own) is kept whole (``prefix_len`` 0).

Invariants:
- Messages are encoded as JSON with ASCII escapes, so every string, lone surrogates
  included, decodes to itself; the reply is kept as the text the model returned.
- Each row carries the sha256 of its step's whole message list (`messages_digest`); the
  reader checks every rebuilt list against it and raises `BrokenTrajectory` on a mismatch,
  so a rebuilt prompt is exactly the one the model saw, or an error, never a near miss.
- This module is pure: it turns values into rows and rows into values; the store
  (agent/journal/store.py) runs the SQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.base import Message

Row = dict[str, Any]


class BrokenTrajectory(ValueError):
    """The journaled model calls do not rebuild to the messages they were recorded from."""


@dataclass(frozen=True, slots=True)
class Decoding:
    """How a reply was decoded: its token budget, temperature (0: greedy) and the hash of
    the JSON schema it was constrained to ("" when unconstrained)."""

    max_tokens: int
    temperature: float = 0.0
    schema_hash: str = ""


@dataclass(frozen=True, slots=True)
class ModelStep:
    """One model step, rebuilt: exactly what the model was given and what it replied."""

    step: int
    messages: tuple[Message, ...]
    reply: str
    model_id: str
    #: The LoRA adapter applied on top of the model ("" when none), see models/base.py.
    adapter_id: str
    decoding: Decoding
    created_at: float


@dataclass(frozen=True, slots=True)
class Trajectory:
    """Every journaled model step of one run, in step order."""

    run_id: str
    steps: tuple[ModelStep, ...]


def schema_hash(schema: Mapping[str, Any] | None) -> str:
    """A short, stable hash of a JSON schema (key order does not matter)."""
    if schema is None:
        return ""
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def encode_messages(messages: Sequence[Message]) -> str:
    return json.dumps([[m.role, m.content] for m in messages], separators=(",", ":"))


def decode_messages(text: str) -> tuple[Message, ...]:
    return tuple(Message(role, content) for role, content in json.loads(text))


def messages_digest(messages: Sequence[Message]) -> str:
    return hashlib.sha256(encode_messages(messages).encode("ascii")).hexdigest()


def extends(previous: Sequence[Message] | None, messages: Sequence[Message]) -> bool:
    """Whether `messages` are `previous` plus messages appended after it."""
    if previous is None or len(previous) > len(messages):
        return False
    return all(a == b for a, b in zip(previous, messages, strict=False))


def call_row(
    previous: Sequence[Message] | None,
    messages: Sequence[Message],
    *,
    reply: str,
    model_id: str,
    adapter_id: str,
    decoding: Decoding,
) -> Row:
    """The ``model_calls`` columns of one step (without run, step and time): the messages
    after `previous` (the run's last recorded call) when they extend it, else all of them."""
    prefix = len(previous) if previous is not None and extends(previous, messages) else 0
    return {
        "prefix_len": prefix,
        "messages_json": encode_messages(messages[prefix:]),
        "messages_sha256": messages_digest(messages),
        "reply": reply,
        "model_id": model_id,
        "adapter_id": adapter_id,
        "max_tokens": decoding.max_tokens,
        "temperature": decoding.temperature,
        "schema_hash": decoding.schema_hash,
    }


def rebuild(run_id: str, rows: Iterable[Row]) -> Trajectory:
    """The trajectory of `rows` (one run's ``model_calls``, in step order)."""
    steps: list[ModelStep] = []
    previous: tuple[Message, ...] = ()
    for row in rows:
        prefix = int(row["prefix_len"])
        if prefix > len(previous):
            raise BrokenTrajectory(
                f"run {run_id} step {row['step_idx']}: extends {prefix} messages, "
                f"the previous call had {len(previous)}"
            )
        messages = previous[:prefix] + decode_messages(row["messages_json"])
        if messages_digest(messages) != row["messages_sha256"]:
            raise BrokenTrajectory(
                f"run {run_id} step {row['step_idx']}: the rebuilt messages do not match"
            )
        decoding = Decoding(
            int(row["max_tokens"] or 0), float(row["temperature"] or 0.0), row["schema_hash"] or ""
        )
        steps.append(
            ModelStep(
                step=int(row["step_idx"]),
                messages=messages,
                reply=str(row["reply"]),
                model_id=str(row["model_id"] or ""),
                adapter_id=str(row["adapter_id"] or ""),
                decoding=decoding,
                created_at=float(row["created_at"] or 0.0),
            )
        )
        previous = messages
    return Trajectory(run_id, tuple(steps))
