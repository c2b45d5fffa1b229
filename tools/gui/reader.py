"""Reading the screen: pixels in, numbered text elements out.

capture (every monitor the region shows, composed) → shrink to the model image → OCR →
numbered elements, with typed secrets scrubbed out. The last reading is kept: element
numbers and coordinates the model writes refer to it.

Invariants:
- OCR runs only when the model image differs from the last one read (a hash compare),
  so polling an unchanged screen costs a capture, not an OCR.
- A screenshot is written (``SHA256.png`` under `screenshots`) only when its reading
  withheld no secret: a screen that shows a typed secret is never kept. It is written
  atomically, so a file named by a digest always holds the bytes of that digest.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from tools.atomic_write import write_atomic
from tools.gui.base import Image, Ocr, Screen, TextBox, Window
from tools.gui.elements import Reading, Scrubber, read_elements
from tools.gui.geometry import Frame, frame_for
from tools.gui.raster import compose, png_bytes, resample


class ScreenReader:
    def __init__(
        self,
        screen: Screen,
        ocr: Ocr,
        scrub: Scrubber,
        *,
        screenshots: Path | None = None,
        max_model_side: int = 1920,
    ) -> None:
        self._screen = screen
        self._ocr = ocr
        self._scrub = scrub
        self._shots = screenshots
        self._max_side = max_model_side
        self._last_ocr: tuple[bytes, list[TextBox]] | None = None
        self.last: Reading | None = None

    def read(self, window: Window | None) -> tuple[Reading, dict[str, Any]]:
        """Read the whole screen, or only `window`'s rectangle; the reading and the
        journal data (element count, image size, screenshot path and sha256)."""
        region = window.bounds if window else None
        frame = frame_for(self._screen.monitors(), region, max_model_side=self._max_side)
        image = resample(compose(self._screen, frame), frame.model_size)
        hits = self._scrub.hits
        reading = read_elements(self._text(image), frame, self._scrub, window)
        self.last = reading
        data: dict[str, Any] = {"elements": len(reading.elements), "image": list(frame.model_size)}
        if self._shots is not None and self._scrub.hits == hits:
            png = png_bytes(image)
            digest = hashlib.sha256(png).hexdigest()
            self._shots.mkdir(parents=True, exist_ok=True)
            path = self._shots / f"{digest}.png"
            write_atomic(path, png)
            data.update(screenshot=str(path), sha256=digest)
        return reading, data

    def frame(self) -> Frame:
        """The frame coordinates refer to: the last reading's, else the whole screen's."""
        if self.last is not None:
            return self.last.frame
        return frame_for(self._screen.monitors(), max_model_side=self._max_side)

    def _text(self, image: Image) -> list[TextBox]:
        # Hashing a 1280x800 image takes a few ms; OCR of it about a second.
        key = hashlib.blake2b(image.tobytes(), digest_size=16).digest()
        key += str(image.shape).encode()
        if self._last_ocr is None or self._last_ocr[0] != key:
            self._last_ocr = (key, self._ocr.read(image))
        return self._last_ocr[1]
