"""What is typed into an approved page must not reach a host the run did not approve:
not by the page's own scripts, frames, forms, redirects or WebSockets.

Real headless Chromium on two loopback sites: ``127.0.0.1`` (approved: the page the user
opened) and ``localhost`` (never approved; the same server, so every request that reaches
it is recorded). Nothing sleeps: each page asks its own site for ``/done/...`` after its
attempt has ended (a fetch settled, an image or frame loaded or failed, a socket closed)
and then shows "all done"; the test waits for that text with Playwright's own wait
(``browser.wait_for_text``: Playwright runs the route guard only while the test is inside
one of its calls, so a server-side wait alone would stall the page), then checks that
``/done/...`` arrived. An attempt that got out has arrived by then.

Each of these attacks succeeded before the request guard judged every request (only
main-frame navigations were stopped, and redirects were followed unseen).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pages.server import Site, act, make_tool, serve_pages

from tools.browser.tool import BrowserTool

SECRET = "typed-in-confidence"


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve_pages() as s:
        yield s


@pytest.fixture
def tool(workspace: Path) -> Iterator[BrowserTool]:
    t = make_tool(workspace, secrets={"pw": SECRET})
    try:
        yield t
    finally:
        t.close()


def index_of(observation: str, name: str) -> int:
    for line in observation.splitlines():
        if f' "{name}"' in line and line.startswith("["):
            return int(line[1 : line.index("]")])
    raise AssertionError(f"{name!r} not shown in:\n{observation}")


def wait_all_done(tool: BrowserTool, site: Site, done: str) -> None:
    _, waited = act(tool, "browser.wait_for_text", text="all done", timeout_s=15)
    assert waited.ok, waited.output
    site.wait_for("127.0.0.1", done)


def other_hits(site: Site) -> list[str]:
    return site.reached("localhost")


@pytest.mark.parametrize(
    "way",
    [
        "fetch",
        "image",
        "beacon",
        "prefetch",
        "iframe",
        "form-to-frame",
        "websocket",
        "worker",
        "redirect-fetch",
    ],
)
def test_a_page_script_cannot_send_typed_text_to_another_host(
    tool: BrowserTool, site: Site, way: str
) -> None:
    before = len(other_hits(site))
    page = act(tool, "browser.open", url=site.url(f"exfil.html#{way}"))[1].output
    _, typed = act(tool, "browser.type", element=index_of(page, "Secret"), text="{{secret:pw}}")
    assert typed.ok, typed.output
    _, sent = act(tool, "browser.click", element=index_of(typed.output, "Send"))
    assert sent.ok, sent.output
    wait_all_done(tool, site, f"/done/{way}")
    assert other_hits(site)[before:] == []
    assert all(SECRET.encode() not in body for _, _, body in site.bodies)


def test_the_model_is_told_what_the_page_tried(tool: BrowserTool, site: Site) -> None:
    page = act(tool, "browser.open", url=site.url("exfil.html#image"))[1].output
    _, sent = act(tool, "browser.click", element=index_of(page, "Send"))
    wait_all_done(tool, site, "/done/image")
    _, looked = act(tool, "browser.look")
    said = sent.output + looked.output
    assert "request to localhost refused" in said or "requests to localhost refused" in said


def test_a_307_on_a_form_post_does_not_resend_the_body_elsewhere(
    tool: BrowserTool, site: Site
) -> None:
    before = len(other_hits(site))
    page = act(tool, "browser.open", url=site.url("post-login.html"))[1].output
    field = index_of(page, "Password")
    _, typed = act(tool, "browser.type", element=field, text="{{secret:pw}}", submit=True)
    assert typed.ok, typed.output
    # The approved site got the POST (it is allowed to), the other site nothing.
    assert any(path.startswith("/redirect307") for _, path, _ in site.bodies[-2:])
    act(tool, "browser.open", url=site.origin + "/done/post")
    site.wait_for("127.0.0.1", "/done/post")
    assert other_hits(site)[before:] == []
    assert "localhost is not an approved site" in typed.output
    assert f"URL: {site.url('post-login.html')}" in typed.output


def test_an_iframe_of_another_host_does_not_load_nor_its_subresources(
    tool: BrowserTool, site: Site
) -> None:
    before = len(other_hits(site))
    act(tool, "browser.open", url=site.url("framed.html"))
    wait_all_done(tool, site, "/done/framed")
    assert other_hits(site)[before:] == []


def test_a_redirect_to_another_host_is_refused_before_its_page_runs(
    tool: BrowserTool, site: Site
) -> None:
    before = len(other_hits(site))
    target = site.other + "/pages/phone-home.html"
    _, opened = act(tool, "browser.open", url=f"{site.origin}/redirect?to={target}")
    act(tool, "browser.open", url=site.origin + "/done/redirect")
    site.wait_for("127.0.0.1", "/done/redirect")
    assert other_hits(site)[before:] == []
    assert "You reached the other site" not in opened.output


def test_resource_hosts_the_user_listed_serve_subresources_but_never_pages(
    site: Site, workspace: Path
) -> None:
    tool = make_tool(workspace, resource_hosts=["localhost"])
    try:
        before = len(other_hits(site))
        act(tool, "browser.open", url=site.url("framed.html"))
        wait_all_done(tool, site, "/done/framed")
        # The image is a subresource: allowed. The frame is a page: refused.
        assert other_hits(site)[before:] == ["/x/framed-image"]
    finally:
        tool.close()
