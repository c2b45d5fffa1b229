"""In-memory implementations of the GUI seams, for unit tests of the logic around them.

They keep the contracts of `tools.gui.base`: `ImageScreen.grab` returns pixels at the
monitor's own scale; `StaticWindows.at` answers top-most first; `RecordingInput` records
every call in order and can run a hook after each (to set a stop flag mid-action, say).
Integration tests use the real drivers under Xvfb instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tools.base import ToolFailure
from tools.gui.base import Button, Image, TextBox, Window
from tools.gui.geometry import Monitor, Rect

KEY_NAMES = frozenset(
    "enter return tab esc escape backspace delete space up down left right home end "
    "pageup pagedown ctrl alt shift win f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 f11 f12".split()
) | frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


@dataclass
class ImageScreen:
    """Monitors whose pixels come from `paint(monitor_index, width, height)`.

    The default paint fills monitor i with the colour (i+1)*40 in every channel, so a
    test can tell monitors apart in a composed image, plus `generation`: a test that
    changes what the fake OCR reads bumps it, as a real screen's pixels would change.
    """

    layout: Sequence[Monitor]
    paint: Callable[[int, int, int], Image] | None = None
    grabs: list[Rect] = field(default_factory=list)
    generation: int = 0

    def monitors(self) -> tuple[Monitor, ...]:
        return tuple(self.layout)

    def grab(self, rect: Rect) -> Image:
        self.grabs.append(rect)
        for i, m in enumerate(self.layout):
            part = m.bounds.intersect(rect)
            if part is not None and part == rect:
                full = self._full(i, m)
                x0 = round((rect.left - m.bounds.left) * m.scale)
                y0 = round((rect.top - m.bounds.top) * m.scale)
                w, h = round(rect.width * m.scale), round(rect.height * m.scale)
                return full[y0 : y0 + h, x0 : x0 + w]
        raise ToolFailure("screen_error", f"{rect} is not within one monitor")

    def _full(self, index: int, monitor: Monitor) -> Image:
        w = round(monitor.bounds.width * monitor.scale)
        h = round(monitor.bounds.height * monitor.scale)
        if self.paint is not None:
            return self.paint(index, w, h)
        return np.full((h, w, 3), ((index + 1) * 40 + self.generation) % 256, dtype=np.uint8)


@dataclass
class FixedOcr:
    """Returns `boxes` for every image (or what `read_fn` returns), recording image sizes."""

    boxes: list[TextBox] = field(default_factory=list)
    read_fn: Callable[[Image], list[TextBox]] | None = None
    sizes: list[tuple[int, int]] = field(default_factory=list)

    def read(self, image: Image) -> list[TextBox]:
        self.sizes.append((image.shape[1], image.shape[0]))
        return self.read_fn(image) if self.read_fn is not None else list(self.boxes)


@dataclass
class StaticWindows:
    """Windows listed top-most first; `focused_id` names the focused one."""

    windows: list[Window] = field(default_factory=list)
    focused_id: int | None = None

    def visible(self) -> list[Window]:
        return list(self.windows)

    def at(self, x: int, y: int) -> Window | None:
        return next((w for w in self.windows if w.bounds.contains(x, y)), None)

    def focused(self) -> Window | None:
        return next((w for w in self.windows if w.id == self.focused_id), None)

    def focus(self, window: Window) -> None:
        self.focused_id = window.id


@dataclass
class RecordingInput:
    """Records calls as tuples (``("click", x, y, button, count)``, ...).

    `after` runs after each recorded call; `untypeable` lists characters with no key.
    """

    calls: list[tuple[Any, ...]] = field(default_factory=list)
    after: Callable[[tuple[Any, ...]], None] | None = None
    untypeable: str = ""
    position: tuple[int, int] = (0, 0)

    def can_press(self, key: str) -> bool:
        return key.lower() in KEY_NAMES

    def can_type(self, char: str) -> bool:
        return char not in self.untypeable

    def pointer(self) -> tuple[int, int]:
        return self.position

    def move(self, x: int, y: int) -> None:
        self.position = (x, y)
        self._record("move", x, y)

    def click(self, x: int, y: int, button: Button, count: int) -> None:
        self.position = (x, y)
        self._record("click", x, y, button, count)

    def drag(self, start: tuple[int, int], end: tuple[int, int], button: Button) -> None:
        self.position = end
        self._record("drag", start, end, button)

    def type_text(self, text: str) -> None:
        self._record("type", text)

    def press(self, keys: Sequence[str]) -> None:
        self._record("press", tuple(keys))

    def scroll(self, x: int, y: int, dx: int, dy: int) -> None:
        self._record("scroll", x, y, dx, dy)

    def _record(self, *call: Any) -> None:
        self.calls.append(call)
        if self.after is not None:
            self.after(call)
