"""Grounding for a text-only model: OCR lines become numbered elements it can name.

A reading of the screen (or one window) is shown to the model as::

    Screen image 1280x800; x,y are in this image.
    [1] "File" at (24,12)
    [2] "Save" at (400,205)

and the model answers ``gui.click`` with ``target "2"`` (or ``"400,205"``).

Invariants:
- Elements are in reading order (rows top to bottom, left to right within a row) and
  numbered from 1, so the same screen gives the same numbers and the same text (the
  prompt prefix stays stable while the screen does not change).
- Boxes are in model image coordinates, the space the model writes coordinates in.
- Text passes through the scrubber before it is stored, so a secret the tool typed and
  the OCR then read off the screen reaches neither the model nor the journal.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

from tools.base import ToolFailure
from tools.gui.base import TextBox, Window
from tools.gui.geometry import Frame, Rect
from tools.placeholders import placeholder
from tools.redaction import Redactor

MAX_ELEMENTS = 120
MAX_TEXT = 80
#: How alike an OCR line and a typed secret must be for the line to be withheld.
FUZZY_SECRET_RATIO = 0.8


@dataclass(frozen=True, slots=True)
class Element:
    index: int
    text: str
    #: In model image coordinates.
    box: Rect

    def label(self) -> str:
        return f'[{self.index}] "{self.text}"'


@dataclass(frozen=True, slots=True)
class Reading:
    """One OCR reading: the frame it was taken in and what it found."""

    frame: Frame
    elements: tuple[Element, ...]
    #: The window read, or None for the whole screen.
    window: Window | None = None
    #: Lines found beyond MAX_ELEMENTS (not shown, not clickable by number).
    hidden: int = 0

    def element(self, index: int) -> Element:
        if not 1 <= index <= len(self.elements):
            last = f"1..{len(self.elements)}" if self.elements else "no elements"
            raise ToolFailure("no_element", f"no element {index}; the last reading has {last}")
        return self.elements[index - 1]

    def find(self, text: str) -> list[Element]:
        """Elements whose text contains `text`, ignoring case and spaces (OCR often
        drops the space between words: "Press me" reads as "Pressme")."""
        needle = "".join(text.lower().split())
        return [e for e in self.elements if needle in "".join(e.text.lower().split())]

    def describe(self) -> str:
        width, height = self.frame.model_size
        where = "Screen" if self.window is None else f"Window {self.window.scope}"
        lines = [f"{where} image {width}x{height}; x,y are in this image."]
        lines += [f"{e.label()} at {_center(e.box)}" for e in self.elements]
        if not self.elements:
            lines.append("(no text found)")
        if self.hidden:
            lines.append(f"... {self.hidden} more lines not shown")
        return "\n".join(lines)


def read_elements(
    boxes: Iterable[TextBox], frame: Frame, scrub: Callable[[str], str], window: Window | None
) -> Reading:
    """Number OCR lines (boxes in model image coordinates) in reading order."""
    kept = [b for b in boxes if b.text.strip()]
    ordered = reading_order(kept)
    elements = []
    for i, b in enumerate(ordered[:MAX_ELEMENTS], start=1):
        text = scrub(" ".join(b.text.split()))
        if len(text) > MAX_TEXT:
            text = text[: MAX_TEXT - 3] + "..."
        elements.append(Element(i, text, b.box))
    return Reading(frame, tuple(elements), window, max(0, len(ordered) - MAX_ELEMENTS))


def reading_order(boxes: list[TextBox]) -> list[TextBox]:
    """Rows top to bottom, left to right within a row. A box joins the row above when its
    vertical centre lies within half a typical line height of that row's first box."""
    if not boxes:
        return []
    line = statistics.median(b.box.height for b in boxes) or 1.0
    by_center = sorted(boxes, key=lambda b: (b.box.center[1], b.box.left))
    rows: list[list[TextBox]] = []
    anchor = 0.0
    for b in by_center:
        cy = b.box.center[1]
        if rows and cy - anchor <= line / 2:
            rows[-1].append(b)
        else:
            rows.append([b])
            anchor = cy
    return [b for row in rows for b in sorted(row, key=lambda b: (b.box.left, b.box.top))]


class Scrubber:
    """Withholds typed secrets from text read off the screen.

    Exact occurrences are replaced by their placeholder (as the browser tool does). OCR
    may misread a character or two, so a line that closely resembles a typed secret is
    replaced whole by the placeholder.
    """

    def __init__(self) -> None:
        self._exact = Redactor()
        self._values: dict[str, str] = {}
        #: How many texts had a secret withheld so far (a reading that raised it showed one).
        self.hits = 0

    def add(self, name: str, value: str) -> None:
        self._exact.add(name, value)
        if len(value) >= 4:
            self._values[value.lower()] = name

    def __call__(self, text: str) -> str:
        scrubbed = self._exact(text)
        lowered = scrubbed.lower()
        for value, name in self._values.items():
            if _resembles(value, lowered):
                scrubbed = placeholder(name)
                break
        if scrubbed != text:
            self.hits += 1
        return scrubbed


def _resembles(secret: str, text: str) -> bool:
    """Whether some stretch of `text` about as long as `secret` nearly equals it."""
    n = len(secret)
    if len(text) < n - 2:
        return False
    for size in (n - 1, n, n + 1):
        for start in range(0, max(1, len(text) - size + 1)):
            matcher = SequenceMatcher(None, secret, text[start : start + size])
            # The quick ratios are upper bounds: most windows are ruled out cheaply.
            if (
                matcher.real_quick_ratio() >= FUZZY_SECRET_RATIO
                and matcher.quick_ratio() >= FUZZY_SECRET_RATIO
                and matcher.ratio() >= FUZZY_SECRET_RATIO
            ):
                return True
    return False


def _center(box: Rect) -> str:
    x, y = box.center
    return f"({int(x)},{int(y)})"
