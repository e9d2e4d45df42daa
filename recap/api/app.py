"""recap's HTTP API: the summary side of PostHog's API (same paths, fields and shapes),
behind scoped per-team keys, starting and reading recap's Temporal jobs.

`/api/projects/{project_id}/…` and `/api/environments/{project_id}/…` serve the same
endpoints; the project id is the team a key belongs to. Another team's ids answer 404.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recap.api import errors
from recap.api.errors import ApiProblem, not_found
from recap.api.models import (
    SESSION_ID_PATTERN,
    ApiError,
    Check,
    Health,
    JobStatus,
    PaginatedErrorClusterList,
    PaginatedSessionRecordingList,
    Readiness,
    SessionRecording,
    SessionSummariesRequest,
    SessionSummariesResponse,
    SimilarSession,
    SimilarSessionList,
    SummarizeRecordingRequest,
    SummaryError,
)
from recap.api.ratelimit import RateLimiter, RateLimits
from recap.api.recordings import RecordingCatalog
from recap.core import metrics
from recap.core.config import Settings, get_settings
from recap.core.logging import get_logger
from recap.core.naming import summary_workflow_id
from recap.core.tracing import configure_tracing
from recap.jobs import client as jobs
from recap.llm.schema import SessionSummary
from recap.services.similar import UnknownSession, similar_in_team
from recap.store.clusters import ClusterStore
from recap.store.keys import READ_SCOPE, WRITE_SCOPE, ApiKey, KeyStore
from recap.store.repository import SummaryStore, store_for
from workflows.contracts import BatchProgress

log = get_logger(__name__)

WORKFLOW_HEADER = "Recap-Workflow-Id"
_ERRORS: dict[int | str, dict[str, Any]] = {
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


@dataclass
class Runtime:
    """What the app holds for its lifetime: the store, keys, limits, Temporal."""

    settings: Settings
    store: SummaryStore
    keys: KeyStore
    limiter: RateLimiter
    catalog: RecordingCatalog
    _temporal: jobs.TemporalClient | None = None
    _connecting: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def temporal(self) -> jobs.TemporalClient:
        async with self._connecting:
            if self._temporal is None:
                try:
                    self._temporal = await jobs.connect(self.settings)
                except ConnectionError as error:
                    raise errors.unavailable(str(error)) from None
            return self._temporal


@dataclass(frozen=True)
class Caller:
    key: ApiKey
    team_id: str


def runtime(request: Request) -> Runtime:
    value: Runtime = request.app.state.runtime
    return value


bearer = HTTPBearer(auto_error=False, description="a recap key: `recap keys create`")


async def _authenticated(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> ApiKey:
    if credentials is None or not credentials.credentials:
        raise errors.unauthenticated("Authentication credentials were not provided.")
    state = runtime(request)
    key = await asyncio.to_thread(state.keys.authenticate, credentials.credentials)
    if key is None:
        raise errors.unauthenticated("Invalid API key.")
    wait = state.limiter.check(key.id)
    if wait is not None:
        raise errors.throttled(wait)
    request.state.key_id = key.id
    return key


def team_caller(scope: str) -> Callable[..., Awaitable[Caller]]:
    """The dependency of a team endpoint: a live key of this team with `scope`.

    Another team's project answers 404 before the scope is looked at, so a key learns
    nothing about teams it does not belong to."""

    async def dependency(
        request: Request,
        project_id: str,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        key = await _authenticated(request, credentials)
        if key.team_id != project_id:
            raise not_found()
        if not key.allows(scope):
            raise errors.forbidden(scope)
        return Caller(key=key, team_id=project_id)

    return dependency


def key_caller(scope: str) -> Callable[..., Awaitable[Caller]]:
    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        key = await _authenticated(request, credentials)
        if not key.allows(scope):
            raise errors.forbidden(scope)
        return Caller(key=key, team_id=key.team_id)

    return dependency


Reader = Annotated[Caller, Depends(team_caller(READ_SCOPE))]
Writer = Annotated[Caller, Depends(team_caller(WRITE_SCOPE))]
State = Annotated[Runtime, Depends(runtime)]


def _session_id(value: str) -> str:
    if not re.fullmatch(SESSION_ID_PATTERN, value):
        raise not_found()
    return value


def _json(model: BaseModel, status: int = 200, **options: Any) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json", **options), status_code=status)


def _page_links(
    request: Request, count: int, limit: int, offset: int
) -> tuple[str | None, str | None]:
    following = (
        str(request.url.include_query_params(limit=limit, offset=offset + limit))
        if offset + limit < count
        else None
    )
    if offset <= 0:
        previous = None
    elif offset - limit <= 0:
        previous = str(request.url.remove_query_params("offset").include_query_params(limit=limit))
    else:
        previous = str(request.url.include_query_params(limit=limit, offset=offset - limit))
    return following, previous


def _summary_error(error_type: str, message: str) -> SummaryError:
    if error_type in ("recording_not_found", "no_events_or_too_short"):
        return SummaryError(error=error_type, error_message=message)
    return SummaryError(error="summary_failed", error_message=f"{error_type}: {message}")


def _batch_results(
    state: Runtime, caller: Caller, request: SessionSummariesRequest, progress: BatchProgress | None
) -> tuple[dict[str, SessionSummary | SummaryError], list[str]]:
    failures = {failure.session_id: failure for failure in progress.failures} if progress else {}
    results: dict[str, SessionSummary | SummaryError] = {}
    pending: list[str] = []
    for session_id in dict.fromkeys(request.session_ids):
        failure = failures.get(session_id)
        if failure is not None:
            results[session_id] = _summary_error(failure.error_type, failure.error)
            continue
        stored = state.store.get_summary(
            team_id=caller.team_id, session_id=session_id, focus_area=request.focus_area
        )
        if stored is not None and stored.summary is not None:
            results[session_id] = stored.summary
        elif progress is None:
            pending.append(session_id)
        else:
            results[session_id] = SummaryError(
                error="summary_failed", error_message="the batch ended without a stored summary"
            )
    return results, pending


def team_router() -> APIRouter:
    router = APIRouter(responses=_ERRORS)

    @router.post(
        "/session_summaries/create_session_summaries_individually/",
        response_model=SessionSummariesResponse,
        summary="Summarize each session on its own (one batch job)",
        responses={
            202: {
                "model": SessionSummariesResponse,
                "description": "`?wait=true` ran out: the sessions in `pending` are still running",
            }
        },
    )
    async def create_session_summaries_individually(
        request: Request,
        body: SessionSummariesRequest,
        caller: Writer,
        state: State,
        wait: Annotated[bool, Query(description="wait for the batch and return results")] = False,
        wait_seconds: Annotated[
            float | None,
            Query(
                alias="timeout", gt=0, le=3600, description="seconds to wait (capped by settings)"
            ),
        ] = None,
    ) -> JSONResponse:
        client = await state.temporal()
        session_ids = list(dict.fromkeys(body.session_ids))
        try:
            workflow_id = await jobs.start_batch(
                client,
                state.settings,
                team_id=caller.team_id,
                session_ids=session_ids,
                focus_area=body.focus_area,
                source=state.settings.source,
                force=False,
                max_concurrency=None,
            )
        except Exception as error:
            raise errors.unavailable(
                f"Temporal did not start the batch ({type(error).__name__}); try again"
            ) from None
        log.info(
            "batch started",
            team_id=caller.team_id,
            workflow_id=workflow_id,
            sessions=len(session_ids),
            key_id=caller.key.id,
        )
        answer = SessionSummariesResponse(
            session_ids=body.session_ids,
            focus_area=body.focus_area,
            workflow_id=workflow_id,
            status="running",
        )
        status = 200
        if wait:
            limit = min(
                wait_seconds or state.settings.api_wait_timeout_seconds,
                state.settings.api_wait_timeout_seconds,
            )
            progress = await jobs.batch_result(client, workflow_id, limit)
            results, pending = await asyncio.to_thread(
                _batch_results, state, caller, body, progress
            )
            answer.results = results
            if progress is None:
                answer.pending = pending
                status = 202
            else:
                answer.status = progress.status
        response = _json(answer, status, exclude_none=False)
        response.headers[WORKFLOW_HEADER] = workflow_id
        return response

    @router.get(
        "/session_recordings/",
        response_model=PaginatedSessionRecordingList,
        summary="List recordings with their summary state",
    )
    async def list_session_recordings(
        request: Request,
        caller: Reader,
        state: State,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
        has_summary: bool | None = None,
        outcome: Literal["success", "failure"] | None = None,
    ) -> JSONResponse:
        listing = await state.catalog.listing(
            caller.team_id,
            limit=limit,
            offset=offset,
            has_summary=has_summary,
            success=None if outcome is None else outcome == "success",
        )
        following, previous = _page_links(request, listing.count, limit, offset)
        page = PaginatedSessionRecordingList(
            count=listing.count, next=following, previous=previous, results=listing.results
        )
        return _json(page, exclude={"results": {"__all__": {"summary"}}})

    @router.get(
        "/session_recordings/error_clusters/",
        response_model=PaginatedErrorClusterList,
        summary="The team's error clusters, most sessions affected first",
    )
    async def list_error_clusters(
        request: Request,
        caller: Reader,
        state: State,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> JSONResponse:
        clusters = await asyncio.to_thread(ClusterStore(state.store).load_clusters, caller.team_id)
        following, previous = _page_links(request, len(clusters), limit, offset)
        page = PaginatedErrorClusterList(
            count=len(clusters),
            next=following,
            previous=previous,
            results=clusters[offset : offset + limit],
        )
        return _json(page)

    @router.get(
        "/session_recordings/{recording_id}/",
        response_model=SessionRecording,
        summary="One recording with has_summary and summary_outcome",
    )
    async def get_session_recording(
        recording_id: str,
        caller: Reader,
        state: State,
        include: Annotated[
            Literal["summary"] | None, Query(description="`summary` adds the full summary")
        ] = None,
    ) -> JSONResponse:
        recording = await state.catalog.recording(
            caller.team_id, _session_id(recording_id), with_summary=include == "summary"
        )
        if recording is None:
            raise not_found()
        exclude = None if include == "summary" else {"summary"}
        return _json(recording, exclude=exclude)

    @router.post(
        "/session_recordings/{recording_id}/summarize/",
        response_model=SessionRecording,
        summary="Summarize one recording and return it with its summary",
        responses={202: {"model": SessionRecording, "description": "still summarizing"}},
    )
    async def summarize_session_recording(
        recording_id: str,
        caller: Writer,
        state: State,
        body: SummarizeRecordingRequest | None = None,
    ) -> JSONResponse:
        session_id = _session_id(recording_id)
        focus_area = body.focus_area if body else None
        if await state.catalog.source_metadata(session_id) is None:
            raise not_found(f"Recording {session_id} not found in the configured source.")
        client = await state.temporal()
        task = asyncio.ensure_future(
            jobs.summarize_sessions(
                client,
                state.settings,
                team_id=caller.team_id,
                session_ids=[session_id],
                focus_area=focus_area,
                source=state.settings.source,
            )
        )
        workflow_id = summary_workflow_id(caller.team_id, session_id, focus_area)
        status = 200
        try:
            (outcome,) = await asyncio.wait_for(
                asyncio.shield(task), state.settings.api_wait_timeout_seconds
            )
        except TimeoutError:
            status = 202
        else:
            if outcome.error_type == "recording_not_found":
                raise not_found(f"Recording {session_id} not found in the configured source.")
            if outcome.error_type == "no_events_or_too_short":
                raise ApiProblem(
                    400, "validation_error", "no_events_or_too_short", outcome.error or ""
                )
            if outcome.error_type is not None:
                raise ApiProblem(
                    502, "server_error", "summary_failed", f"{outcome.error_type}: {outcome.error}"
                )
        recording = await state.catalog.recording(caller.team_id, session_id, with_summary=True)
        assert recording is not None
        if focus_area:
            # The focused summary, not the default one the recording object speaks for.
            stored = state.store.get_summary(
                team_id=caller.team_id, session_id=session_id, focus_area=focus_area
            )
            if stored is not None:
                recording.summary = stored.summary
        response = _json(recording, status)
        response.headers[WORKFLOW_HEADER] = workflow_id
        return response

    @router.get(
        "/session_recordings/{recording_id}/similar_sessions/",
        response_model=SimilarSessionList,
        summary="The team's stored sessions most like this one",
    )
    async def similar_sessions(
        recording_id: str,
        caller: Reader,
        state: State,
        limit: Annotated[int, Query(ge=1, le=100)] = 5,
    ) -> JSONResponse:
        session_id = _session_id(recording_id)
        try:
            matches, summaries = await asyncio.to_thread(
                similar_in_team, state.store, caller.team_id, session_id, limit
            )
        except UnknownSession:
            raise not_found() from None
        results = [
            SimilarSession(
                session_id=match.session_id,
                score=match.score,
                title=summaries[match.session_id].title if match.session_id in summaries else None,
                summary_outcome=(
                    summaries[match.session_id].summary_outcome
                    if match.session_id in summaries
                    else None
                ),
            )
            for match in matches
        ]
        return _json(SimilarSessionList(session_id=session_id, results=results))

    return router


def jobs_router() -> APIRouter:
    router = APIRouter(responses=_ERRORS)

    @router.get("/api/jobs/{workflow_id}", response_model=JobStatus, summary="A job's progress")
    async def job_status(
        workflow_id: str,
        caller: Annotated[Caller, Depends(key_caller(READ_SCOPE))],
        state: State,
    ) -> JSONResponse:
        # Job ids name their team (`session-batch:{team}:…`): another team's is not found.
        parts = workflow_id.split(":")
        if len(parts) != 3 or parts[0] not in ("session-batch", "error-clusters"):
            raise not_found()
        if parts[1] != caller.team_id:
            raise not_found()
        found = await jobs.job_progress(await state.temporal(), workflow_id)
        if found is None:
            raise not_found()
        kind, progress = found
        return _json(
            JobStatus(workflow_id=workflow_id, kind=kind, status=progress.status, progress=progress)
        )

    @router.get("/healthz", response_model=Health, summary="The process is up")
    async def healthz() -> Health:
        return Health()

    @router.get(
        "/readyz",
        response_model=Readiness,
        summary="Temporal and the database answer",
        responses={503: {"model": Readiness, "description": "not ready"}},
    )
    async def readyz(state: State) -> JSONResponse:
        checks = {"database": Check(ok=True), "temporal": Check(ok=True)}
        try:
            await asyncio.wait_for(asyncio.to_thread(_ping_database, state.store), 5)
        except Exception as error:
            checks["database"] = Check(ok=False, detail=type(error).__name__)
        try:
            await asyncio.wait_for(jobs.check_temporal(await state.temporal()), 6)
        except Exception as error:
            detail = error.detail if isinstance(error, ApiProblem) else type(error).__name__
            checks["temporal"] = Check(ok=False, detail=detail)
        ready = all(check.ok for check in checks.values())
        readiness = Readiness(status="ok" if ready else "unavailable", checks=checks)
        return _json(readiness, 200 if ready else 503)

    return router


def _ping_database(store: SummaryStore) -> None:
    store.migrate()
    with store.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413, before the app reads them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        response = JSONResponse(
            errors.body(
                "invalid_request",
                "request_too_large",
                f"The request body is larger than {self.limit} bytes.",
            ),
            status_code=413,
        )
        await response({"type": "http"}, _no_body, send)


class _TooLarge(Exception):
    pass


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # With a tracer provider installed FastAPI traces each request, and the Temporal calls a
    # request makes become its children.
    configure_tracing(settings)
    store = store_for(settings.resolved_database_url)
    app = FastAPI(
        title="recap",
        version="1",
        description=(
            "AI summaries of PostHog session recordings: the summary side of PostHog's API, "
            "served by recap. Authenticate with `Authorization: Bearer <key>` "
            "(`recap keys create`)."
        ),
    )
    app.state.runtime = Runtime(
        settings=settings,
        store=store,
        keys=KeyStore(store),
        limiter=RateLimiter(
            RateLimits(
                burst_per_minute=settings.api_rate_burst_per_minute,
                sustained_per_hour=settings.api_rate_sustained_per_hour,
            )
        ),
        catalog=RecordingCatalog(settings, store),
    )
    errors.install(app)
    # Route templates for the request metrics: an included route knows only its own path,
    # not the prefix it was included under. Keyed by identity: each prefix has its routes.
    templates: dict[int, str] = {}
    for prefix, tag in (
        ("/api/projects/{project_id}", "projects"),
        ("/api/environments/{project_id}", "environments"),
    ):
        router = team_router()
        app.include_router(router, prefix=prefix, tags=[tag])
        templates.update(
            {id(route): prefix + route.path for route in router.routes if hasattr(route, "path")}
        )
    app.include_router(jobs_router(), tags=["jobs"])

    if settings.api_metrics:

        @app.get("/metrics", include_in_schema=False)
        async def prometheus_metrics() -> Response:
            return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE_LATEST)

    def route_template(request: Request) -> str | None:
        """The matched route's template (`/api/projects/{project_id}/…`), never the path
        with its ids; None when no route matched."""
        route = request.scope.get("route")
        path = templates.get(id(route), getattr(route, "path", None))
        return path if isinstance(path, str) else None

    @app.middleware("http")
    async def access_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:
            metrics.api_request(
                request.method, route_template(request), 500, time.perf_counter() - started
            )
            raise
        elapsed = time.perf_counter() - started
        metrics.api_request(request.method, route_template(request), response.status_code, elapsed)
        # Method, path (ids only) and status; never the query's or the body's content.
        log.info(
            "api request",
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            key_id=getattr(request.state, "key_id", None),
            ms=round(elapsed * 1000),
        )
        return response

    app.add_middleware(BodyLimit, limit=settings.api_max_body_bytes)
    return app
