"""`FilteringProxy` and `HostGuard`: a host that is not approved gets no connection at
all; an approved one is reached through the proxy; resource hosts are the user's list."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator

import pytest
from pages.server import Site, serve_pages

from tools.browser.guard import HostGuard
from tools.browser.proxy import FilteringProxy


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve_pages() as s:
        yield s


@pytest.fixture
def guard() -> HostGuard:
    g = HostGuard()
    g.approve("127.0.0.1")
    return g


@pytest.fixture
def proxy(guard: HostGuard) -> Iterator[FilteringProxy]:
    p = FilteringProxy(guard).start()
    try:
        yield p
    finally:
        p.close()


def through(
    proxy: FilteringProxy, method: str, url: str, body: bytes | None = None
) -> tuple[int, bytes]:
    host, port = proxy.server.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, url, body=body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_an_approved_host_is_reached_through_the_proxy(proxy: FilteringProxy, site: Site) -> None:
    status, body = through(proxy, "POST", site.origin + "/x/approved", b"a=1")
    assert status == 200 and b"You reached /x/approved" in body
    assert ("127.0.0.1", "/x/approved", b"a=1") in site.bodies


def test_another_host_gets_nothing(proxy: FilteringProxy, site: Site) -> None:
    before = len(site.hits)
    status, _ = through(proxy, "POST", site.other + "/x/refused?d=secret", b"d=secret")
    assert status == 403
    host, port = proxy.server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"CONNECT localhost:{site.port} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        assert s.recv(100).startswith(b"HTTP/1.1 403")
    status, _ = through(proxy, "GET", site.origin + "/x/after")  # ordered after the two above
    assert status == 200
    assert site.hits[before:] == [("127.0.0.1", "/x/after")]


def test_a_tunnel_to_an_approved_host_carries_bytes(proxy: FilteringProxy, site: Site) -> None:
    host, port = proxy.server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"CONNECT 127.0.0.1:{site.port} HTTP/1.1\r\n\r\n".encode())
        assert s.recv(100).startswith(b"HTTP/1.1 200")
        s.sendall(b"GET /x/tunnelled HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        assert b"You reached /x/tunnelled" in b"".join(iter(lambda: s.recv(4096), b""))


def test_resource_hosts_are_the_users_list_and_never_pages() -> None:
    g = HostGuard(["cdn.example.net", "*.static.example"])
    assert g.allows("https://cdn.example.net/lib.js")
    assert g.allows("https://a.static.example/x.css")
    assert not g.allows("https://static.example/x.css")
    assert not g.allows_page("https://cdn.example.net/")
    assert not HostGuard().allows("https://cdn.example.net/lib.js")  # none by default
    assert g.allows("data:text/plain,hi") and not g.allows("ws://evil.test/")
