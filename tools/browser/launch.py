"""Which browser to start, or which running browser to attach to.

Order: the configured executable (``[browser] executable`` in config.toml, or the
``DESKHAND_BROWSER`` environment variable, which the settings module folds into the same
field) → an installed Chrome, Chromium or Edge found on PATH or in its usual place.
Attaching to a running browser over CDP (``[browser] cdp_endpoint``) needs no executable.

Invariant: `find_executable` either returns an existing executable file or raises
`ToolFailure` ``browser_not_found`` whose message is one line saying what to do.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.base import ToolFailure

#: Names looked up on PATH, in order of preference.
PATH_NAMES = (
    "google-chrome",
    "google-chrome-stable",
    "chromium",
    "chromium-browser",
    "microsoft-edge",
    "microsoft-edge-stable",
    "chrome",
    "msedge",
)

_KNOWN_LOCATIONS = {
    "linux": (
        "/usr/bin/google-chrome",
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/microsoft-edge",
        "/snap/bin/chromium",
        "/opt/google/chrome/chrome",
        "/opt/microsoft/msedge/msedge",
    ),
    "darwin": (
        "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        "/Applications/Chromium.app/Contents/MacOS/Chromium",
        "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
    ),
    "win32": (
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        r"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe",
        r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        r"C:\Program Files\Microsoft\Edge\Application\msedge.exe",
    ),
}

NOT_FOUND = (
    "no Chrome, Chromium or Edge found: install one, set [browser] executable in "
    "config.toml (or DESKHAND_BROWSER), or attach to a running browser with "
    "[browser] cdp_endpoint"
)


@dataclass(frozen=True, slots=True)
class LaunchOptions:
    """How to get a browser: attach to `cdp_endpoint`, else start `executable`."""

    executable: Path | None = None
    cdp_endpoint: str | None = None
    headless: bool = True
    #: Playwright's wait for one action (click, fill, ...), in seconds.
    action_timeout_s: float = 10.0
    navigation_timeout_s: float = 30.0
    #: Hosts whose subresources pages may load without an approval (``[browser]
    #: resource_hosts``, ``*.example.com`` for subdomains): the user's choice, none by default.
    resource_hosts: tuple[str, ...] = ()


def known_locations(platform: str = sys.platform) -> tuple[str, ...]:
    key = "linux" if platform.startswith("linux") else platform
    return _KNOWN_LOCATIONS.get(key, ())


def find_executable(
    configured: Path | None,
    *,
    which: Callable[[str], str | None] = shutil.which,
    locations: Sequence[str] | None = None,
) -> Path:
    """The browser to start: `configured` when given (it must exist), else the first
    Chromium-family browser found on PATH, else in a known install location."""
    if configured is not None:
        path = configured.expanduser()
        if not _is_executable(path):
            raise ToolFailure(
                "browser_not_found",
                f"the configured browser {path} does not exist or is not executable",
            )
        return path
    for name in PATH_NAMES:
        found = which(name)
        if found and _is_executable(Path(found)):
            return Path(found)
    for location in known_locations() if locations is None else locations:
        if _is_executable(Path(location)):
            return Path(location)
    raise ToolFailure("browser_not_found", NOT_FOUND)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
