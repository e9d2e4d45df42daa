"""One chat-completions call to any OpenAI-compatible server, with typed errors.

Retries are Temporal's job, so the SDK's own retries are off; every failure becomes
one of the errors below, which the activity maps to retryable or not, carrying the
server's `Retry-After` as the delay before the next attempt.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from dataclasses import dataclass
from typing import Any, Literal, cast
from urllib.parse import urlsplit, urlunsplit

import httpx2
import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.chat.completion_create_params import ResponseFormat
from openai.types.shared_params import ResponseFormatJSONObject, ResponseFormatJSONSchema

from recap.core.logging import get_logger
from recap.llm.transport import BoundedTransport, ModelAnswerTooLarge

log = get_logger(__name__)

# llama-server and most local servers ignore the key, but the SDK insists on one.
_PLACEHOLDER_KEY = "sk-no-key-required"

# A server may ask for any delay; past a day it is a quota, not a pause, and the
# activity's own timeouts decide. The bound also keeps `timedelta` from overflowing.
_MAX_RETRY_AFTER_SECONDS = 24 * 3600.0

# Statuses that say "not now" rather than "not ever".
_RETRYABLE_STATUSES = frozenset({408, 409, 429})

# Words in a 400 that mean the server does not take `json_schema` response formats.
_SCHEMA_UNSUPPORTED_HINTS = ("response_format", "response format", "json_schema", "json schema")

ResponseMode = Literal["json_schema", "json_object"]


class LLMError(Exception):
    code = "llm_error"
    retryable = True

    def __init__(self, message: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        # How long the server asked us to wait before the next attempt, if it said.
        self.retry_after_seconds = retry_after_seconds


class LLMUnavailable(LLMError):
    """Network failure, timeout, 408, 409 or a 5xx: worth retrying."""

    code = "llm_unavailable"


class LLMRateLimited(LLMError):
    code = "llm_rate_limited"

    def __init__(self, message: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(message, retry_after_seconds=retry_after_seconds)


class LLMAuthFailed(LLMError):
    code = "llm_auth"
    retryable = False


class LLMBadRequest(LLMError):
    code = "llm_bad_request"
    retryable = False


class MalformedModelOutput(LLMError):
    """The answer did not parse or validate; a retry may do better."""

    code = "malformed_model_output"


@dataclass(frozen=True)
class Completion:
    content: str
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int
    # json_object means the server refused the schema: only the caller's validation holds.
    response_mode: ResponseMode = "json_schema"


def retry_after_seconds(headers: httpx2.Headers, *, now: float | None = None) -> float | None:
    """The delay a response asks for: `retry-after-ms`, else `Retry-After` in seconds or
    as an HTTP-date; None when absent or unreadable."""
    delay: float | None = None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        delay = _float(raw_ms)
        delay = delay / 1000 if delay is not None else None
    raw = headers.get("retry-after")
    if delay is None and raw is not None:
        delay = _float(raw)
        if delay is None:
            try:
                when = email.utils.parsedate_to_datetime(raw).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                return None
            delay = when - (time.time() if now is None else now)
    if delay is None:
        return None
    return min(max(0.0, delay), _MAX_RETRY_AFTER_SECONDS)


def _float(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _with_schema(messages: list[dict[str, str]], schema: dict[str, Any]) -> list[dict[str, str]]:
    """In json_object mode the server no longer enforces the schema: say it in words."""
    rule = "Answer with one JSON object that validates against this JSON Schema:\n" + json.dumps(
        schema, separators=(",", ":")
    )
    return [*messages, {"role": "system", "content": rule}]


def _describe_endpoint(base_url: str | None) -> str:
    """The endpoint as an operator may see it: no user info, no query string."""
    if not base_url:
        return "the OpenAI API"
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class ChatModel:
    """A configured OpenAI-compatible chat endpoint.

    It asks for a `json_schema` response format first; an endpoint that refuses it is
    asked for a plain `json_object` from then on, for the life of this instance.
    """

    def __init__(
        self,
        *,
        base_url: str | None,
        model: str,
        api_key: str | None,
        timeout_seconds: float,
        max_output_tokens: int,
        temperature: float,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self._where = _describe_endpoint(base_url)
        self._api_key = api_key or ""
        self._timeout_seconds = timeout_seconds
        self._max_output_tokens = max_output_tokens
        self._temperature = temperature
        self._response_mode: ResponseMode = "json_schema"
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or _PLACEHOLDER_KEY,
            timeout=timeout_seconds,
            max_retries=0,
            # The SDK's own client (its limits and timeouts) with a transport that bounds
            # every answer; a caller's client (tests) is used as given.
            http_client=http_client or openai.DefaultAsyncHttpxClient(transport=BoundedTransport()),
        )

    @property
    def response_mode(self) -> ResponseMode:
        return self._response_mode

    async def close(self) -> None:
        await self._client.close()

    async def complete_json(
        self, messages: list[dict[str, str]], *, schema_name: str, schema: dict[str, Any]
    ) -> Completion:
        """One answer as JSON text; `latency_ms` covers the whole call, fallback included."""
        started = time.monotonic()
        while True:
            mode = self._response_mode
            sent = messages if mode == "json_schema" else _with_schema(messages, schema)
            try:
                response = await self._create(
                    sent, self._response_format(mode, schema_name, schema)
                )
                break
            except openai.APIStatusError as error:
                if mode == "json_schema" and _rejects_json_schema(error):
                    self._response_mode = "json_object"
                    log.warning(
                        "model server refused the json_schema response format; "
                        "asking for json_object and validating the answer ourselves",
                        endpoint=self._where,
                        model=self.model,
                        status=error.status_code,
                        reason=self._server_message(error),
                    )
                    continue
                failure = self._status_error(error)
            except openai.APITimeoutError as error:
                raise LLMUnavailable(
                    f"model server at {self._where} did not answer within "
                    f"{self._timeout_seconds:g}s; raise RECAP_LLM_TIMEOUT_SECONDS if the "
                    "model is slow"
                ) from error
            except openai.APIConnectionError as error:
                cause = error.__cause__ or error
                if isinstance(cause, ModelAnswerTooLarge):
                    raise MalformedModelOutput(
                        f"{cause}; the model server at {self._where} sent far more than a summary"
                    ) from error
                raise LLMUnavailable(
                    f"cannot reach the model server at {self._where} "
                    f"({type(cause).__name__}: {self._redact(str(cause)) or 'no detail'}); "
                    "check RECAP_LLM_BASE_URL and that the server is running"
                ) from error
            # Raised outside the handler on purpose: the SDK's error repeats the server's
            # text verbatim (keys some servers echo included), so it must not ride along as
            # context into Temporal's history or a logged traceback. Ours is redacted.
            raise failure
        latency_ms = int((time.monotonic() - started) * 1000)
        if not response.choices:
            raise MalformedModelOutput("the model returned no choices")
        choice = response.choices[0]
        content = choice.message.content
        if not content:
            raise MalformedModelOutput(
                f"the model returned no content (finish_reason={choice.finish_reason})"
            )
        usage = response.usage
        return Completion(
            content=content,
            model=response.model or self.model,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            latency_ms=latency_ms,
            response_mode=mode,
        )

    async def _create(
        self, messages: list[dict[str, str]], response_format: ResponseFormat
    ) -> ChatCompletion:
        return await self._client.chat.completions.create(
            model=self.model,
            messages=cast("list[ChatCompletionMessageParam]", messages),
            response_format=response_format,
            max_tokens=self._max_output_tokens,
            temperature=self._temperature,
        )

    @staticmethod
    def _response_format(
        mode: ResponseMode, schema_name: str, schema: dict[str, Any]
    ) -> ResponseFormat:
        if mode == "json_object":
            return ResponseFormatJSONObject(type="json_object")
        return ResponseFormatJSONSchema(
            type="json_schema",
            json_schema={"name": schema_name, "schema": schema, "strict": True},
        )

    def _status_error(self, error: openai.APIStatusError) -> LLMError:
        status = error.status_code
        said = self._server_message(error)
        if status == 429:
            return LLMRateLimited(
                f"model server at {self._where} is rate limiting (429): {said}",
                retry_after_seconds(error.response.headers),
            )
        if status in _RETRYABLE_STATUSES or status >= 500:
            return LLMUnavailable(
                f"model server at {self._where} failed ({status}): {said}",
                retry_after_seconds=retry_after_seconds(error.response.headers),
            )
        if status in (401, 403):
            return LLMAuthFailed(
                f"model server at {self._where} refused the credentials ({status}): {said}; "
                f"check RECAP_LLM_API_KEY and that it may use model {self.model!r} "
                "(RECAP_LLM_MODEL)"
            )
        if status == 404:
            return LLMBadRequest(
                f"model server at {self._where} answered 404 for model {self.model!r}: {said}; "
                "check that RECAP_LLM_MODEL names a model this server serves and that "
                "RECAP_LLM_BASE_URL is the API root (usually ending in /v1)"
            )
        return LLMBadRequest(
            f"model server at {self._where} rejected the request ({status}): {said}; "
            "check RECAP_LLM_MODEL and RECAP_LLM_BASE_URL"
        )

    def _server_message(self, error: openai.APIStatusError) -> str:
        """What the server said, short and without the key (some servers echo it)."""
        body = error.body
        detail = body.get("message", body) if isinstance(body, dict) else body
        text = str(detail) if detail else error.message
        return _short(self._redact(" ".join(text.split())))

    def _redact(self, text: str) -> str:
        # A key this short is no secret, and replacing it would garble the message.
        if len(self._api_key) >= 4:
            text = text.replace(self._api_key, "***")
        return text


def _rejects_json_schema(error: openai.APIStatusError) -> bool:
    if error.status_code == 422:
        return True
    if error.status_code != 400:
        return False
    text = f"{error.message} {error.body}".lower()
    return any(hint in text for hint in _SCHEMA_UNSUPPORTED_HINTS)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
