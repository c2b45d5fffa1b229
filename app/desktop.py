"""The desktop app's commands: ``deskhand tray``, ``deskhand palette``, ``deskhand stop``.

Qt is imported only when one of them runs, so the rest of the command line starts fast
and works where PySide6 is not installed. The app itself is `app.qt.app`.
"""

from __future__ import annotations

from types import ModuleType

import typer

from app.common import fail, settings_or_fail


def _qt_app() -> ModuleType:
    try:
        from app.qt import app
    except ImportError as exc:
        fail(f"the desktop app needs PySide6 and pynput ({exc}); pip install PySide6 pynput")
    return app


def tray_command() -> None:
    """Start the tray app: a tray icon, the global hotkey and the command palette.

    The model loads in the background; the palette is usable at once. When the app is
    already running, this does nothing."""
    qt = _qt_app()
    raise typer.Exit(qt.run_app(settings_or_fail(), show_palette=False))


def palette_command() -> None:
    """Show the command palette (starting the tray app if it is not running).

    On Wayland, where applications cannot grab global hotkeys, bind this command to a
    shortcut in your desktop's keyboard settings."""
    qt = _qt_app()
    raise typer.Exit(qt.run_app(settings_or_fail(), show_palette=True))


def stop_command() -> None:
    """The kill switch: stop the run the tray app is doing, at once (bind it to a key on Wayland)."""
    qt = _qt_app()
    if not qt.send_stop(settings_or_fail()):
        fail("the tray app is not running", code=1)
