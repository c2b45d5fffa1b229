"""Waiting on a Qt signal from a script (no pytest-qt there): the benchmark and the
screenshot scripts spin an event loop until the signal fires, never sleep.

    from qt_wait import wait_signal     # with tests/ on sys.path
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def wait_signal(
    signal: Any,
    start: Callable[[], object] | None = None,
    check: Callable[..., bool] | None = None,
    timeout_s: float = 600.0,
) -> tuple[Any, ...]:
    """Run `start` (if any), then spin Qt's event loop until `signal` fires with arguments
    that pass `check` (if any); those arguments. Exits the script after `timeout_s`."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop, got = QEventLoop(), []

    def fired(*args: Any) -> None:
        if check is None or check(*args):
            got.append(args)
            loop.quit()

    signal.connect(fired)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    if start is not None:
        start()
    if not got:
        loop.exec()
    signal.disconnect(fired)
    if not got:
        sys.exit(f"timed out waiting for {signal}")
    return tuple(got[0])
