"""`ModelRouter`'s fallback policy, with scripted models that reply or raise."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from models.base import (
    ChatModel,
    Completion,
    ContextOverflow,
    JsonSchema,
    Message,
    ModelCancelled,
    ModelError,
    ModelInfo,
    ModelOutputInvalid,
    ModelUnavailable,
    ShouldStop,
)
from models.router import FallbackPolicy, ModelRouter, ModelSwitch

MESSAGES = [Message("user", "go")]
GOOD = json.dumps({"tool": "finish"})


class Fake:
    """Replies (str) or raises (ModelError) from a script, one entry per call."""

    def __init__(self, name: str, *script: str | ModelError) -> None:
        self.name = name
        self.script = list(script)
        self.calls = 0
        self.closed = False

    @property
    def model_id(self) -> str:
        return self.name

    def info(self) -> ModelInfo:
        return ModelInfo(self.name, "fake", "memory")

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: JsonSchema | None = None,
        max_tokens: int = 512,
        should_stop: ShouldStop | None = None,
    ) -> Completion:
        self.calls += 1
        step = self.script.pop(0)
        if isinstance(step, ModelError):
            raise step
        return Completion(step, self.name)

    def close(self) -> None:
        self.closed = True


def must_be_finish(text: str) -> None:
    if text != GOOD:
        raise ModelOutputInvalid(f"not a finish action: {text!r}")


def router(
    local: Fake | None, remote: Fake | None, **policy: bool
) -> tuple[ModelRouter, list[ModelSwitch]]:
    switches: list[ModelSwitch] = []
    policy.setdefault("remote_allowed", True)
    return ModelRouter(local, remote, FallbackPolicy(**policy), on_switch=switches.append), switches


def test_router_is_a_chat_model_and_starts_on_the_local_model() -> None:
    r, _ = router(Fake("local"), Fake("remote"))
    assert isinstance(r, ChatModel)
    assert r.model_id == "local" and r.info().model_id == "local"


def test_local_answers_when_it_can() -> None:
    local, remote = Fake("local", GOOD), Fake("remote")
    r, switches = router(local, remote)
    assert r.complete(MESSAGES, validate=must_be_finish).model_id == "local"
    assert (remote.calls, switches) == (0, [])


def test_unavailable_local_falls_back_to_remote_and_reports_it() -> None:
    local, remote = Fake("local", ModelUnavailable("model file not found")), Fake("remote", GOOD)
    r, switches = router(local, remote)
    completion = r.complete(MESSAGES)
    assert (completion.text, completion.model_id, r.model_id) == (GOOD, "remote", "remote")
    assert r.info().model_id == "remote"
    assert switches == [ModelSwitch("local", "remote", "local_unavailable", "model file not found")]


def test_invalid_output_is_retried_once_then_goes_remote() -> None:
    local, remote = Fake("local", "nonsense", "still nonsense"), Fake("remote", GOOD)
    r, switches = router(local, remote)
    assert r.complete(MESSAGES, validate=must_be_finish).model_id == "remote"
    assert local.calls == 2
    assert [s.reason for s in switches] == ["invalid_output"]
    assert "still nonsense" in switches[0].detail


def test_invalid_output_fixed_by_the_retry_stays_local() -> None:
    local, remote = Fake("local", ModelOutputInvalid("cut off"), GOOD), Fake("remote")
    r, switches = router(local, remote)
    assert r.complete(MESSAGES, validate=must_be_finish).model_id == "local"
    assert (local.calls, remote.calls, switches) == (2, 0, [])


def test_remote_gets_one_retry_too_and_then_the_error_propagates() -> None:
    local = Fake("local", "bad", "bad")
    remote = Fake("remote", "worse", "worse")
    r, switches = router(local, remote)
    with pytest.raises(ModelOutputInvalid, match="worse"):
        r.complete(MESSAGES, validate=must_be_finish)
    assert (local.calls, remote.calls, len(switches)) == (2, 2, 1)
    assert r.model_id == "local"


@pytest.mark.parametrize(
    "error", [ModelUnavailable("gone"), ModelOutputInvalid("bad")], ids=["unavailable", "invalid"]
)
def test_without_permission_the_remote_is_never_used(error: ModelError) -> None:
    local, remote = Fake("local", error, error), Fake("remote", GOOD)
    r, switches = router(local, remote, remote_allowed=False, prefer_remote=True)
    with pytest.raises(type(error)):
        r.complete(MESSAGES)
    assert (remote.calls, switches) == (0, [])


def test_policy_can_turn_off_each_reason() -> None:
    local, remote = Fake("local", ModelUnavailable("gone")), Fake("remote", GOOD)
    r, _ = router(local, remote, on_unavailable=False)
    with pytest.raises(ModelUnavailable):
        r.complete(MESSAGES)
    local, remote = Fake("local", "bad", "bad"), Fake("remote", GOOD)
    r, _ = router(local, remote, on_invalid=False)
    with pytest.raises(ModelOutputInvalid):
        r.complete(MESSAGES, validate=must_be_finish)
    assert remote.calls == 0


def test_no_remote_configured_propagates_the_local_error() -> None:
    r, switches = router(Fake("local", ModelUnavailable("gone")), None)
    with pytest.raises(ModelUnavailable, match="gone"):
        r.complete(MESSAGES)
    assert switches == []


@pytest.mark.parametrize(
    "error", [ModelCancelled("stop"), ContextOverflow("too long")], ids=["cancelled", "overflow"]
)
def test_stop_and_overflow_propagate_without_fallback_or_retry(error: ModelError) -> None:
    local, remote = Fake("local", error), Fake("remote", GOOD)
    r, switches = router(local, remote)
    with pytest.raises(type(error)):
        r.complete(MESSAGES)
    assert (local.calls, remote.calls, switches) == (1, 0, [])


def test_cancel_during_the_invalid_retry_propagates() -> None:
    local, remote = Fake("local", "bad", ModelCancelled("stop")), Fake("remote", GOOD)
    r, switches = router(local, remote)
    with pytest.raises(ModelCancelled):
        r.complete(MESSAGES, validate=must_be_finish)
    assert (remote.calls, switches) == (0, [])


def test_prefer_remote_goes_remote_first_and_reports_the_move_once() -> None:
    local, remote = Fake("local"), Fake("remote", GOOD, GOOD)
    r, switches = router(local, remote, prefer_remote=True)
    assert r.model_id == "local"
    assert r.complete(MESSAGES).model_id == "remote"
    assert r.complete(MESSAGES).model_id == "remote"
    assert local.calls == 0
    assert switches == [
        ModelSwitch("local", "remote", "task_requested", "the task asks for the remote model")
    ]


def test_remote_only_router_reports_no_switch() -> None:
    remote = Fake("remote", GOOD)
    r, switches = router(None, remote)
    assert r.model_id == "remote"
    assert r.complete(MESSAGES).model_id == "remote"
    assert switches == []


def test_a_router_needs_a_model_it_may_use() -> None:
    with pytest.raises(ValueError):
        ModelRouter(None, Fake("remote"), FallbackPolicy(remote_allowed=False))


def test_close_closes_both_models() -> None:
    local, remote = Fake("local"), Fake("remote")
    r, _ = router(local, remote, remote_allowed=False)
    r.close()
    assert local.closed and remote.closed
