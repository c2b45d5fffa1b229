"""`ScriptedModel`: a fake `ChatModel` that replays prepared replies, for unit tests of
the logic around the model seam (loop, executor, router). Integration tests use the real
embedded model instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from models.base import (
    Completion,
    JsonSchema,
    Message,
    ModelCancelled,
    ModelInfo,
    ModelUnavailable,
    ShouldStop,
    Usage,
)

Reply = str | dict[str, Any] | Callable[[Sequence[Message]], str]


class ScriptedModel:
    """Returns `replies` in order (dicts are JSON-encoded; callables see the messages).

    Raises ModelUnavailable when the script runs out. Records every prompt in `calls`.
    """

    def __init__(self, replies: Sequence[Reply], model_id: str = "scripted") -> None:
        self._replies = list(replies)
        self._model_id = model_id
        self.calls: list[list[Message]] = []

    @property
    def model_id(self) -> str:
        return self._model_id

    def info(self) -> ModelInfo:
        return ModelInfo(self._model_id, "scripted", "memory")

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: JsonSchema | None = None,
        max_tokens: int = 512,
        should_stop: ShouldStop | None = None,
    ) -> Completion:
        if should_stop is not None and should_stop():
            raise ModelCancelled("stopped")
        self.calls.append(list(messages))
        if not self._replies:
            raise ModelUnavailable("the script has no more replies")
        reply = self._replies.pop(0)
        if callable(reply):
            text = reply(messages)
        elif isinstance(reply, dict):
            text = json.dumps(reply)
        else:
            text = reply
        prompt = sum(len(m.content) for m in messages) // 4
        return Completion(
            text, self._model_id, Usage(prompt_tokens=prompt, completion_tokens=len(text) // 4)
        )

    def close(self) -> None:
        pass
