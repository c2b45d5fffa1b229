"""Builds the engine's parts from `Settings`: the catalogue, the model router, the tool
registry, the journal. Entry points (CLI, tray app, task runner) call these instead of
wiring parts themselves, so every way in runs the same engine.

Bad input found here raises `BadInput` with a one-line message; entry points print it
and exit with status 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent.journal import Journal
from agent.policy import BadGrant, Rule, parse_grant
from agent.settings import RemoteModel, Settings
from models.base import ChatModel, ModelUnavailable
from models.catalogue import (
    Catalogue,
    LocalOptions,
    ModelEntry,
    UnknownModel,
    embedded_entry,
)
from models.openai_compat import OpenAICompatModel
from models.router import FallbackPolicy, ModelRouter
from models.secrets import SecretStoreError, get_secret
from tools.files import FileTool
from tools.paths import Workspace
from tools.registry import Registry, finish_spec


class BadInput(Exception):
    """Input the user must correct; the message is one line."""


def local_options(settings: Settings) -> LocalOptions:
    m = settings.model
    return LocalOptions(n_ctx=m.n_ctx, gpu_layers=m.gpu_layers, threads=m.threads)


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
    settings: Settings, grants: Sequence[str], roots: Sequence[Path]
) -> tuple[Rule, ...]:
    """This run's rules ahead of the defaults: command-line grants, then the config file's."""
    try:
        granted = tuple(parse_grant(t, roots) for t in grants)
    except BadGrant as exc:
        raise BadInput(str(exc)) from exc
    configured = tuple(
        Rule(r.capability, r.scope, r.decision, source="config") for r in settings.permissions
    )
    return granted + configured


def file_tool(settings: Settings, roots: Sequence[Path]) -> FileTool:
    return FileTool(Workspace(tuple(roots)), settings.undo_dir)


def registry(settings: Settings, roots: Sequence[Path]) -> Registry:
    return Registry([*file_tool(settings, roots).specs(), finish_spec()])
