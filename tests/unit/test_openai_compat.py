"""`OpenAICompatModel` against scripted HTTP replies (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from models.base import (
    ChatModel,
    ContextOverflow,
    Message,
    ModelCancelled,
    ModelOutputInvalid,
    ModelUnavailable,
)
from models.openai_compat import OpenAICompatModel

KEY = "sk-test-0123456789-do-not-leak"
BASE = "http://llm.example:8080/v1"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
}
MESSAGES = [Message("system", "Answer in JSON."), Message("user", "Capital of France?")]

Responder = Callable[[httpx.Request], httpx.Response]


def reply(
    content: str | None = '{"answer": "Paris"}', *, usage: dict[str, Any] | None = None
) -> httpx.Response:
    body: dict[str, Any] = {
        "id": "x",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return httpx.Response(200, json=body)


def error(status: int, message: str = "nope", **extra: Any) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message, **extra}})


class Server:
    """Answers requests with prepared responses (or callables) and records them."""

    def __init__(self, *responses: httpx.Response | Responder) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.responses:
            raise AssertionError(f"unexpected request #{len(self.requests)}")
        nxt = self.responses.pop(0)
        return nxt(request) if callable(nxt) else nxt

    def body(self, i: int) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.requests[i].content)
        return parsed


@pytest.fixture
def make() -> Iterator[Callable[..., tuple[OpenAICompatModel, Server]]]:
    opened: list[OpenAICompatModel] = []

    def build(
        *responses: httpx.Response | Responder, **kwargs: Any
    ) -> tuple[OpenAICompatModel, Server]:
        server = Server(*responses)
        kwargs.setdefault("api_key", KEY)
        kwargs.setdefault("backoff_s", 0)
        model = OpenAICompatModel(BASE, "tiny", transport=httpx.MockTransport(server), **kwargs)
        opened.append(model)
        return model, server

    yield build
    for model in opened:
        model.close()


def test_it_is_a_chat_model_named_after_model_and_host(make: Any) -> None:
    model, _ = make()
    assert isinstance(model, ChatModel)
    assert model.model_id == "tiny@llm.example:8080"
    info = model.info()
    assert (info.kind, info.location) == ("openai", "http://llm.example:8080/v1")


def test_request_shape_without_schema(make: Any) -> None:
    model, server = make(reply("hello"))
    completion = model.complete(MESSAGES, max_tokens=7)
    assert completion.text == "hello"
    assert completion.model_id == model.model_id
    request = server.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "http://llm.example:8080/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert server.body(0) == {
        "model": "tiny",
        "messages": [
            {"role": "system", "content": "Answer in JSON."},
            {"role": "user", "content": "Capital of France?"},
        ],
        "temperature": 0,
        "max_tokens": 7,
    }


def test_schema_is_asked_for_in_the_standard_form_first(make: Any) -> None:
    model, server = make(reply())
    assert model.complete(MESSAGES, schema=SCHEMA).text == '{"answer": "Paris"}'
    assert server.body(0)["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "action", "schema": SCHEMA, "strict": False},
    }
    assert model.schema_form == "json_schema"


@pytest.mark.parametrize("status", [400, 422, 500])
def test_refused_form_falls_back_to_json_object_and_is_remembered(make: Any, status: int) -> None:
    model, server = make(error(status, "Input should be 'text' or 'json_object'"), reply(), reply())
    model.complete(MESSAGES, schema=SCHEMA)
    model.complete(MESSAGES, schema=SCHEMA)
    forms = [server.body(i)["response_format"]["type"] for i in range(3)]
    assert forms == ["json_schema", "json_object", "json_object"]
    assert server.body(1)["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert model.schema_form == "json_object"
    assert "json_object" in model.info().detail


def test_a_request_both_forms_refuse_is_not_retried(make: Any) -> None:
    model, server = make(error(400, "bad schema"), error(400, "bad schema"))
    with pytest.raises(ModelUnavailable, match=r"HTTP 400.*bad schema"):
        model.complete(MESSAGES, schema=SCHEMA)
    assert len(server.requests) == 2
    assert model.schema_form is None


def test_context_overflow_is_not_mistaken_for_a_refused_form(make: Any) -> None:
    model, server = make(error(400, "too long", code="context_length_exceeded"))
    with pytest.raises(ContextOverflow, match="too long"):
        model.complete(MESSAGES, schema=SCHEMA)
    assert len(server.requests) == 1


def test_key_is_sent_but_never_shown(make: Any) -> None:
    model, server = make(error(401, f"Incorrect API key provided: {KEY}"))
    assert KEY not in repr(model) and "api_key=set" in repr(model)
    with pytest.raises(ModelUnavailable) as caught:
        model.complete(MESSAGES)
    assert server.requests[0].headers["Authorization"] == f"Bearer {KEY}"
    assert "refused the API key" in str(caught.value)
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)
    assert len(server.requests) == 1


def test_missing_key_is_reported_as_missing(make: Any) -> None:
    model, server = make(error(401), api_key=None)
    with pytest.raises(ModelUnavailable, match="none is configured"):
        model.complete(MESSAGES)
    assert "Authorization" not in server.requests[0].headers


def test_server_text_quoting_the_key_is_redacted(make: Any) -> None:
    model, _ = make(error(418, f"who is {KEY}?"))
    with pytest.raises(ModelUnavailable) as caught:
        model.complete(MESSAGES)
    assert KEY not in str(caught.value) and "***" in str(caught.value)


def test_5xx_is_retried_then_succeeds(make: Any) -> None:
    model, server = make(error(503), httpx.Response(502, text="bad gateway"), reply("ok"))
    assert model.complete(MESSAGES).text == "ok"
    assert len(server.requests) == 3


def test_429_and_connect_errors_are_retried(make: Any) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    model, server = make(refuse, error(429, "slow down"), reply("ok"))
    assert model.complete(MESSAGES).text == "ok"
    assert len(server.requests) == 3


def test_retries_are_bounded(make: Any) -> None:
    model, server = make(error(503), error(503), max_retries=1)
    with pytest.raises(ModelUnavailable, match=r"after 2 attempts \(HTTP 503\)"):
        model.complete(MESSAGES)
    assert len(server.requests) == 2


def test_unreachable_server_is_unavailable(make: Any) -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    model, server = make(timeout, timeout, timeout)
    with pytest.raises(ModelUnavailable, match="ReadTimeout"):
        model.complete(MESSAGES)
    assert len(server.requests) == 3


def test_404_is_not_retried(make: Any) -> None:
    model, server = make(error(404, "model not found"))
    with pytest.raises(ModelUnavailable, match=r"model 'tiny' \(HTTP 404\): model not found"):
        model.complete(MESSAGES)
    assert len(server.requests) == 1


def test_reply_that_is_not_json_is_invalid(make: Any) -> None:
    model, _ = make(reply("Paris, of course."))
    with pytest.raises(ModelOutputInvalid, match="not JSON"):
        model.complete(MESSAGES, schema=SCHEMA)


def test_reply_that_breaks_the_schema_is_invalid(make: Any) -> None:
    model, _ = make(reply('{"answer": 42}'), reply('{"city": "Paris"}'))
    with pytest.raises(ModelOutputInvalid, match=r"\$\.answer.*not of type 'string'"):
        model.complete(MESSAGES, schema=SCHEMA)
    with pytest.raises(ModelOutputInvalid, match="'answer' is a required property"):
        model.complete(MESSAGES, schema=SCHEMA)


def test_reply_without_text_is_invalid(make: Any) -> None:
    model, _ = make(reply(None))
    with pytest.raises(ModelOutputInvalid, match="no text"):
        model.complete(MESSAGES)


def test_a_response_that_is_not_a_chat_completion_is_unavailable(make: Any) -> None:
    model, _ = make(httpx.Response(200, text="<html>captive portal</html>"))
    with pytest.raises(ModelUnavailable, match="did not answer with a chat completion"):
        model.complete(MESSAGES)


def test_usage_is_read_including_cached_tokens(make: Any) -> None:
    model, _ = make(
        reply(
            usage={
                "prompt_tokens": 120,
                "completion_tokens": 9,
                "prompt_tokens_details": {"cached_tokens": 100},
            }
        ),
        reply(usage={"prompt_tokens": 30, "completion_tokens": 4}),
        reply(),
    )
    usage = model.complete(MESSAGES).usage
    assert (usage.prompt_tokens, usage.cached_tokens, usage.completion_tokens) == (120, 100, 9)
    assert usage.evaluated_tokens == 20 and usage.seconds > 0
    usage = model.complete(MESSAGES).usage
    assert (usage.prompt_tokens, usage.cached_tokens, usage.completion_tokens) == (30, 0, 4)
    assert model.complete(MESSAGES).usage.prompt_tokens == 0


def test_stop_before_the_request_sends_nothing(make: Any) -> None:
    model, server = make(reply())
    with pytest.raises(ModelCancelled):
        model.complete(MESSAGES, should_stop=lambda: True)
    assert server.requests == []


def test_stop_between_retries(make: Any) -> None:
    model, server = make(error(503), reply())
    checks = iter([False, True])
    with pytest.raises(ModelCancelled):
        model.complete(MESSAGES, should_stop=lambda: next(checks))
    assert len(server.requests) == 1


def test_bad_endpoint_url_is_unavailable() -> None:
    with pytest.raises(ModelUnavailable, match="http"):
        OpenAICompatModel("ftp://example.com/v1", "tiny")


def test_user_info_in_the_url_stays_out_of_ids_and_messages() -> None:
    model = OpenAICompatModel(
        "https://user:hunter2@llm.example/v1",
        "tiny",
        transport=httpx.MockTransport(lambda r: error(400, "hunter2")),
    )
    try:
        assert "hunter2" not in model.model_id + repr(model) + model.info().location
        with pytest.raises(ModelUnavailable) as caught:
            model.complete(MESSAGES)
        assert "hunter2" not in str(caught.value)
    finally:
        model.close()
