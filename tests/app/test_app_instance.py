"""One app per data directory: `deskhand palette` and `deskhand stop`, run as real
commands, hand their command to the running app (this is the Wayland user's hotkey)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from qt_support import FINISH, scripted, write_action

from agent.events import RunFinished
from agent.settings import Settings
from app.qt import instance

DESKHAND = str(Path(sys.executable).parent / "deskhand")


def deskhand(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DESKHAND, *args], capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )


def serving(make_app: Any, settings: Settings, replies: list[Any]) -> tuple[Any, Any]:
    app = make_app(open_model=scripted(replies)[0])
    server = instance.InstanceServer(settings)
    assert server.listen()
    server.command.connect(app.handle_command)
    return app, server


def test_deskhand_palette_shows_the_running_apps_palette(
    qtbot: Any, make_app: Any, settings: Settings
) -> None:
    app, server = serving(make_app, settings, [])
    assert instance.is_running(settings)
    with qtbot.waitSignal(app.palette.summoned, timeout=10_000):
        proc = deskhand("palette")
    assert proc.returncode == 0, proc.stderr
    server.close()
    assert not instance.is_running(settings)


def test_deskhand_stop_stops_the_running_apps_run(
    qtbot: Any, make_app: Any, settings: Settings
) -> None:
    app, server = serving(make_app, settings, [write_action("s.txt"), FINISH])
    app.start()
    with qtbot.waitSignal(app.approver.requested, timeout=10_000):
        app.worker.submit("write s.txt")
    is_end = lambda e: isinstance(e, RunFinished)  # noqa: E731
    with qtbot.waitSignal(
        app.worker.signals.engine_event, check_params_cb=is_end, timeout=20_000
    ) as end:
        assert deskhand("stop").returncode == 0
    assert end.args[0].outcome == "stopped"
    server.close()


def test_deskhand_stop_without_an_app_says_so(settings: Settings) -> None:
    proc = deskhand("stop")
    assert proc.returncode == 1 and "not running" in proc.stderr
