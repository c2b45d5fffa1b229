"""`HostGuard`: the one rule that decides which hosts the browser may send anything to.

Both request guards consult it: the driver's route (every request Playwright sees, before
it is sent) and the filtering proxy (`tools.browser.proxy`: every connection the launched
browser makes, redirects and what Playwright never sees included).

Invariants:
- A host gets a request only when the run approved it (`approve`, called after the policy
  allowed a navigation there) or when the user listed it as a resource host
  (``[browser] resource_hosts``: a CDN the user chose; there is none by default). A
  resource host may serve subresources, never a page or a frame (`allows_page`), so it can
  never be navigated to without an approval.
- Hosts are compared as `tools.browser.urls.host_of` writes them: lowercase ASCII, no
  port; a listed ``*.example.com`` matches subdomains of example.com, not example.com.
- Thread-safe: the proxy's threads read it while the browser's thread approves hosts.
- What the route refused is counted per host (`take_refused`) so the model can be told
  that the page tried to reach other sites; the counts hold hosts, never URLs (a URL may
  carry typed text). The proxy does not count: the browser's own background requests
  (sign-in, updates), refused there too, are not the page's doing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from urllib.parse import urlsplit

from tools.browser.urls import host_of

#: Schemes that reach the network; anything else (data:, blob:, about:) is judged by
#: where it came from, not here.
NETWORK_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})


class HostGuard:
    """The approved hosts and the user's resource hosts; every request is judged here."""

    def __init__(self, resource_hosts: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._approved: set[str] = set()
        self._resources = tuple(_listed(h) for h in resource_hosts if h.strip())
        self._refused: dict[str, int] = {}

    def approve(self, host: str) -> None:
        with self._lock:
            self._approved.add(host)

    def allows_page(self, url: str) -> bool:
        """Whether a page (a tab or a frame) may be loaded from `url`: its host was approved."""
        host = host_of(url)
        with self._lock:
            return host is not None and host in self._approved

    def allows(self, url: str) -> bool:
        """Whether a request for `url` may be sent (a page's own or any subresource)."""
        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError:
            return False
        if scheme == "blob":
            return self.allows_host(host_of(url))
        if scheme not in NETWORK_SCHEMES:
            return True
        return self.allows_host(_host(url))

    def allows_host(self, host: str | None) -> bool:
        if not host:
            return False
        host = _normal(host)
        with self._lock:
            if host in self._approved:
                return True
        return any(_matches(host, listed) for listed in self._resources)

    def refused(self, where: str | None) -> None:
        """Count one refused request to `where`, a host or a URL."""
        host = _host(where) if where and "://" in where else where
        key = _normal(host) if host else "an address without a host"
        with self._lock:
            self._refused[key] = self._refused.get(key, 0) + 1

    def take_refused(self) -> dict[str, int]:
        """The refusals counted since the last call, by host."""
        with self._lock:
            refused, self._refused = self._refused, {}
        return refused


def _host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _normal(host: str) -> str:
    host = host.strip().lower().rstrip(".").strip("[]")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _listed(host: str) -> str:
    wild = host.strip().startswith("*.")
    name = _normal(host.strip()[2:] if wild else host)
    return "*." + name if wild else name


def _matches(host: str, listed: str) -> bool:
    if listed.startswith("*."):
        return host.endswith(listed[1:])
    return host == listed
