"""`ModelRouter`: the local model first, a remote one only when allowed and needed.

The fallback policy is typed data (`FallbackPolicy`). A step goes to the remote model only
when one is configured and `remote_allowed`, and one of (`SwitchReason`):
- ``local_unavailable``: the local model is missing or cannot answer (`ModelUnavailable`);
- ``invalid_output``: the local reply is still invalid after one retry on the same model;
- ``task_requested``: the task asks for the remote model (`prefer_remote`).

Invariants:
- Fallback goes one way, local to remote; whatever the model that was asked last raises
  ends the step. `ModelCancelled` always propagates at once: a stop is never a reason to
  fall back. `ContextOverflow` propagates too: the agent handles it.
- An invalid reply (`ModelOutputInvalid` from the backend or from the caller's `validate`)
  gets exactly one retry on the same model, whichever model that is.
- Every switch is reported through `on_switch`, which the agent turns into an event and a
  journal row. A remote preferred by the task is reported when the router moves to it,
  not again while it stays there.
- `model_id` is the model that produced the last accepted completion (before any, the one
  asked by default), and the returned `Completion.model_id` names it too.

The router is itself a `ChatModel`, plus the optional `validate` keyword on `complete`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from models.base import (
    ChatModel,
    Completion,
    JsonSchema,
    Message,
    ModelInfo,
    ModelOutputInvalid,
    ModelUnavailable,
    ShouldStop,
)

log = logging.getLogger(__name__)

SwitchReason = Literal["local_unavailable", "invalid_output", "task_requested"]
#: Raises `ModelOutputInvalid` when a reply's text is not acceptable.
Validator = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class FallbackPolicy:
    remote_allowed: bool
    on_unavailable: bool = True
    on_invalid: bool = True
    #: The task asks for the remote model: use it first (when allowed).
    prefer_remote: bool = False


@dataclass(frozen=True, slots=True)
class ModelSwitch:
    from_model: str
    to_model: str
    reason: SwitchReason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class _Request:
    messages: Sequence[Message]
    schema: JsonSchema | None
    max_tokens: int
    should_stop: ShouldStop | None
    validate: Validator | None


class ModelRouter:
    """Routes each completion to the local or the remote model under `policy`.

    The router owns both models: `close` closes them. `on_switch` may be replaced
    between calls (the agent loop points it at the current step).
    """

    def __init__(
        self,
        local: ChatModel | None,
        remote: ChatModel | None,
        policy: FallbackPolicy,
        on_switch: Callable[[ModelSwitch], None] | None = None,
    ) -> None:
        self._local = local
        self._remote = remote
        self._policy = policy
        self.on_switch = on_switch
        first = local if local is not None else self._allowed_remote
        if first is None:
            raise ValueError("a router needs a local model or a remote one it may use")
        self._current: ChatModel = first
        self._last_id = first.model_id

    @property
    def policy(self) -> FallbackPolicy:
        return self._policy

    @property
    def _allowed_remote(self) -> ChatModel | None:
        return self._remote if self._policy.remote_allowed else None

    # -- ChatModel ---------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        return self._last_id

    def info(self) -> ModelInfo:
        return self._current.info()

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: JsonSchema | None = None,
        max_tokens: int = 512,
        should_stop: ShouldStop | None = None,
        validate: Validator | None = None,
    ) -> Completion:
        request = _Request(messages, schema, max_tokens, should_stop, validate)
        local, remote = self._local, self._allowed_remote
        if local is None or (remote is not None and self._policy.prefer_remote):
            assert remote is not None  # the constructor guarantees one of the two
            if local is not None and self._current is not remote:
                self._switch(local, remote, "task_requested", "the task asks for the remote model")
            return self._ask(remote, request)
        try:
            return self._ask(local, request)
        except ModelUnavailable as exc:
            if remote is None or not self._policy.on_unavailable:
                raise
            self._switch(local, remote, "local_unavailable", str(exc))
        except ModelOutputInvalid as exc:
            if remote is None or not self._policy.on_invalid:
                raise
            self._switch(local, remote, "invalid_output", str(exc))
        return self._ask(remote, request)

    def close(self) -> None:
        for model in (self._local, self._remote):
            if model is not None:
                model.close()

    # -- internals ---------------------------------------------------------------------

    def _ask(self, model: ChatModel, request: _Request) -> Completion:
        """One completion from `model`, with one retry when the reply is invalid."""
        try:
            return self._ask_once(model, request)
        except ModelOutputInvalid as exc:
            log.info("%s: reply invalid, retrying once", model.model_id)
            log.debug("%s: invalid reply: %s", model.model_id, exc)
            return self._ask_once(model, request)

    def _ask_once(self, model: ChatModel, request: _Request) -> Completion:
        completion = model.complete(
            request.messages,
            schema=request.schema,
            max_tokens=request.max_tokens,
            should_stop=request.should_stop,
        )
        if request.validate is not None:
            request.validate(completion.text)
        self._current, self._last_id = model, completion.model_id
        return completion

    def _switch(self, src: ChatModel, dst: ChatModel, reason: SwitchReason, detail: str) -> None:
        log.info("switching model %s -> %s (%s)", src.model_id, dst.model_id, reason)
        log.debug("switch detail: %s", detail)
        if self.on_switch is not None:
            self.on_switch(ModelSwitch(src.model_id, dst.model_id, reason, detail))


__all__ = ["FallbackPolicy", "ModelRouter", "ModelSwitch", "SwitchReason", "Validator"]
