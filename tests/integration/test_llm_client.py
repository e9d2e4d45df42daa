"""The OpenAI-protocol client against a real loopback server: typed errors, Temporal's
retry delays, the json_object fallback, and what each call records."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from email.utils import formatdate
from typing import Any

import httpx2
import pytest

from activities.errors import to_application_error
from recap.llm.client import (
    ChatModel,
    LLMAuthFailed,
    LLMBadRequest,
    LLMError,
    LLMRateLimited,
    LLMUnavailable,
    retry_after_seconds,
)
from tests.support.model_double import (
    SCHEMA_UNSUPPORTED,
    ChatServer,
    Reply,
    chat_server,
    completion_body,
    error_body,
)

API_KEY = "sk-test-0123456789abcdef"
MESSAGES = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "hi"}]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"title": {"type": "string"}},
    "required": ["title"],
    "additionalProperties": False,
}


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with chat_server() as chat:
        yield chat


def chat_model(base_url: str, *, timeout_seconds: float = 5) -> ChatModel:
    return ChatModel(
        base_url=base_url,
        model="served-model",
        api_key=API_KEY,
        timeout_seconds=timeout_seconds,
        max_output_tokens=100,
        temperature=0,
    )


async def failing_call(model: ChatModel) -> LLMError:
    try:
        await model.complete_json(MESSAGES, schema_name="summary", schema=SCHEMA)
    except LLMError as error:
        assert_no_key(error)
        return error
    finally:
        await model.close()
    raise AssertionError("the call should have failed")


def assert_no_key(error: LLMError) -> None:
    """Neither the error, anything chained to it, nor Temporal's error shows the key."""
    seen: BaseException | None = error
    while seen is not None:
        assert API_KEY not in str(seen)
        assert API_KEY not in repr(seen.args)
        seen = seen.__cause__ or seen.__context__
    assert API_KEY not in to_application_error(error).message


async def test_a_completion_records_usage_latency_and_the_schema_it_asked_for(
    server: ChatServer,
) -> None:
    server.script(Reply(delay=0.05))
    model = chat_model(server.base_url)
    completion = await model.complete_json(MESSAGES, schema_name="summary", schema=SCHEMA)
    await model.close()

    assert completion.content == '{"title": "ok"}'
    assert completion.model == "served-model"
    assert (completion.prompt_tokens, completion.completion_tokens) == (120, 30)
    assert completion.latency_ms >= 50
    assert completion.response_mode == "json_schema"
    [request] = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert request["body"]["model"] == "served-model"
    assert request["body"]["max_tokens"] == 100
    assert request["body"]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "summary", "schema": SCHEMA, "strict": True},
    }


async def test_a_completion_without_usage_leaves_the_token_counts_empty(
    server: ChatServer,
) -> None:
    server.script(Reply(body=completion_body(usage=False)))
    model = chat_model(server.base_url)
    completion = await model.complete_json(MESSAGES, schema_name="summary", schema=SCHEMA)
    await model.close()
    assert (completion.prompt_tokens, completion.completion_tokens) == (None, None)
    assert completion.latency_ms >= 0


@pytest.mark.parametrize(
    ("status", "headers", "expected", "delay"),
    [
        (429, {"Retry-After": "7"}, LLMRateLimited, 7.0),
        (503, {"retry-after-ms": "1500"}, LLMUnavailable, 1.5),
        (500, {"retry-after-ms": "250", "Retry-After": "9"}, LLMUnavailable, 0.25),
        (502, {}, LLMUnavailable, None),
        (408, {}, LLMUnavailable, None),
        (409, {"Retry-After": "2"}, LLMUnavailable, 2.0),
        (429, {"Retry-After": "soon"}, LLMRateLimited, None),
    ],
)
async def test_retryable_statuses_carry_the_servers_delay_to_temporal(
    server: ChatServer,
    status: int,
    headers: dict[str, str],
    expected: type[LLMError],
    delay: float | None,
) -> None:
    server.script(Reply(status, error_body(f"try later ({status})"), headers))
    error = await failing_call(chat_model(server.base_url))

    assert type(error) is expected
    assert error.retryable
    assert error.retry_after_seconds == delay
    assert str(status) in str(error)
    assert len(server.requests) == 1  # the SDK did not retry on its own
    application = to_application_error(error)
    assert application.type == expected.code
    assert not application.non_retryable
    assert application.next_retry_delay == (timedelta(seconds=delay) if delay else None)


async def test_retry_after_as_an_http_date_becomes_a_delay(server: ChatServer) -> None:
    later = formatdate(time.time() + 30, usegmt=True)
    server.script(Reply(429, error_body("slow down"), {"Retry-After": later}))
    error = await failing_call(chat_model(server.base_url))

    assert isinstance(error, LLMRateLimited)
    assert error.retry_after_seconds is not None
    assert 25 <= error.retry_after_seconds <= 30
    delay = to_application_error(error).next_retry_delay
    assert delay is not None
    assert timedelta(seconds=25) <= delay <= timedelta(seconds=30)


def test_retry_after_values_are_bounded_and_unreadable_ones_ignored() -> None:
    def parse(**headers: str) -> float | None:
        return retry_after_seconds(
            httpx2.Headers({k.replace("_", "-"): v for k, v in headers.items()})
        )

    assert parse() is None
    assert parse(retry_after="-3") == 0.0
    assert parse(retry_after="inf") is None
    assert parse(retry_after="1e12") == 24 * 3600.0
    assert parse(retry_after_ms="nan", retry_after="4") == 4.0
    assert parse(retry_after="Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse(retry_after="Wed, 99 Foo") is None


@pytest.mark.parametrize(
    ("status", "message", "expected", "hints"),
    [
        (
            401,
            f"Incorrect API key provided: {API_KEY}.",
            LLMAuthFailed,
            ["RECAP_LLM_API_KEY"],
        ),
        (403, "You may not use this model.", LLMAuthFailed, ["RECAP_LLM_API_KEY"]),
        (
            404,
            "The model `served-model` does not exist.",
            LLMBadRequest,
            ["RECAP_LLM_MODEL", "RECAP_LLM_BASE_URL", "'served-model'"],
        ),
        (
            400,
            f"This model's maximum context length is 8192 tokens (key {API_KEY}).",
            LLMBadRequest,
            ["RECAP_LLM_MODEL", "RECAP_LLM_BASE_URL", "maximum context length"],
        ),
        (413, "Request too large.", LLMBadRequest, ["RECAP_LLM_MODEL"]),
    ],
)
async def test_other_client_errors_are_final_and_say_what_to_check(
    server: ChatServer,
    status: int,
    message: str,
    expected: type[LLMError],
    hints: list[str],
) -> None:
    # Some servers echo the key back; a Retry-After on a final error changes nothing.
    server.script(Reply(status, error_body(message), {"Retry-After": "5"}))
    error = await failing_call(chat_model(server.base_url))

    assert type(error) is expected
    assert not error.retryable
    for hint in hints:
        assert hint in str(error)
    assert f"127.0.0.1:{server.server_address[1]}/v1" in str(error)
    assert len(server.requests) == 1  # no json_object fallback for these
    assert server.bodies()[0]["response_format"]["type"] == "json_schema"
    application = to_application_error(error)
    assert application.type == expected.code
    assert application.non_retryable
    assert application.next_retry_delay is None


@pytest.mark.parametrize(
    "rejection",
    [
        Reply(400, SCHEMA_UNSUPPORTED),
        Reply(400, "Unsupported response_format: json_schema"),  # not even JSON
        Reply(422, {"detail": [{"loc": ["body", "response_format"], "msg": "bad"}]}),
    ],
)
async def test_an_endpoint_that_refuses_json_schema_gets_json_object_from_then_on(
    server: ChatServer, rejection: Reply
) -> None:
    server.script(rejection, Reply(), Reply())
    model = chat_model(server.base_url)

    first = await model.complete_json(MESSAGES, schema_name="summary", schema=SCHEMA)
    assert first.response_mode == "json_object"
    assert model.response_mode == "json_object"
    assert first.content == '{"title": "ok"}'
    assert first.prompt_tokens == 120
    assert len(server.requests) == 2

    second = await model.complete_json(MESSAGES, schema_name="summary", schema=SCHEMA)
    await model.close()
    assert second.response_mode == "json_object"
    formats = [body["response_format"] for body in server.bodies()]
    assert formats[0]["type"] == "json_schema"
    assert formats[1:] == [{"type": "json_object"}, {"type": "json_object"}]
    bodies = server.bodies()
    assert bodies[0]["messages"] == MESSAGES
    # Without a schema-enforcing server, the schema travels in the prompt instead.
    for body in bodies[1:]:
        assert body["messages"][: len(MESSAGES)] == MESSAGES
        assert body["messages"][-1]["role"] == "system"
        assert "JSON Schema" in body["messages"][-1]["content"]


async def test_the_fallback_is_remembered_even_when_the_json_object_call_fails(
    server: ChatServer,
) -> None:
    server.script(
        Reply(400, SCHEMA_UNSUPPORTED),
        Reply(503, error_body("overloaded"), {"retry-after-ms": "1500"}),
        Reply(),
    )
    model = chat_model(server.base_url)
    with pytest.raises(LLMUnavailable) as error:
        await model.complete_json(MESSAGES, schema_name="summary", schema=SCHEMA)
    assert error.value.retry_after_seconds == 1.5

    completion = await model.complete_json(MESSAGES, schema_name="summary", schema=SCHEMA)
    await model.close()
    assert completion.response_mode == "json_object"
    assert [body["response_format"]["type"] for body in server.bodies()] == [
        "json_schema",
        "json_object",
        "json_object",
    ]


async def test_a_json_object_rejection_is_a_bad_request_not_another_fallback(
    server: ChatServer,
) -> None:
    server.script(Reply(422, {"detail": "no"}), Reply(422, {"detail": "still no"}))
    error = await failing_call(chat_model(server.base_url))
    assert isinstance(error, LLMBadRequest)
    assert "422" in str(error)
    assert "still no" in str(error)
    assert len(server.requests) == 2


async def test_a_slow_server_times_out_as_retryable(server: ChatServer) -> None:
    server.script(Reply(delay=10))
    started = time.monotonic()
    error = await failing_call(chat_model(server.base_url, timeout_seconds=0.3))

    assert time.monotonic() - started < 5
    assert isinstance(error, LLMUnavailable)
    assert error.retryable
    assert error.retry_after_seconds is None
    assert "0.3s" in str(error)
    assert "RECAP_LLM_TIMEOUT_SECONDS" in str(error)
    application = to_application_error(error)
    assert application.type == "llm_unavailable"
    assert not application.non_retryable
    assert application.next_retry_delay is None


async def test_a_closed_connection_is_retryable(server: ChatServer) -> None:
    server.script(Reply(drop=True))
    error = await failing_call(chat_model(server.base_url))

    assert isinstance(error, LLMUnavailable)
    assert error.retryable
    assert "cannot reach" in str(error)
    assert "RECAP_LLM_BASE_URL" in str(error)
    assert len(server.requests) == 1
    application = to_application_error(error)
    assert (application.type, application.non_retryable) == ("llm_unavailable", False)


async def test_a_refused_connection_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = await failing_call(chat_model(f"http://127.0.0.1:{port}/v1"))

    assert isinstance(error, LLMUnavailable)
    assert f"127.0.0.1:{port}" in str(error)
    assert not to_application_error(error).non_retryable
