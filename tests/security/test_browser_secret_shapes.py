"""A typed secret must not reach the model, the journal or a kept screenshot in any shape
a page echoes it in.

Real headless Chromium on loopback, the real engine and journal (`pages.runs`), the real
keyring backend. The secret holds the characters that encodings change (``@``, a space,
``&``, ``=``, ``/``, a non-ASCII letter). A GET login form puts it in the next page's URL
(``?pw=p%40ss+w0rd%26x%3D1%2F%C3%A9``); that page echoes it in its title, upper-cased,
reversed, as base64, JSON- and HTML-escaped, percent-encoded, in a field and a link name,
and in its URL's fragment.

Before `tools.redaction`, only the exact value was replaced: the ``URL:`` line and
``result_data.url`` carried the encoded query to the model and the journal, and the
other shapes got through as well; a screenshot of a page showing the secret was kept.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from pages.runs import BrowserRun, on, reply, run_browser_task
from pages.server import Site, act, make_tool, serve_pages

from agent.approval import AlwaysDeny
from agent.events import ActionFinished
from agent.journal import Journal
from models.secrets import set_secret

WEB_PW = "p@ss w0rd&x=1/\u00e9"


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve_pages() as s:
        yield s


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def shapes(value: str) -> list[str]:
    """The shapes the test pages produce, written out here independently of the redactor."""
    escaped = json.dumps(value)[1:-1]
    return [
        value,
        value.upper(),
        value[::-1],
        quote_plus(value),
        quote(value, safe=""),
        quote(value, safe="-_.!~*'()"),
        b64(value),
        b64(value).rstrip("="),
        b64("ada:" + value),
        escaped,
        escaped.replace("/", "\\/"),
        "".join(c if c.isalnum() and c.isascii() else f"&#{ord(c)};" for c in value),
    ]


def leaks(run: BrowserRun, value: str) -> list[str]:
    found = []
    for shape in shapes(value):
        for prompt in run.prompts:
            found += [f"prompt: {shape}" for m in prompt if shape in m.content]
        found += [f"event: {shape}" for e in run.events if shape in repr(e)]
        for path in run.settings.data_dir.rglob("*"):  # journal.sqlite, its -wal and -shm
            if path.is_file() and shape.encode() in path.read_bytes():
                found.append(f"{path.name}: {shape}")
    return found


def test_a_secret_echoed_in_a_url_and_in_other_shapes_never_reaches_model_or_journal(
    site: Site, workspace: Path, deskhand_home: Path
) -> None:
    set_secret("web_pw", WEB_PW)
    run = run_browser_task(
        deskhand_home,
        workspace,
        site.url("login-get.html"),
        [
            on("User name", "browser.type", text="ada", submit=False),
            on("Password", "browser.type", text="{{secret:web_pw}}", submit=True),
            reply("browser.extract", element=0),
            reply("browser.look"),
            reply("finish", message="logged in"),
        ],
        approver=AlwaysDeny(),
        grants=["browser.input:127.0.0.1", "browser.secret:127.0.0.1 web_pw"],
        goal="Log in as ada",
    )
    done = [e.result for e in run.events if isinstance(e, ActionFinished)]
    assert all(r.ok for r in done), done
    page = done[1].output
    assert "Password accepted" in page  # the page got the real value
    welcome = site.url("welcome.html")
    withheld = "[withheld:{{secret:web_pw}}]"
    assert f"URL: {welcome}?{withheld}#{withheld}" in page
    assert "upper: {{secret:web_pw}}" in done[2].output
    assert "reversed: {{secret:web_pw}}" in done[2].output
    journal = Journal(run.settings.journal_path)
    try:
        stored = journal.steps(run.run_id)[1]["result_data"]["url"]
    finally:
        journal.close()
    assert stored == f"{welcome}?{withheld}#{withheld}"
    assert leaks(run, WEB_PW) == []


def index_of(observation: str, name: str) -> int:
    for line in observation.splitlines():
        if f' "{name}"' in line and line.startswith("["):
            return int(line[1 : line.index("]")])
    raise AssertionError(f"{name!r} not shown in:\n{observation}")


def test_a_screenshot_of_a_page_showing_a_typed_secret_is_not_kept(
    site: Site, workspace: Path
) -> None:
    tool = make_tool(workspace, secrets={"pw": "correct-horse-battery"})
    try:
        page = act(tool, "browser.open", url=site.url("login.html"))[1].output
        act(tool, "browser.type", element=index_of(page, "Password"), text="{{secret:pw}}")
        # In a password field the secret shows as dots: the screenshot is kept.
        _, masked = act(tool, "browser.screenshot", path="masked.png")
        assert masked.ok, masked.output
        # In a plain field it shows in clear: no screenshot.
        note = index_of(page, "Note")
        act(tool, "browser.type", element=note, text="pw={{secret:pw}}")
        _, shown = act(tool, "browser.screenshot", path="shown.png")
        assert shown.kind == "secret_shown", shown.output
        assert "{{secret:pw}}" in shown.output and "correct-horse" not in shown.output
        assert not (workspace / "shown.png").exists()
        # Echoed by the page in its text after submitting: no screenshot either.
        act(tool, "browser.type", element=note, text="")
        _, clicked = act(tool, "browser.click", element=index_of(page, "Log in"))
        assert "your password is {{secret:pw}}" in clicked.output
        _, echoed = act(tool, "browser.screenshot", path="echoed.png")
        assert echoed.kind == "secret_shown", echoed.output
        assert sorted(p.name for p in workspace.rglob("*.png")) == ["masked.png"]
    finally:
        tool.close()
