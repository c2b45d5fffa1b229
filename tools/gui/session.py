"""Which desktop the GUI tool can drive, and the real drivers for it.

Linux with X11 is supported. Everything else is refused up front with one line that
says why and what to do, instead of failing strangely on the first click:

- Wayland: by design no program may read the screen or send input to other programs'
  windows; that goes through the desktop portal (screen cast and remote desktop), which
  asks the person on every session. An XWayland ``DISPLAY`` would reach only the X11
  programs and see a black screen for the rest, so it is not used either.
- macOS and Windows: pyautogui and mss work there, but window listing and focus need
  their own adapter (Quartz / Win32) and macOS needs the Accessibility and Screen
  Recording permissions; not built yet.

The session kind comes from `agent.settings.desktop_session` (the only place that reads
the environment) and is passed in; this module reads nothing itself. The drivers are
imported here, inside `x11_desktop`, so importing the GUI tool imports none of them.
"""

from __future__ import annotations

from tools.gui.base import Desktop, GuiUnavailable
from tools.gui.geometry import monitor_corners

INSTALL = "pip install pyautogui mss rapidocr-onnxruntime python-xlib"

REFUSALS = {
    "wayland": (
        "the GUI tool needs an X11 session and this is Wayland, where programs may not "
        "read the screen or send input to other windows; log in with an X11 session "
        "(e.g. 'Ubuntu on Xorg') to use it"
    ),
    "none": "the GUI tool needs a desktop: DISPLAY is not set (run inside your X11 session)",
    "macos": "the GUI tool supports Linux with X11 only for now (macOS needs its own adapter)",
    "windows": "the GUI tool supports Linux with X11 only for now (Windows needs its own adapter)",
}


def x11_display(session: str, display: str | None) -> str:
    """The X display to drive, or `GuiUnavailable` saying in one line why there is none."""
    if session != "x11" or not display:
        reason = REFUSALS.get(session, REFUSALS["none"] if not display else "")
        raise GuiUnavailable(reason or f"the GUI tool cannot drive a {session!r} desktop")
    return display


def x11_desktop(display: str) -> Desktop:
    """The real drivers for an X11 display. None connects until it is first used."""
    try:
        from tools.gui.input import PyAutoGuiInput
        from tools.gui.ocr import RapidOcr
        from tools.gui.screen import MssScreen
        from tools.gui.windows_x11 import X11Windows
    except ImportError as exc:
        raise GuiUnavailable(
            f"the GUI tool's libraries are not installed ({exc.name}): {INSTALL}"
        ) from exc
    screen = MssScreen(display)

    def corners() -> list[tuple[int, int]]:
        return monitor_corners(screen.monitors())

    return Desktop(screen, PyAutoGuiInput(display, corners), X11Windows(display), RapidOcr())
