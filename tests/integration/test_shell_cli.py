"""`deskhand run` with the shell and GUI tools, as a user runs it: a real process, the
real embedded model. Assertions are about which tools a run is offered and about what
must never happen, not about the tiny model being clever.

(Named test_shell_cli.py: tests/unit/test_shell.py holds the tool's own tests, and two
test modules may not share a name in this layout.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from xserver import XServer, xserver_fixture  # noqa: F401

pytestmark = pytest.mark.model

DESKHAND = str(Path(sys.executable).parent / "deskhand")


def deskhand(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DESKHAND, *args], capture_output=True, text=True, timeout=300, env=env or dict(os.environ)
    )


def first_event(stdout: str) -> dict[str, Any]:
    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert lines and lines[0]["event"] == "RunStarted", stdout
    return lines[0]


def offered_tools(*args: str, env: dict[str, str] | None = None) -> list[str]:
    """The tools a run starts with: read its first event, then end it (no model step is
    needed to know; the journal survives a kill by design)."""
    proc = subprocess.Popen(
        [DESKHAND, "run", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=60)
    assert line, err
    tools: list[str] = first_event(line)["tools"]
    return tools


def test_the_shell_is_offered_only_with_a_grant_and_never_runs_a_chained_command(
    embedded_gguf: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    goal = "Run the command: echo hello; touch marker"
    assert "shell.run" not in offered_tools(goal, "-w", str(ws))

    granted = deskhand(
        "run", goal, "-w", str(ws), "--json", "--max-steps", "2", "--yes",
        "--allow", "shell.exec:echo hello*",
    )  # fmt: skip
    assert granted.returncode in (0, 1), granted.stderr
    assert "shell.run" in first_event(granted.stdout)["tools"]
    assert "Traceback" not in granted.stderr
    events = [json.loads(line) for line in granted.stdout.splitlines() if line.startswith("{")]
    proposed = {e["step"]: e for e in events if e["event"] == "ActionProposed"}
    done = [e for e in events if e["event"] == "ActionFinished" and e["result"]["ok"]]
    chained = [
        e
        for e in done
        if e["tool"] == "shell.run" and "touch" in json.dumps(proposed[e["step"]]["args"])
    ]
    assert not chained  # the shell never ran the chained part
    # --yes approves file actions too: a tuned model may make the file with files.write,
    # which is the user's approved action, not the shell's
    writes = [
        e
        for e in done
        if e["tool"] == "files.write" and e["result"]["data"].get("path") == "marker"
    ]
    assert not (ws / "marker").exists() or writes


def test_gui_flag_refuses_without_a_display_and_offers_the_gui_tool_with_one(
    embedded_gguf: Path,
    tmp_path: Path,
    xserver: XServer,
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    bare = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    refused = deskhand("run", "read the screen", "-w", str(ws), "--gui", env=bare)
    assert refused.returncode == 2
    assert refused.stderr.strip().count("\n") == 0 and "DISPLAY is not set" in refused.stderr

    wayland = deskhand(
        "run",
        "read the screen",
        "-w",
        str(ws),
        "--gui",
        env={**bare, "WAYLAND_DISPLAY": "wayland-0"},
    )
    assert wayland.returncode == 2 and "Wayland" in wayland.stderr

    tools = offered_tools("read the screen", "-w", str(ws), "--gui", env=xserver.env())
    assert {"gui.observe", "gui.click", "gui.type"} <= set(tools)
