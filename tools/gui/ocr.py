"""The real `Ocr`: RapidOCR on onnxruntime, the only module that imports it.

Its detection and recognition models ship inside the wheel, so OCR works offline from
the first run. The engine loads on first use (~0.1 s) and is reused; onnxruntime
sessions are safe to call from the one thread that owns the GUI tool.

Speed, measured on a 1280x800 screen with 23 lines of text (tests/benchmarks/gui.py):
recognition is about three quarters of the 1.2 s, detection the rest. So they run apart:
- detection finds the lines on the whole image;
- each line's crop is recognised only if no identical crop was recognised before (a
  bounded cache keyed by the crop's pixels). After a click, most of the screen is
  unchanged, and only the lines that changed are read again.
Screen text is upright, so the angle classifier is never run.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import OrderedDict
from typing import Any

import numpy as np

from tools.gui.base import GuiUnavailable, Image, TextBox
from tools.gui.geometry import Rect

log = logging.getLogger(__name__)

#: Lines recognised with less confidence than this are dropped.
MIN_SCORE = 0.5
#: Recognised lines remembered by their pixels (a few screens' worth).
LINE_CACHE = 2000


class RapidOcr:
    def __init__(self) -> None:
        self._engine: Any = None
        self._lines: OrderedDict[bytes, tuple[str, float]] = OrderedDict()

    def read(self, image: Image) -> list[TextBox]:
        engine = self._load()
        quads, _ = engine(np.ascontiguousarray(image), use_det=True, use_cls=False, use_rec=False)
        height, width = image.shape[:2]
        boxes = []
        for quad in quads or []:
            xs, ys = [float(p[0]) for p in quad], [float(p[1]) for p in quad]
            left, top = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
            right, bottom = min(width, math.ceil(max(xs))), min(height, math.ceil(max(ys)))
            if right - left < 2 or bottom - top < 2:
                continue
            # The engine's own crop (a perspective warp of the detected quad): a plain
            # slice of the bounding box reads small text noticeably worse.
            (crop,) = engine.get_crop_img_list(image, [np.array(quad, dtype=np.float32)])
            text, score = self._recognise(engine, crop)
            if score >= MIN_SCORE and text.strip():
                boxes.append(TextBox(text, Rect(left, top, right - left, bottom - top), score))
        return boxes

    def _recognise(self, engine: Any, crop: Image) -> tuple[str, float]:
        key = hashlib.blake2b(crop.tobytes(), digest_size=16).digest() + str(crop.shape).encode()
        known = self._lines.get(key)
        if known is not None:
            self._lines.move_to_end(key)
            return known
        result, _ = engine(np.ascontiguousarray(crop), use_det=False, use_cls=False, use_rec=True)
        line = (str(result[0][0]), float(result[0][1])) if result else ("", 0.0)
        self._lines[key] = line
        if len(self._lines) > LINE_CACHE:
            self._lines.popitem(last=False)
        return line

    def _load(self) -> Any:
        if self._engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as exc:
                raise GuiUnavailable(
                    "OCR needs rapidocr-onnxruntime: pip install rapidocr-onnxruntime"
                ) from exc
            self._engine = RapidOCR()
        return self._engine
