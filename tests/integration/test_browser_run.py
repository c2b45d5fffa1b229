"""The browser tool inside whole runs: the agent loop with a scripted model, and
``deskhand run GOAL --start-url URL`` on the command line (scripted, and with the real
embedded model)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from pages.runs import on, reply, run_browser_task
from pages.server import Site, act, make_tool, serve_pages
from typer.testing import CliRunner

from agent.approval import AlwaysDeny
from agent.events import ActionFinished, RunFinished
from agent.journal import Journal
from app.cli import CliContext, cli
from models.constrained import check_supported
from models.scripted import ScriptedModel
from tools.registry import Registry

DESKHAND = str(Path(sys.executable).parent / "deskhand")
FILL_THE_FORM = [
    on("Full name", "browser.type", text="Ada Lovelace", submit=False),
    on("Email", "browser.type", text="ada@example.org", submit=False),
    on("Country", "browser.select", option="France"),
    on("I agree to the terms", "browser.check", checked=True),
    on("Sign up", "browser.click", confirm=False),
    reply("browser.wait_for_text", text="Thank you", timeout_s=5),
    reply("finish", message="Signed up."),
]


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve_pages() as s:
        yield s


@pytest.fixture
def headless(deskhand_home: Path) -> None:
    (deskhand_home / "config").mkdir(parents=True, exist_ok=True)
    (deskhand_home / "config" / "config.toml").write_text("[browser]\nheadless = true\n")


def test_the_agent_loop_fills_and_submits_a_form(
    site: Site, workspace: Path, deskhand_home: Path
) -> None:
    run = run_browser_task(
        deskhand_home,
        workspace,
        site.url("form.html"),
        FILL_THE_FORM,
        approver=AlwaysDeny(),  # nothing is asked: the run's grants cover every action
        grants=["browser.input:127.0.0.1"],
        goal="Sign up as Ada Lovelace from France",
    )

    finished = run.events[-1]
    assert isinstance(finished, RunFinished) and finished.outcome == "success", finished
    done = [e for e in run.events if isinstance(e, ActionFinished)]
    assert all(e.result.ok for e in done), [e.result for e in done]
    assert "Thank you Ada Lovelace from fr (agreed)" in done[4].result.output  # the page's JS
    assert done[5].result.output.startswith('"Thank you" appeared')
    first_prompt = run.prompts[0][-1].content
    assert "Most related to the goal:" in first_prompt and 'textbox "Full name"' in first_prompt
    journal = Journal(run.settings.journal_path)
    try:
        steps = journal.steps(run.run_id)
        approvals = journal.approvals(run.run_id)
    finally:
        journal.close()
    assert [s["tool"] for s in steps][:5] == [
        "browser.type", "browser.type", "browser.select", "browser.check", "browser.click"]  # fmt: skip
    assert approvals[0]["scope"] == '127.0.0.1 textbox "Full name"'
    assert {(a["capability"], a["decision"], a["source"]) for a in approvals} == {
        ("browser.input", "allow", "policy:grant"),
        ("browser.read", "allow", "policy:default"),  # wait_for_text
    }


def scripted(replies: Sequence[Any]) -> CliContext:
    """The CLI's context with a scripted model for ``run`` (instead of loading one)."""
    return CliContext(model=ScriptedModel(list(replies)))


def test_cli_run_with_a_start_url(site: Site, workspace: Path, headless: None) -> None:
    result = CliRunner().invoke(
        cli,
        ["run", "Sign up as Ada Lovelace from France", "--start-url", site.url("form.html"),
         "--allow", "browser.input:127.0.0.1", "-w", str(workspace), "--json"],
        obj=scripted(FILL_THE_FORM),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert "browser.click" in events[0]["tools"]
    assert events[-1]["event"] == "RunFinished" and events[-1]["outcome"] == "success"


@pytest.mark.parametrize(
    ("url", "message"),
    [("file:///etc/passwd", "--start-url 'file:///etc/passwd': only http and https"),
     ("http://127.0.0.1:9/", "cannot open http://127.0.0.1:9/")],
)  # fmt: skip
def test_cli_start_url_problems_are_one_line(
    url: str, message: str, workspace: Path, headless: None
) -> None:
    args = ["run", "x", "--start-url", url, "-w", str(workspace)]
    result = CliRunner().invoke(cli, args, obj=scripted([]))
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.model
def test_cli_with_the_embedded_model_on_a_real_page(
    embedded_gguf: Path, site: Site, workspace: Path, headless: None
) -> None:
    before = len(site.reached("localhost"))
    proc = subprocess.run(
        [DESKHAND, "run", "Type Ada into the Full name box", "--start-url", site.url("form.html"),
         "--allow", "browser.input:127.0.0.1", "--max-steps", "2", "-w", str(workspace), "--json"],
        capture_output=True, text=True, timeout=400, env=dict(os.environ),
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert events[0]["event"] == "RunStarted" and events[-1]["event"] == "RunFinished"
    tools = set(events[0]["tools"])
    assert "browser.type" in tools
    proposed = [e for e in events if e["event"] == "ActionProposed"]
    assert proposed and all(e["tool"] in tools for e in proposed)
    assert len(site.reached("localhost")) == before


def test_the_action_schema_offers_only_the_element_numbers_the_page_shows(
    site: Site, workspace: Path
) -> None:
    tool = make_tool(workspace, budget_tokens=300, goal="add product 7 to the cart")
    try:
        registry = Registry(tool.specs())
        before = registry.action_schema()  # no observation yet: any number
        view = tool.start(site.url("many.html"))
        shown = sorted({int(n) for n in re.findall(r"^\[(\d+)\]", view, re.MULTILINE)})
        assert "more elements not shown" in view and len(shown) >= 3  # a strict subset
        schema = registry.action_schema()
        check_supported(schema)
        element = {
            b["properties"]["tool"]["const"]: b["properties"]["args"]["properties"]["element"]
            for b in schema["anyOf"]
            if "element" in b["properties"]["args"]["properties"]
        }
        assert element["browser.click"]["enum"] == shown
        assert element["browser.type"]["enum"] == shown
        assert element["browser.scroll"]["enum"] == [0, *shown]  # 0: the whole page
        assert all("enum" not in b["properties"]["args"]["properties"].get("element", {})
                   for b in before["anyOf"])  # fmt: skip

        _, result = act(tool, "browser.scroll", direction="down", element=0)
        assert result.ok, result
        now = sorted({int(n) for n in re.findall(r"^\[(\d+)\]", result.output, re.MULTILINE)})
        after = {
            b["properties"]["tool"]["const"]: b["properties"]["args"]["properties"]
            for b in registry.action_schema()["anyOf"]
        }
        assert now and after["browser.click"]["element"]["enum"] == now
    finally:
        tool.close()
