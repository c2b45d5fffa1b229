"""The embedded model hosted in its own process (`models.host.HostedModel`), for real:
the llama.cpp child, its crashes and kills, its stop flag, and that it never outlives us.

Nothing here sleeps. A kill "in the middle of a request" is made from inside the
caller's stop callback, which the host calls only while a request is in flight.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from models.base import Message, ModelCancelled, ModelCrashed, ModelUnavailable
from models.host import HostedModel, LoadSpec

pytestmark = pytest.mark.model

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "thought": {"type": "string", "maxLength": 60},
        "tool": {"enum": ["files.list", "finish"]},
    },
}
SYSTEM = Message("system", 'You are an agent. Reply with JSON: {"thought": ..., "tool": ...}')
ASK = [SYSTEM, Message("user", "List the files")]


@pytest.fixture
def hosted(embedded_gguf: Path) -> Iterator[HostedModel]:
    model = HostedModel(LoadSpec(embedded_gguf, n_ctx=4096))
    yield model
    model.close()


def test_the_hosted_model_answers_under_the_schema_and_reuses_its_prefix(
    hosted: HostedModel,
) -> None:
    assert hosted.pid is not None and hosted.pid != os.getpid()
    first = hosted.complete(ASK, schema=SCHEMA, max_tokens=48)
    assert json.loads(first.text)["tool"] in ("files.list", "finish")
    again = ASK + [Message("assistant", first.text), Message("user", "Result: a.txt")]
    second = hosted.complete(again, schema=SCHEMA, max_tokens=48)
    # the KV cache lives in the child: the first prompt and the spliced reply are reused
    assert second.usage.cached_tokens >= first.usage.prompt_tokens
    assert "cpu repack: off" in hosted.info().detail


def test_a_prompt_of_over_512_tokens_is_evaluated_in_one_batch(hosted: HostedModel) -> None:
    """The batch path that segfaulted in llama.cpp's AMX code (issue: AMX CPUs)."""
    words = " ".join(f"file{i}.txt" for i in range(400))
    prompt = [SYSTEM, Message("user", f"The workspace holds: {words}. List the files.")]
    reply = hosted.complete(prompt, schema=SCHEMA, max_tokens=16)
    assert reply.usage.prompt_tokens >= 600
    assert reply.usage.prompt_tokens - reply.usage.cached_tokens >= 512
    assert json.loads(reply.text)["tool"] in ("files.list", "finish")


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGKILL])
def test_a_crash_mid_request_fails_that_request_and_the_next_one_restarts(
    hosted: HostedModel, sig: signal.Signals
) -> None:
    first_pid = hosted.pid
    assert first_pid is not None

    def crash() -> bool:  # called by the host while the request is in flight
        if psutil.pid_exists(first_pid):
            os.kill(first_pid, sig)
        return False

    with pytest.raises(ModelCrashed) as caught:
        hosted.complete(ASK, schema=SCHEMA, max_tokens=48, should_stop=crash)
    assert str(caught.value) == (
        f"the model process crashed ({sig.name}, signal {int(sig)}); it will be restarted"
    )
    assert "\n" not in str(caught.value)
    reply = hosted.complete(ASK, schema=SCHEMA, max_tokens=48)
    assert json.loads(reply.text)["tool"] in ("files.list", "finish")
    assert hosted.pid not in (None, first_pid)


def test_a_child_that_died_while_idle_fails_the_next_request_once(hosted: HostedModel) -> None:
    pid = hosted.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # whether the host sees it before or after sending: one failure
    with pytest.raises(ModelCrashed, match="SIGKILL"):
        hosted.complete(ASK, schema=SCHEMA, max_tokens=48)
    assert json.loads(hosted.complete(ASK, schema=SCHEMA, max_tokens=48).text)


def test_stop_lands_while_the_child_generates(hosted: HostedModel) -> None:
    with pytest.raises(ModelCancelled):
        hosted.complete(ASK, max_tokens=400, should_stop=lambda: True)
    # the child is still there and answers the next request
    assert json.loads(hosted.complete(ASK, schema=SCHEMA, max_tokens=48).text)


def test_a_file_that_is_not_a_model_fails_to_load_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model at all" * 100)
    with pytest.raises(ModelUnavailable) as caught:
        HostedModel(LoadSpec(bad))
    assert "bad.gguf" in str(caught.value) and "\n" not in str(caught.value)


PARENT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from models.host import HostedModel, LoadSpec
    model = HostedModel(LoadSpec(Path(sys.argv[1]), n_ctx=1024))
    print(model.pid, flush=True)
    sys.stdin.read()  # until killed
    """
)


def test_kill_9_of_the_parent_leaves_no_model_process_behind(embedded_gguf: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(embedded_gguf)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert parent.stdout is not None
    child = psutil.Process(int(parent.stdout.readline()))
    assert child.ppid() == parent.pid
    parent.kill()
    parent.wait(timeout=30)
    child.wait(timeout=30)  # raises TimeoutExpired if the child outlives its parent
    assert not child.is_running()


def test_an_interrupted_request_never_hands_its_late_answer_to_the_next(
    hosted: HostedModel,
) -> None:
    first_pid = hosted.pid

    def interrupt() -> bool:  # a second Ctrl-C while the child is busy
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        hosted.complete(ASK, schema=SCHEMA, max_tokens=48, should_stop=interrupt)
    other = {"type": "object", "properties": {"answer": {"enum": ["yes", "no"]}}}
    reply = hosted.complete([SYSTEM, Message("user", "Yes or no?")], schema=other, max_tokens=16)
    assert json.loads(reply.text)["answer"] in ("yes", "no")
    assert hosted.pid not in (None, first_pid)
