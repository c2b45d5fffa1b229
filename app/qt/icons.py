"""The tray icon's states, drawn with QPainter (no image files to ship or download).

One round badge per state, told apart by colour and by a glyph, so the states stay
distinct for people who do not see the colours: idle (a dot), loading the model (an open
ring), working (a play triangle), waiting for approval (a question mark), error (an
exclamation mark).
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap, QPolygonF

State = Literal["idle", "loading", "working", "approval", "error"]
STATES: tuple[State, ...] = ("idle", "loading", "working", "approval", "error")

_COLOURS: dict[State, str] = {
    "idle": "#5f6b7a",
    "loading": "#2f7fd8",
    "working": "#2e9d57",
    "approval": "#e0a100",
    "error": "#d33c3c",
}

LABELS: dict[State, str] = {
    "idle": "idle",
    "loading": "loading the model…",
    "working": "working",
    "approval": "waiting for your approval",
    "error": "error",
}


def state_pixmap(state: State, size: int = 64) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    try:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        s = float(size)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(_COLOURS[state]))
        p.drawEllipse(QRectF(s * 0.04, s * 0.04, s * 0.92, s * 0.92))
        _glyph(p, state, s)
    finally:
        p.end()
    return pixmap


def _glyph(p: QPainter, state: State, s: float) -> None:
    white = QColor("white")
    if state == "idle":
        p.setBrush(white)
        p.drawEllipse(QPointF(s / 2, s / 2), s * 0.12, s * 0.12)
    elif state == "loading":
        pen = QPen(white, s * 0.1)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawArc(QRectF(s * 0.27, s * 0.27, s * 0.46, s * 0.46), 90 * 16, 270 * 16)
    elif state == "working":
        p.setBrush(white)
        triangle = QPolygonF(
            [QPointF(s * 0.38, s * 0.28), QPointF(s * 0.38, s * 0.72), QPointF(s * 0.74, s * 0.5)]
        )
        p.drawPolygon(triangle)
    else:
        font = QFont("sans-serif")
        font.setBold(True)
        font.setPixelSize(int(s * 0.62))
        p.setFont(font)
        p.setPen(white)
        text = "?" if state == "approval" else "!"
        p.drawText(QRectF(0, 0, s, s), Qt.AlignmentFlag.AlignCenter, text)


@cache
def state_icon(state: State) -> QIcon:
    icon = QIcon()
    for size in (16, 22, 24, 32, 48, 64):
        icon.addPixmap(state_pixmap(state, size))
    return icon
