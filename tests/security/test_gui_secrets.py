"""A secret typed into a real window through the whole engine: the value comes from the
keyring, reaches the window, and appears in no prompt, no event and no journal byte,
even after the window shows it in clear and the OCR reads it back."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path

from xserver import XServer, run_agent, tk_form, xserver_fixture  # noqa: F401

from agent import assemble
from agent.approval import AlwaysAllow
from agent.events import ActionFinished
from agent.settings import load_settings
from models.base import Message
from models.secrets import set_secret

SECRET = "hunter2orange"


def type_next_to_name(messages: Sequence[Message]) -> str:
    """Type the secret's placeholder into the field right of the "Name:" label."""
    seen = messages[-1].content
    at = re.search(r'"Name:?" at \((\d+),(\d+)\)', seen)
    assert at is not None, seen
    target = f"{int(at.group(1)) + 120},{at.group(2)}"
    args = {"text": "{{secret:FORM_PW}}", "target": target}
    return json.dumps({"tool": "gui.type", "args": args, "thought": "log in"})


def click_save(messages: Sequence[Message]) -> str:
    number = re.search(r'\[(\d+)\] "Save"', messages[-1].content)
    assert number is not None, messages[-1].content
    args = {"target": number.group(1), "button": "left", "count": 1}
    return json.dumps({"tool": "gui.click", "args": args, "thought": "save"})


def test_a_typed_secret_never_reaches_the_model_or_the_journal(
    xserver: XServer,
    workspace: Path,
    deskhand_home: Path,
) -> None:
    set_secret("FORM_PW", SECRET)
    settings = load_settings({"DESKHAND_HOME": str(deskhand_home)})
    stop = threading.Event()
    # Built as the CLI builds it for --gui: keyring-backed secrets, screenshots kept.
    gui = assemble.gui_tool(settings, stop, env={"DISPLAY": xserver.display})
    wait = {"tool": "gui.wait_for_text", "args": {"text": "Name", "timeout_s": 20}, "thought": ""}
    observe = {"tool": "gui.observe", "args": {"window": ""}, "thought": "check"}
    finish = {"tool": "finish", "args": {"message": "done"}, "thought": ""}
    with tk_form(xserver) as form:
        done = run_agent(
            deskhand_home,
            workspace,
            [wait, type_next_to_name, observe, click_save, finish],
            approver=AlwaysAllow(),  # so every approval, with its summary, is journaled
            gui=gui,
            stop=stop,
        )
        # The window got the real value: it prints its field's content on Save.
        assert form.expect("saved:") == "saved:" + SECRET
    results = [e.result for e in done.events if isinstance(e, ActionFinished)]
    assert [r.ok for r in results] == [True] * 5, results
    # The field shows the secret in clear; the OCR read it; the model got the placeholder.
    assert "{{secret:FORM_PW}}" in results[2].output
    assert "screenshot" not in results[2].data  # a screenshot showing it is not kept

    prompts = "\n".join(m.content for call in done.model.calls for m in call)
    assert "{{secret:FORM_PW}}" in prompts
    assert "hunter2" not in prompts.lower()
    assert SECRET not in repr(done.events)
    files = list(done.journal_path.parent.glob("journal.sqlite*"))
    assert files
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
