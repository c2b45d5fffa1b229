"""Serving a browser sample's pages on loopback, and recording what the pages send back.

A `Site` serves `Fixture.pages` (name → HTML) at ``http://127.0.0.1:PORT/NAME`` from
memory and records every request it answers (favicons aside): the method, the path
and the fields of its query string or form body, in arrival order. That record is the browser family's end
state: a sample's check reads it (`saved` writes it as ``requests.json`` into a folder,
and the check is given that folder where a file sample's check gets its workspace).

A request for a page name answers that page (a form may post to the next page of a
flow); any other path answers a short "received" page, so a submitted form lands
somewhere the model can read.

Invariants:
- Only loopback: the server binds 127.0.0.1 on a free port and serves nothing but the
  sample's own pages.
- A request is recorded before its answer is sent, so once the browser has loaded the
  page a form led to, the record holds the form's fields (no waiting in the check).
- Fields keep their order and repeats (two checked boxes of one name are two entries).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

RECORD = "requests.json"
RECEIVED = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Received</title></head>"
    "<body><h1>Received</h1><p>Thank you, your request was received.</p></body></html>"
)


@dataclass(frozen=True, slots=True)
class Request:
    """One request: its method, path (no query) and the fields it carried."""

    method: str
    path: str
    fields: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict[str, object]:
        return {"method": self.method, "path": self.path, "fields": [list(f) for f in self.fields]}


@dataclass
class Site:
    pages: Mapping[str, str]
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, page: str) -> str:
        return f"http://127.0.0.1:{self.port}/{page}"

    def record(self, request: Request) -> None:
        with self.lock:
            self.requests.append(request)

    def saved(self, folder: Path) -> Path:
        """Write the record into `folder` (made if missing) as ``requests.json``."""
        folder.mkdir(parents=True, exist_ok=True)
        with self.lock:
            rows = [r.as_dict() for r in self.requests]
        (folder / RECORD).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        return folder


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            parts = urlsplit(self.path)
            name = unquote(parts.path.lstrip("/"))
            data = [*parse_qsl(parts.query, keep_blank_values=True)]
            data += parse_qsl(body, keep_blank_values=True)
            if name == "favicon.ico":
                self._send(404, b"")
                return
            site.record(Request(self.command, "/" + name, tuple(data)))
            page = site.pages.get(name, RECEIVED)
            self._send(200, page.encode("utf-8"))

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serving(pages: Mapping[str, str]) -> Iterator[Site]:
    """Serve `pages` on loopback for the duration of the block."""
    site = Site(dict(pages))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    site.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, name="learn-site", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def requests_in(folder: Path) -> list[Request]:
    """The record `Site.saved` wrote into `folder` (empty when there is none)."""
    path = folder / RECORD
    if not path.is_file():
        return []
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [
        Request(str(r["method"]), str(r["path"]), tuple((str(k), str(v)) for k, v in r["fields"]))
        for r in rows
    ]
