"""``deskhand train`` end to end: 16 curriculum examples, 2 steps, a GGUF adapter that
llama.cpp loads through `LlamaCppModel(lora_path=...)` and that changes the model's
output; the assistant-only loss mask; resuming from a checkpoint.

Needs the optional train extra (torch, transformers, peft, gguf): skipped without it,
which is how CI runs (the extra is not part of the test install).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

for _name in ("torch", "transformers", "peft", "gguf"):
    pytest.importorskip(_name, reason="the train extra is not installed (deskhand[train])")

from typer.testing import CliRunner  # noqa: E402

from agent.learn import generate, run_sample, write_jsonl  # noqa: E402
from agent.settings import load_settings  # noqa: E402
from app.cli import cli  # noqa: E402
from models.adapter_meta import (  # noqa: E402
    FAMILIES_KEY,
    adapter_families,
    prompt_style,
    string_metadata,
)
from models.base import Message  # noqa: E402
from models.llamacpp import LlamaCppModel  # noqa: E402

pytestmark = pytest.mark.model

#: High enough that two steps of one example each move the output measurably.
_FAST = ["--steps", "2", "--batch", "1", "--lr", "1e-2", "--held-out-fraction", "0"]


def _records(home: Path, n: int) -> list[dict[str, Any]]:
    settings = load_settings({"DESKHAND_HOME": str(home)})
    buf = io.StringIO()
    kept = (run_sample(s, settings) for s in generate(1, 7, ["files"]))
    write_jsonl((t for t in kept if t is not None), buf)
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert len(lines) >= n
    return lines[:n]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, embedded_gguf: Path) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("train")
    data = folder / "data.jsonl"
    records = _records(folder / "home", 16)
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    adapter = folder / "adapter.gguf"
    args = ["train", "--data", str(data), "-o", str(adapter), *_FAST, "--checkpoint-every", "1"]
    result = CliRunner().invoke(cli, [*args, "--eval-max", "0"])
    assert result.exit_code == 0, result.output
    return {"data": data, "adapter": adapter, "records": records, "output": result.output}


def _last_logits(model: LlamaCppModel, messages: list[Message]) -> Any:
    model.complete(messages, max_tokens=1)
    return model.logits().copy()


def test_adapter_loads_in_llama_cpp_and_changes_the_output(
    trained: dict[str, Any], embedded_gguf: Path
) -> None:
    assert "16 training examples" in trained["output"]
    assert "steps 2" in trained["output"]
    record = trained["records"][0]
    messages = [Message(role=m["role"], content=m["content"]) for m in record["messages"][:-1]]
    base = LlamaCppModel(embedded_gguf, n_ctx=4096, n_threads=2)
    tuned = LlamaCppModel(embedded_gguf, n_ctx=4096, n_threads=2, lora_path=trained["adapter"])
    try:
        assert "adapter: " in tuned.info().detail and "adapter" not in base.info().detail
        before, after = _last_logits(base, messages), _last_logits(tuned, messages)
    finally:
        base.close()
        tuned.close()
    assert float(np.max(np.abs(before - after))) > 0.1


def test_resume_continues_the_step_count(trained: dict[str, Any]) -> None:
    checkpoints = Path(str(trained["adapter"]) + ".checkpoints")
    assert (checkpoints / "state.pt").is_file()
    more = trained["adapter"].with_name("more.gguf")
    args = ["train", "--data", str(trained["data"]), "-o", str(more), *_FAST[2:]]
    result = CliRunner().invoke(
        cli, [*args, "--steps", "3", "--resume", str(checkpoints), "--eval-max", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "steps 3" in result.output and "3/3" in result.output
    assert more.is_file()
    other_lr = [a if a != "1e-2" else "1e-3" for a in args]
    refused = CliRunner().invoke(cli, [*other_lr, "--steps", "4", "--resume", str(checkpoints)])
    assert refused.exit_code == 2 and "cannot resume" in refused.output


def test_only_assistant_tokens_have_labels(
    tmp_path: Path, embedded_gguf: Path, embedded_model: LlamaCppModel
) -> None:
    from models.train.base import load_tokenizer
    from models.train.examples import IGNORE, ChatExample, encode

    tokenizer = load_tokenizer(embedded_gguf)
    example = ChatExample.from_record(_records(tmp_path / "home", 1)[0])
    enc = encode(tokenizer, example, max_tokens=4096)
    assert enc is not None and len(enc.input_ids) == len(enc.labels)
    messages = [Message(role=r, content=c) for r, c in example.messages]
    prompt = embedded_model.prompt_tokens(messages)  # what llama.cpp feeds at run time
    n = len(prompt)
    assert list(enc.input_ids[:n]) == prompt
    assert set(enc.labels[:n]) == {IGNORE}
    assert list(enc.labels[n:]) == list(enc.input_ids[n:])
    assert tokenizer.decode(list(enc.labels[n:])) == example.reply + "<|im_end|>"
    assert encode(tokenizer, example, max_tokens=n) is None  # too long: dropped, not cut


def test_the_adapter_records_the_prompt_its_examples_were_made_with(
    trained: dict[str, Any],
) -> None:
    assert "prompt: compact" in trained["output"]
    assert prompt_style(trained["adapter"]) == "compact"


def test_the_adapter_records_the_tool_families_of_its_templates(
    trained: dict[str, Any],
) -> None:
    assert {str(r["template"]).split(".")[0] for r in trained["records"]} == {"files"}
    assert string_metadata(trained["adapter"])[FAMILIES_KEY] == "files"
    assert adapter_families(trained["adapter"]) == {"files"}
    assert "families: files)" in trained["output"]


def test_training_data_of_two_prompt_styles_is_refused(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    full = _records(tmp_path / "home", 1)[0]
    full["messages"][0]["content"] = "You are deskhand, an agent (the full prompt)."
    mixed = tmp_path / "mixed.jsonl"
    lines = [*trained["records"][:2], full]
    mixed.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    args = ["train", "--data", str(mixed), "-o", str(tmp_path / "x.gguf"), *_FAST]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "mixes prompt styles" in result.output
    assert not (tmp_path / "x.gguf").exists()
