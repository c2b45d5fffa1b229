"""`FilteringProxy`: a forward proxy on loopback that the launched browser must send every
connection through, so that `HostGuard` judges every request by host, including those
Playwright's routes never see (the hops of a redirect, requests of service or shared
workers, preconnects) and WebSockets.

Playwright calls a route only for the first request of a redirect chain and continues
every later hop itself; a 307 would re-send a form's body to whatever host the server
names. Through this proxy, each hop is a new request that is judged before a byte leaves.

Invariants:
- Listens on 127.0.0.1 only, on a port the OS picks. The browser is started with it as
  its only proxy and with loopback proxied too (Playwright's default), so no request
  goes around it. Another local process could use it; it would be held to the same hosts.
- Every request is judged by its host alone, before anything goes upstream: ``CONNECT
  host:port`` (HTTPS, WebSockets, anything tunnelled) or an absolute ``http://`` request.
  A refused host gets ``403`` and no connection is ever opened to it.
- A plain HTTP connection carries one request: it is forwarded with ``Connection:
  close`` and answered with ``Connection: close``, so a connection judged for one host
  never carries a request for another.
- Nothing is logged above DEBUG, and never a URL (it may carry typed text).
- Handler threads never raise out; every socket is closed when its exchange ends.
"""

from __future__ import annotations

import io
import logging
import socket
import socketserver
import threading
from collections.abc import Callable
from contextlib import suppress
from urllib.parse import urlsplit

from tools.browser.guard import HostGuard

log = logging.getLogger(__name__)

MAX_HEAD_LINES = 200
MAX_LINE = 65_536
CONNECT_TIMEOUT_S = 15.0
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "upgrade"}
)
_REFUSED = b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
_REFUSED_BODY = b"deskhand: this host is not approved for this run"


class FilteringProxy:
    """Started with `start`, stopped with `close`; `server` is what the browser is told."""

    def __init__(self, guard: HostGuard) -> None:
        self._guard = guard
        self._server = _Server(("127.0.0.1", 0), _handler(guard))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="deskhand-proxy", daemon=True
        )

    @property
    def server(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FilteringProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _handler(guard: HostGuard) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            try:
                head = _read_head(self.rfile)
                if head is not None:
                    _exchange(guard, head, self.rfile, self.connection)
            except (OSError, ValueError) as exc:
                log.debug("proxy exchange ended: %s", type(exc).__name__)

    return Handler


def _read_head(reader: io.BufferedIOBase) -> list[bytes] | None:
    """The request or response line and the header lines, or None at end of stream."""
    lines: list[bytes] = []
    while len(lines) < MAX_HEAD_LINES:
        line = reader.readline(MAX_LINE)
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            return lines
        lines.append(line.rstrip(b"\r\n"))
    raise ValueError("header too long")


def _exchange(
    guard: HostGuard, head: list[bytes], client: io.BufferedIOBase, sock: socket.socket
) -> None:
    method, target, version = head[0].decode("latin-1").split(" ", 2)
    if method.upper() == "CONNECT":
        host, port = _authority(target, 443)
    else:
        parts = urlsplit(target)
        if parts.scheme.lower() != "http" or not parts.hostname:
            sock.sendall(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        host, port = parts.hostname, parts.port or 80
    if not guard.allows_host(host):
        # Not counted for the model's notes: the browser's own background requests
        # (sign-in, updates) come here too; the route counts what pages asked for.
        log.debug("proxy refused a connection to %s", host)
        sock.sendall(_REFUSED % (len(_REFUSED_BODY), _REFUSED_BODY))
        return
    try:
        upstream = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
    except OSError:
        sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return
    with upstream:
        upstream.settimeout(None)
        if method.upper() == "CONNECT":
            sock.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            _tunnel(client, sock, upstream)
        else:
            path = urlsplit(target)._replace(scheme="", netloc="").geturl() or "/"
            upstream.sendall(
                _rewritten([f"{method} {path} {version}".encode("latin-1"), *head[1:]])
            )
            _send_body(head, client, upstream)
            _relay_response(upstream, sock)


def _authority(target: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit("//" + target)
    if not parts.hostname:
        raise ValueError("no host")
    return parts.hostname, parts.port or default_port


def _rewritten(head: list[bytes]) -> bytes:
    """`head` without hop-by-hop headers, closing the connection after one exchange."""
    kept = [head[0]]
    for line in head[1:]:
        name = line.split(b":", 1)[0].strip().lower().decode("latin-1")
        if name not in _HOP_BY_HOP:
            kept.append(line)
    kept.append(b"Connection: close")
    return b"\r\n".join(kept) + b"\r\n\r\n"


def _header(head: list[bytes], name: bytes) -> bytes | None:
    for line in head[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


def _send_body(head: list[bytes], client: io.BufferedIOBase, upstream: socket.socket) -> None:
    length = _header(head, b"content-length")
    if length is not None:
        left = int(length)
        while left > 0:
            chunk = client.read(min(left, 65_536))
            if not chunk:
                raise ValueError("body cut short")
            upstream.sendall(chunk)
            left -= len(chunk)
    elif (_header(head, b"transfer-encoding") or b"").lower().endswith(b"chunked"):
        _send_chunks(client, upstream)


def _send_chunks(client: io.BufferedIOBase, upstream: socket.socket) -> None:
    while True:
        size_line = client.readline(MAX_LINE)
        upstream.sendall(size_line)
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while (trailer := client.readline(MAX_LINE)) not in (b"\r\n", b"\n", b""):
                upstream.sendall(trailer)
            upstream.sendall(b"\r\n")
            return
        upstream.sendall(client.read(size + 2))  # the chunk and its CRLF


def _relay_response(upstream: socket.socket, sock: socket.socket) -> None:
    with upstream.makefile("rb") as reader:
        while True:
            head = _read_head(reader)
            if head is None:
                return
            sock.sendall(_rewritten(head))
            # A 1xx (other than 101, which a proxied plain request never gets) comes before
            # the real response on the same connection.
            if not head[0].split(b" ", 2)[1].startswith(b"1"):
                break
        _pipe(reader.read1, sock)


def _tunnel(client: io.BufferedIOBase, sock: socket.socket, upstream: socket.socket) -> None:
    back = threading.Thread(target=_pipe, args=(upstream.recv, sock), daemon=True)
    back.start()
    _pipe(client.read1, upstream)
    back.join()


def _pipe(read: Callable[[int], bytes], dst: socket.socket) -> None:
    try:
        while chunk := read(65_536):
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        with suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
