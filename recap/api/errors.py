"""Errors as PostHog's API writes them: JSON `{type, code, detail, attr}` with the status
a DRF caller expects. Details name fields and ids only, never request content."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from recap.core.logging import get_logger

log = get_logger(__name__)


class ApiProblem(Exception):
    def __init__(
        self,
        status: int,
        type_: str,
        code: str,
        detail: str,
        attr: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.type = type_
        self.code = code
        self.detail = detail
        self.attr = attr
        self.headers = dict(headers or {})


def not_found(detail: str = "Not found.") -> ApiProblem:
    return ApiProblem(404, "invalid_request", "not_found", detail)


def unauthenticated() -> ApiProblem:
    """401 for a request that carries no key at all, in PostHog's words."""
    return ApiProblem(
        401,
        "authentication_error",
        "not_authenticated",
        "Authentication credentials were not provided.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def authentication_failed() -> ApiProblem:
    """401 for a key that is unknown, malformed, revoked or expired, alike (so a caller
    cannot tell a key that existed), in PostHog's words. Never names the key."""
    return ApiProblem(
        401,
        "authentication_error",
        "authentication_failed",
        "Personal API key found in request is invalid.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def forbidden(scope: str) -> ApiProblem:
    return ApiProblem(
        403,
        "authentication_error",
        "permission_denied",
        f"API key missing required scope '{scope}'",
    )


def throttled(retry_after: float) -> ApiProblem:
    seconds = max(1, round(retry_after))
    return ApiProblem(
        429,
        "throttled_error",
        "throttled",
        f"Request was throttled. Expected available in {seconds} seconds.",
        headers={"Retry-After": str(seconds)},
    )


def unavailable(dependency: str, cause: object = None) -> ApiProblem:
    """503 naming the dependency only: its error (addresses, hosts, paths, a server's own
    words) goes to the log, never to the caller."""
    if cause is not None:
        log.warning("dependency unavailable", dependency=dependency, error=str(cause))
    return ApiProblem(
        503, "server_error", "service_unavailable", f"{dependency} is unavailable; try again later"
    )


_FAILURES: dict[str, str] = {
    "recording_not_found": "Recording {session} was not found in the configured source.",
    "no_events_or_too_short": "Recording {session} has no events to summarize, or is too short.",
    "invalid_recording": "Recording {session} could not be read as an rrweb recording.",
    "source_unavailable": "The recording source is unavailable; try again later.",
    "team_has_no_source": "This team has no recording source yet; an operator sets one with"
    " `recap teams set-source`.",
    "budget_exceeded": "The team's daily model budget is spent; summaries resume after 00:00 UTC.",
}


# The shape of an id recap holds, in words; the id itself is not repeated (it may be long).
NOT_A_RECORDING_ID = (
    "Not a valid recording id: letters, digits, '-' and '_', at most 200 characters;"
    " no recording has it."
)


def failure_message(error_type: str, session_id: str) -> str:
    """What a caller is told about a session that failed: the error type in words. The
    failure's own text (paths, hosts, a model server's words) stays in the workflow's history
    and the worker's log, where operators read it."""
    template = _FAILURES.get(
        error_type, "The summary of {session} failed ({error_type}); see the operator's logs."
    )
    return template.format(session=session_id, error_type=error_type)


def body(type_: str, code: str, detail: str, attr: str | None = None) -> dict[str, Any]:
    return {"type": type_, "code": code, "detail": detail, "attr": attr}


# pydantic's error types, as DRF names the same failures.
_CODES = {
    "missing": "required",
    "string_too_long": "max_length",
    "too_long": "max_length",
    "string_too_short": "min_length",
    "too_short": "min_length",
    "string_pattern_mismatch": "invalid",
    "json_invalid": "parse_error",
}


def _attr(location: tuple[Any, ...]) -> str | None:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return "__".join(parts) or None


def _validation_detail(error: Mapping[str, Any], attr: str | None) -> str:
    kind = error.get("type", "")
    if kind == "json_invalid":
        return "JSON parse error: the request body is not valid JSON."
    context = error.get("ctx") or {}
    if kind in ("too_short", "too_long") and attr == "session_ids":
        if kind == "too_short":
            return "session_ids must list at least 1 session id."
        return f"session_ids must list at most {context.get('max_length')} session ids."
    if kind == "string_too_long":
        return f"Ensure this field has no more than {context.get('max_length')} characters."
    if kind == "string_pattern_mismatch":
        return NOT_A_RECORDING_ID
    if kind == "missing":
        return "This field is required."
    # pydantic's own message, which names the expectation and never echoes the input.
    return str(error.get("msg", "Invalid input."))


def _document_400_not_422(app: FastAPI) -> None:
    """The OpenAPI document as the app answers: validation errors are 400 with PostHog's
    error body (the handler below), never FastAPI's default 422 `HTTPValidationError`."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None and "400" not in responses:
                    responses["400"] = {
                        "description": "invalid request",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ApiError"}
                            }
                        },
                    }
        schemas = schema.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    _document_400_not_422(app)

    @app.exception_handler(ApiProblem)
    async def _problem(_: Request, problem: ApiProblem) -> JSONResponse:
        return JSONResponse(
            body(problem.type, problem.code, problem.detail, problem.attr),
            status_code=problem.status,
            headers=problem.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        code = _CODES.get(first.get("type", ""), "invalid_input")
        # A parse error names no field (as DRF's ParseError): pydantic's location is the
        # byte offset of the failure, which means nothing to a caller.
        attr = None if code == "parse_error" else _attr(tuple(first.get("loc", ())))
        type_ = "invalid_request" if code == "parse_error" else "validation_error"
        detail = _validation_detail(first, attr)
        return JSONResponse(body(type_, code, detail, attr), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        # A path under the pages that nothing serves gets the pages' own not-found page.
        page_not_found = getattr(request.app.state, "page_not_found", None)
        if error.status_code == 404 and page_not_found and request.url.path.startswith("/ui/"):
            answer: Response = await page_not_found(request)
            return answer
        codes = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
        detail = "Not found." if error.status_code == 404 else str(error.detail)
        return JSONResponse(
            body("invalid_request", codes.get(error.status_code, "error"), detail),
            status_code=error.status_code,
            headers=dict(error.headers or {}),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # The path names the endpoint; the body is never logged.
        log.error("api request failed", path=request.url.path, error=type(error).__name__)
        return JSONResponse(
            body("server_error", "error", "A server error occurred."), status_code=500
        )
