"""Fixtures for the desktop app's tests: a real X server, the app, scripted models.

The session's QApplication runs on a real X server: Xvfb started on a free display by
tests/xserver.py `xvfb`, with Qt's xcb platform, whatever DISPLAY the environment had. With
``DESKHAND_TEST_QPA=offscreen`` (or without Xvfb) the same tests run on Qt's offscreen
platform instead, and those that need X skip; `test_app_offscreen.py` runs the palette,
approval, history and settings tests that way in a subprocess, so one plain pytest run
covers both.

The display reaches the environment only while a test here runs (and while the
QApplication is built), so tests elsewhere in the session see the environment they had.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("PySide6", reason="the desktop app needs PySide6")
pytest.importorskip("pytestqt", reason="the desktop app's tests need pytest-qt")

from xserver import xvfb  # noqa: E402

from agent.settings import Settings, load_settings  # noqa: E402

#: The session's X server, never garbage collected (its context's exit would stop it).
_servers: list[Any] = []


def _qt_env(display: str | None) -> dict[str, str | None]:
    """What Qt, pynput and xdotool need to see; None removes a variable."""
    if display is None:
        return {"QT_QPA_PLATFORM": "offscreen"}
    return {
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "XDG_SESSION_TYPE": "x11",
        "WAYLAND_DISPLAY": None,
    }


@pytest.fixture(scope="session")
def x_display() -> Iterator[str | None]:
    """The X display the Qt tests run on, or None on the offscreen platform."""
    if os.environ.get("DESKHAND_TEST_QPA") == "offscreen" or not shutil.which("Xvfb"):
        yield None
        return
    # -terminate: the server ends when its last client (this process's Qt) goes.
    server = xvfb("1280x800x24", "-terminate")
    _servers.append(server)
    yield server.__enter__().display
    # Killing the server under a live QApplication makes Qt exit(1) ("The X11
    # connection broke"), and destroying the QApplication before every widget is gone
    # crashes; so the server outlives the session and ends with its last client
    # (-terminate). Only a server Qt never connected to is stopped here.
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:
        server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def qapp(
    x_display: str | None, qapp_args: list[str], qapp_cls: Any, pytestconfig: pytest.Config
) -> Any:
    """pytest-qt's session QApplication, built on `x_display` (or offscreen)."""
    app = qapp_cls.instance()
    if app is not None:
        return app
    mp = pytest.MonkeyPatch()
    try:
        _apply(mp, _qt_env(x_display))
        app = qapp_cls(qapp_args)
    finally:
        mp.undo()
    app.setApplicationName(pytestconfig.getini("qt_qapp_name"))
    return app


@pytest.fixture(autouse=True)
def qt_env(x_display: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    _apply(monkeypatch, _qt_env(x_display))


def _apply(mp: pytest.MonkeyPatch, env: dict[str, str | None]) -> None:
    for key, value in env.items():
        if value is None:
            mp.delenv(key, raising=False)
        else:
            mp.setenv(key, value)


@pytest.fixture
def needs_x(x_display: str | None) -> str:
    if x_display is None:
        pytest.skip("needs a real X server (Xvfb)")
    return x_display


@pytest.fixture
def settings(deskhand_home: Any) -> Settings:
    return load_settings()


@pytest.fixture
def make_app(qtbot: Any, settings: Settings) -> Iterator[Callable[..., Any]]:
    """Build a DeskhandApp (no tray, no hotkeys unless asked); shut down after the test."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from app.qt.app import DeskhandApp

    made: list[DeskhandApp] = []

    def make(**kwargs: Any) -> DeskhandApp:
        kwargs.setdefault("use_tray", False)
        kwargs.setdefault("use_hotkeys", False)
        app = DeskhandApp(kwargs.pop("settings", settings), **kwargs)
        made.append(app)
        return app

    yield make
    for app in made:
        app.shutdown()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
