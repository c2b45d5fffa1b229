"""The browser tool: the actions the model may take in a browser, with their effects.

Capabilities and scopes (``HOST`` is `tools.browser.urls.host_of` of the page, or
``about:blank``; ``ELEMENT`` is ``role "name"`` as the page describes it now)::

    browser.open, back, forward          browser.navigate   HOST (of the target; back and
                                                            forward: of the current page)
    click, type, select, check, hover,   browser.input      HOST ELEMENT  (press without an
    press, close_tab                                        element: HOST page; close_tab:
                                                            HOST tab)
    type with {{secret:NAME}}            browser.secret     HOST NAME[,NAME...]
    look, extract, wait_for_text,        browser.read       HOST
    scroll, switch_tab
    download                             browser.download   HOST ELEMENT
    screenshot                           fs.write           the file's absolute path

Invariants:
- The browser starts on the first action that needs it (never for a file-only run), on
  the thread that calls it; every spec is `thread_bound`.
- A navigation the policy allowed is the only way a host becomes approved in the browser
  (`Browser.approve_host` is called in `run`, which the executor reaches only after
  "allow"); links, scripts and redirects cannot take the agent anywhere else.
- `effect()` resolves the element as the page shows it now, so the approver sees the
  URL, the element and the text to be typed (secret placeholders, never values). `run()`
  resolves it again and refuses with ``page_changed`` when it is no longer what was approved.
- ``{{secret:NAME}}`` is resolved only inside `run` of ``browser.type``, and typing one is
  its own decision (``browser.secret``, scoped to the host and the secret's name), so a
  grant to type on a site does not also hand it the user's secrets.
- Once a secret was typed, everything this tool hands out passes through one
  `tools.redaction.Redactor` in `_spec` (every effect's scope and summary, every
  result's output and data, every failure message) and `view`: the value in any shape a
  page can echo it is replaced by its placeholder, and a URL query that held it is withheld.
- A screenshot is never kept while the page shows a typed secret (its text, its field
  values, in any shape `Redactor.shown` knows), checked before and after it is taken; it
  is refused with ``secret_shown``, as the GUI tool drops such screenshots.
- Screenshots and downloads land in new files inside the workspace (`Workspace.resolve`),
  returned as undo records with their sha256.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from tools.base import (
    Effect,
    NoArgs,
    ToolArgs,
    ToolFailure,
    ToolResult,
    ToolSpec,
    args_schema,
    make_spec,
)
from tools.browser import args as a
from tools.browser import saving
from tools.browser.base import Browser, Element
from tools.browser.observe import render_shown
from tools.browser.urls import host_of, normalize_url
from tools.fsops import make_folders
from tools.paths import Workspace
from tools.placeholders import SecretLookup, placeholder, resolve, secret_names
from tools.redaction import Redactor

log = logging.getLogger(__name__)

A = TypeVar("A", bound=ToolArgs)
EXTRACT_CHARS = 6000
DEFAULT_BUDGET_TOKENS = 600
_NO_SITE = "about:blank"


class BrowserTool:
    """Browser actions on one lazily started `Browser`, files confined to `workspace`."""

    def __init__(
        self,
        opener: Callable[[], Browser],
        workspace: Workspace,
        *,
        secrets: SecretLookup,
        budget_tokens: int = DEFAULT_BUDGET_TOKENS,
        goal: str = "",
    ) -> None:
        self._opener = opener
        self._ws = workspace
        self._secrets = secrets
        self._budget = budget_tokens
        self._goal = goal
        self._browser: Browser | None = None
        self._owner = 0
        self._redact = Redactor()
        self._last_view = ""
        #: The element numbers the last observation showed (None before the first).
        self._shown: frozenset[int] | None = None
        self._approved: tuple[ToolArgs, str] | None = None

    @property
    def started(self) -> bool:
        return self._browser is not None

    def set_goal(self, goal: str) -> None:
        """The goal the shortlist of related elements is chosen for."""
        self._goal = goal

    def start(self, url: str) -> str:
        """Open the page the user named (``--start-url``: the user's own consent) and
        return what the model should see first."""
        target = normalize_url(url)
        browser = self._started()
        browser.approve_host(host_of(target) or _NO_SITE)
        browser.open(target)
        return self.view()

    def view(self) -> str:
        """What the model is shown of the current page now (for an entry point whose own
        doing changed the page after `start`)."""
        return self._redact(self._view())

    def close(self) -> None:
        if self._browser is not None:
            browser, self._browser = self._browser, None
            self._shown = None
            browser.close()

    def specs(self) -> list[ToolSpec[Any]]:
        s = self._spec
        return [
            s("browser.open", "Open a web address in the current tab.", a.OpenArgs,
              self._effect_open, self._run_open, {"url": "https://example.org/"}),
            s("browser.back", "Go back to the previous page.", NoArgs,
              self._nav_effect("go back from"), self._run_back, {}),
            s("browser.forward", "Go forward again.", NoArgs,
              self._nav_effect("go forward from"), self._run_forward, {}),
            s("browser.look", "Look at the current page again.", NoArgs,
              self._read_effect("look at"), lambda _: self._after("looked at the page"), {}),
            s("browser.click", "Click an element.", a.ClickArgs,
              self._effect_click, self._run_click, {"element": 7, "confirm": False}),
            s("browser.type", "Type text into a field.", a.TypeArgs,
              self._effect_type, self._run_type, {"element": 3, "text": "Ada", "submit": False}),
            s("browser.select", "Choose an option in a list.", a.SelectArgs,
              self._effect_select, self._run_select, {"element": 4, "option": "France"}),
            s("browser.check", "Check or uncheck a checkbox or radio button.", a.CheckArgs,
              self._effect_check, self._run_check, {"element": 5, "checked": True}),
            s("browser.scroll", "Scroll the page or an element.", a.ScrollArgs,
              self._read_effect("scroll"), self._run_scroll, {"direction": "down", "element": 0}),
            s("browser.hover", "Move the mouse over an element.", a.ElementArgs,
              self._input_effect("hover over"), self._run_hover, {"element": 2}),
            s("browser.press", "Press a key.", a.PressArgs,
              self._effect_press, self._run_press, {"key": "Enter", "element": 0}),
            s("browser.extract", "Read the text of the page or of an element.", a.ExtractArgs,
              self._read_effect("read the text of"), self._run_extract, {"element": 0}),
            s("browser.wait_for_text", "Wait until some text appears.", a.WaitArgs,
              self._read_effect("wait for text on"), self._run_wait, {"text": "Saved", "timeout_s": 10}),
            s("browser.switch_tab", "Switch to another tab.", a.TabArgs,
              self._effect_switch, self._run_switch, {"tab": 2}),
            s("browser.close_tab", "Close a tab.", a.TabArgs,
              self._effect_close_tab, self._run_close_tab, {"tab": 2}),
            s("browser.screenshot", "Save a screenshot of the page.", a.ScreenshotArgs,
              self._effect_screenshot, self._run_screenshot, {"path": ""}),
            s("browser.download", "Download a file into the workspace.", a.DownloadArgs,
              self._effect_download, self._run_download, {"element": 4, "path": "report.pdf"}),
        ]  # fmt: skip

    # -- navigation ---------------------------------------------------------------------

    def _effect_open(self, args: a.OpenArgs) -> Effect:
        url = normalize_url(args.url)
        return Effect("browser.navigate", host_of(url) or _NO_SITE, f"open {url}")

    def _run_open(self, args: a.OpenArgs) -> ToolResult:
        url = normalize_url(args.url)
        browser = self._started()
        browser.approve_host(host_of(url) or _NO_SITE)
        browser.open(url)
        return self._after(f"opened {url}")

    def _nav_effect(self, verb: str) -> Callable[[NoArgs], Effect]:
        return lambda _: Effect("browser.navigate", self._host(), f"{verb} {self._url()}")

    def _run_back(self, _: NoArgs) -> ToolResult:
        self._open_page().back()
        return self._after("went back")

    def _run_forward(self, _: NoArgs) -> ToolResult:
        self._open_page().forward()
        return self._after("went forward")

    # -- input --------------------------------------------------------------------------

    def _input_effect(self, verb: str) -> Callable[[a.ElementArgs], Effect]:
        def effect(args: a.ElementArgs) -> Effect:
            scope, shown = self._target(args, args.element)
            return Effect("browser.input", scope, f"{verb} {shown} on {self._url()}")

        return effect

    def _effect_click(self, args: a.ClickArgs) -> Effect:
        scope, shown = self._target(args, args.element)
        also = " and answer OK if it asks to confirm" if args.confirm else ""
        return Effect("browser.input", scope, f"click {shown} on {self._url()}{also}")

    def _run_click(self, args: a.ClickArgs) -> ToolResult:
        shown = self._recheck(args, args.element)
        self._open_page().click(args.element, confirm=args.confirm)
        return self._after(f"clicked {shown}")

    def _effect_type(self, args: a.TypeArgs) -> Effect:
        scope, shown = self._target(args, args.element)
        then = " and press Enter" if args.submit else ""
        typed = _quote(args.text if len(args.text) <= 120 else args.text[:117] + "...")
        summary = f"type {typed} into {shown} on {self._url()}{then}"
        names = secret_names(args.text)
        if names:
            return Effect("browser.secret", f"{self._host()} {','.join(names)}", summary)
        return Effect("browser.input", scope, summary)

    def _run_type(self, args: a.TypeArgs) -> ToolResult:
        shown = self._recheck(args, args.element)
        text, used = resolve(args.text, self._secrets)
        for name, value in used.items():
            self._redact.add(name, value)
        browser = self._open_page()
        browser.fill(args.element, text)
        if args.submit:
            browser.press("Enter", args.element)
        then = " and pressed Enter" if args.submit else ""
        return self._after(f"typed {_quote(args.text)} into {shown}{then}")

    def _effect_select(self, args: a.SelectArgs) -> Effect:
        scope, shown = self._target(args, args.element)
        return Effect(
            "browser.input", scope, f"choose {_quote(args.option)} in {shown} on {self._url()}"
        )

    def _run_select(self, args: a.SelectArgs) -> ToolResult:
        shown = self._recheck(args, args.element)
        label = self._open_page().select(args.element, args.option)
        return self._after(f"chose {_quote(label)} in {shown}")

    def _effect_check(self, args: a.CheckArgs) -> Effect:
        scope, shown = self._target(args, args.element)
        verb = "check" if args.checked else "uncheck"
        return Effect("browser.input", scope, f"{verb} {shown} on {self._url()}")

    def _run_check(self, args: a.CheckArgs) -> ToolResult:
        shown = self._recheck(args, args.element)
        self._open_page().set_checked(args.element, args.checked)
        return self._after(f"{'checked' if args.checked else 'unchecked'} {shown}")

    def _run_hover(self, args: a.ElementArgs) -> ToolResult:
        shown = self._recheck(args, args.element, enabled=False)
        self._open_page().hover(args.element)
        return self._after(f"hovered over {shown}")

    def _effect_press(self, args: a.PressArgs) -> Effect:
        if not args.element:
            return Effect(
                "browser.input", f"{self._host()} page", f"press {args.key} on {self._url()}"
            )
        scope, shown = self._target(args, args.element)
        return Effect("browser.input", scope, f"press {args.key} in {shown} on {self._url()}")

    def _run_press(self, args: a.PressArgs) -> ToolResult:
        where = self._recheck(args, args.element) if args.element else "the page"
        self._open_page().press(args.key, args.element or None)
        return self._after(f"pressed {args.key} in {where}")

    # -- reading and tabs ---------------------------------------------------------------

    def _read_effect(self, verb: str) -> Callable[[Any], Effect]:
        return lambda _: Effect("browser.read", self._host(), f"{verb} {self._url()}")

    def _run_scroll(self, args: a.ScrollArgs) -> ToolResult:
        self._open_page().scroll(args.direction == "down", args.element or None)
        return self._after(f"scrolled {args.direction}")

    def _run_extract(self, args: a.ExtractArgs) -> ToolResult:
        text = self._open_page().text(args.element or None)
        cut = len(text) > EXTRACT_CHARS
        shown = text[:EXTRACT_CHARS] + ("\n[... cut]" if cut else "")
        data = {"chars": len(text), "cut": cut}
        return ToolResult(ok=True, output=shown or "(no text)", data=data)

    def _run_wait(self, args: a.WaitArgs) -> ToolResult:
        self._open_page().wait_for_text(args.text, float(args.timeout_s))
        return self._after(f"{_quote(args.text)} appeared")

    def _effect_switch(self, args: a.TabArgs) -> Effect:
        url = self._tab_url(args.tab)
        return Effect("browser.read", host_of(url) or _NO_SITE, f"switch to tab {args.tab} ({url})")

    def _run_switch(self, args: a.TabArgs) -> ToolResult:
        self._open_page().switch_tab(args.tab)
        return self._after(f"switched to tab {args.tab}")

    def _effect_close_tab(self, args: a.TabArgs) -> Effect:
        url = self._tab_url(args.tab)
        scope = f"{host_of(url) or _NO_SITE} tab"
        return Effect("browser.input", scope, f"close tab {args.tab} ({url})")

    def _run_close_tab(self, args: a.TabArgs) -> ToolResult:
        browser = self._open_page()
        browser.close_tab(args.tab)
        if browser.current_url() is None:
            return ToolResult(ok=True, output=f"closed tab {args.tab}; no tab is open now")
        return self._after(f"closed tab {args.tab}")

    # -- files --------------------------------------------------------------------------

    def _effect_screenshot(self, args: a.ScreenshotArgs) -> Effect:
        self._open_page()
        path = saving.screenshot_path(self._ws, args.path)
        summary = f"save a screenshot of {self._url()} as {self._ws.display(path)}"
        return Effect("fs.write", str(path), summary)

    def _run_screenshot(self, args: a.ScreenshotArgs) -> ToolResult:
        path = saving.screenshot_path(self._ws, args.path)
        browser = self._open_page()
        self._refuse_shown_secret(browser)
        png = browser.screenshot()
        self._refuse_shown_secret(browser)  # the page may have changed meanwhile
        undo = make_folders(path.parent)
        saving.write_new(path, png)
        return saving.saved(self._ws, path, undo, "saved a screenshot as")

    def _refuse_shown_secret(self, browser: Browser) -> None:
        name = self._redact.shown(browser.shown_text()) if self._redact else None
        if name:
            raise ToolFailure(
                "secret_shown",
                f"the page shows {placeholder(name)}, a secret typed in this run; "
                "no screenshot was saved",
            )

    def _effect_download(self, args: a.DownloadArgs) -> Effect:
        scope, shown = self._target(args, args.element)
        path = saving.new_file(self._ws, args.path)
        summary = f"download from {shown} on {self._url()} into {self._ws.display(path)}"
        return Effect("browser.download", scope, summary)

    def _run_download(self, args: a.DownloadArgs) -> ToolResult:
        shown = self._recheck(args, args.element)
        path = saving.new_file(self._ws, args.path)
        undo = make_folders(path.parent)
        name = self._open_page().download(args.element, path)
        return saving.saved(self._ws, path, undo, f"downloaded {_quote(name)} from {shown} as")

    # -- shared -------------------------------------------------------------------------

    def _started(self) -> Browser:
        if self._browser is None:
            self._browser = self._opener()
            self._owner = threading.get_ident()
        return self._open_page(started=True)

    def _open_page(self, *, started: bool = False) -> Browser:
        """The browser, when a page is open (or, with `started`, when it runs at all);
        never starts one (effects call this)."""
        if self._browser is not None and threading.get_ident() != self._owner:
            # Playwright's sync objects belong to the thread that made them: a bug, not a
            # failure the model could act on.
            raise RuntimeError("the browser is used from a thread that does not own it")
        if self._browser is None or (not started and self._browser.current_url() is None):
            raise ToolFailure("no_page", "no page is open; use browser.open first")
        return self._browser

    def _url(self) -> str:
        return self._redact(self._open_page().current_url() or _NO_SITE)

    def _host(self) -> str:
        return host_of(self._url()) or _NO_SITE

    def _tab_url(self, number: int) -> str:
        for tab in self._open_page().tabs():
            if tab.number == number:
                return tab.url
        raise ToolFailure("no_such_tab", f"there is no tab {number}")

    def _target(self, args: ToolArgs, index: int) -> tuple[str, str]:
        scope, shown, _ = self._resolve(args, index)
        return scope, shown

    def _resolve(self, args: ToolArgs, index: int) -> tuple[str, str, Element]:
        """The scope ``HOST ELEMENT``, how the element is shown, and the element; the
        scope is remembered so `_recheck` can tell whether the page changed in between."""
        element = self._open_page().element(index)
        scope = f"{self._host()} {element.role} {_quote(element.name[:60])}"
        self._approved = (args, scope)
        return scope, self._redact(_shown(element)), element

    def _recheck(self, args: ToolArgs, index: int, *, enabled: bool = True) -> str:
        """Resolve the element again just before acting: it must still be what was
        approved and (unless `enabled` is False) not disabled, which Playwright would
        otherwise wait out to the timeout."""
        approved = self._approved
        scope, shown, element = self._resolve(args, index)
        if approved is not None and approved[0] is args and approved[1] != scope:
            raise ToolFailure(
                "page_changed", "the page changed after the action was approved; look again"
            )
        if enabled and "disabled" in element.states:
            raise ToolFailure("disabled", f"{shown} is disabled")
        return shown

    def _view(self) -> str:
        view, self._shown = render_shown(
            self._open_page().look(), budget_tokens=self._budget, goal=self._goal
        )
        self._last_view = view
        return view

    def _element_choices(self, args: type[ToolArgs]) -> Callable[[], dict[str, Any]]:
        """`ToolSpec.narrow` for an action with an ``element``: the numbers the last
        observation showed (and 0 where the action allows it), within the field's bounds."""
        prop = args_schema(args)["properties"]["element"]
        low, high = prop.get("minimum", 0), prop.get("maximum")

        def narrow() -> dict[str, Any]:
            if self._shown is None:
                return {}
            values = sorted(
                i for i in {*self._shown, 0} if i >= low and (high is None or i <= high)
            )
            return {"element": {"enum": values}} if values else {}

        return narrow

    def _after(self, done: str) -> ToolResult:
        """The action's line and what the page looks like now (or that it did not change)."""
        before = self._last_view
        view = self._view()
        browser = self._open_page()
        body = "The page did not change." if view == before else view
        data = {"url": browser.current_url() or ""}
        return ToolResult(ok=True, output=f"{done}\n{body}", data=data)

    @contextmanager
    def _redacted_failures(self) -> Iterator[None]:
        """Scrub secret values from failure messages too (they may quote the page)."""
        try:
            yield
        except ToolFailure as failure:
            raise ToolFailure(failure.kind, self._redact(failure.message)) from failure

    def _spec(
        self,
        name: str,
        description: str,
        args: type[A],
        effect: Callable[[A], Effect],
        run: Callable[[A], ToolResult],
        example: dict[str, Any],
    ) -> ToolSpec[A]:
        narrow = self._element_choices(args) if "element" in args.model_fields else None
        effect, run = self._redact.effects(effect), self._redact.results(run)
        return make_spec(
            name, description, args, effect, run, example,
            errors=self._redacted_failures, timeout_s=60.0, thread_bound=True, narrow=narrow,
        )  # fmt: skip


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _shown(element: Element) -> str:
    return f"[{element.index}] {element.role} {_quote(element.name)}".rstrip()
