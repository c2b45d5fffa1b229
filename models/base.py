"""The `ChatModel` seam: typed messages in, a completion and its cost out.

Every backend (in-process llama.cpp, an OpenAI-compatible server, the scripted fake)
implements `ChatModel`. The agent never branches on which one it holds.

Exception hierarchy (foreign exceptions are mapped into it at each backend's boundary)::

    ModelError                 -- base; the router may fall back on any of these
    ├── ModelUnavailable       -- the model cannot be loaded or reached at all
    │   └── ModelCrashed       -- the local model's process died; the next call restarts it
    ├── ModelCancelled         -- generation stopped because the caller's stop flag was set
    ├── ContextOverflow        -- the prompt no longer fits the model's context window
    └── ModelOutputInvalid     -- the reply does not satisfy the schema it was asked for
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]
JsonSchema = dict[str, Any]
#: Called between generated tokens; returning True stops generation.
ShouldStop = Callable[[], bool]


class ModelError(Exception):
    """Base for every failure a model backend reports."""


class ModelUnavailable(ModelError):
    """The model could not be loaded, or its server could not be reached."""


class ModelCrashed(ModelUnavailable):
    """The process hosting a local model died (a native crash, a kill); the next request
    starts a new one. The message is one line and names the signal."""


class ModelCancelled(ModelError):
    """Generation was stopped by the caller's stop flag."""


class ContextOverflow(ModelError):
    """The prompt plus the reply budget exceed the model's context window."""


class ModelOutputInvalid(ModelError):
    """The reply is not valid for the schema it was asked to follow."""


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Usage:
    """What one completion cost.

    `prompt_tokens` = `cached_tokens` (reused from the KV cache of the previous call)
    + tokens evaluated anew. Remote servers that do not report caching give 0 cached.
    """

    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    #: Of `seconds`, the time spent generating the reply (after the prompt was evaluated).
    decode_seconds: float = 0.0

    @property
    def evaluated_tokens(self) -> int:
        return self.prompt_tokens - self.cached_tokens


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    model_id: str
    usage: Usage = field(default_factory=Usage)
    #: The LoRA adapter applied on top of the model (`adapter_id`), "" when none.
    adapter_id: str = ""
    #: The sampling temperature of the reply; 0 is greedy, which every backend here uses.
    temperature: float = 0.0


def adapter_id(path: Path) -> str:
    """An adapter's id as runs record it: its file name and the start of its sha256, so a
    retrained adapter under the same name is told apart (``deskhand.gguf@1a2b3c4d5e6f``)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"{path.name}@{digest.hexdigest()[:12]}"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What `deskhand models` shows about a backend."""

    model_id: str
    kind: str
    location: str
    gpu_offload: bool = False
    detail: str = ""
    #: The prompt the model was tuned on (agent.prompt: "full", or "compact" with a
    #: deskhand adapter); the run shows it that one.
    prompt_style: str = "full"


@runtime_checkable
class ChatModel(Protocol):
    """A chat model that can be constrained to a JSON schema.

    Implementations are not thread-safe: exactly one thread calls a given instance.
    """

    @property
    def model_id(self) -> str: ...

    def info(self) -> ModelInfo: ...

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: JsonSchema | None = None,
        max_tokens: int = 512,
        should_stop: ShouldStop | None = None,
    ) -> Completion:
        """Return the assistant's reply to `messages`.

        With `schema`, the reply text is a JSON document meant to satisfy it (local
        backends guarantee it by construction; remote ones are asked to). Raises
        `ModelError` subclasses only.
        """
        ...

    def close(self) -> None: ...
