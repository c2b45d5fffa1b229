"""Serves the test pages from loopback, and builds browser tools against them.

One server on 127.0.0.1 (port 0) answers under two host names that the browser treats as
two sites: ``127.0.0.1`` (the site under test) and ``localhost`` (the "other" site a test
may or may not allow). Pages may write ``__OTHER__`` for the other site's origin.

Extra paths: ``/redirect?to=URL`` (302), ``/redirect307?to=URL`` (307: a POST is sent
again, body and all), ``/files/*.csv`` (an attachment), ``/steal`` (a page to steal to).
Every request (GET or POST) is recorded with its host and body, so a test can tell
whether a blocked request still went out; `Site.wait_for` blocks until a request for a
path arrives (no sleeping: a page proves that a request did not reach the other host by
asking the allowed host for a ``/done/...`` path afterwards).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tools.base import Effect, ToolFailure, ToolResult
from tools.browser.driver import PlaywrightBrowser
from tools.browser.launch import LaunchOptions
from tools.browser.tool import BrowserTool
from tools.paths import Workspace

PAGES = Path(__file__).resolve().parent
CSV = b"month,total\njanuary,10\nfebruary,12\n"


@dataclass
class Site:
    port: int
    #: (host, path) of every request, in order.
    hits: list[tuple[str, str]] = field(default_factory=list)
    #: (host, path, body) of every request that had a body.
    bodies: list[tuple[str, str, bytes]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def other(self) -> str:
        return f"http://localhost:{self.port}"

    def url(self, page: str) -> str:
        return f"{self.origin}/pages/{page}"

    def reached(self, host: str) -> list[str]:
        """Paths requested under `host` ("127.0.0.1" or "localhost")."""
        return [path for h, path in self.hits if h == host]

    def record(self, host: str, path: str, body: bytes) -> None:
        with self.arrived:
            self.hits.append((host, path))
            if body:
                self.bodies.append((host, path, body))
            self.arrived.notify_all()

    def wait_for(self, host: str, path: str, timeout_s: float = 15.0) -> None:
        """Block until a request for `path` (query ignored) arrived under `host`."""
        with self.arrived:
            if not self.arrived.wait_for(
                lambda: any(p.split("?")[0] == path for p in self.reached(host)), timeout_s
            ):
                raise AssertionError(f"no request for {path} on {host} within {timeout_s} s")


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            site.record(self.headers.get("Host", "").rsplit(":", 1)[0], self.path, body)
            parts = urlsplit(self.path)
            if parts.path in ("/redirect", "/redirect307"):
                self.send_response(302 if parts.path == "/redirect" else 307)
                self.send_header("Location", parse_qs(parts.query)["to"][0])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parts.path.startswith("/files/"):
                self._send(CSV, "text/csv", attachment=parts.path.rsplit("/", 1)[1])
            elif parts.path.startswith("/pages/") and (PAGES / parts.path[7:]).is_file():
                page = (PAGES / parts.path[7:]).read_text(encoding="utf-8")
                page = page.replace("__OTHER__", site.other)
                self._send(page.encode(), "text/html; charset=utf-8")
            else:
                self._send(
                    b"<title>Elsewhere</title><p>You reached " + parts.path.encode(), "text/html"
                )

        def _send(self, body: bytes, kind: str, attachment: str = "") -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if attachment:
                self.send_header("Content-Disposition", f'attachment; filename="{attachment}"')
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serve_pages() -> Iterator[Site]:
    site = Site(port=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    site.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def make_tool(
    workspace: Path,
    *,
    secrets: dict[str, str] | None = None,
    goal: str = "",
    budget_tokens: int = 600,
    resource_hosts: Sequence[str] = (),
) -> BrowserTool:
    """A browser tool on real headless Chromium (found the way the product finds it)."""
    options = LaunchOptions(
        headless=True,
        action_timeout_s=5.0,
        navigation_timeout_s=10.0,
        resource_hosts=tuple(resource_hosts),
    )
    store = dict(secrets or {})
    return BrowserTool(
        lambda: PlaywrightBrowser.start(options),
        Workspace((workspace,)),
        secrets=store.get,
        goal=goal,
        budget_tokens=budget_tokens,
    )


def act(tool: BrowserTool, name: str, **args: Any) -> tuple[Effect, ToolResult]:
    """What the executor does with an allowed action: validate, resolve the effect, run."""
    spec = {s.name: s for s in tool.specs()}[name]
    parsed = spec.args.model_validate(args)
    effect = spec.effect(parsed)
    try:
        result = spec.run(parsed)
    except ToolFailure as failure:
        result = ToolResult.failure(failure.kind, failure.message)
    return effect, result
