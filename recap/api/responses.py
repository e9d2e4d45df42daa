"""What the routes answer with: a model as JSON, PostHog's `next`/`previous` page links,
and the error responses every endpoint documents."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import URL

from recap.api.models import ApiError

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
