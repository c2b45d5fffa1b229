"""URLs and hosts: the scope of every browser effect is a host computed here.

Invariants:
- `host_of` returns a lowercase ASCII (IDNA) host without port, or None for anything
  the agent may not be on (``file:``, ``javascript:``, ``chrome:``, ``data:``, error pages).
  A host never contains a space, so a scope ``"HOST ELEMENT"`` splits unambiguously at its
  first space even when the element's name comes from a hostile page.
- `normalize_url` accepts what a model writes (``example.com/a``) and returns an
  ``http(s)`` URL, or raises `ToolFailure` ``invalid``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tools.base import ToolFailure

WEB_SCHEMES = ("http", "https")


def host_of(url: str) -> str | None:
    """The host the agent would be on at `url`, or None when it is not a web page."""
    try:
        parts = urlsplit(url.strip())
        if parts.scheme == "blob":  # blob:https://host/uuid belongs to that host's page
            parts = urlsplit(parts.path)
        if parts.scheme not in WEB_SCHEMES or not parts.hostname:
            return None
        return _ascii_host(parts.hostname)
    except ValueError:
        return None


def normalize_url(text: str) -> str:
    """An absolute http(s) URL for what the model wrote, or `ToolFailure` ``invalid``."""
    url = text.strip()
    if "://" not in url and not url.lower().startswith(("about:", "javascript:", "data:")):
        url = "https://" + url
    scheme = url.split(":", 1)[0].lower()
    if scheme not in WEB_SCHEMES:
        raise ToolFailure("invalid", f"only http and https pages can be opened, not {scheme}:")
    if host_of(url) is None:
        raise ToolFailure("invalid", f"not a web address: {text.strip()[:200]}")
    return url


def _ascii_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(host) from exc
