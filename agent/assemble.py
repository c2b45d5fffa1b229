"""Builds the engine's parts from `Settings`: the catalogue, the model router, the tool
registry, the journal. Entry points (CLI, tray app, task runner) call these instead of
wiring parts themselves, so every way in runs the same engine.

Bad input found here raises `BadInput` with a one-line message; entry points print it
and exit with status 2.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent.journal import Journal
from agent.learn_gate import current_adapter
from agent.policy import BadGrant, Ceiling, OwnFiles, Rule, parse_grant, ranked
from agent.settings import RemoteModel, Settings, desktop_session, x_display
from models.base import ChatModel, ModelUnavailable
from models.catalogue import (
    Catalogue,
    LocalOptions,
    ModelEntry,
    UnknownModel,
    embedded_entry,
)
from models.installed import installed_entries
from models.openai_compat import OpenAICompatModel
from models.router import FallbackPolicy, ModelRouter
from models.secrets import SecretStoreError, get_secret
from tools.base import Effect, ToolFailure
from tools.browser.base import Browser
from tools.browser.launch import LaunchOptions
from tools.browser.tool import BrowserTool
from tools.browser.urls import host_of, normalize_url
from tools.files import FileTool
from tools.paths import Workspace
from tools.registry import Registry, finish_spec
from tools.shell import ShellTool

if TYPE_CHECKING:  # the GUI tool is imported only when a run asks for it
    from tools.gui.tool import GuiTool


class BadInput(Exception):
    """Input the user must correct; the message is one line."""


def local_options(settings: Settings) -> LocalOptions:
    m = settings.model
    return LocalOptions(
        n_ctx=m.n_ctx,
        gpu_layers=m.gpu_layers,
        threads=m.threads,
        cpu_repack=m.cpu_repack,
        adapter=m.adapter,
        use_adapter=m.use_adapter,
        personal=current_adapter(settings.data_dir),  # `deskhand learn`'s accepted one
    )


def _remote_entry(remote: RemoteModel) -> ModelEntry:
    def opener() -> ChatModel:
        key = None
        if remote.key_name:
            try:
                key = get_secret(remote.key_name)
            except SecretStoreError as exc:
                raise ModelUnavailable(str(exc)) from exc
        return OpenAICompatModel(remote.base_url, remote.model, api_key=key)

    return ModelEntry(remote.name, "openai", remote.base_url, opener)


def catalogue(settings: Settings) -> Catalogue:
    options = local_options(settings)
    entries = [embedded_entry(options, settings.model.embedded_path)]
    entries += [_remote_entry(r) for r in settings.model.remotes]
    entries += installed_entries(settings.data_dir / "models", options)  # `models pull`
    return Catalogue(entries, options)


def resolve_model(settings: Settings, name: str | None) -> ModelEntry:
    try:
        return catalogue(settings).resolve(name or settings.model.default)
    except UnknownModel as exc:
        raise BadInput(str(exc)) from exc


def open_router(
    settings: Settings, entry: ModelEntry, *, prefer_remote: bool = False
) -> ModelRouter:
    """Open the chosen model, plus the configured fallback remote (if any).

    Loading a local model is slow: call this on the thread that will run the model.
    Naming a remote model explicitly is consent to use it; the fallback remote is used
    only when `settings.model.fallback` names one.
    """
    fallback: ModelEntry | None = None
    if settings.model.fallback and settings.model.fallback != entry.name:
        fallback = catalogue(settings).resolve(settings.model.fallback)
    chosen = entry.opener()
    if entry.kind == "gguf":
        local: ChatModel | None = chosen
        remote = fallback.opener() if fallback else None
    else:
        local, remote = None, chosen
    policy = FallbackPolicy(remote_allowed=remote is not None, prefer_remote=prefer_remote)
    return ModelRouter(local, remote, policy)


def open_journal(settings: Settings) -> Journal:
    """Open the journal and mark runs whose process died as interrupted."""
    journal = Journal(settings.journal_path)
    journal.mark_interrupted()
    return journal


def workspace_roots(settings: Settings, given: Sequence[Path]) -> tuple[Path, ...]:
    if not given:
        default = settings.default_workspace
        default.mkdir(parents=True, exist_ok=True)
        return (default.resolve(),)
    roots = []
    for path in given:
        path = path.expanduser()
        if not path.is_dir():
            raise BadInput(f"workspace does not exist or is not a folder: {path}")
        roots.append(path.resolve())
    return tuple(roots)


def permission_rules(
    settings: Settings,
    grants: Sequence[str],
    roots: Sequence[Path],
    task_rules: Sequence[Rule] = (),
) -> tuple[Rule, ...]:
    """This run's rules ahead of the defaults (`agent.policy.ranked`): deskhand's own
    files, the configured denials, the task file's grants, the command line's, then the
    config file's rules."""
    try:
        granted = tuple(parse_grant(t, roots) for t in grants)
    except BadGrant as exc:
        raise BadInput(str(exc)) from exc
    return ranked(*_caps(settings), (*task_rules, *granted))


def _caps(settings: Settings) -> tuple[OwnFiles, tuple[Rule, ...]]:
    """deskhand's own files, and the configured rules (`agent.policy.ranked`)."""
    configured = tuple(
        Rule(r.capability, r.scope, r.decision, source="config") for r in settings.permissions
    )
    return OwnFiles.of(settings.own_folders, exempt=[settings.default_workspace]), configured


def unreadable(settings: Settings) -> Callable[[Path], bool]:
    """Whether no grant can let a run read a path: deskhand's own files, and what the
    configured rules deny. Searches through a folder skip such files (the folder-level
    read was allowed; a file under it that the user denied is not)."""
    own, configured = _caps(settings)
    caps = (own, Ceiling.of(configured))

    def denied(path: Path) -> bool:
        effect = Effect("fs.read", str(path), "")
        return any(rule.matches(effect) for rule in caps)

    return denied


def file_tool(settings: Settings, roots: Sequence[Path]) -> FileTool:
    return FileTool(Workspace(tuple(roots)), settings.undo_dir, hidden=unreadable(settings))


def workspace_context(settings: Settings, roots: Sequence[Path]) -> str:
    """What the model is first shown of the workspace (every run's context starts with
    it): the listing of the first root, or in one line why there is none."""
    try:
        return "Workspace contents:\n" + file_tool(settings, roots).listing(".")
    except ToolFailure as exc:
        return f"Workspace contents: unavailable ({exc.message})"


def browser_tool(
    settings: Settings,
    roots: Sequence[Path],
    goal: str = "",
    *,
    secrets: Collection[str] | None = None,
) -> BrowserTool:
    """The browser tool. Nothing starts here: the browser is launched (and playwright
    imported) by the first action that needs it, on the thread that runs the task.

    `secrets`: the only keyring names it may type (a task file's ``secrets``); None lets
    it look up any name (an interactive run, where typing one is still asked about)."""
    b = settings.browser
    options = LaunchOptions(
        executable=b.executable,
        cdp_endpoint=b.cdp_endpoint,
        headless=True if b.headless is None else b.headless,
        action_timeout_s=b.action_timeout_s,
        navigation_timeout_s=b.navigation_timeout_s,
        resource_hosts=tuple(b.resource_hosts),
    )

    def opener() -> Browser:
        from tools.browser.driver import PlaywrightBrowser

        return PlaywrightBrowser.start(options)

    return BrowserTool(
        opener,
        Workspace(tuple(roots)),
        secrets=_keyring_secret if secrets is None else declared_secrets(secrets),
        budget_tokens=b.observation_tokens,
        goal=goal,
    )


def _keyring_secret(name: str) -> str | None:
    try:
        return get_secret(name)
    except SecretStoreError as exc:
        raise ToolFailure("secret_store", str(exc)) from exc


def declared_secrets(names: Collection[str]) -> Callable[[str], str | None]:
    """A keyring lookup that refuses every name but `names` (a task's ``secrets``), so
    neither a fixed step nor the model can type a secret the task did not declare."""
    allowed = frozenset(names)

    def lookup(name: str) -> str | None:
        if name not in allowed:
            raise ToolFailure(
                "undeclared_secret",
                f"secret {name!r} is not one this task declares (its 'secrets' field)",
            )
        return _keyring_secret(name)

    return lookup


def start_url_grant(url: str) -> Rule:
    """``--start-url``: the user named the page, so its site may be opened this run."""
    try:
        host = host_of(normalize_url(url))
    except ToolFailure as failure:
        raise BadInput(f"--start-url {url!r}: {failure.message}") from failure
    return Rule("browser.navigate", host or "", "allow", source="grant")


def wants_gui(grants: Sequence[Rule]) -> bool:
    """A task's grant of ``gui.input`` or ``screen.capture`` (or a pattern naming one)
    asks for the GUI tool."""
    return any(
        g.source == "grant"
        and g.decision != "deny"
        and any(fnmatch.fnmatchcase(c, g.capability) for c in ("gui.input", "screen.capture"))
        for g in grants
    )


def wants_browser(rules: Sequence[Rule], start_url: str | None = None) -> bool:
    """A run gets the browser tool when it starts on a page, or when a rule of its own
    (``--allow``, a task's permissions, the configured permission defaults) allows or
    asks for a browser capability. Every entry point (CLI, task files, the palette)
    decides with this one rule."""
    return start_url is not None or any(
        r.decision != "deny" and r.capability.startswith("browser.") for r in rules
    )


def gui_tool(
    settings: Settings,
    stop: threading.Event | None = None,
    env: dict[str, str] | None = None,
    *,
    secrets: Collection[str] | None = None,
) -> GuiTool:
    """The GUI tool for this desktop (``--gui``, a task file's ``gui.*`` step or grant),
    or `BadInput` saying in one line why there is none (Wayland, no DISPLAY, not Linux).
    Nothing connects to the display and pyautogui is not imported until the first GUI
    action. `secrets` as for `browser_tool`: the only names it may type, or None."""
    from tools.gui.base import GuiUnavailable
    from tools.gui.session import x11_desktop, x11_display
    from tools.gui.tool import GuiTool

    try:
        display = x11_display(desktop_session(env), x_display(env))
    except GuiUnavailable as exc:
        raise BadInput(str(exc)) from exc
    return GuiTool(
        x11_desktop(display),
        secrets=_keyring_secret if secrets is None else declared_secrets(secrets),
        stop=stop,
        screenshots=settings.data_dir / "screenshots",
    )


def wants_shell(grants: Sequence[Rule]) -> bool:
    """A run gets the shell tool only when a rule names shell.exec (or ``shell.*``) and
    does not deny it: by default the model is not even offered a command line."""
    return any(
        r.decision != "deny"
        and r.capability.startswith("shell")
        and fnmatch.fnmatchcase("shell.exec", r.capability)
        for r in grants
    )


def shell_tool(roots: Sequence[Path], stop: threading.Event | None = None) -> ShellTool:
    return ShellTool(Workspace(tuple(roots)), stop=stop)


@dataclass(slots=True)
class RunTools:
    """The tools one run gets beyond the file tool (None: not given). `close` ends what
    they started (the browser), on the thread that used them; call it whatever happens."""

    browser: BrowserTool | None = None
    shell: ShellTool | None = None
    gui: GuiTool | None = None

    def registry(self, settings: Settings, roots: Sequence[Path]) -> Registry:
        return registry(settings, roots, self.browser, gui=self.gui, shell=self.shell)

    def close(self) -> None:
        if self.browser is not None:
            self.browser.close()


def run_tools(
    settings: Settings,
    roots: Sequence[Path],
    grants: Sequence[Rule],
    *,
    goal: str = "",
    start_url: str | None = None,
    browser: bool = False,
    gui: GuiTool | None = None,
    stop: threading.Event | None = None,
    secrets: Collection[str] | None = None,
) -> RunTools:
    """The tools of a run with these grants: the browser when `browser` is asked for or
    `wants_browser`, the shell when `wants_shell`. Nothing starts here."""
    shell = shell_tool(roots, stop) if wants_shell(grants) else None
    web = None
    if browser or wants_browser(grants, start_url):
        web = browser_tool(settings, roots, goal, secrets=secrets)
    return RunTools(web, shell, gui)


def registry(
    settings: Settings,
    roots: Sequence[Path],
    browser: BrowserTool | None = None,
    *,
    gui: GuiTool | None = None,
    shell: ShellTool | None = None,
) -> Registry:
    extra = browser.specs() if browser is not None else []
    extra += gui.specs() if gui is not None else []
    extra += shell.specs() if shell is not None else []
    return Registry([*file_tool(settings, roots).specs(), *extra, finish_spec()])
