"""The browser tool in the engine: registered only when wanted, started only when used,
playwright imported only by the driver, every reply schema enforceable by the decoder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent import assemble
from agent.settings import load_settings
from models.constrained import check_supported
from tools.base import ToolFailure
from tools.browser.base import Browser
from tools.browser.tool import BrowserTool
from tools.paths import Workspace

ROOT = Path(__file__).resolve().parents[2]


def never_started() -> Browser:
    raise AssertionError("the browser must not start")


def test_importing_the_engine_and_the_tool_does_not_import_playwright() -> None:
    code = (
        "import sys, agent.assemble, app.cli, tools.browser.tool, tools.browser.observe;"
        "sys.exit(1 if 'playwright' in sys.modules else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_playwright_contract_is_declared_and_kept() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert "playwright is imported only by the browser driver KEPT" in proc.stdout, proc.stdout


def test_file_only_runs_have_no_browser_tools(deskhand_home: Path, workspace: Path) -> None:
    settings = load_settings({"DESKHAND_HOME": str(deskhand_home)})
    names = assemble.registry(settings, [workspace]).names()
    assert not [n for n in names if n.startswith("browser.")]


def test_browser_specs_start_nothing_and_fit_the_decoder(workspace: Path) -> None:
    tool = BrowserTool(never_started, Workspace((workspace,)), secrets=lambda n: None)
    settings = load_settings({"DESKHAND_HOME": str(workspace / "home")})
    registry = assemble.registry(settings, [workspace], tool)
    browser_names = [n for n in registry.names() if n.startswith("browser.")]
    assert browser_names == [
        "browser.open", "browser.back", "browser.forward", "browser.look", "browser.click",
        "browser.type", "browser.select", "browser.check", "browser.scroll", "browser.hover",
        "browser.press", "browser.extract", "browser.wait_for_text", "browser.switch_tab",
        "browser.close_tab", "browser.screenshot", "browser.download",
    ]  # fmt: skip
    check_supported(registry.action_schema())
    assert all(spec.thread_bound for spec in registry if spec.name.startswith("browser."))
    for spec in registry:
        if spec.example is not None:
            spec.args.model_validate(dict(spec.example))
    assert not tool.started


def test_effects_before_any_page_fail_without_starting(workspace: Path) -> None:
    tool = BrowserTool(never_started, Workspace((workspace,)), secrets=lambda n: None)
    specs = {s.name: s for s in tool.specs()}
    for name, args in (("browser.back", {}), ("browser.click", {"element": 1}),
                       ("browser.screenshot", {"path": ""})):  # fmt: skip
        spec = specs[name]
        with pytest.raises(ToolFailure) as info:
            spec.effect(spec.args.model_validate(args))
        assert info.value.kind == "no_page"
    effect = specs["browser.open"].effect(
        specs["browser.open"].args.model_validate({"url": "example.org"})
    )
    assert (effect.capability, effect.scope) == ("browser.navigate", "example.org")
    assert not tool.started
