"""The GUI tool's seams and the plain values that cross them.

Four seams, each with one real implementation (the only module that imports its
library) and one fake in `tools.gui.fakes`:

    Screen   monitors and pixels          tools.gui.screen       (mss)
    Input    pointer and keyboard         tools.gui.input        (pyautogui)
    Windows  list, find and focus windows tools.gui.windows_x11  (python-xlib)
    Ocr      text and boxes in an image   tools.gui.ocr          (rapidocr-onnxruntime)

Foreign exceptions are mapped at those modules into the two types below or into
`ToolFailure`; nothing above them sees a library's exception. All four are thread-bound:
the GUI tool's actions run on the agent's worker thread (``thread_bound=True``), which is
the one thread that ever calls them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from tools.gui.geometry import Monitor, Rect

#: An image as rows of BGR pixels (height x width x 3, uint8), as OpenCV and mss lay it out.
Image = npt.NDArray[np.uint8]
Button = Literal["left", "right", "middle"]

#: The scope of input that lands on no application window (the desktop background).
DESKTOP_SCOPE = "desktop"


class GuiUnavailable(Exception):
    """This session has no desktop the GUI tool can drive; the message is one line."""


class InputStopped(Exception):
    """The person took the pointer to a screen corner (pyautogui's fail-safe): stop now."""


@dataclass(frozen=True, slots=True)
class TextBox:
    """A line of text the OCR found, with its box in the pixels of the image it read."""

    text: str
    box: Rect
    score: float


@dataclass(frozen=True, slots=True)
class Window:
    """A top-level application window. `app` is its class (X11 WM_CLASS), `bounds` its
    rectangle in logical desktop coordinates."""

    id: int
    app: str
    title: str
    bounds: Rect

    @property
    def scope(self) -> str:
        """What the permission policy matches a GUI action against: ``app:title``."""
        return f"{self.app}:{self.title}"


def scope_of(window: Window | None) -> str:
    return DESKTOP_SCOPE if window is None else window.scope


class Screen(Protocol):
    def monitors(self) -> tuple[Monitor, ...]:
        """Every monitor, in logical coordinates, with its measured scale factor."""
        ...

    def grab(self, rect: Rect) -> Image:
        """The pixels of `rect` (logical, integral, within one monitor) at that monitor's
        own resolution: ``rect.width * scale`` by ``rect.height * scale``."""
        ...


class Input(Protocol):
    def can_press(self, key: str) -> bool:
        """Whether `key` is a key name this driver knows ("enter", "ctrl", "f4", "a")."""
        ...

    def can_type(self, char: str) -> bool:
        """Whether `char` can be typed with the current keyboard map."""
        ...

    def pointer(self) -> tuple[int, int]: ...

    def move(self, x: int, y: int) -> None: ...

    def click(self, x: int, y: int, button: Button, count: int) -> None: ...

    def drag(self, start: tuple[int, int], end: tuple[int, int], button: Button) -> None: ...

    def type_text(self, text: str) -> None: ...

    def press(self, keys: Sequence[str]) -> None:
        """One key, or a chord (``["ctrl", "s"]``): held in order, released in reverse."""
        ...

    def scroll(self, x: int, y: int, dx: int, dy: int) -> None:
        """Scroll by wheel clicks at (x, y): dy > 0 up, dx > 0 right."""
        ...


class Windows(Protocol):
    def visible(self) -> list[Window]:
        """Visible top-level windows, top-most first."""
        ...

    def at(self, x: int, y: int) -> Window | None:
        """The top-most visible window containing the logical point, if any."""
        ...

    def focused(self) -> Window | None:
        """The window that keyboard input goes to now, if any."""
        ...

    def focus(self, window: Window) -> None:
        """Raise `window` and give it the keyboard; `ToolFailure` when it cannot."""
        ...


class Ocr(Protocol):
    def read(self, image: Image) -> list[TextBox]:
        """Lines of text in `image`, boxes in its pixel coordinates."""
        ...


@dataclass(frozen=True, slots=True)
class Desktop:
    """The four seams the GUI tool drives, on one display."""

    screen: Screen
    input: Input
    windows: Windows
    ocr: Ocr
