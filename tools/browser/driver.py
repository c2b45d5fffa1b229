"""`PlaywrightBrowser`: the `Browser` seam on Playwright's sync API. The only module
that imports playwright (an import-linter contract keeps it so).

It either launches a Chromium-family executable (its own context, headless or not) or
attaches over CDP to a browser the user runs, where it opens its own tab in the user's
profile and leaves the user's other tabs alone.

Invariants:
- Thread-bound: the thread that calls `start` owns the browser; every call comes from it.
- Nothing is sent to a host the run did not approve (`HostGuard`; a resource host the
  user listed may serve subresources). Three layers: a route on the agent's pages judges
  every request Playwright sees before it is sent (a main-frame navigation elsewhere is
  answered "204" so the page stays, anything else is aborted); a browser this module
  launches sends every connection through `FilteringProxy`, which judges each by host
  (redirect hops, workers, WebSockets: what routes never see); after every action, a
  page that got elsewhere anyway is taken back and a popup there closed. Each leaves a
  note that the next observation reports. Attached over CDP, the user's browser has no
  proxy: only the route and the taking back hold there.
- Dialogs never block: alerts are acknowledged, confirms answered Cancel unless the
  click asked for OK, prompts dismissed; downloads the agent did not ask for are cancelled.
- Playwright's exceptions are mapped to `ToolFailure` in one place (`_mapped`), with
  only the first line of their message: the call log after it may quote typed text.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser as PwBrowser
from playwright.sync_api import (
    BrowserContext,
    Dialog,
    Download,
    Locator,
    Page,
    Playwright,
    Route,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tools.base import ToolFailure
from tools.browser import notes, page_script
from tools.browser.base import Element, PageState, Tab
from tools.browser.guard import HostGuard
from tools.browser.launch import LaunchOptions, find_executable
from tools.browser.proxy import FilteringProxy

log = logging.getLogger(__name__)

MAX_ELEMENTS = 300
MAX_TEXT_CHARS = 40_000
#: WebRTC may use only proxied connections (else its UDP would go around the proxy).
CHROMIUM_ARGS = ("--force-webrtc-ip-handling-policy=disable_non_proxied_udp",)


class PlaywrightBrowser:
    """A real browser. Build with `start`; `close` when the run ends."""

    def __init__(
        self,
        pw: Playwright,
        browser: PwBrowser,
        context: BrowserContext,
        options: LaunchOptions,
        guard: HostGuard,
        proxy: FilteringProxy | None = None,
    ) -> None:
        self._pw, self._browser, self._context, self._options = pw, browser, context, options
        self._guard, self._proxy = guard, proxy
        self._attached = options.cdp_endpoint is not None
        # Random per session, so a page cannot forge or predict the index attribute.
        token = secrets.token_hex(4)
        self._script_args = {"attr": f"data-dh-{token}", "counter": f"__dh_{token}"}
        self._pages: list[Page] = []
        self._current: Page | None = None
        self._arrived: list[Page] = []
        self._notes: list[str] = []
        self._confirm = False
        self._downloading = False
        # Popups announced by the browser vs. popups Playwright has handed over as pages:
        # a click returns before its popup's page exists, so `_settle` waits for the rest.
        self._popups_announced = 0
        self._popups_arrived = 0
        context.set_default_timeout(options.action_timeout_s * 1000)
        context.set_default_navigation_timeout(options.navigation_timeout_s * 1000)
        context.on("page", self._on_page)
        if not self._attached:  # the context is ours: guard every page, popups included
            context.route("**/*", self._route)
        self._watch_popups()

    @classmethod
    def start(cls, options: LaunchOptions) -> PlaywrightBrowser:
        executable = None if options.cdp_endpoint else find_executable(options.executable)
        guard = HostGuard(options.resource_hosts)
        proxy = None if options.cdp_endpoint else FilteringProxy(guard).start()
        pw = sync_playwright().start()
        try:
            if proxy is None:
                browser = pw.chromium.connect_over_cdp(
                    str(options.cdp_endpoint), timeout=options.navigation_timeout_s * 1000
                )
                context = browser.contexts[0] if browser.contexts else browser.new_context()
            else:
                browser = pw.chromium.launch(
                    executable_path=str(executable),
                    headless=options.headless,
                    proxy={"server": proxy.server},  # loopback included: Playwright's default
                    args=list(CHROMIUM_ARGS),
                )
                context = browser.new_context(accept_downloads=True, service_workers="block")
        except PlaywrightError as exc:
            pw.stop()
            if proxy is not None:
                proxy.close()
            where = options.cdp_endpoint or str(executable)
            raise ToolFailure(
                "browser_unavailable", f"could not start the browser ({where}): {_first_line(exc)}"
            ) from exc
        log.info("browser ready: %s", options.cdp_endpoint or executable)
        return cls(pw, browser, context, options, guard, proxy)

    # -- the seam -----------------------------------------------------------------------

    def approve_host(self, host: str) -> None:
        self._guard.approve(host)

    def current_url(self) -> str | None:
        return None if self._current is None else self._current.url

    def open(self, url: str) -> None:
        page = self._current if self._current is not None else self._new_page()
        with self._mapped(f"opening {url}"):
            page.goto(url, wait_until="domcontentloaded")
        self._settle()

    def back(self) -> None:
        self._history(-1)

    def forward(self) -> None:
        self._history(+1)

    def look(self) -> PageState:
        self._settle()
        page = self._page()
        args = {**self._script_args, "maxElements": MAX_ELEMENTS, "maxText": MAX_TEXT_CHARS}
        with self._mapped("reading the page"):
            raw = page.evaluate(page_script.SNAPSHOT, args)
            tabs = self.tabs()
        refused = notes.refused(self._guard.take_refused())
        said, self._notes = (*self._notes, *refused), []
        return PageState(
            url=page.url,
            title=str(raw.get("title") or ""),
            elements=tuple(page_script.element_from(e) for e in raw.get("elements", [])),
            text=str(raw.get("text") or ""),
            tabs=tabs,
            notes=said,
        )

    def element(self, index: int) -> Element:
        self._settle()  # a page that wandered off since the last action is brought back first
        with self._mapped(f"finding element [{index}]"):
            return page_script.element_from(
                self._locate(index).evaluate(page_script.DESCRIBE, self._script_args)
            )

    def click(self, index: int, *, confirm: bool = False) -> None:
        self._confirm = confirm
        try:
            self._on_element(index, "clicking", lambda el: el.click())
        finally:
            self._confirm = False

    def fill(self, index: int, text: str) -> None:
        self._on_element(index, "typing into", lambda el: el.fill(text))

    def press(self, key: str, index: int | None = None) -> None:
        if index is not None:
            return self._on_element(index, f"pressing {key} in", lambda el: el.press(key))
        with self._mapped(f"pressing {key}"):
            self._page().keyboard.press(key)
        self._settle()

    def select(self, index: int, option: str) -> str:
        with self._mapped(f"reading the options of [{index}]"):
            pairs = self._locate(index).evaluate(page_script.OPTIONS)
        if pairs is None:
            raise ToolFailure("invalid", f"[{index}] is not a list to choose from; click it")
        value, label = page_script.pick_option(pairs, option)
        self._on_element(index, "choosing in", lambda el: el.select_option(value=value))
        return label

    def set_checked(self, index: int, checked: bool) -> None:
        verb = "checking" if checked else "unchecking"
        self._on_element(index, verb, lambda el: el.set_checked(checked))

    def hover(self, index: int) -> None:
        self._on_element(index, "hovering over", lambda el: el.hover())

    def scroll(self, down: bool, index: int | None = None) -> None:
        step = 1 if down else -1
        if index is not None:
            return self._on_element(
                index, "scrolling", lambda el: el.evaluate(page_script.SCROLL_ELEMENT, step)
            )
        with self._mapped("scrolling"):
            self._page().evaluate(page_script.SCROLL_PAGE, step)
        self._settle()

    def text(self, index: int | None = None) -> str:
        with self._mapped("reading text"):
            if index is None:
                return str(self._page().evaluate(page_script.TEXT))
            return str(self._locate(index).evaluate(page_script.TEXT))

    def wait_for_text(self, text: str, timeout_s: float) -> None:
        try:
            self._page().get_by_text(text).first.wait_for(state="visible", timeout=timeout_s * 1000)
        except PlaywrightTimeout as exc:
            raise ToolFailure("timeout", f"{text!r} did not appear within {timeout_s:g} s") from exc
        except PlaywrightError as exc:
            raise ToolFailure("browser_error", f"waiting for text: {_first_line(exc)}") from exc
        self._settle()

    def tabs(self) -> tuple[Tab, ...]:
        self._pages = [p for p in self._pages if not p.is_closed()]
        return tuple(
            Tab(n, _title(p), p.url, p is self._current) for n, p in enumerate(self._pages, 1)
        )

    def switch_tab(self, number: int) -> None:
        page = self._tab(number)
        with self._mapped(f"switching to tab {number}"):
            page.bring_to_front()
        self._current = page
        self._settle()

    def close_tab(self, number: int) -> None:
        page = self._tab(number)
        with self._mapped(f"closing tab {number}"):
            page.close()
        self._pages.remove(page)
        if page is self._current:
            self._current = self._pages[-1] if self._pages else None

    def screenshot(self) -> bytes:
        with self._mapped("taking a screenshot"):
            return self._page().screenshot()

    def shown_text(self) -> str:
        """What every frame of the current tab shows as text, field values included
        (never a password field's): what a screenshot could show."""
        parts = []
        for frame in self._page().frames:
            with suppress(PlaywrightError):  # a frame that went away shows nothing
                parts.append(str(frame.evaluate(page_script.SHOWN)))
        return "\n".join(parts)

    def download(self, index: int, path: Path) -> str:
        target = self._locate(index)
        self._downloading = True
        try:
            with self._mapped(f"downloading from [{index}]"):
                with self._page().expect_download() as info:
                    target.click()
                download = info.value
                download.save_as(str(path))
                failure = download.failure()
        finally:
            self._downloading = False
        if failure:
            raise ToolFailure("download_failed", f"the download failed: {failure}")
        self._settle()
        return download.suggested_filename

    def close(self) -> None:
        try:
            if self._attached:  # the user's browser stays; only the agent's tabs go
                for page in self._pages:
                    if not page.is_closed():
                        page.close()
            else:
                self._browser.close()
        except PlaywrightError as exc:
            log.debug("closing the browser: %s", _first_line(exc))
        finally:
            self._pw.stop()
            if self._proxy is not None:
                self._proxy.close()

    # -- pages and guards ---------------------------------------------------------------

    def _new_page(self) -> Page:
        with self._mapped("opening a tab"):
            page = self._context.new_page()
        if page in self._arrived:
            self._arrived.remove(page)
        self._adopt(page)
        self._current = page
        return page

    def _adopt(self, page: Page) -> None:
        if self._attached:
            page.route("**/*", self._route)
        page.on("dialog", self._on_dialog)
        page.on("download", self._on_download)
        self._pages.append(page)

    def _is_ours(self, page: Page) -> bool:
        if not self._attached or page in self._pages:
            return True
        opener = page.opener()
        return opener is not None and opener in self._pages

    def _watch_popups(self) -> None:
        try:
            session = self._browser.new_browser_cdp_session()
            session.on("Target.targetCreated", self._on_target)
            session.send("Target.setDiscoverTargets", {"discover": True})
        except PlaywrightError as exc:  # not Chromium: new tabs show up one action late
            log.debug("cannot watch for popups: %s", _first_line(exc))

    def _on_target(self, params: dict[str, Any]) -> None:
        info = params.get("targetInfo", {})
        if info.get("type") == "page" and info.get("openerId"):
            self._popups_announced += 1

    def _settle(self) -> None:
        """After an action: let the page reach DOMContentLoaded, take in new tabs, and
        bring back any page that got onto a host that was not approved."""
        while self._popups_arrived < self._popups_announced:
            try:
                self._context.wait_for_event("page")  # `_on_page` counts it
            except PlaywrightError:
                log.debug("a popup never became a page")
                self._popups_arrived = self._popups_announced
        arrived, self._arrived = self._arrived, []
        for page in arrived:
            if not page.is_closed() and page not in self._pages and self._is_ours(page):
                self._adopt(page)
                self._current = page
                self._notes.append(notes.new_tab(len(self._pages)))
        for page in list(self._pages):
            if page.is_closed():
                continue
            with suppress(PlaywrightError):  # a page that never loads shows by its URL below
                page.wait_for_load_state("domcontentloaded")
            self._keep_on_approved(page)
        self._pages = [p for p in self._pages if not p.is_closed()]
        if self._current is not None and self._current.is_closed():
            self._current = self._pages[-1] if self._pages else None

    def _keep_on_approved(self, page: Page) -> None:
        url = page.url
        if url == "about:blank" or self._allowed(url):
            return
        if url.startswith("http"):  # else an error page, from a navigation refused already
            self._notes.append(notes.taken_back(url))
        try:
            page.go_back(wait_until="domcontentloaded")
            if not self._allowed(page.url):
                if len(self._pages) > 1:  # a popup that never was anywhere approved
                    page.close()
                else:
                    page.goto("about:blank")
        except PlaywrightError as exc:
            log.debug("taking a page back: %s", _first_line(exc))
            page.close()

    def _allowed(self, url: str) -> bool:
        return self._guard.allows_page(url)

    def _route(self, route: Route) -> None:
        """Judge a request before it is sent: nothing goes to a host not approved (a
        listed resource host may serve subresources, not pages or frames). A main-frame
        navigation is answered "204 No Content", which keeps the page where it was (no
        error page to leave, nothing reloaded); a popup's first navigation is aborted,
        and `_settle` closes the popup; any other request is aborted and counted. Never
        raises: that would leave the request hanging."""
        request = route.request
        try:
            try:
                main, popup = request.frame.parent_frame is None, False
                ours = self._is_ours(request.frame.page)
            except PlaywrightError:  # a popup's first request comes before its frame
                main, popup, ours = True, True, not self._attached
            document = request.resource_type == "document"
            if not ours or (
                self._guard.allows(request.url) and (not document or self._allowed(request.url))
            ):
                route.fallback()
            elif request.is_navigation_request() and main:
                self._notes.append(notes.blocked(request.url))
                if popup:
                    route.abort("blockedbyclient")
                else:
                    route.fulfill(status=204)
            else:
                self._guard.refused(request.url)
                route.abort("blockedbyclient")
        except PlaywrightError as exc:
            log.debug("route guard: %s", _first_line(exc))

    def _on_page(self, page: Page) -> None:
        self._arrived.append(page)  # taken in by `_settle`, after the action
        if page.opener() is not None:
            self._popups_arrived += 1

    def _on_dialog(self, dialog: Dialog) -> None:
        accept, note = notes.answer_dialog(dialog.type, dialog.message, confirm=self._confirm)
        if note:
            self._notes.append(note)
        try:
            if accept:
                dialog.accept()
            else:
                dialog.dismiss()
        except PlaywrightError as exc:
            log.debug("dialog: %s", _first_line(exc))

    def _on_download(self, download: Download) -> None:
        if self._downloading:
            return
        self._notes.append(notes.download_cancelled(download.suggested_filename))
        try:
            download.cancel()
        except PlaywrightError as exc:
            log.debug("cancelling a download: %s", _first_line(exc))

    def _history(self, delta: int) -> None:
        page = self._page()
        before = page.url
        with self._mapped("going back" if delta < 0 else "going forward"):
            if delta < 0:
                response = page.go_back(wait_until="domcontentloaded")
            else:
                response = page.go_forward(wait_until="domcontentloaded")
        if response is None and page.url == before:
            where = "earlier" if delta < 0 else "later"
            raise ToolFailure("no_history", f"there is no {where} page in this tab")
        self._settle()

    def _page(self) -> Page:
        if self._current is None or self._current.is_closed():
            raise ToolFailure("no_page", "no page is open; use browser.open first")
        return self._current

    def _tab(self, number: int) -> Page:
        tabs = self.tabs()
        if not 1 <= number <= len(tabs):
            raise ToolFailure("no_such_tab", f"there is no tab {number}; there are {len(tabs)}")
        return self._pages[number - 1]

    def _on_element(self, index: int, doing: str, act: Callable[[Locator], object]) -> None:
        with self._mapped(f"{doing} [{index}]"):
            act(self._locate(index))
        self._settle()

    def _locate(self, index: int) -> Locator:
        locator = self._page().locator(f'[{self._script_args["attr"]}="{int(index)}"]')
        with self._mapped(f"finding element [{index}]"):
            count = locator.count()
        if count == 0:
            raise ToolFailure(
                "stale_element",
                f"there is no element [{index}] on the page now; look at the page again",
            )
        if count > 1:
            raise ToolFailure("ambiguous_element", f"the page shows element [{index}] twice")
        return locator

    @contextmanager
    def _mapped(self, doing: str) -> Iterator[None]:
        """Map Playwright's exceptions to `ToolFailure` (the one place that does)."""
        try:
            yield
        except PlaywrightTimeout as exc:
            raise ToolFailure("timeout", f"{doing}: timed out ({_first_line(exc)})") from exc
        except PlaywrightError as exc:
            raise ToolFailure("browser_error", f"{doing}: {_first_line(exc)}") from exc


def _title(page: Page) -> str:
    with suppress(PlaywrightError):
        return page.title()
    return ""


def _first_line(exc: PlaywrightError) -> str:
    lines = (exc.message or type(exc).__name__).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__
