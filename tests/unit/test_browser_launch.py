"""Finding a browser, the browser settings, and the hosts that scope browser effects."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from agent.settings import SettingsError, load_settings
from tools.base import ToolFailure
from tools.browser.launch import NOT_FOUND, find_executable
from tools.browser.urls import host_of, normalize_url


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def nothing_on_path(name: str) -> str | None:
    return None


def test_the_configured_executable_comes_first(tmp_path: Path) -> None:
    mine = executable(tmp_path / "my-chrome")
    on_path = executable(tmp_path / "bin" / "chromium")
    found = find_executable(mine, which=lambda n: str(on_path), locations=())
    assert found == mine


def test_a_configured_executable_that_is_missing_or_not_executable_is_refused(
    tmp_path: Path,
) -> None:
    plain = tmp_path / "chrome.txt"
    plain.write_text("")
    for bad in (tmp_path / "nowhere", plain, tmp_path):
        with pytest.raises(ToolFailure) as info:
            find_executable(bad, which=nothing_on_path, locations=())
        assert info.value.kind == "browser_not_found" and str(bad) in info.value.message


def test_path_then_known_locations(tmp_path: Path) -> None:
    chromium = executable(tmp_path / "bin" / "chromium")
    edge = executable(tmp_path / "opt" / "msedge")
    seen: list[str] = []

    def which(name: str) -> str | None:
        seen.append(name)
        return str(chromium) if name == "chromium" else None

    assert find_executable(None, which=which, locations=[str(edge)]) == chromium
    assert seen[:3] == ["google-chrome", "google-chrome-stable", "chromium"]
    assert find_executable(None, which=nothing_on_path, locations=[str(edge)]) == edge


def test_no_browser_anywhere_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ToolFailure) as info:
        find_executable(None, which=nothing_on_path, locations=[str(tmp_path / "none")])
    assert info.value.kind == "browser_not_found"
    assert info.value.message == NOT_FOUND and "\n" not in NOT_FOUND
    assert "DESKHAND_BROWSER" in NOT_FOUND and "cdp_endpoint" in NOT_FOUND


def write_config(home: Path, text: str) -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text(text)


def test_browser_settings_come_from_the_file_then_the_environment(tmp_path: Path) -> None:
    env = {"DESKHAND_HOME": str(tmp_path), "DESKHAND_BROWSER": "/opt/env-chrome"}
    assert load_settings(env).browser.executable == Path("/opt/env-chrome")
    write_config(tmp_path, '[browser]\nexecutable = "/opt/file-chrome"\nobservation_tokens = 500\n')
    settings = load_settings({**env, "DESKHAND_BROWSER_CDP": "http://127.0.0.1:9222"})
    assert settings.browser.executable == Path("/opt/file-chrome")
    assert settings.browser.cdp_endpoint == "http://127.0.0.1:9222"
    assert settings.browser.observation_tokens == 500


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="display detection is for X11/Wayland"
)
def test_headless_where_there_is_no_display(tmp_path: Path) -> None:
    home = {"DESKHAND_HOME": str(tmp_path)}
    assert load_settings(home).browser.headless is True
    assert load_settings({**home, "DISPLAY": ":0"}).browser.headless is False
    assert load_settings({**home, "WAYLAND_DISPLAY": "wayland-0"}).browser.headless is False
    write_config(tmp_path, "[browser]\nheadless = true\n")
    assert load_settings({**home, "DISPLAY": ":0"}).browser.headless is True


def test_a_bad_browser_section_is_a_settings_error(tmp_path: Path) -> None:
    write_config(tmp_path, "[browser]\nexecutable = 3\nsurprise = 1\n")
    with pytest.raises(SettingsError, match="browser"):
        load_settings({"DESKHAND_HOME": str(tmp_path)})
    write_config(tmp_path, 'browser = "chrome"\n')
    with pytest.raises(SettingsError, match="browser"):
        load_settings({"DESKHAND_HOME": str(tmp_path)})


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.0.0.1:8000/a?b#c", "127.0.0.1"),
        ("HTTPS://Example.COM./x", "example.com"),
        ("https://bücher.example/", "xn--bcher-kva.example"),
        ("blob:https://example.com/1234-abcd", "example.com"),
        ("https://user:pw@example.com/", "example.com"),
        ("file:///etc/passwd", None),
        ("javascript:alert(1)", None),
        ("data:text/html,hi", None),
        ("chrome-error://chromewebdata/", None),
        ("about:blank", None),
        ("http://[::1]:80/", "::1"),
        ("http:///nohost", None),
    ],
)
def test_host_of(url: str, host: str | None) -> None:
    assert host_of(url) == host


def test_normalize_url() -> None:
    assert normalize_url(" example.org/a ") == "https://example.org/a"
    assert normalize_url("http://127.0.0.1:9/x") == "http://127.0.0.1:9/x"
    for bad in ("file:///etc/passwd", "javascript:alert(1)", "data:text/html,x", "ftp://x/y",
                "about:blank", "https://"):  # fmt: skip
        with pytest.raises(ToolFailure) as info:
            normalize_url(bad)
        assert info.value.kind == "invalid"


def test_the_test_machine_has_a_browser() -> None:
    """Integration tests need one; say so plainly when it is missing."""
    try:
        found = find_executable(None)
    except ToolFailure as failure:
        pytest.fail(failure.message)
    assert os.access(found, os.X_OK)
