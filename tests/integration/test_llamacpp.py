"""The in-process llama.cpp backend with the real embedded model."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from models.base import ContextOverflow, Message, ModelCancelled

pytestmark = pytest.mark.model

SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "thought": {"type": "string", "maxLength": 120},
                "tool": {"const": name},
                "args": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "minLength": 1},
                        "count": {"type": "integer"},
                    },
                },
            },
        }
        for name in ("files.make_folder", "files.list", "finish")
    ]
}
SYSTEM = Message(
    "system", 'You are an agent. Reply with JSON: {"thought": ..., "tool": ..., "args": {...}}'
)


def test_reply_always_satisfies_the_schema(embedded_model: Any) -> None:
    for goal in (
        "Create a folder named reports",
        "List the files",
        "Say hi",
        'ünïcödé ✓ "quotes" \\ back',
    ):
        c = embedded_model.complete([SYSTEM, Message("user", goal)], schema=SCHEMA, max_tokens=64)
        doc = json.loads(c.text)
        assert doc["tool"] in ("files.make_folder", "files.list", "finish")
        assert isinstance(doc["args"]["path"], str) and doc["args"]["path"]
        assert isinstance(doc["args"]["count"], int)
        assert c.usage.prompt_tokens > 0 and c.usage.completion_tokens > 0


def test_prompt_prefix_is_reused_between_steps(embedded_model: Any) -> None:
    msgs = [SYSTEM, Message("user", "Create a folder named reports")]
    first = embedded_model.complete(msgs, schema=SCHEMA, max_tokens=64)
    msgs += [Message("assistant", first.text), Message("user", "Result: ok")]
    second = embedded_model.complete(msgs, schema=SCHEMA, max_tokens=64)
    # The previous prompt and the reply, as generated, come from the cache; only the
    # reply's last forced piece (never fed) and the new message are evaluated.
    assert (
        second.usage.cached_tokens >= first.usage.prompt_tokens + first.usage.completion_tokens - 4
    )
    assert second.usage.evaluated_tokens <= 20


def test_spliced_reply_tokens_spell_the_same_prompt(embedded_model: Any) -> None:
    msgs = [SYSTEM, Message("user", "List the files")]
    first = embedded_model.complete(msgs, schema=SCHEMA, max_tokens=64)
    msgs += [Message("assistant", first.text), Message("user", "Result: ok")]
    spliced = embedded_model.prompt_tokens(msgs)
    memo = dict(embedded_model._replies)
    embedded_model._replies.clear()
    try:
        canonical = embedded_model.prompt_tokens(msgs)
    finally:
        embedded_model._replies.update(memo)
    assert spliced != canonical  # the reply really is spliced, not re-tokenized
    llm = embedded_model._llm
    assert llm.detokenize(spliced, special=True) == llm.detokenize(canonical, special=True)


def test_stop_flag_lands_within_one_token_and_the_model_stays_usable(embedded_model: Any) -> None:
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    with pytest.raises(ModelCancelled):
        embedded_model.complete(
            [SYSTEM, Message("user", "Write a long story")], schema=SCHEMA, should_stop=stop
        )
    assert calls["n"] == 6
    after = embedded_model.complete(
        [SYSTEM, Message("user", "List the files")], schema=SCHEMA, max_tokens=64
    )
    assert json.loads(after.text)["tool"]


def test_free_text_without_schema(embedded_model: Any) -> None:
    c = embedded_model.complete([Message("user", "Say hello in one word.")], max_tokens=16)
    assert c.text.strip() and c.usage.completion_tokens <= 16


def test_prompt_longer_than_the_context_is_refused(embedded_model: Any) -> None:
    with pytest.raises(ContextOverflow):
        embedded_model.complete([Message("user", "word " * 5000)], schema=SCHEMA)


def test_only_one_thread_may_use_a_model(embedded_model: Any) -> None:
    embedded_model.complete([Message("user", "hi")], max_tokens=2)
    errors: list[BaseException] = []

    def other() -> None:
        try:
            embedded_model.complete([Message("user", "hi")], max_tokens=2)
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert errors and "one thread" in str(errors[0])


def test_info_reports_file_and_offload(embedded_model: Any, embedded_gguf: Any) -> None:
    info = embedded_model.info()
    assert info.location == str(embedded_gguf) and info.kind == "gguf"
    assert isinstance(info.gpu_offload, bool)


def test_weights_are_not_repacked_unless_asked(embedded_model: Any, embedded_gguf: Any) -> None:
    """The opt-in loads in a model process of its own: on an AMX CPU it may crash
    there, which must then stay a `ModelCrashed`, never a crash of this process."""
    from models.base import ModelCrashed
    from models.host import HostedModel, LoadSpec
    from models.llamacpp import cpu_has_amx

    assert embedded_model.cpu_repack is False
    assert "cpu repack: off" in embedded_model.info().detail
    opted = HostedModel(LoadSpec(embedded_gguf, n_ctx=1024, cpu_repack=True))
    try:
        assert "cpu repack: on" in opted.info().detail
        prompt = [SYSTEM, Message("user", "List the files " * 40)]
        try:
            reply = opted.complete(prompt, schema=SCHEMA, max_tokens=64)
        except ModelCrashed:
            assert cpu_has_amx(), "the repacked path crashed on a CPU without AMX"
        else:
            assert json.loads(reply.text)["tool"]
    finally:
        opted.close()
