"""The terminal approver: shows the exact effect of an action and asks the person."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from agent.approval import Answer, ApprovalRequest

_ANSWERS: dict[str, Answer] = {
    "y": "once",
    "yes": "once",
    "r": "run",
    "run": "run",
    "n": "deny",
    "no": "deny",
    "": "deny",
}


class TerminalApprover:
    source = "user"

    def __init__(self, console: Console) -> None:
        self._console = console

    def approve(self, request: ApprovalRequest) -> Answer:
        effect = request.effect
        self._console.print(
            f"[bold yellow]? step {request.step} wants {escape(effect.capability)}[/]: "
            f"{escape(effect.summary)}\n  [dim]scope: {escape(effect.scope)}[/]"
        )
        while True:
            try:
                reply = self._console.input("  allow? [y]es once / [r] for this run / [N]o: ")
            except EOFError:
                return "deny"
            answer = _ANSWERS.get(reply.strip().lower())
            if answer is not None:
                return answer
