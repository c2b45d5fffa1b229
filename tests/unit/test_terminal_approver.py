"""The terminal approver: shows the exact effect, reads the answer, denies on EOF."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich.console import Console

from agent.approval import ApprovalRequest
from app.approver import TerminalApprover
from tools.base import Effect

REQUEST = ApprovalRequest(
    run_id="r1",
    step=3,
    tool="files.write",
    effect=Effect("fs.write", "/ws/reports/[x].txt", "write 12 bytes to reports/[x].txt"),
)


def ask(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> tuple[str, str]:
    replies: Iterator[str] = iter(answers)

    def fake_input(prompt: str = "") -> str:
        try:
            return next(replies)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", fake_input)
    screen = io.StringIO()
    answer = TerminalApprover(Console(file=screen, width=200)).approve(REQUEST)
    return answer, screen.getvalue()


@pytest.mark.parametrize(
    "typed, expected",
    [("y", "once"), ("YES", "once"), ("r", "run"), ("n", "deny"), ("", "deny")],
)
def test_answers(monkeypatch: pytest.MonkeyPatch, typed: str, expected: str) -> None:
    answer, _ = ask(monkeypatch, [typed])
    assert answer == expected


def test_shows_the_exact_effect_without_markup_injection(monkeypatch: pytest.MonkeyPatch) -> None:
    _, shown = ask(monkeypatch, ["y"])
    assert "fs.write" in shown and "write 12 bytes to reports/[x].txt" in shown
    assert "/ws/reports/[x].txt" in shown and "step 3" in shown


def test_asks_again_on_nonsense_and_denies_on_end_of_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer, _ = ask(monkeypatch, ["maybe", "r"])
    assert answer == "run"
    answer, _ = ask(monkeypatch, ["maybe"])
    assert answer == "deny"
