"""The tray's "Learn from my runs": `app.learn_personal.learn_personal` on a thread of
its own (never the GUI thread), its progress and verdict as Qt signals.

Started two ways: the menu action (asked: it runs now, whatever the load or the power
source) and the app's idle check (`app.learn_idle.IdleWatch`: no run in progress, the CPU
mostly idle for some minutes, never on battery). One learning at a time; a second start
while one runs is ignored.

The verdict is one line: the candidate's scores, then "now the default", or why the old
adapter was kept: "worse on files" (strictly lower on a family) or "no better".

Invariants: as with `app.qt.worker`, the signals object lives on the UI thread, so every
emission from the learning thread is queued there; the learning function is injected
(the real one by default), so the app test drives the signals without training.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from agent.learn_gate import GateError, Verdict
from agent.settings import Settings
from app.learn_personal import LearnError, learn_personal
from app.qt.tray import Tray

#: learn(settings, on_step=..., note=...) -> Verdict (`learn_personal`'s shape).
Learn = Callable[..., Verdict]


class LearnSignals(QObject):
    #: A line of progress ("train step 2/8", "eval …").
    progress = Signal(str)
    #: (step, total) of the training.
    step = Signal(int, int)
    #: The verdict, as one line; whether the new adapter became the default.
    finished = Signal(str, bool)
    failed = Signal(str)


class LearnAction:
    """Runs one learning at a time in the background."""

    def __init__(
        self, settings: Settings, *, learn: Learn = learn_personal, parent: QObject | None = None
    ) -> None:
        self.signals = LearnSignals(parent)
        self._settings = settings
        self._learn = learn
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, **options: Any) -> bool:
        """Start learning (`learn_personal` options); False when one already runs."""
        if self.running:
            return False
        self._thread = threading.Thread(
            target=self._main, kwargs=options, name="deskhand-learn", daemon=True
        )
        self._thread.start()
        return True

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _main(self, **options: Any) -> None:
        signals = self.signals

        def on_step(step: int, total: int, loss: float) -> None:
            signals.step.emit(step, total)
            signals.progress.emit(f"train step {step}/{total}, loss {loss:.3f}")

        try:
            verdict = self._learn(
                self._settings, on_step=on_step, note=signals.progress.emit, **options
            )
        except (LearnError, GateError, OSError) as exc:
            signals.failed.emit(str(exc))
            return
        signals.finished.emit(verdict_text(verdict), verdict.accepted)


def verdict_text(verdict: Verdict) -> str:
    """The notification's line: the candidate's scores and what became of it, the kind of
    refusal told from `Verdict.worse` (data, not the reason's text)."""
    scores = " ".join(f"{f}={v:.2f}" for f, v in sorted(verdict.scores.items()))
    if verdict.accepted:
        state = "now the default"
    elif verdict.worse:
        state = "kept the old adapter: worse on " + ", ".join(verdict.worse)
    else:
        state = "kept the old adapter: no better"
    return f"{verdict.name}: {scores}; {state}"


def connect_tray(tray: Tray, action: LearnAction) -> None:
    """The tray's item starts learning now (asked) and shows its progress and verdict."""
    tray.learn.connect(lambda: action.start())
    action.signals.step.connect(lambda step, total: tray.set_learning(f"step {step} of {total}"))
    action.signals.progress.connect(lambda text: tray.learn_action.setToolTip(text))

    def ended(text: str, accepted: bool = False) -> None:
        tray.set_learning(None)
        tray.notify("deskhand learned" if accepted else "deskhand: learning", text)

    action.signals.finished.connect(ended)
    action.signals.failed.connect(lambda text: ended(f"cannot learn: {text}"))
