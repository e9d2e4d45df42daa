"""What the routes answer with: a model as JSON, PostHog's `next`/`previous` page links,
the error responses every endpoint documents, and what a request asks for (a media type in
`Accept`, RFC 7240's `Prefer: respond-async`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import URL

from recap.api.models import ApiError, SessionSummariesJob, SessionSummariesRequest

# The Temporal workflow a request started, so a caller can follow it (`GET /api/jobs/{id}`).
WORKFLOW_HEADER = "Recap-Workflow-Id"

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ApiError, "description": description}
    for status, description in (
        (400, "invalid request"),
        (401, "no valid API key"),
        (403, "the key lacks the scope"),
        (404, "not found (or another team's)"),
        (413, "request body too large"),
        (429, "rate limited; see Retry-After"),
    )
}


# The query parameters of an endpoint that waits for a workflow (or answers its job at once).
AsyncQuery = Annotated[bool, Query(alias="async", description="answer the job's handle at once")]
TimeoutQuery = Annotated[
    float | None,
    Query(alias="timeout", gt=0, le=3600, description="seconds to wait (capped by settings)"),
]


def json_response(model: BaseModel, status: int = 200, **options: Any) -> JSONResponse:
    """`model` as JSON; `options` go to `model_dump` (e.g. `exclude`, `exclude_none`)."""
    return JSONResponse(model.model_dump(mode="json", **options), status_code=status)


def page_links(
    request: Request, count: int, limit: int, offset: int, public_url: str | None
) -> tuple[str | None, str | None]:
    """The `next` and `previous` URLs of a page, as DRF's limit/offset pagination writes
    them: None at either end, and no `offset` on a link back to the first page. They start
    with RECAP_API_PUBLIC_URL when it is set, never with a Host header the caller chose,
    and never carry the caller's key."""
    # A key sent in the query string is not echoed into links a client may log or share.
    url = request.url.remove_query_params("personal_api_key")
    if public_url is not None:
        url = URL(public_url + url.path + (f"?{url.query}" if url.query else ""))
    following = (
        str(url.include_query_params(limit=limit, offset=offset + limit))
        if offset + limit < count
        else None
    )
    if offset <= 0:
        previous = None
    elif offset - limit <= 0:
        previous = str(url.remove_query_params("offset").include_query_params(limit=limit))
    else:
        previous = str(url.include_query_params(limit=limit, offset=offset - limit))
    return following, previous


def _accepted(header: str) -> dict[str, float]:
    """The media types of an Accept header with their quality (1 unless given)."""
    found: dict[str, float] = {}
    for part in header.split(","):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            found[media.lower()] = max(quality, found.get(media.lower(), 0.0))
    return found


def prefers_media(request: Request, media: str) -> bool:
    """Whether `Accept` asks for `media`: accepted, and not below JSON (a caller accepting
    both alike gets the one it named)."""
    accepted = _accepted(request.headers.get("accept", ""))
    quality = accepted.get(media, 0.0)
    return quality > 0 and quality >= accepted.get("application/json", 0.0)


def wants_async(request: Request, async_: bool) -> bool:
    """`?async=true`, or RFC 7240's `respond-async` preference among any others stated."""
    preferences = ",".join(request.headers.getlist("prefer")).lower()
    return async_ or any(
        part.split(";")[0].strip() == "respond-async" for part in preferences.split(",")
    )


def wait_limit(wait_seconds: float | None, ceiling: float) -> float:
    """How long to wait: what `?timeout=` asks for, never more than the setting."""
    return min(wait_seconds or ceiling, ceiling)


def job_accepted(
    request: SessionSummariesRequest, workflow_id: str, *, asked: bool = True
) -> JSONResponse:
    """202 with the job handle: the request echoed as PostHog's serializer has it, and the
    workflow that runs it. `Preference-Applied` only when the caller `asked` for it."""
    job = SessionSummariesJob(
        session_ids=request.session_ids,
        focus_area=request.focus_area,
        workflow_id=workflow_id,
        status="running",
    )
    response = json_response(job, 202, exclude_none=False)
    if asked:
        response.headers["Preference-Applied"] = "respond-async"
    return response
