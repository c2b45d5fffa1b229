"""The tuned model's compact prompt, the adapter that says it was trained on it, and the
embedded model's default adapter (models/adapters/, off with model.use_adapter)."""

from __future__ import annotations

from pathlib import Path

from agent.prompt import COMPACT, FULL, Transcript, style_of, style_of_system, system_prompt
from agent.settings import load_settings, without_adapter
from models.adapter_meta import prompt_style, shipped_adapter, string_metadata
from models.base import ModelInfo
from models.catalogue import LocalOptions
from tools.registry import Registry, finish_spec


class Named:
    """A model that only says what it is."""

    model_id = "m"

    def __init__(self, style: str) -> None:
        self._style = style

    def info(self) -> ModelInfo:
        return ModelInfo("m", "test", "here", prompt_style=self._style)


def _registry() -> Registry:
    return Registry([finish_spec()])


def test_the_compact_prompt_names_the_tools_and_shows_no_example() -> None:
    transcript = Transcript.start(_registry(), "Say done", "", COMPACT)
    system, goal = transcript.messages
    assert system.role == "system" and "finish" in system.content
    assert goal.content.startswith("Goal: Say done")
    assert style_of_system(system.content) == COMPACT
    assert len(system.content) < len(system_prompt(_registry(), FULL)) / 2


def test_the_full_prompt_is_unchanged_without_a_style() -> None:
    assert Transcript.start(_registry(), "Say done").messages[0].content == system_prompt(
        _registry()
    )
    assert style_of_system(system_prompt(_registry())) == FULL


def test_a_model_says_which_prompt_it_was_tuned_on() -> None:
    assert style_of(Named(COMPACT)) == COMPACT  # type: ignore[arg-type]
    assert style_of(Named("full")) == FULL  # type: ignore[arg-type]
    assert style_of(Named("something else")) == FULL  # type: ignore[arg-type]


def test_the_embedded_model_gets_the_shipped_adapter_unless_adapters_are_off() -> None:
    shipped = shipped_adapter()
    assert shipped is not None and prompt_style(shipped) == COMPACT
    assert "adapter" == string_metadata(shipped)["general.type"]
    options = LocalOptions()
    assert options.adapter_for(embedded=True) == shipped
    assert options.adapter_for(embedded=False) is None
    mine = Path("/tmp/mine.gguf")
    assert LocalOptions(adapter=mine).adapter_for(embedded=True) == mine
    assert LocalOptions(adapter=mine).adapter_for(embedded=False) == mine
    off = LocalOptions(adapter=mine, use_adapter=False)
    assert off.adapter_for(embedded=True) is None and off.adapter_for(embedded=False) is None


def test_no_adapter_settings_turn_every_adapter_off(tmp_path: Path) -> None:
    settings = load_settings({"DESKHAND_HOME": str(tmp_path)})
    assert settings.model.use_adapter
    bare = without_adapter(settings)
    assert not bare.model.use_adapter and bare.model.default == settings.model.default


def test_a_file_that_is_not_an_adapter_reads_as_the_full_prompt(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf")
    assert prompt_style(junk) == FULL
    assert prompt_style(None) == FULL
    assert prompt_style(tmp_path / "missing.gguf") == FULL
