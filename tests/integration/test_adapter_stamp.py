"""Stamping an adapter with the tool families it learned, without retraining
(``python -m models.train.stamp``): the key is set, every other key and every tensor's
bytes are unchanged, and llama.cpp loads the stamped file and computes exactly what it
computed with the original. A bad family name changes nothing. A run given the browser
(``deskhand run --start-url``, real page, real embedded model, real journal) keeps the
default adapter only once the adapter says it learned the browser.

Needs gguf-py (the train extra) to rewrite the file: skipped without it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

gguf = pytest.importorskip("gguf", reason="the train extra is not installed (deskhand[train])")

from pages.server import Site, serve_pages  # noqa: E402

from agent.journal import Journal  # noqa: E402
from agent.learn_gate import personal_store  # noqa: E402
from agent.settings import load_settings  # noqa: E402
from models.adapter_meta import (  # noqa: E402
    FAMILIES_KEY,
    adapter_families,
    shipped_adapter,
    string_metadata,
)
from models.base import Message, adapter_id  # noqa: E402
from models.llamacpp import LlamaCppModel  # noqa: E402
from models.train.stamp import main as stamp  # noqa: E402

DESKHAND = str(Path(sys.executable).parent / "deskhand")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the shipped adapter that says it learned files only (the shipped one
    learned the browser and the GUI too)."""
    shipped = shipped_adapter()
    assert shipped is not None, "models/adapters/ lacks the embedded model's adapter"
    out = tmp_path / "adapter.gguf"
    shutil.copyfile(shipped, out)
    assert stamp([str(out), "--families", "files"]) == 0
    return out


def _tensors(path: Path) -> dict[str, tuple[int, tuple[int, ...], bytes]]:
    reader = gguf.GGUFReader(str(path))
    return {
        t.name: (int(t.tensor_type), tuple(int(n) for n in t.shape), t.data.tobytes())
        for t in reader.tensors
    }


def test_stamping_sets_the_families_and_keeps_everything_else(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = copy.with_name("original.gguf")
    shutil.copyfile(copy, original)
    before = string_metadata(copy)
    assert before.pop(FAMILIES_KEY) == "files" and adapter_families(copy) == {"files"}
    capsys.readouterr()

    assert stamp([str(copy), "--families", "gui, files,browser"]) == 0
    assert "families files -> browser,files,gui" in capsys.readouterr().out
    after = string_metadata(copy)
    assert after.pop(FAMILIES_KEY) == "browser,files,gui"
    assert after == before
    assert adapter_families(copy) == {"browser", "files", "gui"}
    alpha = gguf.GGUFReader(str(copy)).fields["adapter.lora.alpha"].contents()
    assert alpha == gguf.GGUFReader(str(original)).fields["adapter.lora.alpha"].contents()
    tensors = _tensors(copy)
    assert len(tensors) == 420 and tensors == _tensors(original)

    assert stamp([str(copy), "--families", "browser,files"]) == 0  # replaced, not added
    assert string_metadata(copy)[FAMILIES_KEY] == "browser,files"
    assert _tensors(copy) == tensors
    assert sorted(p.name for p in copy.parent.iterdir()) == ["adapter.gguf", "original.gguf"]


def test_a_bad_family_name_leaves_the_file_as_it_was(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy.read_bytes()
    assert stamp([str(copy), "--families", "files,Web Pages"]) == 2
    assert "not family names: Web Pages" in capsys.readouterr().err
    assert copy.read_bytes() == data
    junk = copy.with_name("junk.gguf")
    junk.write_bytes(b"not a gguf at all")
    assert stamp([str(junk), "--families", "files"]) == 2
    assert junk.read_bytes() == b"not a gguf at all"
    assert sorted(p.name for p in copy.parent.iterdir()) == ["adapter.gguf", "junk.gguf"]


def _logits(base: Path, adapter: Path) -> Any:
    model = LlamaCppModel(base, n_ctx=1024, n_threads=2, lora_path=adapter)
    try:
        assert "adapter: " in model.info().detail
        model.complete([Message(role="user", content="Make a folder named notes")], max_tokens=1)
        return model.logits().copy()
    finally:
        model.close()


@pytest.mark.model
def test_llama_cpp_loads_the_stamped_adapter_and_computes_the_same(
    copy: Path, embedded_gguf: Path
) -> None:
    original = copy.with_name("original.gguf")
    shutil.copyfile(copy, original)
    assert stamp([str(copy), "--families", "browser,files,gui"]) == 0
    stamped, before = _logits(embedded_gguf, copy), _logits(embedded_gguf, original)
    assert np.array_equal(stamped, before)
    bare = LlamaCppModel(embedded_gguf, n_ctx=1024, n_threads=2)
    try:
        bare.complete([Message(role="user", content="Make a folder named notes")], max_tokens=1)
        assert not np.array_equal(bare.logits(), before)  # the adapter is really applied
    finally:
        bare.close()


def _browser_run_adapter(deskhand_home: Path, site: Site, workspace: Path) -> str:
    """Run a goal on a real page with the embedded model for one step; the adapter id
    its model step was journaled with ("" when it ran bare)."""
    proc = subprocess.run(
        [DESKHAND, "run", "Type Ada into the Full name box", "--start-url", site.url("form.html"),
         "--max-steps", "1", "-w", str(workspace), "--json"],
        capture_output=True, text=True, timeout=400, env=dict(os.environ),
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    (finished,) = [e for e in events if e["event"] == "RunFinished"]
    settings = load_settings(dict(os.environ))
    with Journal(settings.journal_path) as journal:
        steps = journal.trajectory(str(finished["run_id"])).steps
    assert steps
    (adapter,) = {s.adapter_id for s in steps}
    return adapter


@pytest.mark.model
def test_a_browser_run_keeps_the_default_adapter_only_once_it_says_it_learned_the_browser(
    copy: Path, deskhand_home: Path, embedded_gguf: Path, tmp_path: Path
) -> None:
    config = deskhand_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text("[browser]\nheadless = true\n")
    settings = load_settings(dict(os.environ))
    store = personal_store(settings.data_dir)
    files_only = store.add(copy, {}, accepted=True, reason="files only")
    assert stamp([str(copy), "--families", "browser,files"]) == 0
    web = store.add(copy, {}, accepted=True, reason="learned the browser")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    with serve_pages() as site:
        store.promote(files_only)  # the default now: read as files only
        assert _browser_run_adapter(deskhand_home, site, workspace) == ""
        store.promote(web)
        assert _browser_run_adapter(deskhand_home, site, workspace) == adapter_id(store.path(web))
