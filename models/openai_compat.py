"""`OpenAICompatModel`: any server that speaks OpenAI's chat completions API.

That covers cloud providers, vLLM, Ollama, LM Studio and llama.cpp's own servers. The
differences between them are found out by asking, never by the provider's name:

- Structured output: servers disagree on how a JSON schema is requested. We send the
  forms in `SCHEMA_FORMS` in order; the first one a server accepts is remembered for the
  life of the object, so the negotiation costs at most one extra request, once.
- Failures are mapped here, once, into `models.base`'s hierarchy: cannot connect, timeouts,
  429 and 5xx are retried with exponential backoff and end as `ModelUnavailable`; other 4xx
  are not retried (`ModelUnavailable`, or `ContextOverflow` when the server says so); a reply
  that is not JSON or breaks the schema is `ModelOutputInvalid`.

Invariants:
- The API key goes only into the Authorization header. It is never logged, never part of
  an exception message (server text quoted in one is redacted) and not in `repr`.
- Prompts are never logged; what is logged at WARNING is the endpoint, a status, a count.
- The stop flag is checked before each request and after each backoff wait. A request in
  flight is not interrupted (the reply is not streamed).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any, Final, Literal

import httpx
import jsonschema
import pydantic

from models.base import (
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
    Usage,
)

log = logging.getLogger(__name__)

SchemaForm = Literal["json_schema", "json_object"]
#: How a schema can be asked for, in order of preference. "json_schema" is OpenAI's
#: standard; "json_object" with a "schema" key is what llama-cpp-python's server knows.
SCHEMA_FORMS: Final[tuple[SchemaForm, ...]] = ("json_schema", "json_object")
#: Statuses with which a server refuses a response_format it does not know. 500 is here
#: because llama-cpp-python's server reports its own request validation errors as 500.
_FORM_REFUSED: Final = frozenset({400, 422, 500})
_MAX_BACKOFF_S: Final = 8.0
_EXCERPT_CHARS: Final = 300
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def response_format(form: SchemaForm, schema: JsonSchema) -> dict[str, Any]:
    """The request's `response_format` asking for JSON that follows `schema`."""
    if form == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "action", "schema": schema, "strict": False},
        }
    return {"type": "json_object", "schema": schema}


class _ReplyMessage(pydantic.BaseModel):
    content: str | None = None
    refusal: str | None = None


class _Choice(pydantic.BaseModel):
    message: _ReplyMessage
    finish_reason: str | None = None


class _PromptDetails(pydantic.BaseModel):
    cached_tokens: int | None = None


class _Usage(pydantic.BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_tokens_details: _PromptDetails | None = None


class _Reply(pydantic.BaseModel):
    """The part of a chat completion response we read; everything else is ignored."""

    choices: list[_Choice] = pydantic.Field(min_length=1)
    usage: _Usage | None = None


class OpenAICompatModel:
    """A chat model behind an OpenAI-compatible endpoint (`base_url` usually ends in /v1).

    `backoff_s` is the first retry's wait, doubled for each further retry (at most 8 s,
    or longer only as far as a 429's Retry-After asks); 0 retries without waiting.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 2,
        backoff_s: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        try:
            url = httpx.URL(base_url)
        except httpx.InvalidURL as exc:
            raise ModelUnavailable(f"not a usable endpoint URL: {exc}") from exc
        if url.scheme not in ("http", "https") or not url.host:
            raise ModelUnavailable(
                "the endpoint URL must start with http:// or https:// and name a host"
            )
        netloc = url.netloc.decode("ascii")
        self._url = url.copy_with(path=url.path.rstrip("/") + "/chat/completions")
        #: Where requests go, for messages: never the URL's user info.
        self._where = f"{url.scheme}://{netloc}{url.path.rstrip('/')}"
        self._model = model
        self._model_id = f"{model}@{netloc}"
        self._secrets = tuple(s for s in (api_key, url.password) if s)
        self._has_key = bool(api_key)
        self._max_retries = max(0, max_retries)
        self._backoff_s = backoff_s
        self._form: SchemaForm | None = None
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout_s), transport=transport
        )

    def __repr__(self) -> str:
        key = "set" if self._has_key else "none"
        return f"OpenAICompatModel(model={self._model!r}, endpoint={self._where!r}, api_key={key})"

    # -- ChatModel ---------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def schema_form(self) -> SchemaForm | None:
        """The structured-output form this server accepted; None until one was needed."""
        return self._form

    def info(self) -> ModelInfo:
        form = self._form or "not negotiated yet"
        return ModelInfo(
            model_id=self._model_id,
            kind="openai",
            location=self._where,
            detail=f"structured output: {form}",
        )

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: JsonSchema | None = None,
        max_tokens: int = 512,
        should_stop: ShouldStop | None = None,
    ) -> Completion:
        started = time.perf_counter()
        body: dict[str, Any] = {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": 0,
            "max_tokens": max_tokens,
        }
        response = self._post_with_retries(body, schema, should_stop)
        return self._completion(response, schema, time.perf_counter() - started)

    def close(self) -> None:
        self._client.close()

    # -- requests ----------------------------------------------------------------------

    def _post_with_retries(
        self, body: dict[str, Any], schema: JsonSchema | None, should_stop: ShouldStop | None
    ) -> httpx.Response:
        attempts = self._max_retries + 1
        failure, retry_after = "", 0.0
        for attempt in range(attempts):
            if attempt:
                _check_stop(should_stop)
                self._wait(attempt, retry_after)
            _check_stop(should_stop)
            try:
                response = self._post_negotiating(body, schema)
            except _RETRYABLE_TRANSPORT as exc:
                failure, retry_after = self._redact(f"{type(exc).__name__}: {exc}"), 0.0
            except httpx.HTTPError as exc:
                detail = self._redact(f"{type(exc).__name__}: {exc}")
                raise ModelUnavailable(f"cannot reach {self._where}: {detail}") from exc
            else:
                status = response.status_code
                if status < 400:
                    return response
                if status != 429 and status < 500:
                    raise self._refusal(response)
                failure, retry_after = f"HTTP {status}", _retry_after(response)
            log.warning("%s: %s (attempt %d of %d)", self._where, failure, attempt + 1, attempts)
        raise ModelUnavailable(
            f"{self._where} did not answer after {attempts} attempts ({failure})"
        )

    def _post_negotiating(self, body: dict[str, Any], schema: JsonSchema | None) -> httpx.Response:
        """POST `body`, asking for `schema` in the remembered form or else each form in turn."""
        if schema is None:
            return self._client.post(self._url, json=body)
        forms = SCHEMA_FORMS if self._form is None else (self._form,)
        for form in forms:
            response = self._client.post(
                self._url, json={**body, "response_format": response_format(form, schema)}
            )
            status = response.status_code
            if status < 400:
                if self._form is None:
                    log.info("%s accepts structured output as %s", self._where, form)
                self._form = form
                return response
            if self._form is not None or status not in _FORM_REFUSED or _is_overflow(response):
                return response
            log.debug("%s refused response_format %s (HTTP %d)", self._where, form, status)
        return response

    def _wait(self, attempt: int, retry_after: float) -> None:
        if self._backoff_s <= 0:
            return
        delay = max(min(_MAX_BACKOFF_S, self._backoff_s * 2 ** (attempt - 1)), retry_after)
        log.debug("%s: retrying in %.1f s", self._where, delay)
        time.sleep(delay)

    # -- replies -----------------------------------------------------------------------

    def _refusal(self, response: httpx.Response) -> ModelError:
        """The error for a 4xx that retrying will not fix."""
        status = response.status_code
        if status in (401, 403):
            # The server's own text is left out: some quote part of the key back.
            if self._has_key:
                return ModelUnavailable(
                    f"{self._where} refused the API key (HTTP {status}); "
                    "check the key stored in the keyring"
                )
            return ModelUnavailable(
                f"{self._where} requires an API key (HTTP {status}) and none is configured"
            )
        detail = self._redact(_error_text(response))
        if _is_overflow(response):
            return ContextOverflow(f"{self._where}: {detail}")
        if status == 404:
            return ModelUnavailable(
                f"{self._where} has no chat completions for model {self._model!r} "
                f"(HTTP 404): {detail}"
            )
        return ModelUnavailable(f"{self._where} rejected the request (HTTP {status}): {detail}")

    def _completion(
        self, response: httpx.Response, schema: JsonSchema | None, seconds: float
    ) -> Completion:
        try:
            reply = _Reply.model_validate_json(response.content)
        except pydantic.ValidationError as exc:
            raise ModelUnavailable(
                f"{self._where} did not answer with a chat completion "
                f"({exc.error_count()} problems)"
            ) from exc
        choice = reply.choices[0]
        text = choice.message.content
        if text is None:
            refusal = f": {choice.message.refusal}" if choice.message.refusal else ""
            raise ModelOutputInvalid(f"the reply has no text{refusal}")
        if schema is not None:
            _check_schema(text, schema, truncated=choice.finish_reason == "length")
        return Completion(text, self._model_id, _usage(reply.usage, seconds))

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _check_stop(should_stop: ShouldStop | None) -> None:
    if should_stop is not None and should_stop():
        raise ModelCancelled("stopped before the request was sent")


def _check_schema(text: str, schema: JsonSchema, *, truncated: bool) -> None:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        cut = " (the reply was cut off at max_tokens)" if truncated else ""
        raise ModelOutputInvalid(f"reply is not JSON: {exc.msg}{cut}") from exc
    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        raise ModelOutputInvalid(
            f"reply does not satisfy the schema at {error.json_path}: {error.message}"
        )


def _usage(usage: _Usage | None, seconds: float) -> Usage:
    if usage is None:
        return Usage(seconds=seconds)
    details = usage.prompt_tokens_details
    cached = (details.cached_tokens or 0) if details is not None else 0
    return Usage(
        prompt_tokens=usage.prompt_tokens,
        cached_tokens=min(cached, usage.prompt_tokens),
        completion_tokens=usage.completion_tokens,
        seconds=seconds,
    )


def _error_body(response: httpx.Response) -> dict[str, Any]:
    """The OpenAI-style `error` object (or FastAPI's `detail`) of an error response."""
    try:
        payload = response.json()
    except ValueError:
        return {}
    if not isinstance(payload, dict):
        return {}
    error = payload.get("error")
    if isinstance(error, dict):
        return error
    if isinstance(error, str):
        return {"message": error}
    detail = payload.get("detail")
    return {"message": detail if isinstance(detail, str) else json.dumps(detail)} if detail else {}


def _error_text(response: httpx.Response) -> str:
    message = _error_body(response).get("message")
    text = message if isinstance(message, str) else response.text
    text = " ".join(text.split()) or "(no message)"
    return text if len(text) <= _EXCERPT_CHARS else text[: _EXCERPT_CHARS - 1] + "…"


def _is_overflow(response: httpx.Response) -> bool:
    return (
        response.status_code == 400
        and _error_body(response).get("code") == "context_length_exceeded"
    )


def _retry_after(response: httpx.Response) -> float:
    """Seconds from a Retry-After header given in seconds (HTTP dates are ignored)."""
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, min(float(value), 60.0))
    except ValueError:
        return 0.0


__all__ = ["SCHEMA_FORMS", "OpenAICompatModel", "SchemaForm", "response_format"]
