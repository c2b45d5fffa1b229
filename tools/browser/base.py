"""The `Browser` seam and the plain values that cross it.

The tool layer (`tools.browser.tool`) talks only to this protocol; `tools.browser.driver`
implements it with Playwright. There is no fake: tests drive real headless Chromium on
pages served from loopback (ARCHITECTURE: "Seams").

Invariants:
- Elements are named by their index, a number stamped on the element itself the first
  time it is seen, so the same page shows the same indices and an index keeps naming the
  same element while the page lives.
- Every method raises `ToolFailure` for what the model can act on (an element that is
  gone, a timeout, a blocked navigation); anything else is a bug.
- A browser only ever shows or acts on pages whose host was approved with
  `approve_host`; a page that lands anywhere else is taken back and reported in
  `PageState.notes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Element:
    """One interactive element as the model sees it (``[7] button "Submit"``)."""

    index: int
    role: str
    name: str
    #: Input type where it matters: password, email, date, file, ...
    kind: str = ""
    #: Current value (never a password's); a select's chosen option.
    value: str = ""
    #: checked, not checked, disabled, required, readonly, expanded, selected, focused.
    states: tuple[str, ...] = ()
    #: A select's options (the first few).
    options: tuple[str, ...] = ()
    in_view: bool = True
    #: Where a link without a name points (path only), so it is not anonymous.
    href: str = ""


@dataclass(frozen=True, slots=True)
class Tab:
    number: int
    title: str
    url: str
    current: bool


@dataclass(frozen=True, slots=True)
class PageState:
    """One look at the current tab."""

    url: str
    title: str
    elements: tuple[Element, ...]
    #: Visible text, whitespace collapsed (trimmed later to the token budget).
    text: str
    tabs: tuple[Tab, ...]
    #: What happened since the last look: blocked navigations, dialogs, new tabs, downloads.
    notes: tuple[str, ...] = ()


class Browser(Protocol):
    """A browser the agent drives. Every method is called on the thread that opened it."""

    def approve_host(self, host: str) -> None:
        """Let pages on `host` be shown and acted on (called after the policy allowed it)."""

    def current_url(self) -> str | None:
        """The current tab's URL, or None when no page is open."""

    def open(self, url: str) -> None: ...

    def back(self) -> None: ...

    def forward(self) -> None: ...

    def look(self) -> PageState: ...

    def element(self, index: int) -> Element:
        """The element with this index now, or `ToolFailure` ``stale_element``."""

    def click(self, index: int, *, confirm: bool = False) -> None:
        """Click; `confirm` answers OK to a confirm dialog the click opens (else Cancel)."""

    def fill(self, index: int, text: str) -> None: ...

    def press(self, key: str, index: int | None = None) -> None: ...

    def select(self, index: int, option: str) -> str:
        """Choose an option by its label or value; returns the label chosen."""

    def set_checked(self, index: int, checked: bool) -> None: ...

    def hover(self, index: int) -> None: ...

    def scroll(self, down: bool, index: int | None = None) -> None: ...

    def text(self, index: int | None = None) -> str: ...

    def wait_for_text(self, text: str, timeout_s: float) -> None: ...

    def tabs(self) -> tuple[Tab, ...]: ...

    def switch_tab(self, number: int) -> None: ...

    def close_tab(self, number: int) -> None: ...

    def screenshot(self) -> bytes:
        """A PNG of the current tab's viewport."""

    def shown_text(self) -> str:
        """All text the current tab shows, field values included (not a password
        field's): what a screenshot of it could show."""

    def download(self, index: int, path: Path) -> str:
        """Click the element, save what it downloads at `path`; returns the suggested name."""

    def close(self) -> None: ...
