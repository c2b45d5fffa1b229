"""Global hotkeys on a real X server: xdotool presses the keys, pynput's listener hears
them, the palette appears; the kill switch stops a run. And Wayland gets a clear message
instead of a listener."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
from qt_support import FINISH, scripted, write_action

from agent.events import Event, RunFinished
from agent.settings import HotkeySettings, Settings
from app.qt.hotkeys import WAYLAND_MESSAGE, GlobalHotkeys, HotkeyError, normalize


def press(keys: str) -> None:
    subprocess.run(["xdotool", "key", "--clearmodifiers", keys], check=True, timeout=10)


@pytest.fixture
def xdotool(needs_x: str) -> None:
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed")


def listening_app(qtbot: Any, make_app: Any, **kwargs: Any) -> Any:
    app = make_app(use_hotkeys=True, session="x11", **kwargs)
    with qtbot.waitSignal(app.hotkeys.ready, timeout=10_000):
        app.start()
    return app


def test_the_global_hotkey_shows_the_palette(qtbot: Any, make_app: Any, xdotool: None) -> None:
    opener, _ = scripted([])
    app = listening_app(qtbot, make_app, open_model=opener)
    assert not app.palette.isVisible()

    with qtbot.waitSignal(app.palette.summoned, timeout=5_000):
        press("ctrl+alt+space")

    assert app.palette.isVisible()
    qtbot.waitUntil(app.palette.field.hasFocus, timeout=3_000)  # typing goes straight in


def test_the_kill_switch_stops_a_run(
    qtbot: Any, make_app: Any, settings: Settings, xdotool: None
) -> None:
    opener, model = scripted([write_action("k.txt"), FINISH])
    app = listening_app(qtbot, make_app, open_model=opener)
    events: list[Event] = []
    app.worker.signals.engine_event.connect(events.append)
    with qtbot.waitSignal(app.approver.requested, timeout=10_000):
        app.worker.submit("write k.txt")

    with qtbot.waitSignal(
        app.worker.signals.engine_event, check_params_cb=lambda e: isinstance(e, RunFinished)
    ):
        press("ctrl+alt+shift+x")

    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "stopped"
    assert len(model.calls) == 1


def test_configured_hotkeys_are_used(
    qtbot: Any, make_app: Any, settings: Settings, xdotool: None
) -> None:
    custom = settings.model_copy(
        update={"hotkeys": HotkeySettings(palette="ctrl+shift+F9", stop="ctrl+shift+F10")}
    )
    opener, _ = scripted([])
    app = listening_app(qtbot, make_app, open_model=opener, settings=custom)
    with qtbot.waitSignal(app.palette.summoned, timeout=5_000):
        press("ctrl+shift+F9")


def test_wayland_gets_a_message_not_a_listener(qtbot: Any, settings: Settings) -> None:
    hotkeys = GlobalHotkeys(settings.hotkeys, "wayland")
    with qtbot.waitSignal(hotkeys.unavailable) as said:
        hotkeys.start()
    assert said.args == [WAYLAND_MESSAGE]
    assert "deskhand palette" in WAYLAND_MESSAGE


def test_hotkeys_are_normalized_and_checked(needs_x: str) -> None:
    assert normalize("Ctrl+Alt+Space") == "<ctrl>+<alt>+<space>"
    assert normalize("<ctrl>+<alt>+<space>") == "<ctrl>+<alt>+<space>"
    assert normalize("ctrl+shift+X") == "<ctrl>+<shift>+x"
    for bad in ("space", "ctrl++x", "ctrl+nosuchkey"):
        with pytest.raises(HotkeyError):
            normalize(bad)
