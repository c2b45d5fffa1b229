"""Composing several monitors into one screenshot, shrinking it, writing PNG — on fake
screens whose every monitor is painted its own colour."""

from __future__ import annotations

import struct
import zlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_gui_geometry import layouts

from tools.gui.fakes import ImageScreen
from tools.gui.geometry import Monitor, Rect, convert, frame_for, tile
from tools.gui.raster import compose, png_bytes, resample


def colour(index: int) -> int:
    return (index + 1) * 40


@settings(max_examples=60, deadline=None)
@given(layouts(max_monitors=3))
def test_each_monitor_lands_where_the_mapping_says(layout: tuple[Monitor, ...]) -> None:
    # Small monitors keep the images small; the layout's shape is what matters.
    small = tuple(
        Monitor(
            Rect(m.bounds.left / 8, m.bounds.top / 8, m.bounds.width / 8, m.bounds.height / 8),
            m.scale,
        )
        for m in layout
    )
    small = tuple(
        Monitor(
            Rect(
                round(m.bounds.left),
                round(m.bounds.top),
                max(8, round(m.bounds.width)),
                max(8, round(m.bounds.height)),
            ),
            m.scale,
        )
        for m in small
    )
    if any(a.bounds.intersect(b.bounds) for i, a in enumerate(small) for b in small[i + 1 :]):
        return  # rounding made two monitors overlap; the unscaled layouts never do
    screen = ImageScreen(small)
    frame = frame_for(small, max_model_side=100_000)
    image = compose(screen, frame)
    assert image.shape[:2] == (frame.pixel_size[1], frame.pixel_size[0])
    covered = np.zeros(image.shape[:2], dtype=bool)
    for i, m in enumerate(small):
        placed = tile(frame, m)
        assert placed is not None
        _, (left, top, right, bottom) = placed
        assert (image[top:bottom, left:right] == colour(i)).all()
        covered[top:bottom, left:right] = True
        # And the other way: the middle of this monitor, mapped to pixels, shows it.
        cx, cy = convert(frame, m.bounds.center, "logical", "pixel")
        assert image[int(cy), int(cx), 0] == colour(i)
    assert not image[~covered].any()  # gaps between monitors stay black


def test_a_hidpi_monitor_keeps_its_pixels_and_a_plain_one_is_enlarged_to_match() -> None:
    plain = Monitor(Rect(0, 0, 100, 50), 1.0)
    retina = Monitor(Rect(100, 0, 100, 50), 2.0)

    def paint(index: int, w: int, h: int) -> np.ndarray:
        img = np.zeros((h, w, 3), dtype=np.uint8)
        img[:, :, 0] = np.arange(w)[None, :] % 256  # a gradient to see resampling
        img[:, :, 1] = colour(index)
        return img

    screen = ImageScreen((plain, retina), paint)
    frame = frame_for((plain, retina), max_model_side=100_000)
    image = compose(screen, frame)
    assert image.shape == (100, 400, 3)
    # The Retina half is its own 200x100 pixels, untouched.
    assert (image[:, 200:, 0] == np.arange(200)[None, :]).all()
    # The plain half was enlarged 2x: each source column appears twice.
    assert (image[0, 0:200:2, 0] == np.arange(100)).all()
    assert (image[0, 1:200:2, 0] == np.arange(100)).all()


def test_a_window_region_grabs_only_the_monitors_it_covers() -> None:
    a, b = Monitor(Rect(0, 0, 200, 100)), Monitor(Rect(200, 0, 200, 100))
    screen = ImageScreen((a, b))
    frame = frame_for((a, b), Rect(20, 10, 60, 40))
    image = compose(screen, frame)
    assert image.shape == (40, 60, 3) and (image == colour(0)).all()
    assert screen.grabs == [Rect(20, 10, 60, 40)]


@given(
    st.integers(1, 64),
    st.integers(1, 64),
    st.integers(1, 64),
    st.integers(1, 64),
    st.integers(0, 255),
)
def test_resampling_keeps_the_mean_of_a_flat_image(
    w: int, h: int, ow: int, oh: int, v: int
) -> None:
    flat = np.full((h, w, 3), v, dtype=np.uint8)
    out = resample(flat, (ow, oh))
    assert out.shape == (oh, ow, 3)
    assert (out == v).all()


def test_shrinking_averages_each_block() -> None:
    img = np.zeros((2, 4, 3), dtype=np.uint8)
    img[:, 0:2] = 100
    img[:, 2:4] = 200
    img[0, 0] = 0  # block mean (0+100+100+100)/4 = 75
    out = resample(img, (2, 1))
    assert out[0, 0, 0] == 75 and out[0, 1, 0] == 200


def test_png_holds_the_pixels() -> None:
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    data = png_bytes(img)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    chunks = {}
    pos = 8
    while pos < len(data):
        (size,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + size]
        (crc,) = struct.unpack(">I", data[pos + 8 + size : pos + 12 + size])
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = body
        pos += 12 + size
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    assert (width, height) == (3, 2)
    rows = zlib.decompress(chunks[b"IDAT"])
    assert rows[0] == 0 and rows[10] == 0  # filter byte "none" on each row
    rgb = np.frombuffer(rows, dtype=np.uint8).reshape(2, 10)[:, 1:].reshape(2, 3, 3)
    assert (rgb == img[:, :, ::-1]).all()  # stored as RGB from our BGR
