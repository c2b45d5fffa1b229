"""Typed settings, built once at the entry point and passed down.

The only module that reads the environment. Locations come from platformdirs;
``DESKHAND_HOME`` replaces all of them with one folder (tests point it at a temporary
directory). Settings are read from ``config.toml`` in the config directory; a missing
file means defaults, a malformed one is a `SettingsError` with the file and the reason.

Layout under the data directory::

    journal.sqlite        runs, steps, approvals, outcomes, feedback
    workspace/            the default workspace (never the whole home directory)
    undo/                 backups that let `deskhand undo` reverse file changes
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.adapter_meta import adapter_families

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

APP_NAME = "deskhand"


class SettingsError(Exception):
    """The configuration file cannot be used."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RemoteModel(_Section):
    """An OpenAI-compatible endpoint. The key lives in the OS keyring under `key_name`."""

    name: str = Field(min_length=1)
    base_url: str = Field(min_length=1)
    model: str = Field(min_length=1)
    key_name: str | None = None


class ModelSettings(_Section):
    #: "embedded", a path to a .gguf file, or the name of a configured remote model.
    default: str = "embedded"
    #: Path of the embedded model's GGUF, when it was installed some other way.
    embedded_path: Path | None = None
    n_ctx: int = Field(default=8192, ge=512)
    #: None: offload every layer when llama.cpp has CUDA or Metal; 0: CPU only.
    gpu_layers: int | None = None
    #: None: one thread per core that other processes leave free, re-checked while it runs.
    threads: int | None = Field(default=None, ge=1)
    #: Let llama.cpp repack weights for this CPU (AMX on recent Xeons). Off: that path
    #: segfaults in llama.cpp 0.3.36 on AMX CPUs; the model runs in its own process either way.
    cpu_repack: bool = False
    #: A GGUF LoRA adapter (from `deskhand train`, or models/adapters/) applied to local
    #: GGUF models; None: the embedded model gets deskhand's shipped adapter
    #: (models.adapter_meta.EMBEDDED_ADAPTER), other GGUF models run bare.
    adapter: Path | None = None
    #: False: no adapter at all, every local model runs as its bare base (as
    #: ``deskhand run --no-adapter`` does for one run).
    use_adapter: bool = True
    remotes: list[RemoteModel] = Field(default_factory=list)
    #: Name of the remote used as fallback; remote use is off until this is set.
    fallback: str | None = None


Decision = Literal["allow", "ask", "deny"]


class PermissionRule(_Section):
    capability: str = Field(min_length=1)
    #: A glob over the scope (an absolute path, a domain, a command); "*" matches all.
    scope: str = "*"
    decision: Decision


class BrowserSettings(_Section):
    """Which browser the browser tool drives. ``DESKHAND_BROWSER`` and
    ``DESKHAND_BROWSER_CDP`` fill `executable` and `cdp_endpoint` when the file leaves them out."""

    #: A Chrome, Chromium or Edge executable; None: detect an installed one.
    executable: Path | None = None
    #: Attach to a browser the user runs (``http://127.0.0.1:9222``) instead of starting one.
    cdp_endpoint: str | None = None
    #: Unset: headless only where there is no display (Linux without DISPLAY/WAYLAND_DISPLAY).
    headless: bool | None = None
    #: Token budget of one page observation.
    observation_tokens: int = Field(default=600, ge=100)
    action_timeout_s: float = Field(default=10.0, gt=0)
    navigation_timeout_s: float = Field(default=30.0, gt=0)
    #: Hosts that may serve a page's subresources (never a page) without an approval:
    #: your choice of CDNs (``*.example.com`` for subdomains); none by default.
    resource_hosts: list[str] = Field(default_factory=list)


class HotkeySettings(_Section):
    """Global hotkeys of the tray app, in pynput's syntax: modifiers and named keys in
    angle brackets, joined by "+" (``<ctrl>+<alt>+<space>``). X11, Windows and macOS
    only: Wayland allows no global grabs (bind ``deskhand palette`` there instead)."""

    enabled: bool = True
    #: Shows the command palette.
    palette: str = Field(default="<ctrl>+<alt>+<space>", min_length=1)
    #: The kill switch: stops whatever run is going, from anywhere.
    stop: str = Field(default="<ctrl>+<alt>+<shift>+x", min_length=1)


class MemorySettings(_Section):
    """The user's past runs as worked examples for new ones (agent/experience.py)."""

    enabled: bool = True
    #: How many past runs one run is shown at most (each costs prompt tokens every step).
    runs: int = Field(default=2, ge=0, le=4)


class Settings(_Section):
    home: Path
    config_dir: Path
    data_dir: Path
    cache_dir: Path
    #: Where deleted files go (the freedesktop trash; None where it is no folder of ours).
    trash_dir: Path | None = None
    model: ModelSettings = Field(default_factory=ModelSettings)
    #: Rules checked before the built-in defaults, first match wins.
    permissions: list[PermissionRule] = Field(default_factory=list)
    max_steps: int = Field(default=12, ge=1)
    max_seconds: float = Field(default=600.0, gt=0)
    hotkeys: HotkeySettings = Field(default_factory=HotkeySettings)
    browser: BrowserSettings = Field(default_factory=BrowserSettings)
    #: Folders the tray app's runs may work in; empty means the default workspace.
    workspaces: list[Path] = Field(default_factory=list)
    #: The tray app runs each *.task.yaml dropped here, as ``deskhand watch`` does.
    watch_folder: Path | None = None
    #: What a dropped task file may grant itself beyond files in its workspace (grant
    #: strings as ``--allow``: "browser.navigate:example.com"); a file asking for more is
    #: refused into failed/. Used by the tray app's watcher and ``deskhand watch``.
    watch_allow: list[str] = Field(default_factory=list)
    #: Saved *.task.yaml files here are offered by the command palette.
    tasks_folder: Path | None = None
    memory: MemorySettings = Field(default_factory=MemorySettings)

    @property
    def journal_path(self) -> Path:
        return self.data_dir / "journal.sqlite"

    @property
    def default_workspace(self) -> Path:
        return self.data_dir / "workspace"

    @property
    def undo_dir(self) -> Path:
        return self.data_dir / "undo"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def own_folders(self) -> tuple[Path, ...]:
        """Folders no file action may reach (`agent.policy.OwnFiles`): deskhand's config,
        data (journal, undo store, screenshots) and cache, and the user's trash."""
        folders = (self.config_dir, self.data_dir, self.cache_dir, self.trash_dir)
        return tuple(f for f in folders if f is not None)


def without_adapter(settings: Settings) -> Settings:
    """`settings` with every local model running bare (``deskhand run --no-adapter``)."""
    model = settings.model.model_copy(update={"use_adapter": False})
    return settings.model_copy(update={"model": model})


def adapter_scope(
    settings: Settings, default: Path | None, *, browser: bool, gui: bool
) -> Settings:
    """`settings` for a run that is (or is not) given the browser and the GUI, where
    `default` is the adapter the embedded model would run with (``LocalOptions.
    adapter_for``): such a run keeps it only when it learned those tool families (its
    ``deskhand.families``, `models.adapter_meta.adapter_families`: "browser" for the
    browser, "gui" for the GUI), else it gets the bare base. An adapter without the key
    learned files only (the first shipped one took MiniWoB++ from 0.38 to 0.00). An
    adapter the user named (``model.adapter``, ``--adapter``) runs as named."""
    if default is None or settings.model.adapter is not None or not (browser or gui):
        return settings
    learned = adapter_families(default)
    if (browser and "browser" not in learned) or (gui and "gui" not in learned):
        return without_adapter(settings)
    return settings


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from the environment and the config file."""
    env = dict(os.environ) if env is None else env
    dirs = _locations(env)
    config_file = dirs["config_dir"] / "config.toml"
    data: dict[str, object] = {}
    if config_file.is_file():
        try:
            data = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{config_file}: {exc}") from exc
    data = _with_browser_env(data, env)
    try:
        return Settings(**dirs, trash_dir=_trash(env), **data)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SettingsError(f"{config_file}: {where}: {first['msg']}") from exc
    except TypeError as exc:
        raise SettingsError(f"{config_file}: {exc}") from exc


def _with_browser_env(data: dict[str, object], env: dict[str, str]) -> dict[str, object]:
    """Fold DESKHAND_BROWSER / DESKHAND_BROWSER_CDP into [browser], and make the browser
    headless where no display exists; what the file says wins."""
    section = data.get("browser", {})
    if not isinstance(section, dict):
        return data  # validation reports the malformed section
    names = (("executable", "DESKHAND_BROWSER"), ("cdp_endpoint", "DESKHAND_BROWSER_CDP"))
    extra: dict[str, object] = {
        key: env[var] for key, var in names if env.get(var) and key not in section
    }
    if "headless" not in section and sys.platform.startswith("linux"):
        extra["headless"] = not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    return {**data, "browser": {**section, **extra}}


def _locations(env: dict[str, str]) -> dict[str, Path]:
    home = env.get("DESKHAND_HOME")
    if home:
        root = Path(home).expanduser().resolve()
        return {
            "home": root,
            "config_dir": root / "config",
            "data_dir": root / "data",
            "cache_dir": root / "cache",
        }
    import platformdirs

    data = Path(platformdirs.user_data_dir(APP_NAME))
    return {
        "home": data,
        "config_dir": Path(platformdirs.user_config_dir(APP_NAME)),
        "data_dir": data,
        "cache_dir": Path(platformdirs.user_cache_dir(APP_NAME)),
    }


def _trash(env: dict[str, str]) -> Path | None:
    """The user's trash folder: where send2trash puts files deleted on the home volume."""
    if sys.platform == "darwin":
        return Path.home() / ".Trash"
    if sys.platform == "win32":
        return None  # the Recycle Bin is no folder of ours to guard
    data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home).expanduser() / "Trash"


DesktopSession = Literal["x11", "wayland", "windows", "macos", "none"]


def desktop_session(env: dict[str, str] | None = None) -> DesktopSession:
    """Which kind of desktop this process shows windows on; decides whether global
    hotkeys can be grabbed (not on Wayland)."""
    env = dict(os.environ) if env is None else env
    if sys.platform == "win32":
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    if env.get("XDG_SESSION_TYPE") == "wayland" or env.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "x11" if env.get("DISPLAY") else "none"


def x_display(env: dict[str, str] | None = None) -> str | None:
    """The X11 display name (``DISPLAY``) the GUI tool drives, if any."""
    env = dict(os.environ) if env is None else env
    return env.get("DISPLAY") or None


def is_interactive() -> bool:
    """True when a person can answer prompts on this terminal."""
    return sys.stdin.isatty() and os.environ.get("CI") is None
