"""The browser tool on real headless Chromium, against pages served from loopback.

``127.0.0.1`` is the site under test; ``localhost`` (the same server) is "another site"
that the tool was never approved for. Nothing here sleeps: every wait is Playwright's
own (load states, locators, download and page events).
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pages.server import CSV, Site, act, make_tool, serve_pages

from tools.base import ToolFailure
from tools.browser.driver import PlaywrightBrowser
from tools.browser.launch import LaunchOptions, find_executable
from tools.browser.observe import estimate_tokens
from tools.browser.tool import BrowserTool
from tools.fsops import sha256_file


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve_pages() as s:
        yield s


@pytest.fixture
def tool(workspace: Path) -> Iterator[BrowserTool]:
    t = make_tool(workspace)
    yield t
    t.close()


def index_of(observation: str, name: str) -> int:
    """The index the observation gives the element called `name`."""
    found = re.search(rf'^\[(\d+)\] [\w-]+ "{re.escape(name)}"', observation, re.MULTILINE)
    assert found, f"no element {name!r} in:\n{observation}"
    return int(found.group(1))


def current_url(observation: str) -> str:
    found = re.search(r"^URL: (\S+)", observation, re.MULTILINE)
    assert found, observation
    return found.group(1)


# -- forms --------------------------------------------------------------------------------


def test_fill_select_check_and_submit_a_form(tool: BrowserTool, site: Site) -> None:
    _, opened = act(tool, "browser.open", url=site.url("form.html"))
    page = opened.output
    assert opened.ok and 'textbox "Full name" required' in page
    assert 'combobox "Country" value="Choose one" options: Choose one | France' in page

    assert act(tool, "browser.type", element=index_of(page, "Full name"), text="Ada")[1].ok
    assert act(tool, "browser.type", element=index_of(page, "Email"), text="ada@example.org")[1].ok
    _, chose = act(tool, "browser.select", element=index_of(page, "Country"), option="france")
    assert chose.ok and 'chose "France"' in chose.output
    assert act(tool, "browser.check", element=index_of(page, "Pro"), checked=True)[1].ok
    _, ticked = act(tool, "browser.check", element=index_of(page, "I agree to the terms"))
    assert 'checkbox "I agree to the terms" checked' in ticked.output
    _, sent = act(tool, "browser.click", element=index_of(page, "Sign up"))

    assert sent.ok and "Title: Signed up" in sent.output
    _, result = act(tool, "browser.extract", element=0)
    assert "Thank you Ada from fr (agreed)" in result.output  # the page's own script says so


def test_type_and_submit_with_enter(tool: BrowserTool, site: Site) -> None:
    page = act(tool, "browser.open", url=site.url("form.html"))[1].output
    _, typed = act(
        tool, "browser.type", element=index_of(page, "Full name"), text="Grace", submit=True
    )
    assert typed.ok and "pressed Enter" in typed.output
    assert "Thank you Grace" in typed.output


def test_no_such_option_lists_the_options(tool: BrowserTool, site: Site) -> None:
    page = act(tool, "browser.open", url=site.url("form.html"))[1].output
    _, result = act(tool, "browser.select", element=index_of(page, "Country"), option="Spain")
    assert result.kind == "no_such_option" and "France, Germany, Italy" in result.output
    _, result = act(tool, "browser.select", element=index_of(page, "Full name"), option="x")
    assert result.kind == "invalid"


def test_a_disabled_button_is_refused_without_waiting(tool: BrowserTool, site: Site) -> None:
    page = act(tool, "browser.open", url=site.url("form.html"))[1].output
    _, result = act(tool, "browser.click", element=index_of(page, "Delete account"))
    assert result.kind == "disabled" and 'button "Delete account" is disabled' in result.output


# -- indices ------------------------------------------------------------------------------


def test_same_page_same_indices_and_the_same_text(tool: BrowserTool, site: Site) -> None:
    first = act(tool, "browser.open", url=site.url("form.html"))[1].output
    _, reloaded = act(tool, "browser.open", url=site.url("form.html"))
    assert reloaded.output.endswith("\nThe page did not change.")
    act(tool, "browser.open", url=site.url("second.html"))
    again = act(tool, "browser.open", url=site.url("form.html"))[1].output
    assert first.split("\n", 1)[1] == again.split("\n", 1)[1]


def test_new_elements_get_new_indices_and_old_ones_keep_theirs(
    tool: BrowserTool, site: Site
) -> None:
    page = act(tool, "browser.open", url=site.url("links.html"))[1].output
    before = {n: index_of(page, n) for n in ("Second page", "Hover me", "Load more")}
    act(tool, "browser.click", element=before["Load more"])
    _, waited = act(tool, "browser.wait_for_text", text="Loaded later", timeout_s=5)
    assert waited.ok and "Loaded later" in waited.output
    assert {n: index_of(waited.output, n) for n in before} == before


def test_a_stale_index_is_a_failure_the_model_can_read(tool: BrowserTool, site: Site) -> None:
    act(tool, "browser.open", url=site.url("form.html"))
    with pytest.raises(ToolFailure) as info:
        act(tool, "browser.click", element=999)
    assert info.value.kind == "stale_element"


def test_nothing_starts_before_a_page_is_opened(tool: BrowserTool) -> None:
    with pytest.raises(ToolFailure) as info:
        act(tool, "browser.click", element=1)
    assert info.value.kind == "no_page"
    assert not tool.started


def test_only_the_thread_that_started_the_browser_may_use_it(tool: BrowserTool, site: Site) -> None:
    act(tool, "browser.open", url=site.url("form.html"))
    errors: list[BaseException] = []

    def elsewhere() -> None:
        try:
            act(tool, "browser.look")
        except BaseException as exc:  # noqa: BLE001 - handed back to the test thread
            errors.append(exc)

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)
    assert act(tool, "browser.look")[1].ok


# -- navigation ---------------------------------------------------------------------------


def test_links_back_and_forward(tool: BrowserTool, site: Site) -> None:
    page = act(tool, "browser.open", url=site.url("links.html"))[1].output
    _, second = act(tool, "browser.click", element=index_of(page, "Second page"))
    assert current_url(second.output) == site.url("second.html")
    _, back = act(tool, "browser.back")
    assert current_url(back.output) == site.url("links.html")
    _, forward = act(tool, "browser.forward")
    assert current_url(forward.output) == site.url("second.html")
    _, again = act(tool, "browser.forward")
    assert again.kind == "no_history"


@pytest.mark.parametrize("link", ["Partner site", "Go by script"])
def test_a_link_or_script_to_another_site_is_blocked_before_any_request(
    tool: BrowserTool, site: Site, link: str
) -> None:
    page = act(tool, "browser.open", url=site.url("links.html"))[1].output
    before = len(site.reached("localhost"))
    _, result = act(tool, "browser.click", element=index_of(page, link))
    assert "blocked a navigation to http://localhost" in result.output
    assert current_url(result.output) == site.url("links.html")
    assert len(site.reached("localhost")) == before


def test_a_redirect_to_another_site_is_taken_back(tool: BrowserTool, site: Site) -> None:
    page = act(tool, "browser.open", url=site.url("links.html"))[1].output
    _, result = act(tool, "browser.click", element=index_of(page, "Moved page"))
    assert "localhost is not an approved site; it was taken back" in result.output
    assert current_url(result.output) == site.url("links.html")
    assert "The second page" not in result.output


def test_open_names_the_target_host_as_its_scope(tool: BrowserTool, site: Site) -> None:
    effect, _ = act(tool, "browser.open", url=site.other + "/pages/second.html")
    assert (effect.capability, effect.scope) == ("browser.navigate", "localhost")


# -- tabs, dialogs ------------------------------------------------------------------------


def test_a_new_tab_becomes_current_and_tabs_switch_and_close(tool: BrowserTool, site: Site) -> None:
    page = act(tool, "browser.open", url=site.url("links.html"))[1].output
    _, opened = act(tool, "browser.click", element=index_of(page, "Second in a new tab"))
    assert "a new tab opened and is now current (tab 2)" in opened.output
    assert current_url(opened.output) == site.url("second.html")
    assert 'Tabs: 1 "Links" | 2 "Second" (current)' in opened.output

    effect, back = act(tool, "browser.switch_tab", tab=1)
    assert effect.capability == "browser.read" and effect.scope == "127.0.0.1"
    assert current_url(back.output) == site.url("links.html")
    effect, closed = act(tool, "browser.close_tab", tab=2)
    assert (effect.capability, effect.scope) == ("browser.input", "127.0.0.1 tab")
    assert "Tabs:" not in closed.output
    with pytest.raises(ToolFailure) as info:
        act(tool, "browser.switch_tab", tab=2)
    assert info.value.kind == "no_such_tab"


def test_a_popup_to_another_site_is_closed(tool: BrowserTool, site: Site) -> None:
    page = act(tool, "browser.open", url=site.url("links.html"))[1].output
    before = len(site.reached("localhost"))
    _, result = act(tool, "browser.click", element=index_of(page, "Popup elsewhere"))
    assert "blocked a navigation to http://localhost" in result.output
    assert "Tabs:" not in result.output
    assert len(site.reached("localhost")) == before


def test_dialogs_never_block_and_confirm_needs_asking(tool: BrowserTool, site: Site) -> None:
    page = act(tool, "browser.open", url=site.url("dialogs.html"))[1].output
    delete = index_of(page, "Delete item")
    _, kept = act(tool, "browser.click", element=delete)
    assert "answered Cancel (click with confirm=true to answer OK)" in kept.output
    assert "\nkept" in kept.output
    effect, deleted = act(tool, "browser.click", element=delete, confirm=True)
    assert "answer OK if it asks to confirm" in effect.summary
    assert "answered OK" in deleted.output and "\ndeleted" in deleted.output
    _, alerted = act(tool, "browser.click", element=index_of(page, "Save"))
    assert "'Saved!' (acknowledged)" in alerted.output and "\nalerted" in alerted.output
    _, asked = act(tool, "browser.click", element=index_of(page, "Ask name"))
    assert "name: null" in asked.output


# -- other actions ------------------------------------------------------------------------


def test_scroll_hover_press_and_extract(tool: BrowserTool, site: Site, workspace: Path) -> None:
    page = act(tool, "browser.open", url=site.url("links.html"))[1].output
    hover = index_of(page, "Hover me")
    _, hovered = act(tool, "browser.hover", element=hover)
    assert hovered.ok and "\nhovered" in hovered.output
    effect, scrolled = act(tool, "browser.scroll", direction="down", element=0)
    assert effect.capability == "browser.read" and scrolled.ok
    effect, pressed = act(tool, "browser.press", key="End", element=0)
    assert effect.scope == "127.0.0.1 page" and pressed.ok
    _, text = act(tool, "browser.extract", element=0)
    assert "The bottom of the page" in text.output
    _, one = act(tool, "browser.extract", element=hover)
    assert one.output == "Hover me"
    _, late = act(tool, "browser.wait_for_text", text="never there", timeout_s=1)
    assert late.kind == "timeout"


def test_screenshots_are_new_files_with_their_sha256(
    tool: BrowserTool, site: Site, workspace: Path
) -> None:
    act(tool, "browser.open", url=site.url("form.html"))
    effect, first = act(tool, "browser.screenshot", path="")
    shot = workspace / "screenshots" / "screenshot-001.png"
    assert (effect.capability, effect.scope) == ("fs.write", str(shot.resolve()))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert first.data["sha256"] == sha256_file(shot)
    assert [u["op"] for u in first.undo] == ["make_folder", "create_file"]
    _, second = act(tool, "browser.screenshot", path="")
    assert second.data["path"] == "screenshots/screenshot-002.png"
    with pytest.raises(ToolFailure) as info:
        act(tool, "browser.screenshot", path="../outside.png")
    assert info.value.kind == "outside_workspace"


def test_download_into_the_workspace(tool: BrowserTool, site: Site, workspace: Path) -> None:
    page = act(tool, "browser.open", url=site.url("download.html"))[1].output
    link = index_of(page, "Monthly report")
    effect, saved = act(tool, "browser.download", element=link, path="reports/monthly.csv")
    assert effect.capability == "browser.download"
    assert effect.scope == '127.0.0.1 link "Monthly report"'
    target = workspace / "reports" / "monthly.csv"
    assert target.read_bytes() == CSV
    assert saved.data["sha256"] == sha256_file(target)
    assert 'downloaded "report.csv"' in saved.output
    assert saved.undo[-1] == {
        "op": "create_file",
        "path": str(target.resolve()),
        "sha256": saved.data["sha256"],
    }
    for bad, kind in (("reports/monthly.csv", "exists"), ("../x.csv", "outside_workspace")):
        with pytest.raises(ToolFailure) as info:
            act(tool, "browser.download", element=link, path=bad)
        assert info.value.kind == kind


def test_a_download_nobody_asked_for_is_cancelled(
    tool: BrowserTool, site: Site, workspace: Path
) -> None:
    page = act(tool, "browser.open", url=site.url("download.html"))[1].output
    _, clicked = act(tool, "browser.click", element=index_of(page, "Other report"))
    assert "started a download of 'other.csv'; it was cancelled" in clicked.output
    assert list(workspace.iterdir()) == []


# -- budget and shortlist -----------------------------------------------------------------


def test_a_big_page_fits_the_budget_and_the_shortlist_finds_the_goal(
    workspace: Path, site: Site
) -> None:
    tool = make_tool(workspace, goal="Add product 142 to the cart", budget_tokens=400)
    try:
        _, result = act(tool, "browser.open", url=site.url("many.html"))
    finally:
        tool.close()
    view = result.output.split("\n", 1)[1]
    assert estimate_tokens(view) <= 400
    assert "more elements not shown" in view
    shortlist = view.split("Most related to the goal:\n", 1)[1]
    assert shortlist.splitlines()[0].endswith('button "Add product 142 to cart"')


# -- launching ----------------------------------------------------------------------------


def test_a_configured_browser_that_does_not_exist_is_a_clear_failure(tmp_path: Path) -> None:
    with pytest.raises(ToolFailure) as info:
        PlaywrightBrowser.start(LaunchOptions(executable=tmp_path / "no-chrome"))
    assert info.value.kind == "browser_not_found"
    assert "no-chrome does not exist" in info.value.message


def test_attach_over_cdp_to_a_browser_the_user_runs(tmp_path: Path, site: Site) -> None:
    exe = find_executable(None)
    user = subprocess.Popen(
        [str(exe), "--headless=new", "--remote-debugging-port=0", f"--user-data-dir={tmp_path}",
         "--no-first-run", "--no-sandbox", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert user.stderr is not None
        endpoint = ""
        for line in user.stderr:  # Chromium prints where it listens, then keeps running
            if "DevTools listening on" in line:
                endpoint = line.split("DevTools listening on ", 1)[1].strip()
                break
        assert endpoint.startswith("ws://")
        browser = PlaywrightBrowser.start(LaunchOptions(cdp_endpoint=endpoint))
        browser.approve_host("127.0.0.1")
        browser.open(site.url("form.html"))
        state = browser.look()
        assert state.title == "Sign up" and [t.number for t in state.tabs] == [1]
        browser.close()
        assert user.poll() is None  # the user's browser is still running
    finally:
        user.kill()
        user.wait()
