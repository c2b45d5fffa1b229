"""Writing ``config.toml`` back from the settings window.

`agent.settings` reads the file; this writes the parts the window edits. Invariants:
- Only the edited sections (`EDITED`) change; every other section is kept as the file
  had it. Values that settings fold in from the environment (the browser's) are never
  frozen into the file, and the locations (home, config, data, cache) never written.
- Within an edited section only what differs from the defaults is written, so later
  default changes reach users.
- No secret can be written: `Settings` has no field that holds one. A remote model's
  key lives in the keyring (`models.secrets`); the file names it by `key_name` only.
- The new text must load back into the same edited values before it replaces the file,
  and the file is replaced atomically (`tools.atomic_write`), so a failed save leaves the
  old file intact.
  Comments in a hand-edited file are not kept.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from agent.settings import Settings
from tools.atomic_write import write_atomic

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: The top-level settings the settings window edits.
EDITED = ("model", "permissions", "hotkeys", "workspaces", "watch_folder", "tasks_folder")
_LOCATIONS = ("home", "config_dir", "data_dir", "cache_dir", "trash_dir")


def config_text(settings: Settings, current: dict[str, Any]) -> str:
    """The file's new text: `current` (the file's data) with the edited sections replaced."""
    import tomli_w

    edited = settings.model_dump(
        mode="json", include=set(EDITED), exclude_defaults=True, exclude_none=True
    )
    data = {k: v for k, v in current.items() if k not in EDITED}
    data.update(edited)
    text = tomli_w.dumps(data)
    locations = {name: getattr(settings, name) for name in _LOCATIONS}
    reloaded = Settings(**locations, **tomllib.loads(text))
    if any(getattr(reloaded, k) != getattr(settings, k) for k in EDITED):
        raise ValueError("these settings do not survive a round trip through config.toml")
    return text


def write_config(settings: Settings) -> Path:
    """Save the edited sections of `settings` to the config file; return its path."""
    path = settings.config_file
    current: dict[str, Any] = {}
    if path.is_file():
        current = tomllib.loads(path.read_text(encoding="utf-8"))
    text = config_text(settings, current)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    return path
