"""The trainer's tool weight (``deskhand train --tool-weight W``): the tokens that name a
reply's tool weigh W in the loss, every other learned token 1, prompt tokens 0; with all
weights 1 the weighted loss is the model's own mean loss, both with gradients through the
prompt (`example_loss`) and through the reply only (`reply_loss`).

Needs the optional train extra (torch, transformers, peft): skipped without it, as in CI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

for _name in ("torch", "transformers", "peft", "gguf"):
    pytest.importorskip(_name, reason="the train extra is not installed (deskhand[train])")

from models.train.base import LoraShape, load_base, load_tokenizer, with_lora  # noqa: E402
from models.train.examples import IGNORE, ChatExample, Encoded, encode  # noqa: E402
from models.train.loop import example_loss, reply_loss  # noqa: E402

pytestmark = pytest.mark.model

REPLY = {"tool": "files.make_folder", "args": {"path": "reports"}, "thought": "Make it."}
EXAMPLE = ChatExample(
    (("system", "You are deskhand."), ("user", "Goal: Create a folder named reports")),
    json.dumps(REPLY),
    "files.make_folder",
)


@pytest.fixture(scope="module")
def parts(embedded_gguf: Path) -> tuple[Any, Any]:
    tokenizer = load_tokenizer(embedded_gguf)
    return tokenizer, with_lora(load_base(embedded_gguf, "cpu"), LoraShape())


def test_only_the_tool_name_weighs_more(parts: tuple[Any, Any]) -> None:
    tokenizer, _ = parts
    plain = encode(tokenizer, EXAMPLE, 2048)
    heavy = encode(tokenizer, EXAMPLE, 2048, tool_weight=5.0)
    assert plain is not None and heavy is not None
    assert plain.weights == () and heavy.input_ids == plain.input_ids
    assert heavy.labels == plain.labels
    named = [t for t, w in zip(heavy.input_ids, heavy.weights, strict=True) if w == 5.0]
    assert tokenizer.decode(named) == "files.make_folder"
    prompt = [w for w, label in zip(heavy.weights, heavy.labels, strict=True) if label == IGNORE]
    assert set(prompt) == {0.0}


def test_unit_weights_give_the_plain_loss(parts: tuple[Any, Any]) -> None:
    tokenizer, model = parts
    plain = encode(tokenizer, EXAMPLE, 2048)
    heavy = encode(tokenizer, EXAMPLE, 2048, tool_weight=5.0)
    assert plain is not None and heavy is not None
    ones = Encoded(
        plain.input_ids, plain.labels, tuple(float(label != IGNORE) for label in plain.labels)
    )
    base = float(example_loss(model, plain, "cpu"))
    assert float(example_loss(model, ones, "cpu")) == pytest.approx(base, rel=1e-5)
    assert float(reply_loss(model, ones, "cpu")) == pytest.approx(base, rel=1e-4)
    assert float(reply_loss(model, heavy, "cpu")) != pytest.approx(base, rel=1e-3)
