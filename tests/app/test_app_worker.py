"""The engine's worker thread yields the CPU to the UI thread (Linux nice levels), so a
busy model never keeps the UI thread waiting for a core (tests/benchmarks/desktop_app.py)."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import pytest
from qt_support import FINISH, scripted

from app.qt.worker import ENGINE_NICENESS


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_the_engine_thread_runs_below_the_ui_thread(qtbot: Any, make_app: Any) -> None:
    opener, _ = scripted([FINISH])
    app = make_app(open_model=opener)
    with qtbot.waitSignal(app.worker.signals.model_ready, timeout=10_000):
        app.worker.start()
    ui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    engine = os.getpriority(os.PRIO_PROCESS, app.worker.native_id)
    assert engine == min(19, ui + ENGINE_NICENESS)
