"""One chat-completions call to any OpenAI-compatible server, with typed errors.

Retries are Temporal's job, so the SDK's own retries are off; every failure becomes
one of the errors below, which the activity maps to retryable or not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

import httpx2
import openai
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema

from recap.config import Settings

# llama-server and most local servers ignore the key, but the SDK insists on one.
_PLACEHOLDER_KEY = "sk-no-key-required"


class LLMError(Exception):
    code = "llm_error"
    retryable = True


class LLMUnavailable(LLMError):
    """Network failure, timeout or a 5xx: worth retrying."""

    code = "llm_unavailable"


class LLMRateLimited(LLMError):
    code = "llm_rate_limited"

    def __init__(self, message: str, retry_after_seconds: float | None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


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


def _retry_after(headers: httpx2.Headers) -> float | None:
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


class ChatModel:
    """A configured OpenAI-compatible chat endpoint."""

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
        self._max_output_tokens = max_output_tokens
        self._temperature = temperature
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or _PLACEHOLDER_KEY,
            timeout=timeout_seconds,
            max_retries=0,
            http_client=http_client,
        )

    async def close(self) -> None:
        await self._client.close()

    async def complete_json(
        self, messages: list[dict[str, str]], *, schema_name: str, schema: dict[str, Any]
    ) -> Completion:
        started = time.monotonic()
        where = self.base_url or "the OpenAI API"
        try:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=cast("list[ChatCompletionMessageParam]", messages),
                response_format=ResponseFormatJSONSchema(
                    type="json_schema",
                    json_schema={"name": schema_name, "schema": schema, "strict": True},
                ),
                max_tokens=self._max_output_tokens,
                temperature=self._temperature,
            )
        except openai.RateLimitError as error:
            raise LLMRateLimited(
                f"model server at {where} is rate limiting (429)",
                _retry_after(error.response.headers),
            ) from error
        except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
            raise LLMAuthFailed(
                f"model server at {where} refused the credentials ({error.status_code}); "
                "check RECAP_LLM_API_KEY"
            ) from error
        except (openai.BadRequestError, openai.NotFoundError, openai.UnprocessableEntityError) as e:
            raise LLMBadRequest(
                f"model server at {where} rejected the request ({e.status_code}): "
                f"{_short(e.message)}; check RECAP_LLM_MODEL and RECAP_LLM_BASE_URL"
            ) from e
        except openai.APIStatusError as error:
            raise LLMUnavailable(
                f"model server at {where} failed ({error.status_code}): {_short(error.message)}"
            ) from error
        except openai.APITimeoutError as error:
            raise LLMUnavailable(f"model server at {where} timed out") from error
        except openai.APIConnectionError as error:
            raise LLMUnavailable(f"cannot reach the model server at {where}: {error}") from error
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
        )


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def chat_model_from_settings(settings: Settings) -> ChatModel:
    return ChatModel(
        base_url=settings.effective_llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        timeout_seconds=settings.llm_timeout_seconds,
        max_output_tokens=settings.llm_max_output_tokens,
        temperature=settings.llm_temperature,
    )
