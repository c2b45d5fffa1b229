"""Takes the README's screenshots of the desktop app, from the real app on a real X server.

    .venv/bin/python tests/screenshots/take.py   # starts its own Xvfb; writes tests/screenshots/*.png

The X server is tests/xserver.py's `xvfb`, started with -terminate: the script ends with
os._exit (before Qt, in interpreter shutdown, could notice its X server going), and the
server ends with its last client.

The palette's run is the embedded model's own; the approval picture uses a scripted
reply (a write), since the tiny model may not propose one. Windows are grabbed with
QWidget.grab(), so the pictures do not depend on a window manager.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # the project, and tests/xserver.py

from qt_wait import wait_signal as wait  # noqa: E402


def settle(ms: int = 300) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def save(widget: Any, name: str) -> None:
    settle()
    widget.grab().save(str(DOCS / name))
    sys.stdout.write(f"wrote {DOCS / name}\n")


def on_own_xvfb(shoot: Callable[[], None]) -> None:
    """Run `shoot` on an Xvfb of its own with a fresh deskhand home, then end the process
    (os._exit, before Qt could notice its X server going; the server ends with its last
    client, -terminate). Every screenshot script's main."""
    from xserver import xvfb

    with xvfb("1280x800x24", "-terminate") as server:
        os.environ.update(DISPLAY=server.display, QT_QPA_PLATFORM="xcb", XDG_SESSION_TYPE="x11")
        os.environ["DESKHAND_HOME"] = tempfile.mkdtemp(prefix="deskhand-shots-")
        shoot()
        sys.stdout.flush()
        os._exit(0)


def main() -> None:
    on_own_xvfb(shoot)


def shoot() -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QColor, QPainter, QPixmap
    from PySide6.QtWidgets import QApplication

    from agent.events import RunFinished
    from agent.settings import PermissionRule, load_settings
    from app.qt.app import DeskhandApp
    from app.qt.icons import STATES, state_pixmap
    from app.qt.tray import Tray
    from models.router import FallbackPolicy, ModelRouter
    from models.scripted import ScriptedModel

    qt = QApplication([])
    tasks = Path(os.environ["DESKHAND_HOME"]) / "tasks"
    tasks.mkdir()
    for name in ("archive-report.task.yaml", "tidy-logs.task.yaml"):
        (tasks / name).write_text((ROOT / "tests" / "tasks" / name).read_text())
    settings = load_settings().model_copy(update={"max_steps": 4, "tasks_folder": tasks})
    ws = settings.default_workspace
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "notes.txt").write_text("buy milk\ncall Ana about the report\n")

    # Tray: the icon's states and the menu.
    strip = QPixmap(5 * 72, 72)
    strip.fill(QColor("#f1f3f4"))
    p = QPainter(strip)
    for i, state in enumerate(STATES):
        p.drawPixmap(i * 72 + 4, 4, state_pixmap(state, 64))
    p.end()
    strip.save(str(DOCS / "tray-states.png"))
    tray = Tray()
    tray.set_recent_runs(
        [
            {"id": "a", "goal": "Read notes.txt and tell me what it says", "outcome": "success"},
            {"id": "b", "goal": "sort my downloads by type", "outcome": "stopped"},
        ]  # fmt: skip
    )
    tray.set_state("working")
    tray.set_watching("watching", str(Path.home() / "inbox"))
    tray.menu.popup(QPoint(200, 200))
    save(tray.menu, "tray-menu.png")
    tray.menu.hide()

    # Palette: idle with suggestions, then a real run of the embedded model.
    app = DeskhandApp(settings, session="x11", use_tray=False, use_hotkeys=False)
    app.approver.requested.connect(lambda pending: pending.settle("deny"))
    app.start()
    wait(app.worker.signals.model_ready)
    app.palette.set_recent_goals(
        [
            "Read notes.txt and tell me what it says",
            "sort my downloads by type",
            "rename the photos from last week by date",
        ]  # fmt: skip
    )
    app.palette.summon()
    while not app.palette._tasks:  # listed on the store thread after the palette paints
        settle(50)
    app.palette.field.setText("re")
    app.palette._refresh_suggestions()
    save(app.palette, "palette-idle.png")
    app.palette.field.setText("Read notes.txt and tell me what it says")
    wait(
        app.worker.signals.engine_event,
        app.palette._submit,
        check=lambda e: isinstance(e, RunFinished),
    )
    save(app.palette, "palette-run.png")
    app.shutdown()

    # Approval: a scripted write, so that the policy asks.
    write = {"thought": "save the list", "tool": "files.write",
             "args": {"path": "todo.txt", "content": "buy milk"}}  # fmt: skip
    model = ScriptedModel([write, {"thought": "done", "tool": "finish", "args": {"message": "ok"}}])
    ask = DeskhandApp(
        settings,
        session="x11",
        use_tray=False,
        use_hotkeys=False,
        open_model=lambda s: ModelRouter(model, None, FallbackPolicy(remote_allowed=False)),
    )
    ask.start()
    ask.palette.summon()
    ask.palette.field.setText("Save my todo list")
    (pending,) = wait(ask.approver.requested, ask.palette._submit)
    save(ask.palette, "palette-approval.png")
    save(ask.dialogs[id(pending)], "approval.png")
    wait(ask.worker.signals.busy_changed, lambda: pending.settle("once"), check=lambda b: not b)

    # History: the runs above, one with feedback.
    ask.show_history()
    window = ask.history_window
    assert window is not None
    wait(window.run_shown)
    window.bad.setChecked(True)
    window.note.setText("it should have asked where to save it")
    wait(window.feedback_saved, window.submit_feedback)
    settle(500)
    save(window, "history.png")

    # Settings: with a watch folder, a tasks folder and permission defaults.
    shown = settings.model_copy(
        update={
            "watch_folder": Path.home() / "inbox",
            "permissions": [
                PermissionRule(capability="fs.write", scope=f"{ws}/reports/*", decision="allow"),
                PermissionRule(capability="browser.navigate", scope="example.com", decision="ask"),
                PermissionRule(capability="shell.exec", scope="*", decision="deny"),
            ],
        }
    )
    ask.apply_settings(shown)
    ask.show_settings()
    assert ask.settings_window is not None
    save(ask.settings_window, "settings.png")
    ask.shutdown()
    qt.processEvents()


if __name__ == "__main__":
    main()
