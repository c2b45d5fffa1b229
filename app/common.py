"""What every ``deskhand`` command shares: one clear line and an exit code on bad input,
the settings loaded that way, and ``--set NAME=VALUE`` parsing.

Bad input never shows a traceback: `fail` prints ``deskhand: <message>`` on stderr and
exits with `code` (2 for bad input, as every command documents).
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

from agent.settings import Settings, SettingsError, load_settings

err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"deskhand: {message}", markup=False)
    raise typer.Exit(code)


def settings_or_fail() -> Settings:
    """The settings, or exit 2 naming the config file and what is wrong with it."""
    try:
        return load_settings()
    except SettingsError as exc:
        fail(f"bad configuration: {exc}")


def set_pairs(pairs: list[str]) -> dict[str, str]:
    """``--set NAME=VALUE`` options as a dict (a later NAME wins), or exit 2 on a bad one."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fail(f"--set wants NAME=VALUE, got {pair!r}")
        values[name.strip()] = value
    return values
