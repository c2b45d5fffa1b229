"""An adapter says which tool families it learned (``deskhand.families``), and a run given
the browser or the GUI keeps the default adapter only when it learned them
(`agent.settings.adapter_scope`). The adapters here are real GGUF headers written byte by
byte (what models.adapter_meta reads: the header and key-value section, no tensors)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from agent.settings import Settings, adapter_scope, load_settings
from models.adapter_meta import (
    FAMILIES_KEY,
    PROMPT_STYLE_KEY,
    UNLABELLED_FAMILIES,
    adapter_families,
    families_of,
    format_families,
    prompt_style,
    string_metadata,
)


def _text(value: str) -> bytes:
    data = value.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def gguf_header(path: Path, strings: dict[str, str]) -> Path:
    """A GGUF v3 file with no tensors, a float key first (skipped by the reader), then
    the string keys `strings`."""
    body = _text("adapter.lora.alpha") + struct.pack("<I", 6) + struct.pack("<f", 32.0)
    for key, value in strings.items():
        body += _text(key) + struct.pack("<I", 8) + _text(value)
    head = b"GGUF" + struct.pack("<I", 3) + struct.pack("<Q", 0)
    path.write_bytes(head + struct.pack("<Q", len(strings) + 1) + body)
    return path


def test_families_come_from_the_text_before_a_templates_first_dot() -> None:
    templates = ["files.write", "files.copy", "browser.click_button", "gui.type_text"]
    assert families_of(templates) == {"files", "browser", "gui"}
    assert families_of(["user.browser.search", "user.files.make"]) == {"browser", "files"}
    assert families_of(["journal", "", "Files.write"]) == frozenset()  # no generator named


def test_the_value_is_sorted_names_joined_by_commas() -> None:
    assert format_families(["gui", "files", "browser", "files"]) == "browser,files,gui"
    for bad in (["browser,gui"], ["Browser"], [""], []):
        with pytest.raises(ValueError):
            format_families(bad)


def test_an_adapter_reads_its_families_and_one_without_the_key_learned_files(
    tmp_path: Path,
) -> None:
    labelled = gguf_header(
        tmp_path / "a.gguf", {PROMPT_STYLE_KEY: "compact", FAMILIES_KEY: "browser,files,gui"}
    )
    assert adapter_families(labelled) == {"browser", "files", "gui"}
    assert prompt_style(labelled) == "compact"
    old = gguf_header(tmp_path / "old.gguf", {PROMPT_STYLE_KEY: "compact"})
    assert FAMILIES_KEY not in string_metadata(old)
    assert adapter_families(old) == UNLABELLED_FAMILIES == {"files"}
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf")
    assert adapter_families(junk) == {"files"}
    assert adapter_families(tmp_path / "missing.gguf") == {"files"}


def _named(settings: Settings, adapter: Path) -> Settings:
    return settings.model_copy(
        update={"model": settings.model.model_copy(update={"adapter": adapter})}
    )


def test_a_browser_or_gui_run_keeps_the_default_adapter_only_if_it_learned_them(
    tmp_path: Path,
) -> None:
    settings = load_settings({"DESKHAND_HOME": str(tmp_path)})
    files = gguf_header(tmp_path / "files.gguf", {})  # the first shipped one: no key
    web = gguf_header(tmp_path / "web.gguf", {FAMILIES_KEY: "browser,files"})
    every = gguf_header(tmp_path / "all.gguf", {FAMILIES_KEY: "browser,files,gui"})

    def kept(adapter: Path | None, *, browser: bool = False, gui: bool = False) -> bool:
        scoped = adapter_scope(settings, adapter, browser=browser, gui=gui)
        return scoped.model.use_adapter

    assert kept(files) and kept(web) and kept(every)  # file runs keep any adapter
    assert not kept(files, browser=True) and not kept(files, gui=True)
    assert kept(web, browser=True) and not kept(web, gui=True)
    assert not kept(web, browser=True, gui=True)
    assert kept(every, browser=True) and kept(every, gui=True)
    assert kept(every, browser=True, gui=True)
    assert kept(None, browser=True, gui=True)  # no adapter: nothing to turn off
    bare = adapter_scope(settings, files, browser=True, gui=False)
    assert bare.model.default == settings.model.default  # only the adapter changed


def test_an_adapter_the_user_named_runs_as_named(tmp_path: Path) -> None:
    files = gguf_header(tmp_path / "files.gguf", {})
    named = _named(load_settings({"DESKHAND_HOME": str(tmp_path)}), files)
    assert adapter_scope(named, files, browser=True, gui=True).model.use_adapter
