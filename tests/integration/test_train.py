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


def _copy_adapter(src: Path, dst: Path, *, rank: int | None = None, style: str = "compact") -> Path:
    """`src`'s tensors (cut to `rank` when given) in a new adapter file `dst`."""
    import gguf

    writer = gguf.GGUFWriter(str(dst), arch="llama")
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, 32.0)
    writer.add_string("deskhand.prompt_style", style)
    for t in gguf.GGUFReader(str(src)).tensors:
        data = np.asarray(t.data)
        if rank is not None:
            data = data[:rank] if t.name.endswith(".lora_a") else data[:, :rank]
        writer.add_tensor(t.name, np.ascontiguousarray(data))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dst


def _tensors(path: Path) -> dict[str, bytes]:
    import gguf

    return {t.name: np.asarray(t.data).tobytes() for t in gguf.GGUFReader(str(path)).tensors}


def _values(path: Path) -> dict[str, Any]:
    import gguf

    return {t.name: np.asarray(t.data).copy() for t in gguf.GGUFReader(str(path)).tensors}


def test_reading_an_adapter_and_writing_it_again_gives_the_same_bytes(
    tmp_path: Path, embedded_gguf: Path
) -> None:
    from models.adapter_meta import shipped_adapter
    from models.train.adapter import read_adapter_into, write_adapter
    from models.train.base import LoraShape, load_base, with_lora

    shipped = shipped_adapter()
    assert shipped is not None
    model = with_lora(load_base(embedded_gguf, "cpu"), LoraShape())
    assert read_adapter_into(model, shipped, embedded_gguf, alpha=32.0) == 420
    again = tmp_path / "again.gguf"
    learned = adapter_families(shipped)  # the shipped one says browser,files,gui
    write_adapter(model, embedded_gguf, again, alpha=32.0, prompt_style="compact", families=learned)
    assert _tensors(again) == _tensors(shipped)  # q/k rows un-permuted and permuted back
    assert again.read_bytes() == shipped.read_bytes()  # the metadata too


def test_init_with_learning_rate_zero_writes_the_init_back(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "same.gguf"
    args = ["train", "--data", str(trained["data"]), "-o", str(out), "--init"]
    result = CliRunner().invoke(
        cli, [*args, str(trained["adapter"]), *_FAST[:4], "--lr", "0", "--eval-max", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "from: adapter.gguf" in result.output
    assert "starting from the weights of adapter.gguf" in result.output
    # equal values, not bytes: an optimizer step of size 0 may turn a -0.0 into +0.0
    got, init = _values(out), _values(trained["adapter"])
    assert list(got) == list(init) and all(np.array_equal(got[k], init[k]) for k in init)
    assert string_metadata(out) == string_metadata(trained["adapter"])


def test_an_init_adapter_of_another_shape_or_prompt_is_refused_in_one_line(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    rank8 = _copy_adapter(trained["adapter"], tmp_path / "rank8.gguf", rank=8)
    out = tmp_path / "x.gguf"
    args = ["train", "--data", str(trained["data"]), "-o", str(out), *_FAST, "--eval-max", "0"]
    result = CliRunner().invoke(cli, [*args, "--init", str(rank8)])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("deskhand:")]
    assert errors == [
        f"deskhand: cannot start from {rank8}: rank8.gguf has LoRA rank 8, the trainer's "
        "LoRA has 16"
    ]
    assert not out.exists()
    full = _copy_adapter(trained["adapter"], tmp_path / "full.gguf", style="full")
    result = CliRunner().invoke(cli, [*args, "--init", str(full)])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1] == (
        f"deskhand: cannot start from {full}: full.gguf was trained on the full prompt, "
        "the data uses the compact prompt"
    )
    assert not out.exists()


def test_learn_trains_on_top_of_the_default_adapter_when_it_fits(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    from app.learn_personal import LearnPlan, train_from_default

    learn = LearnPlan(trained["records"][:2], [], [], "compact")
    notes: list[str] = []
    kwargs: dict[str, Any] = {"note": notes.append, "steps": 1, "batch": 1, "on_step": None}
    out, start = train_from_default(learn, tmp_path / "a.gguf", trained["adapter"], **kwargs)
    assert start == "adapter.gguf" and out.is_file()
    assert "training on top of the current default adapter, adapter.gguf" in notes
    assert _tensors(out) != _tensors(trained["adapter"])  # it trained (lr 1e-3, one step)

    notes.clear()
    rank8 = _copy_adapter(trained["adapter"], tmp_path / "rank8.gguf", rank=8)
    out, start = train_from_default(learn, tmp_path / "b.gguf", rank8, **kwargs)
    assert start == "scratch (rank8.gguf did not fit)" and out.is_file()
    assert any(n.startswith("rank8.gguf does not fit the trainer (") for n in notes), notes
    assert not any(n.startswith("starting from the weights") for n in notes)
