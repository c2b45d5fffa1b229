"""How page dialogs are answered, and what the model is told about them."""

from __future__ import annotations

from tools.browser.notes import answer_dialog, blocked, taken_back


def test_only_an_approved_click_answers_ok_to_a_confirm() -> None:
    assert answer_dialog("confirm", "Delete  the\nitem?", confirm=False) == (
        False,
        "the page asked 'Delete the item?'; answered Cancel (click with confirm=true to answer OK)",
    )
    assert answer_dialog("confirm", "Delete?", confirm=True) == (
        True,
        "the page asked 'Delete?'; answered OK",
    )
    assert answer_dialog("prompt", "Name?", confirm=True) == (
        False,
        "the page asked 'Name?'; answered Cancel",
    )
    assert answer_dialog("alert", "Saved", confirm=False)[0] is True
    assert answer_dialog("beforeunload", "", confirm=False) == (True, "")


def test_notes_name_the_host_and_the_way_to_ask() -> None:
    assert "localhost is not an approved site (use browser.open" in blocked("http://localhost:9/x")
    assert "that address is not an approved site" in blocked("file:///etc/passwd")
    assert "evil.test is not an approved site; it was taken back" in taken_back(
        "https://evil.test/"
    )
