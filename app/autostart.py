"""Start at login: on Linux, an XDG autostart entry that runs ``deskhand tray``.

The entry is ``deskhand.desktop`` in the autostart folder of the XDG config directory
(``$XDG_CONFIG_HOME/autostart``, ``~/.config/autostart`` when unset), which every
freedesktop session (GNOME, KDE, Xfce, ...) starts at login. Its presence is the setting:
nothing else records it, so it cannot disagree with what the desktop will do.

Invariants: the file is written whole (`tools.atomic_write`) or not at all; disabling
removes only our own entry. Windows and macOS are not done yet (`AutostartUnsupported`
says what they need).
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from tools.atomic_write import write_atomic

FILE_NAME = "deskhand.desktop"


class AutostartUnsupported(Exception):
    """This OS has no start-at-login support here yet."""


def supported() -> bool:
    return sys.platform.startswith("linux")


def entry_path() -> Path:
    """Where the autostart entry lives (XDG_CONFIG_HOME honoured, via platformdirs)."""
    if not supported():
        raise AutostartUnsupported(
            "start at login is done on Linux only: on Windows add a shortcut to "
            "`deskhand tray` in shell:startup; on macOS a LaunchAgent plist"
        )
    import platformdirs

    return Path(platformdirs.user_config_dir()) / "autostart" / FILE_NAME


def is_enabled() -> bool:
    return supported() and entry_path().is_file()


def command() -> list[str]:
    """How the session should start the tray app: this install's ``deskhand tray``."""
    script = Path(sys.executable).parent / "deskhand"
    found = str(script) if script.is_file() else shutil.which("deskhand")
    return (
        [found, "tray"]
        if found
        else [sys.executable, "-c", "from app.cli import main; main()", "tray"]
    )


def entry_text(argv: list[str]) -> str:
    # The Exec key quotes like a shell word list (Desktop Entry spec, "Exec key").
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=deskhand\n"
        "Comment=Desktop agent: tray icon and command palette\n"
        f"Exec={shlex.join(argv)}\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def set_enabled(enabled: bool) -> None:
    """Write or remove the autostart entry; OSError when the folder cannot be written."""
    path = entry_path()
    if not enabled:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, entry_text(command()))
