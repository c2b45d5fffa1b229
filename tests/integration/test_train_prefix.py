"""A training step runs the prompt tokens its examples share once (`shared_prefix`):
the losses and gradients are those of each example run alone.

Needs the optional train extra (torch, transformers, peft): skipped without it, as in CI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

for _name in ("torch", "transformers", "peft", "gguf"):
    pytest.importorskip(_name, reason="the train extra is not installed (deskhand[train])")

import torch  # noqa: E402

from models.train.base import LoraShape, load_base, load_tokenizer, with_lora  # noqa: E402
from models.train.examples import ChatExample, Encoded, encode  # noqa: E402
from models.train.loop import reply_loss, reply_start, shared_prefix  # noqa: E402

pytestmark = pytest.mark.model

SYSTEM = ("system", "You are deskhand. Tools: files.make_folder, files.write, finish.")


def _example(goal: str, tool: str, path: str) -> ChatExample:
    reply = {"tool": tool, "args": {"path": path}, "thought": "Do it."}
    return ChatExample((SYSTEM, ("user", f"Goal: {goal}")), json.dumps(reply), tool)


@pytest.fixture(scope="module")
def parts(embedded_gguf: Path) -> tuple[Any, list[Encoded]]:
    tokenizer = load_tokenizer(embedded_gguf)
    model = with_lora(load_base(embedded_gguf, "cpu"), LoraShape())
    torch.manual_seed(0)
    for name, param in model.named_parameters():
        if "lora_B" in name:  # a trained LoRA: the prompt's keys and values depend on it
            param.data.normal_(0.0, 0.02)
    batch = [
        _example("Create a folder named reports", "files.make_folder", "reports"),
        _example("Write hello into notes.txt", "files.write", "notes.txt"),
        _example("Make the folder drafts/old", "files.make_folder", "drafts/old"),
    ]
    encoded = [encode(tokenizer, ex, 2048, tool_weight=5.0) for ex in batch]
    assert all(enc is not None for enc in encoded)
    return model, [enc for enc in encoded if enc is not None]


def _grads(model: Any) -> list[torch.Tensor]:
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


def test_the_prefix_is_what_every_prompt_starts_with(parts: tuple[Any, list[Encoded]]) -> None:
    model, batch = parts
    prefix = shared_prefix(model, batch, "cpu")
    assert prefix is not None
    assert all(ex.input_ids[: prefix.length] == batch[0].input_ids[: prefix.length] for ex in batch)
    assert len({ex.input_ids[prefix.length] for ex in batch}) > 1  # the longest such
    assert prefix.length < min(reply_start(ex) for ex in batch)
    assert shared_prefix(model, batch[:1], "cpu") is None


def test_shared_prefix_gives_the_same_loss_and_gradients(
    parts: tuple[Any, list[Encoded]],
) -> None:
    model, batch = parts
    model.zero_grad()
    alone = [reply_loss(model, ex, "cpu") for ex in batch]
    sum(alone).backward()
    expected = _grads(model)
    model.zero_grad()
    prefix = shared_prefix(model, batch, "cpu")
    shared = [reply_loss(model, ex, "cpu", prefix) for ex in batch]
    sum(shared).backward()
    for a, b in zip(alone, shared, strict=True):
        assert float(b) == pytest.approx(float(a), rel=1e-4)
    got = _grads(model)
    assert len(got) == len(expected) > 0
    for a, b in zip(expected, got, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-6)
