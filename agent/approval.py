"""The `Approver` seam: who answers when the policy says "ask".

The executor parks on `approve()` until it returns. Real approvers: the terminal prompt
(app/approver.py), the Qt dialog, a task file's grants. The simple ones here serve
`--yes`, non-interactive runs and unit tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from tools.base import Effect

Answer = Literal["once", "run", "deny"]


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    run_id: str
    step: int
    tool: str
    effect: Effect


class Approver(Protocol):
    #: Recorded with each decision: "user", "yes-flag", "noninteractive", ...
    source: str

    def approve(self, request: ApprovalRequest) -> Answer: ...


class AlwaysAllow:
    """Answers every question with "allow once" (``--yes``). Denials by policy stay denials."""

    source = "yes-flag"

    def approve(self, request: ApprovalRequest) -> Answer:
        return "once"


class AlwaysDeny:
    """Refuses whatever would need a person (non-interactive runs without grants)."""

    source = "noninteractive"

    def approve(self, request: ApprovalRequest) -> Answer:
        return "deny"
