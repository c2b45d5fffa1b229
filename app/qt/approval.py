"""Approvals in the desktop app: the `Approver` the engine calls on its worker thread, and
the dialog a person answers on the UI thread.

Invariants:
- `QtApprover.approve` parks the worker on a `concurrent.futures.Future` until the UI
  settles it; nothing proceeds without an answer. It never touches a widget itself.
- A pending approval is settled exactly once: by the dialog (allow once, allow for this
  run, deny), by closing the dialog (deny), or by Stop and shutdown (deny). Later
  answers are ignored.
- The dialog shows the exact effect the executor resolved: tool, capability, scope and
  summary (secrets are placeholders there already; the engine never resolves them into
  an effect).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent.approval import Answer, ApprovalRequest

log = logging.getLogger(__name__)


@dataclass(eq=False)
class PendingApproval:
    """One question the worker is parked on."""

    request: ApprovalRequest
    future: Future[Answer] = field(default_factory=Future)

    def settle(self, answer: Answer) -> bool:
        """Answer the question; False when it was answered already."""
        try:
            self.future.set_result(answer)
        except InvalidStateError:
            return False
        return True

    @property
    def settled(self) -> bool:
        return self.future.done()


class QtApprover(QObject):
    """The engine's `Approver` in the desktop app. Lives on the UI thread; `approve` is
    called on the worker thread and blocks it until the question is settled."""

    source = "user"
    #: A new question (PendingApproval), delivered on the UI thread.
    requested = Signal(object)
    #: A question was settled (PendingApproval), by whoever settled it.
    settled = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: list[PendingApproval] = []

    def approve(self, request: ApprovalRequest) -> Answer:
        pending = PendingApproval(request)
        pending.future.add_done_callback(lambda _f: self.settled.emit(pending))
        with self._lock:
            self._pending.append(pending)
        self.requested.emit(pending)
        try:
            return pending.future.result()
        finally:
            with self._lock:
                self._pending.remove(pending)

    def pending(self) -> list[PendingApproval]:
        with self._lock:
            return [p for p in self._pending if not p.settled]

    def deny_all(self) -> None:
        """Settle every open question as a denial (Stop, shutdown)."""
        for p in self.pending():
            p.settle("deny")


def _mono(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.Monospace)
    label.setFont(font)
    return label


class ApprovalDialog(QDialog):
    """Asks whether one action may run. Non-modal; closing it (or Escape) denies."""

    answered = Signal(str)

    def __init__(self, pending: PendingApproval, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pending = pending
        req = pending.request
        self.setWindowTitle("deskhand: allow this action?")
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
        self.setObjectName("approval")

        heading = QLabel(f"Step {req.step} wants to use <b>{_html(req.tool)}</b>")
        summary = QLabel(req.effect.summary)
        summary.setTextFormat(Qt.TextFormat.PlainText)
        summary.setWordWrap(True)
        summary.setObjectName("summary")
        form = QFormLayout()
        form.addRow("capability", _mono(req.effect.capability))
        form.addRow("scope", _mono(req.effect.scope or "—"))

        self.allow_once = QPushButton("Allow &once")
        self.allow_run = QPushButton("Allow for this &run")
        self.deny = QPushButton("&Deny")
        # Enter must never allow by accident: Deny is the default button.
        for button in (self.allow_once, self.allow_run):
            button.setAutoDefault(False)
        self.deny.setDefault(True)
        self.allow_once.clicked.connect(lambda: self._answer("once"))
        self.allow_run.clicked.connect(lambda: self._answer("run"))
        self.deny.clicked.connect(lambda: self._answer("deny"))

        buttons = QHBoxLayout()
        buttons.addWidget(self.allow_once)
        buttons.addWidget(self.allow_run)
        buttons.addStretch(1)
        buttons.addWidget(self.deny)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(summary)
        layout.addLayout(form)
        layout.addLayout(buttons)
        self.setMinimumWidth(440)

    def _answer(self, answer: Answer) -> None:
        if self.pending.settle(answer):
            log.debug("approval for step %d: %s", self.pending.request.step, answer)
            self.answered.emit(answer)
        self.hide()
        self.deleteLater()

    def settled_elsewhere(self) -> None:
        """The question was answered by Stop or shutdown: just go away."""
        self.hide()
        self.deleteLater()

    def reject(self) -> None:  # Escape
        self._answer("deny")

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.pending.settled:
            self._answer("deny")
        event.accept()


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
