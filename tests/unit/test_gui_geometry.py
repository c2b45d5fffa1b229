"""The one coordinate mapping (tools/gui/geometry.py), over every kind of monitor layout:
side by side, stacked, at negative offsets, of different sizes, at scale 1, 1.25, 1.5
and 2, shown whole or through a window, shrunk for the model or not."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tools.base import ToolFailure
from tools.gui.geometry import (
    Frame,
    Monitor,
    Rect,
    click_point,
    convert,
    convert_rect,
    frame_for,
    monitor_corners,
    tile,
)

SCALES = (1.0, 1.25, 1.5, 2.0)
SIDES = ("left", "right", "above", "below")


def overlaps(a: Rect, b: Rect) -> bool:
    return a.intersect(b) is not None


@st.composite
def layouts(draw: st.DrawFn, max_monitors: int = 4) -> tuple[Monitor, ...]:
    """Monitors as people arrange them: each one placed against a side of one already
    placed, slid along that side, never overlapping another. The first sits at the
    origin, so monitors left of or above it have negative coordinates."""
    sizes = st.tuples(st.integers(320, 3840), st.integers(240, 2160))
    w, h = draw(sizes)
    placed = [Monitor(Rect(0, 0, w, h), draw(st.sampled_from(SCALES)))]
    for _ in range(draw(st.integers(0, max_monitors - 1))):
        w, h = draw(sizes)
        anchor = draw(st.sampled_from(placed)).bounds
        side = draw(st.sampled_from(SIDES))
        if side in ("left", "right"):
            x = anchor.left - w if side == "left" else anchor.right
            y = anchor.top + draw(st.integers(-h + 1, int(anchor.height) - 1))
        else:
            y = anchor.top - h if side == "above" else anchor.bottom
            x = anchor.left + draw(st.integers(-w + 1, int(anchor.width) - 1))
        bounds = Rect(x, y, w, h)
        assume(not any(overlaps(bounds, m.bounds) for m in placed))
        placed.append(Monitor(bounds, draw(st.sampled_from(SCALES))))
    return tuple(placed)


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    """A screenshot of the whole desktop, or of a window somewhere on it."""
    monitors = draw(layouts())
    side = draw(st.sampled_from((640, 1280, 1920, 8000)))
    if draw(st.booleans()):
        return frame_for(monitors, max_model_side=side)
    m = draw(st.sampled_from(monitors)).bounds
    left = draw(st.integers(int(m.left), int(m.right) - 1))
    top = draw(st.integers(int(m.top), int(m.bottom) - 1))
    window = Rect(left, top, draw(st.integers(1, 2000)), draw(st.integers(1, 1500)))
    return frame_for(monitors, window, max_model_side=side)


def on_monitor(frame: Frame, x: float, y: float) -> Monitor | None:
    return next((m for m in frame.monitors if m.bounds.contains(x, y)), None)


@st.composite
def logical_points(draw: st.DrawFn, frame: Frame) -> tuple[int, int]:
    """An integer logical point on a monitor, inside the frame."""
    m = draw(st.sampled_from(frame.monitors)).bounds
    part = m.intersect(frame.region)
    assert part is not None
    x = draw(st.integers(math.ceil(part.left), math.ceil(part.right) - 1))
    y = draw(st.integers(math.ceil(part.top), math.ceil(part.bottom) - 1))
    return x, y


# -- frames ---------------------------------------------------------------------------------


@given(frames())
def test_a_frame_keeps_the_sharpest_monitors_detail_and_fits_the_model_budget(
    frame: Frame,
) -> None:
    assert frame.pixel_scale == max(m.scale for m in frame.monitors)
    pw, ph = frame.pixel_size
    mw, mh = frame.model_size
    assert mw <= pw and mh <= ph
    fx, fy = frame.model_factor
    assert abs(fx - fy) <= 1.0 / min(mw, mh) + 1e-9  # the aspect ratio survives rounding
    for m in frame.monitors:
        assert m.bounds.intersect(frame.region) is not None


def test_the_model_image_fits_the_budget_and_is_never_enlarged() -> None:
    hidpi = (Monitor(Rect(0, 0, 1440, 900), 2.0),)
    frame = frame_for(hidpi, max_model_side=1920)
    assert frame.pixel_size == (2880, 1800)
    assert frame.model_size == (1920, 1200)
    small = frame_for((Monitor(Rect(0, 0, 800, 600)),), max_model_side=1920)
    assert small.pixel_size == small.model_size == (800, 600)


def test_a_region_on_no_monitor_is_refused() -> None:
    monitors = (Monitor(Rect(0, 0, 100, 100)),)
    with pytest.raises(ToolFailure) as caught:
        frame_for(monitors, Rect(500, 500, 10, 10))
    assert caught.value.kind == "off_screen"


# -- convert: round trips ---------------------------------------------------------------------


@settings(max_examples=300)
@given(st.data())
def test_every_space_round_trips_through_every_other(data: st.DataObject) -> None:
    frame = data.draw(frames())
    x, y = data.draw(logical_points(frame))
    point = (x + 0.37, y + 0.61)
    for a in ("logical", "pixel", "model"):
        start = convert(frame, point, "logical", a)  # type: ignore[arg-type]
        for b in ("logical", "pixel", "model"):
            there = convert(frame, start, a, b)  # type: ignore[arg-type]
            back = convert(frame, there, b, a)  # type: ignore[arg-type]
            assert back == pytest.approx(start, abs=1e-6)
            via_logical = convert(frame, convert(frame, start, a, "logical"), "logical", b)  # type: ignore[arg-type]
            assert there == pytest.approx(via_logical, abs=1e-6)


@settings(max_examples=300)
@given(st.data())
def test_a_logical_pixel_clicked_in_the_screenshot_is_that_logical_pixel(
    data: st.DataObject,
) -> None:
    """Screenshots are never coarser than the desktop (pixel scale >= 1), so the pixel
    showing logical unit (x, y) clicks exactly (x, y)."""
    frame = data.draw(frames())
    x, y = data.draw(logical_points(frame))
    px, py = convert(frame, (x + 0.5, y + 0.5), "logical", "pixel")
    assert click_point(frame, (px, py), "pixel") == (x, y)


@settings(max_examples=300)
@given(st.data())
def test_a_model_pixel_clicks_inside_the_area_it_shows(data: st.DataObject) -> None:
    frame = data.draw(frames())
    x, y = data.draw(logical_points(frame))
    mx, my = convert(frame, (x + 0.5, y + 0.5), "logical", "model")
    mx, my = math.floor(mx), math.floor(my)
    # The logical rectangle that model pixel covers.
    area = convert_rect(frame, Rect(mx, my, 1, 1), "model", "logical")
    try:
        cx, cy = click_point(frame, (mx, my), "model")
    except ToolFailure as failure:
        # Only when the middle of that model pixel falls in a gap between monitors.
        assert failure.kind == "off_screen"
        centre = convert(frame, (mx + 0.5, my + 0.5), "model", "logical")
        assert on_monitor(frame, math.floor(centre[0]), math.floor(centre[1])) is None
        return
    assert area.left - 1 <= cx <= area.right and area.top - 1 <= cy <= area.bottom
    assert abs(cx - x) <= area.width + 1 and abs(cy - y) <= area.height + 1


@settings(max_examples=200)
@given(st.data())
def test_any_point_of_the_model_image_clicks_on_a_monitor_or_is_refused(
    data: st.DataObject,
) -> None:
    frame = data.draw(frames())
    w, h = frame.model_size
    point = (data.draw(st.integers(0, w - 1)), data.draw(st.integers(0, h - 1)))
    try:
        x, y = click_point(frame, point, "model")
    except ToolFailure as failure:
        assert failure.kind == "off_screen"
        return
    assert on_monitor(frame, x, y) is not None
    assert frame.region.contains(x, y)


@given(frames(), st.integers(-5, 5), st.integers(-5, 5))
def test_points_outside_the_image_are_refused(frame: Frame, dx: int, dy: int) -> None:
    w, h = frame.model_size
    assume(dx or dy)
    x = -abs(dx) if dx < 0 else w - 1 + abs(dx) if dx > 0 else 0
    y = -abs(dy) if dy < 0 else h - 1 + abs(dy) if dy > 0 else 0
    with pytest.raises(ToolFailure) as caught:
        click_point(frame, (x, y), "model")
    assert caught.value.kind == "off_screen"


# -- tiles ------------------------------------------------------------------------------------


@settings(max_examples=200)
@given(frames())
def test_monitors_tile_the_screenshot_without_gaps_or_overlaps(frame: Frame) -> None:
    width, height = frame.pixel_size
    boxes = []
    for m in frame.monitors:
        placed = tile(frame, m)
        if placed is None:
            continue
        part, (left, top, right, bottom) = placed
        assert 0 <= left < right <= width and 0 <= top < bottom <= height
        # The tile's middle pixel shows a point of that monitor.
        cx, cy = convert(frame, ((left + right) / 2, (top + bottom) / 2), "pixel", "logical")
        assert m.bounds.left <= cx <= m.bounds.right and m.bounds.top <= cy <= m.bounds.bottom
        boxes.append((left, top, right, bottom))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_touching_monitors_touch_in_the_image() -> None:
    left = Monitor(Rect(-1280, 0, 1280, 1024), 1.25)
    right = Monitor(Rect(0, 0, 1920, 1080), 1.5)
    frame = frame_for((left, right), max_model_side=10_000)
    a, b = tile(frame, left), tile(frame, right)
    assert a is not None and b is not None
    assert a[1][2] == b[1][0] == 1920  # 1280 logical at the frame's 1.5 pixels each


# -- worked examples, by hand -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "side", "model_point", "expected"),
    [
        # One 1280x800 screen at scale 1: every space is the same.
        ((Monitor(Rect(0, 0, 1280, 800)),), 1920, (400, 205), (400, 205)),
        # A Retina laptop: 1440x900 points, 2880x1800 pixels, model image 1920x1200.
        ((Monitor(Rect(0, 0, 1440, 900), 2.0),), 1920, (960, 600), (720, 450)),
        # A monitor left of the primary (negative x) at 125 %: the desktop is 3456x1080
        # logical, 4320x1350 pixels, 1920x600 for the model (factor 4/9).
        # (100.5 * 9/4) / 1.25 = 180.9 logical from the left edge at -1536.
        (
            (Monitor(Rect(0, 0, 1920, 1080)), Monitor(Rect(-1536, 0, 1536, 864), 1.25)),
            1920,
            (100, 100),
            (-1356, 180),
        ),
        # A monitor above the primary (negative y) at 150 %, model image unshrunk:
        # 150.5 / 1.5 = 100.3 below the top edge at -720.
        (
            (Monitor(Rect(0, 0, 1280, 800)), Monitor(Rect(0, -720, 1280, 720), 1.5)),
            100_000,
            (300, 150),
            (200, -620),
        ),
    ],
)
def test_worked_examples(
    layout: tuple[Monitor, ...],
    side: int,
    model_point: tuple[int, int],
    expected: tuple[int, int],
) -> None:
    frame = frame_for(layout, max_model_side=side)
    assert click_point(frame, model_point, "model") == expected


def test_a_gap_between_monitors_is_never_clicked() -> None:
    # Two monitors of different heights: the corner under the shorter one is no screen.
    frame = frame_for(
        (Monitor(Rect(0, 0, 1000, 500)), Monitor(Rect(1000, 0, 1000, 800))),
        max_model_side=100_000,
    )
    assert click_point(frame, (10, 10), "model") == (10, 10)
    assert click_point(frame, (1500, 700), "model") == (1500, 700)
    with pytest.raises(ToolFailure) as caught:
        click_point(frame, (10, 700), "model")
    assert caught.value.kind == "off_screen"


def test_every_monitor_has_its_four_corners_as_fail_safe_points() -> None:
    left = Monitor(Rect(0, 0, 640, 800))
    right = Monitor(Rect(640, 240, 640, 560), scale=2.0)
    assert monitor_corners([left, right]) == [
        (0, 0), (639, 0), (0, 799), (639, 799),
        (640, 240), (1279, 240), (640, 799), (1279, 799),
    ]  # fmt: skip
    assert monitor_corners([left, left]) == monitor_corners([left])
