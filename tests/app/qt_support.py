"""Helpers for the desktop app's tests: scripted models for the worker, model replies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from agent.settings import Settings
from models.router import FallbackPolicy, ModelRouter
from models.scripted import Reply, ScriptedModel


def scripted(replies: Sequence[Reply]) -> tuple[Callable[[Settings], ModelRouter], ScriptedModel]:
    """A model opener for the worker that hands out one ScriptedModel (to inspect)."""
    model = ScriptedModel(replies)

    def opener(settings: Settings) -> ModelRouter:
        return ModelRouter(model, None, FallbackPolicy(remote_allowed=False))

    return opener, model


def write_action(path: str, content: str = "hello") -> dict[str, Any]:
    return {
        "thought": f"write {path}",
        "tool": "files.write",
        "args": {"path": path, "content": content},
    }


def list_action() -> dict[str, Any]:
    return {"thought": "look around", "tool": "files.list", "args": {"path": "."}}


FINISH = {"thought": "done", "tool": "finish", "args": {"message": "all done"}}
