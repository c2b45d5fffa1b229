"""Task files with GUI steps: the real `deskhand run` process typing a keyring secret into
a real Tk window on a real X server (Xvfb), with fixed ``gui.*`` steps and no model; and
the one-line refusal where there is no X display."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from xserver import XServer, tk_form, xserver_fixture  # noqa: F401

DESKHAND = str(Path(sys.executable).parent / "deskhand")
SECRET = "hunter2orange"
TASK = """\
name: Save the form with a stored password
secrets: [form_pw]
permissions: [gui.input]
steps:
  - tool: gui.focus_window
    args: {window: Deskhand form}
  - tool: gui.key
    args: {keys: tab}
  - tool: gui.type
    args: {text: "{{secret:form_pw}}"}
  - tool: gui.key
    args: {keys: tab}
  - tool: gui.key
    args: {keys: space}
"""


def store_secret(name: str, value: str) -> None:
    code = f"from models.secrets import set_secret; set_secret({name!r}, {value!r})"
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ), timeout=60)


def test_gui_steps_type_a_declared_secret_into_a_real_window(
    xserver: XServer, deskhand_home: Path, workspace: Path, tmp_path: Path
) -> None:
    task = tmp_path / "form.task.yaml"
    task.write_text(TASK)
    store_secret("form_pw", SECRET)
    argv = [DESKHAND, "run", str(task), "-w", str(workspace), "--json"]
    with tk_form(xserver) as form:
        proc = subprocess.run(argv, env=xserver.env(), capture_output=True, text=True, timeout=120)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert form.expect("saved:") == f"saved:{SECRET}"
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert {"gui.type", "gui.key", "gui.focus_window"} <= set(events[0]["tools"])
    assert SECRET not in proc.stdout + proc.stderr
    for path in (deskhand_home / "data").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_a_secret_typed_in_the_gui_must_be_declared(
    xserver: XServer, deskhand_home: Path, workspace: Path, tmp_path: Path
) -> None:
    task = tmp_path / "t.task.yaml"
    task.write_text(TASK.replace("secrets: [form_pw]\n", ""))
    proc = subprocess.run([DESKHAND, "validate", str(task)], env=xserver.env(),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2 and "secret 'form_pw' is not listed in 'secrets'" in proc.stdout


def test_without_an_x_display_a_gui_task_is_refused_in_one_line(
    deskhand_home: Path, workspace: Path, tmp_path: Path
) -> None:
    task = tmp_path / "form.task.yaml"
    task.write_text(TASK)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["XDG_SESSION_TYPE"] = "x11"
    proc = subprocess.run([DESKHAND, "run", str(task), "-w", str(workspace)], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "DISPLAY" in lines[0] and "Traceback" not in proc.stderr, lines
    assert not (workspace / "form.task.yaml").exists() and proc.stdout == ""
