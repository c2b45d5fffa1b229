"""The tray: its menu, and its icon following the app's state (there is no tray host
under Xvfb, so the icon is not shown, but the menu and the state are the real ones)."""

from __future__ import annotations

from typing import Any

from qt_support import FINISH, scripted, write_action

from app.qt.icons import STATES, state_icon


def test_the_tray_follows_the_state_and_its_menu_works(qtbot: Any, make_app: Any) -> None:
    opener, _ = scripted([write_action("t.txt"), FINISH])
    app = make_app(open_model=opener, use_tray=True)
    tray = app.tray
    names = [a.text() for a in tray.menu.actions() if a.text()]
    assert names == [
        "New task…",
        "Recent runs",
        "Stop",
        tray.watch_action.text(),
        "Learn from my runs",
        "History",
        "Settings",
        "Quit",
    ]
    assert all(not state_icon(s).isNull() for s in STATES)
    app.start()

    with qtbot.waitSignal(app.approver.requested, timeout=10_000):
        app.worker.submit("write t.txt")
    assert tray.state == "approval" and "approval" in tray.icon.toolTip()
    assert tray.stop_action.isEnabled()
    with qtbot.waitSignal(app.worker.signals.busy_changed, check_params_cb=lambda b: not b):
        tray.stop_action.trigger()
    assert tray.state == "idle" and not tray.stop_action.isEnabled()

    qtbot.waitUntil(lambda: bool(tray.recent_menu.actions()))
    assert "write t.txt" in tray.recent_menu.actions()[0].text()
    with qtbot.waitSignal(app.palette.summoned, timeout=5_000):
        tray.new_task_action.trigger()
    tray.settings_action.trigger()
    assert app.settings_window is not None and app.settings_window.isVisible()
    tray.recent_menu.actions()[0].trigger()
    history = app.history_window
    assert history is not None and history.isVisible()
    with qtbot.waitSignal(history.run_shown, timeout=10_000):
        pass
    assert history.detail is not None and history.detail.run["goal"] == "write t.txt"


def test_a_model_that_cannot_load_shows_as_an_error(qtbot: Any, make_app: Any) -> None:
    from models.base import ModelUnavailable

    def broken(settings: Any) -> Any:
        raise ModelUnavailable("no such file: big.gguf")

    app = make_app(open_model=broken, use_tray=True)
    with qtbot.waitSignal(app.worker.signals.model_failed, timeout=10_000):
        app.start()
    assert app.tray.state == "error" and "big.gguf" in app.tray.icon.toolTip()
    assert "big.gguf" in app.palette.status.text()
    with qtbot.waitSignal(app.worker.signals.run_failed, timeout=10_000) as failed:
        app.palette.goal_submitted.emit("anything", "")
    assert "no model" in failed.args[0]
