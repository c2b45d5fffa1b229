"""Pixels: composing one screenshot from several monitors, shrinking it to the model
image, and writing it as PNG. Pure numpy and zlib, so the fakes and the real screen
share every line of it.

Invariants: `compose` places each monitor where `geometry.tile` says, so a pixel of the
composed image maps back to the logical point it shows through `geometry.convert`;
areas of the region that no monitor covers stay black.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from tools.gui.base import Image, Screen
from tools.gui.geometry import Frame, Rect, tile


def compose(screen: Screen, frame: Frame) -> Image:
    """The screenshot of `frame`: every monitor's part, each at the frame's pixel scale."""
    width, height = frame.pixel_size
    if len(frame.monitors) == 1:
        placed = tile(frame, frame.monitors[0])
        if placed is not None and placed[1] == (0, 0, width, height):
            # One monitor fills the whole image (the usual case): no canvas to copy into.
            return resample(screen.grab(_integral(placed[0])), (width, height))
    canvas: Image = np.zeros((height, width, 3), dtype=np.uint8)
    for monitor in frame.monitors:
        placed = tile(frame, monitor)
        if placed is None:
            continue
        part, (left, top, right, bottom) = placed
        pixels = screen.grab(_integral(part))
        canvas[top:bottom, left:right] = resample(pixels, (right - left, bottom - top))
    return canvas


def resample(image: Image, size: tuple[int, int]) -> Image:
    """`image` resized to `size` (width, height): each output pixel is the mean of the
    input pixels it covers when shrinking, the nearest input pixel when enlarging."""
    height, width = image.shape[:2]
    out_w, out_h = size
    if (out_w, out_h) == (width, height):
        return image
    if out_w > width or out_h > height:
        ys = np.minimum((np.arange(out_h) + 0.5) * height / out_h, height - 1).astype(np.intp)
        xs = np.minimum((np.arange(out_w) + 0.5) * width / out_w, width - 1).astype(np.intp)
        result: Image = image[ys][:, xs]
        return result
    # Box filter through a summed-area table: one pass, no per-pixel Python loop.
    table = np.zeros((height + 1, width + 1, image.shape[2]), dtype=np.int64)
    table[1:, 1:] = image.astype(np.int64).cumsum(axis=0).cumsum(axis=1)
    y_edges = np.round(np.linspace(0, height, out_h + 1)).astype(np.intp)
    x_edges = np.round(np.linspace(0, width, out_w + 1)).astype(np.intp)
    y0, y1 = y_edges[:-1, None], y_edges[1:, None]
    x0, x1 = x_edges[None, :-1], x_edges[None, 1:]
    sums = table[y1, x1] - table[y0, x1] - table[y1, x0] + table[y0, x0]
    area = ((y1 - y0) * (x1 - x0))[..., None]
    shrunk: Image = (sums / area + 0.5).astype(np.uint8)
    return shrunk


def png_bytes(image: Image) -> bytes:
    """`image` (BGR) as a PNG file."""
    height, width = image.shape[:2]
    rgb = np.ascontiguousarray(image[:, :, ::-1])
    rows = np.concatenate([np.zeros((height, 1), dtype=np.uint8), rgb.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def _integral(rect: Rect) -> Rect:
    """The whole logical units a partial rectangle touches (grabs are in whole units)."""
    left, top = int(np.floor(rect.left)), int(np.floor(rect.top))
    right, bottom = int(np.ceil(rect.right)), int(np.ceil(rect.bottom))
    return Rect(left, top, right - left, bottom - top)
