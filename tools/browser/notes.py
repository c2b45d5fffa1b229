"""What the browser tells the model happened beside its action, and how page dialogs are
answered. Pure functions, so the wording and the dialog rule are tested without a browser.

Dialog rule: ``beforeunload`` is accepted (the navigation was approved already), an
alert acknowledged; a confirm is answered OK only when the approved action asked for it
(``browser.click`` with ``confirm=true``), otherwise Cancel; a prompt is dismissed.
"""

from __future__ import annotations

from tools.browser.urls import host_of

_ASK = "use browser.open to ask for it"


def blocked(url: str) -> str:
    return f"blocked a navigation to {url}: {host_of(url) or 'that address'} is not an approved site ({_ASK})"


def taken_back(url: str) -> str:
    return f"the page went to {url}, but {host_of(url)} is not an approved site; it was taken back ({_ASK})"


def refused(counts: dict[str, int]) -> tuple[str, ...]:
    """The note for requests refused since the last look (none: no note), by host."""
    if not counts:
        return ()
    total = sum(counts.values())
    hosts = ", ".join(sorted(counts)[:5]) + (", ..." if len(counts) > 5 else "")
    plural = "s" if total != 1 else ""
    return (
        f"the page tried to reach sites that are not approved; {total} request{plural} to {hosts} refused",
    )


def new_tab(number: int) -> str:
    return f"a new tab opened and is now current (tab {number})"


def download_cancelled(name: str) -> str:
    return (
        f"the page started a download of {name!r}; it was cancelled "
        "(use browser.download on the element to save it)"
    )


def answer_dialog(kind: str, message: str, *, confirm: bool) -> tuple[bool, str]:
    """Whether to accept a dialog of `kind` showing `message`, and the note (may be "")."""
    shown = repr(" ".join(message.split())[:200])
    if kind == "beforeunload":
        return True, ""
    if kind == "alert":
        return True, f"the page showed a message: {shown} (acknowledged)"
    if kind == "confirm" and confirm:
        return True, f"the page asked {shown}; answered OK"
    hint = " (click with confirm=true to answer OK)" if kind == "confirm" else ""
    return False, f"the page asked {shown}; answered Cancel{hint}"
