"""The real `Input`: pyautogui, the only module that imports it.

pyautogui connects to the X server named by ``$DISPLAY`` when it is first imported and
keeps that connection for the life of the process. So it is imported here, on first use,
with ``DISPLAY`` set to the display this driver was built for (from the settings), and a
second driver for another display in the same process is refused. Nothing else in
deskhand imports it: a file-only run never connects to an X server.

Settings chosen deliberately:
- ``FAILSAFE = True``: the person can always stop the agent by throwing the pointer into
  a screen corner, or into a corner of any monitor (with several monitors, a corner of
  the whole screen can lie in a gap the pointer never reaches). pyautogui then raises before its next event; that is mapped to
  `InputStopped`, which the tool turns into a stop of the whole run.
- ``PAUSE = 0.02``: pyautogui sleeps ``PAUSE`` after every call (0.1 s by default). The
  tool never relies on it for correctness (it reads the screen again and waits on what
  it sees), but a short pause lets the target application handle one event (a click
  that moves the keyboard focus) before the next call sends more (the typed text).
- Drags move in steps over ``DRAG_SECONDS`` so that applications see pointer motion
  with the button held, which drag-and-drop needs.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from tools.base import ToolFailure
from tools.gui.base import Button, GuiUnavailable, InputStopped

log = logging.getLogger(__name__)

PAUSE_S = 0.02
DRAG_SECONDS = 0.25
T = TypeVar("T")

#: The display pyautogui connected to when this module imported it.
_bound_display: str | None = None


class PyAutoGuiInput:
    """`corners`: fail-safe points beside pyautogui's own (the corners of the whole
    screen), read before every call: each monitor's corners (geometry.monitor_corners).
    The pointer found on one of them stops the run, unless this driver left it there
    itself (an action aimed at that pixel)."""

    def __init__(
        self, display: str, corners: Callable[[], Sequence[tuple[int, int]]] | None = None
    ) -> None:
        self._display = display
        self._corners = corners
        self._lib: Any = None
        self._left_at: tuple[int, int] | None = None

    def can_press(self, key: str) -> bool:
        return bool(self._gui().isValidKey(key.lower()))

    def can_type(self, char: str) -> bool:
        return bool(self._gui().isValidKey(char))

    def pointer(self) -> tuple[int, int]:
        x, y = self._call(lambda g: g.position())
        return int(x), int(y)

    def move(self, x: int, y: int) -> None:
        self._call(lambda g: g.moveTo(x, y))

    def click(self, x: int, y: int, button: Button, count: int) -> None:
        self._call(lambda g: g.click(x, y, clicks=count, interval=0.05, button=button))

    def drag(self, start: tuple[int, int], end: tuple[int, int], button: Button) -> None:
        def go(g: Any) -> None:
            g.moveTo(*start)
            g.dragTo(*end, duration=DRAG_SECONDS, button=button)

        self._call(go)

    def type_text(self, text: str) -> None:
        self._call(lambda g: g.write(text))

    def press(self, keys: Sequence[str]) -> None:
        names = [k.lower() for k in keys]
        if len(names) == 1:
            self._call(lambda g: g.press(names[0]))
        else:
            self._call(lambda g: g.hotkey(*names))

    def scroll(self, x: int, y: int, dx: int, dy: int) -> None:
        def go(g: Any) -> None:
            if dy:
                g.scroll(dy, x=x, y=y)
            if dx:
                g.hscroll(dx, x=x, y=y)

        self._call(go)

    def _call(self, action: Callable[[Any], T]) -> T:
        gui = self._gui()
        with _input_errors(gui):
            if self._corners is not None:
                here = _point(gui.position())
                if here != self._left_at and here in self._corners():
                    raise InputStopped("the pointer was moved to a monitor corner (fail-safe)")
            result = action(gui)
            self._left_at = _point(gui.position())
        return result

    def _gui(self) -> Any:
        if self._lib is None:
            self._lib = _load(self._display)
            # Where the pointer rests when the run starts was not thrown there during it.
            self._left_at = _point(self._lib.position())
        return self._lib


def _point(position: Any) -> tuple[int, int]:
    x, y = position
    return int(x), int(y)


def _load(display: str) -> Any:
    global _bound_display
    if "pyautogui" not in sys.modules:
        previous = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = display
        try:
            import pyautogui  # noqa: F401 - connects to $DISPLAY as it loads
        except Exception as exc:  # noqa: BLE001 - any failure to connect is "no desktop"
            raise GuiUnavailable(f"cannot connect pyautogui to display {display}: {exc}") from exc
        finally:
            if previous is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = previous
        _bound_display = display
    if _bound_display != display:
        raise GuiUnavailable(
            f"pyautogui is connected to display {_bound_display}; one process drives one display"
        )
    module: Any = sys.modules["pyautogui"]
    module.FAILSAFE = True
    module.PAUSE = PAUSE_S
    return module


@contextmanager
def _input_errors(gui: Any) -> Iterator[None]:
    """Map pyautogui's exceptions: the fail-safe to `InputStopped`, the rest to failures."""
    try:
        yield
    except gui.FailSafeException as exc:
        raise InputStopped("the pointer was moved to a screen corner (fail-safe)") from exc
    except gui.PyAutoGUIException as exc:
        log.debug("pyautogui failed: %s", exc)
        raise ToolFailure("input_error", f"the input action failed: {exc}") from exc
