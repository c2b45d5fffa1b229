"""The tools a task-file run gets, and their end: the browser only when the task uses it,
the shell only when granted, the browser closed however the run ends, and a browser that
types only the secrets the task declares. Real headless Chromium on loopback pages, the
real keyring backend (keyrings.alt), a scripted model where a model step is needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pages.runs import reply
from pages.server import Site, serve_pages

from agent.approval import AlwaysAllow
from agent.events import ActionFinished, Event
from agent.journal import Journal
from agent.prepare import RunRequest, prepare_run
from agent.runner import drive, task_tools
from agent.settings import Settings, load_settings
from agent.taskfile import parse_task_text
from agent.taskrun import TaskRun, run_task
from models.router import FallbackPolicy, ModelRouter
from models.scripted import ScriptedModel


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve_pages() as s:
        yield s


@pytest.fixture
def settings() -> Settings:
    return load_settings()


def tools_of(text: str, settings: Settings, ws: Path) -> set[str]:
    task = parse_task_text(text, "t.task.yaml", require_inputs=False)
    tools = task_tools(task, settings, (ws,), task.grants((ws,)))
    names = {n.split(".")[0] for n in tools.registry(settings, (ws,)).names()}
    return names - {"files", "finish"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("name: t\ngoal: tidy\n", set()),
        ("name: t\ngoal: g\npermissions: [fs.write]\n", set()),
        ("name: t\ngoal: g\npermissions: ['browser.navigate:example.org']\n", {"browser"}),
        ("name: t\nsteps: [{tool: browser.open, args: {url: 'http://x'}}]\n", {"browser"}),
        ("name: t\ngoal: g\nchecks: [{kind: page_contains, text: x}]\n", {"browser"}),
        ("name: t\ngoal: g\npermissions: ['shell.exec:git status']\n", {"shell"}),
        (
            "name: t\ngoal: g\npermissions: ['shell.exec:ls', 'browser.input:example.org']\n",
            {"browser", "shell"},
        ),
    ],
)
def test_a_run_gets_the_tools_its_task_uses(
    text: str, expected: set[str], settings: Settings, workspace: Path
) -> None:
    assert tools_of(text, settings, workspace) == expected


def plan(text: str, settings: Settings, ws: Path, **options: Any) -> TaskRun:
    task = parse_task_text(text, "t.task.yaml")
    stop = options.pop("stop", None)
    request = RunRequest(task_file=task, source="t.task.yaml", workspace=[ws], **options)
    return prepare_run(request, settings, stop)


def form_task(site: Site, extra_step: str) -> str:
    return (
        "name: form\npermissions: ['browser.navigate:127.0.0.1']\nsteps:\n"
        f"  - {{tool: browser.open, args: {{url: '{site.url('form.html')}'}}}}\n"
        f"  - {extra_step}\n"
    )


@pytest.mark.parametrize(
    "step, outcome",
    [
        ("{tool: browser.extract, args: {element: 0}}", "success"),
        ("{tool: browser.click, args: {element: 8}}", "failed"),  # browser.input: denied
        ("{tool: browser.extract, args: {element: 99}}", "failed"),  # no such element
    ],
)
def test_the_browser_is_closed_however_the_run_ends(
    step: str, outcome: str, site: Site, settings: Settings, workspace: Path
) -> None:
    task = plan(form_task(site, step), settings, workspace)
    browser = task.tools.browser
    assert browser is not None and not browser.started
    with Journal(settings.journal_path) as journal:
        report = drive(run_task(task, journal), journal)
    assert report.outcome == outcome, report.message
    assert not browser.started


def test_the_browser_is_closed_when_the_consumer_stops_early(
    site: Site, settings: Settings, workspace: Path
) -> None:
    task = plan(form_task(site, "{tool: browser.extract, args: {element: 0}}"), settings, workspace)
    browser = task.tools.browser
    assert browser is not None

    def stop_after_the_first_action(event: Event) -> None:
        if isinstance(event, ActionFinished):
            assert browser.started
            raise KeyboardInterrupt

    with Journal(settings.journal_path) as journal, pytest.raises(KeyboardInterrupt):
        drive(run_task(task, journal), journal, stop_after_the_first_action)
    assert not browser.started


def test_the_model_may_type_only_the_secrets_the_task_declares(
    site: Site, settings: Settings, workspace: Path
) -> None:
    """Even with every approval answered yes, an undeclared secret is not read."""
    for name, value in (("site_password", "correct-horse-battery"), ("bank_pin", "2468-1357")):
        code = f"from models.secrets import set_secret; set_secret({name!r}, {value!r})"
        subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ))
    text = (
        "name: login\nsecrets: [site_password]\n"
        "permissions: ['browser.navigate:127.0.0.1']\nsteps:\n"
        f"  - {{tool: browser.open, args: {{url: '{site.url('login.html')}'}}}}\n"
        "  - {agent: log in, max_steps: 3}\n"
    )
    task = plan(text, settings, workspace, approver=AlwaysAllow())
    replies = [
        reply("browser.type", element=2, text="{{secret:bank_pin}}", submit=False),
        reply("browser.type", element=2, text="{{secret:site_password}}", submit=True),
        reply("finish", message="logged in"),
    ]
    task.open_model = lambda: ModelRouter(
        ScriptedModel(replies), None, FallbackPolicy(remote_allowed=False)
    )
    events: list[Event] = []
    with Journal(settings.journal_path) as journal:
        report = drive(run_task(task, journal), journal, events.append)
        steps = journal.steps(report.run_id or "")
    results = [e.result for e in events if isinstance(e, ActionFinished)]
    assert report.outcome == "success", report.message
    assert results[1].kind == "undeclared_secret" and not results[1].ok
    assert "'bank_pin' is not one this task declares" in results[1].output
    assert results[2].ok and "Password accepted" in results[2].output
    assert "your password is {{secret:site_password}}" in results[2].output
    recorded = json.dumps(steps, default=str)
    assert "2468-1357" not in recorded and "correct-horse-battery" not in recorded
