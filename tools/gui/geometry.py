"""Coordinates of the GUI tool: the one place that maps between the three spaces.

- **logical**: the OS's desktop coordinates, the ones input events use (X11 pixels;
  macOS points; Windows DPI-scaled pixels). Monitors are rectangles in this space and
  may sit at negative offsets (a monitor left of or above the primary one).
- **pixel**: one screenshot's pixels. A screenshot shows a logical `region` at a uniform
  `pixel_scale` (screenshot pixels per logical unit): the scale of the sharpest monitor it
  covers, so a HiDPI monitor keeps its detail. Monitors with a lower scale are resampled
  up when several are composed into one image (`tile`).
- **model**: the image the OCR and the model see: the screenshot shrunk (never enlarged)
  to `model_size` so that its long side fits a budget. Coordinates the model writes are
  in this space, and so are the element boxes it is shown. The factor per axis is exactly
  ``model_size / pixel_size``, the ratio the image is resampled by.

Invariants:
- `convert` is the only mapping; everything else (`tile`, `click_point`) is built on it.
  It is affine per frame, so ``convert(convert(p, a, b), b, a) == p`` up to float error.
- `click_point` returns an integer logical point that lies on a monitor and inside the
  frame's region, or raises `ToolFailure` ``off_screen``: a point in a gap between
  monitors, or outside the image, is never clicked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from tools.base import ToolFailure

Space = Literal["pixel", "model", "logical"]
Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Rect:
    """An axis-aligned rectangle; `contains` is half-open (right and bottom excluded)."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def center(self) -> Point:
        return (self.left + self.width / 2, self.top + self.height / 2)

    def contains(self, x: float, y: float) -> bool:
        return self.left <= x < self.right and self.top <= y < self.bottom

    def intersect(self, other: Rect) -> Rect | None:
        left, top = max(self.left, other.left), max(self.top, other.top)
        right, bottom = min(self.right, other.right), min(self.bottom, other.bottom)
        if right <= left or bottom <= top:
            return None
        return Rect(left, top, right - left, bottom - top)

    @classmethod
    def bounding(cls, rects: Iterable[Rect]) -> Rect:
        rs = list(rects)
        if not rs:
            raise ValueError("no rectangles to bound")
        left, top = min(r.left for r in rs), min(r.top for r in rs)
        right, bottom = max(r.right for r in rs), max(r.bottom for r in rs)
        return cls(left, top, right - left, bottom - top)


@dataclass(frozen=True, slots=True)
class Monitor:
    """One display: where it sits in logical coordinates, and its physical pixels per
    logical unit (1 on X11; 2 on a Retina Mac; 1.25, 1.5, 2 on scaled Windows displays)."""

    bounds: Rect
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.scale <= 0 or self.bounds.width <= 0 or self.bounds.height <= 0:
            raise ValueError(f"not a usable monitor: {self}")


@dataclass(frozen=True, slots=True)
class Frame:
    """How one screenshot (and the model image made from it) sits on the desktop."""

    region: Rect
    pixel_scale: float
    model_size: tuple[int, int]
    monitors: tuple[Monitor, ...]

    @property
    def pixel_size(self) -> tuple[int, int]:
        return _size(self.region, self.pixel_scale)

    @property
    def model_factor(self) -> tuple[float, float]:
        """Model image pixels per screenshot pixel, per axis (<= 1)."""
        (mw, mh), (pw, ph) = self.model_size, self.pixel_size
        return (mw / pw, mh / ph)


def frame_for(
    monitors: Iterable[Monitor], region: Rect | None = None, *, max_model_side: int = 1920
) -> Frame:
    """The frame of a screenshot of `region` (default: every monitor).

    The pixel scale is that of the sharpest monitor the region overlaps; the model image
    is the screenshot shrunk (never enlarged) until its long side is at most
    `max_model_side`. Raises `ToolFailure` ``off_screen`` when the region shows no monitor.
    """
    all_monitors = tuple(monitors)
    if not all_monitors:
        raise ToolFailure("off_screen", "no monitor found")
    if region is None:
        region = Rect.bounding(m.bounds for m in all_monitors)
    shown = tuple(m for m in all_monitors if m.bounds.intersect(region) is not None)
    if not shown:
        raise ToolFailure("off_screen", "that part of the desktop is on no monitor")
    pixel_scale = max(m.scale for m in shown)
    pixel_w, pixel_h = _size(region, pixel_scale)
    shrink = min(1.0, max_model_side / max(pixel_w, pixel_h))
    model_size = (max(1, round(pixel_w * shrink)), max(1, round(pixel_h * shrink)))
    return Frame(region, pixel_scale, model_size, shown)


def convert(frame: Frame, point: Point, src: Space, dst: Space) -> Point:
    """Map `point` from space `src` to space `dst` within `frame` (no rounding, no
    bounds check: see `click_point` for a point to click)."""
    x, y = point
    if src == dst:
        return (x, y)
    # To logical ...
    fx, fy = frame.model_factor
    if src == "model":
        x, y = x / fx, y / fy
    if src in ("model", "pixel"):
        x = frame.region.left + x / frame.pixel_scale
        y = frame.region.top + y / frame.pixel_scale
    # ... and from logical.
    if dst == "logical":
        return (x, y)
    x = (x - frame.region.left) * frame.pixel_scale
    y = (y - frame.region.top) * frame.pixel_scale
    if dst == "model":
        x, y = x * fx, y * fy
    return (x, y)


def convert_rect(frame: Frame, rect: Rect, src: Space, dst: Space) -> Rect:
    left, top = convert(frame, (rect.left, rect.top), src, dst)
    right, bottom = convert(frame, (rect.right, rect.bottom), src, dst)
    return Rect(left, top, right - left, bottom - top)


def click_point(frame: Frame, point: Point, src: Space) -> tuple[int, int]:
    """The integer logical point to send input to for `point` in space `src`.

    A point in the model or pixel space names the middle of the area that pixel covers
    (so a click never lands on the edge of the neighbouring logical pixel).
    """
    if src in ("model", "pixel"):
        width, height = frame.model_size if src == "model" else frame.pixel_size
        if not (0 <= point[0] < width and 0 <= point[1] < height):
            raise ToolFailure(
                "off_screen", f"({point[0]:g},{point[1]:g}) is outside the {width}x{height} image"
            )
        point = (math.floor(point[0]) + 0.5, math.floor(point[1]) + 0.5)
    x, y = convert(frame, point, src, "logical")
    ix, iy = math.floor(x), math.floor(y)
    if not any(m.bounds.contains(ix, iy) for m in frame.monitors):
        raise ToolFailure("off_screen", f"logical point ({ix},{iy}) is on no monitor")
    if not frame.region.contains(ix, iy):
        raise ToolFailure("off_screen", f"logical point ({ix},{iy}) is outside the screenshot")
    return (ix, iy)


def tile(frame: Frame, monitor: Monitor) -> tuple[Rect, tuple[int, int, int, int]] | None:
    """Where `monitor` appears in the frame's screenshot.

    Returns the logical part of the monitor the frame shows, and its integer pixel box
    ``(left, top, right, bottom)`` in the screenshot. Edges are rounded the same way for
    every monitor, so monitors that touch on the desktop touch in the image, with no gap
    and no overlap. None when the monitor is not in the frame.
    """
    part = monitor.bounds.intersect(frame.region)
    if part is None:
        return None
    left, top = convert(frame, (part.left, part.top), "logical", "pixel")
    right, bottom = convert(frame, (part.right, part.bottom), "logical", "pixel")
    box = (round(left), round(top), round(right), round(bottom))
    if box[2] <= box[0] or box[3] <= box[1]:
        return None
    return part, box


def _size(region: Rect, scale: float) -> tuple[int, int]:
    return (max(1, round(region.width * scale)), max(1, round(region.height * scale)))


def monitor_corners(monitors: Iterable[Monitor]) -> list[tuple[int, int]]:
    """The outermost logical pixel at each corner of each monitor: pyautogui's fail-safe
    points. With several monitors the screen's own corners may lie in a gap no pointer
    can reach, so every monitor's corners must stop the run."""
    corners: list[tuple[int, int]] = []
    for m in monitors:
        b = m.bounds
        right, bottom = int(b.right) - 1, int(b.bottom) - 1
        for point in (
            (int(b.left), int(b.top)),
            (right, int(b.top)),
            (int(b.left), bottom),
            (right, bottom),
        ):
            if point not in corners:
                corners.append(point)
    return corners
