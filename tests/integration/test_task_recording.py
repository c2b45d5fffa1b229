"""Recording a browser run and replaying it with no model: the real engine and the real
headless Chromium on loopback pages (tests/pages), a scripted model choosing the actions
of the recorded run, the real `deskhand save` and `deskhand run` processes, and a
``--model`` that is not a model (opening it would end the replay as an error)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from pages.runs import on, reply
from pages.server import Site, serve_pages

from agent import assemble
from agent.approval import AlwaysAllow
from agent.journal import Journal
from agent.prepare import RunRequest, prepare_run
from agent.settings import load_settings
from agent.taskrun import run_task
from models.base import Message
from models.scripted import ScriptedModel

DESKHAND = str(Path(sys.executable).parent / "deskhand")
Reply = dict[str, Any] | Callable[[Sequence[Message]], str]


def deskhand(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DESKHAND, *args], capture_output=True, text=True, timeout=300, env=dict(os.environ)
    )


def record(ws: Path, goal: str, replies: Sequence[Reply], start_url: str | None = None) -> str:
    """A successful run prepared as ``deskhand run GOAL --allow browser.read`` prepares it
    (`agent.prepare`: the browser tool, the start page journaled with the run), a scripted
    model choosing the actions; its run id."""
    settings = load_settings()
    request = RunRequest(
        goal=goal,
        workspace=[ws.resolve()],
        model=ScriptedModel(list(replies)),
        grants=["browser.read"],  # gives a goal without a start page the browser
        start_url=start_url,
        approver=AlwaysAllow(),
        max_steps=len(replies) + 1,
        memory=False,
    )
    plan = prepare_run(request, settings)
    with assemble.open_journal(settings) as journal:
        events = list(run_task(plan, journal))
    assert events[-1].outcome == "success", events[-1]  # type: ignore[union-attr]
    return events[0].run_id  # type: ignore[union-attr]


def write_what_was_read(path: str) -> Callable[[Sequence[Message]], str]:
    """A reply that writes the text the last action returned (an extract) into `path`."""

    def answer(messages: Sequence[Message]) -> str:
        text = messages[-1].content.split("<data>\n", 1)[1].rsplit("\n</data>", 1)[0]
        return json.dumps(reply("files.write", path=path, content=f"# Sign-up\n\n{text}\n"))

    return answer


def sign_up(site: Site) -> tuple[str, list[Reply]]:
    goal = f'Open {site.url("form.html")} and sign up as "Grace Hopper", then note the result'
    return goal, [
        reply("browser.open", url=site.url("form.html")),
        on("Full name", "browser.type", text="Grace Hopper", submit=False),
        on("Country", "browser.select", option="France"),
        reply("browser.look"),
        on("I agree to the terms", "browser.check", checked=True),
        on("Sign up", "browser.click", confirm=False),
        reply("browser.wait_for_text", text="Thank you", timeout_s=10),
        reply("browser.extract", element=0),
        write_what_was_read("notes/signup.txt"),
        reply("finish", message="signed up"),
    ]


def events_of(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert "Traceback" not in proc.stderr, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def counts(home: Path, run_id: str) -> tuple[int, int]:
    with Journal(home / "data" / "journal.sqlite") as j:
        row = j.run(run_id)
    assert row is not None
    return int(row["replayed_steps"]), int(row["model_steps"])


@pytest.fixture
def not_a_model(tmp_path: Path) -> Path:
    path = tmp_path / "never-loaded.gguf"
    path.write_bytes(b"this is not a model")
    return path


def test_a_recorded_browser_run_replays_without_a_model(
    tmp_path: Path, deskhand_home: Path, not_a_model: Path
) -> None:
    recorded, replay, other = (tmp_path / n for n in ("recorded", "replay", "other"))
    for ws in (recorded, replay, other):
        ws.mkdir()
    out = tmp_path / "signup.task.yaml"
    with serve_pages() as site:
        goal, replies = sign_up(site)
        run_id = record(recorded, goal, replies)
        saved = deskhand("save", run_id, "-o", str(out))
        assert saved.returncode == 0, saved.stderr
        task = yaml.safe_load(out.read_text())
        replayed = deskhand("run", str(out), "-w", str(replay), "--model", str(not_a_model),
                            "--json")  # fmt: skip
        elsewhere = deskhand(
            "run", str(out), "-w", str(other), "--model", str(not_a_model), "--json",
            "--set", f"url={site.other}/pages/form.html",
        )  # fmt: skip
        moved = deskhand(
            "run", str(out), "-w", str(tmp_path), "--model", str(not_a_model), "--json",
            "--set", f"url={site.url('form-moved.html')}", "--on-step-failure", "stop",
        )  # fmt: skip
        posted_elsewhere = site.reached("localhost")

    # The saved file: browser steps as fixed steps, the start URL an input, the hosts
    # as permissions through that input, the page's text as an output, elements expected.
    assert task["inputs"]["url"] == {
        "type": "str", "default": site.url("form.html"), "description": "from the recorded goal"
    }  # fmt: skip
    assert task["permissions"] == [
        "browser.navigate:{{ inputs.url }}", "browser.input:{{ inputs.url }}",
        "fs.write:notes/signup.txt",
    ]  # fmt: skip
    tools = [s["tool"] for s in task["steps"]]
    assert tools == [
        "browser.open", "browser.type", "browser.select", "browser.check", "browser.click",
        "browser.wait_for_text", "browser.extract", "files.write",
    ]  # fmt: skip
    assert task["steps"][0]["args"] == {"url": "{{ inputs.url }}"}
    assert [s.get("expect") for s in task["steps"][1:5]] == [
        'textbox "Full name"', 'combobox "Country"', 'checkbox "I agree to the terms"',
        'button "Sign up"',
    ]  # fmt: skip
    assert task["steps"][6]["save_as"] == "page_text"
    assert task["steps"][7]["args"]["content"] == "# Sign-up\n\n{{ outputs.page_text }}\n"
    assert {"kind": "page_contains", "text": "Thank you"} in task["checks"]

    # The replay: no model, every step replayed, the same checked end state.
    events = events_of(replayed)
    assert replayed.returncode == 0, replayed.stdout[-3000:]
    checks = next(e for e in events if e["event"] == "ChecksFinished")["results"]
    assert checks and all(c["ok"] for c in checks)
    assert counts(deskhand_home, events[0]["run_id"]) == (8, 0)
    written = (recorded / "notes" / "signup.txt").read_text()
    assert "Thank you Grace Hopper from fr (agreed)" in written
    assert (replay / "notes" / "signup.txt").read_text() == written

    # Pointed at another site with --set url=...: the permissions follow it.
    events = events_of(elsewhere)
    assert elsewhere.returncode == 0, elsewhere.stdout[-3000:]
    assert "/pages/form.html" in posted_elsewhere
    assert "Thank you Grace Hopper" in (other / "notes" / "signup.txt").read_text()

    # A page whose fields moved: the step expecting "Full name" finds "Email" at its
    # number, fails without typing, and the run stops there (fallback not allowed).
    events = events_of(moved)
    assert moved.returncode == 1
    message = events[-1]["message"]
    assert 'step 2 (browser.type) failed: element 1 is textbox "Email"' in message, message
    assert 'not the expected textbox "Full name"' in message
    assert not (tmp_path / "notes").exists()
