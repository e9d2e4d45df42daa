"""The API's middleware: the request log and request metrics (labelled by route template,
never by ids), and the limit on request bodies."""

from __future__ import annotations

import time
from collections.abc import Sequence

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recap.api import errors
from recap.core import metrics
from recap.core.logging import get_logger

log = get_logger(__name__)


class RouteTemplates:
    """The matched route's template (`/api/projects/{project_id}/…`) of a request.

    An included route knows only its own path, not the prefix it was included under, so
    the prefix is remembered here. Keyed by the route's identity: each prefix includes
    routers of its own, built for it."""

    def __init__(self) -> None:
        self._by_route: dict[int, str] = {}

    def add(self, router: APIRouter, prefix: str) -> None:
        self._by_route.update(
            {id(route): prefix + route.path for route in router.routes if hasattr(route, "path")}
        )

    def of(self, request: Request) -> str | None:
        """The template, never the path with its ids; None when no route matched."""
        route = request.scope.get("route")
        path = self._by_route.get(id(route), getattr(route, "path", None))
        return path if isinstance(path, str) else None


class RequestLog(BaseHTTPMiddleware):
    """Logs each request and counts it in the request metrics."""

    def __init__(self, app: ASGIApp, templates: RouteTemplates) -> None:
        super().__init__(app)
        self.templates = templates

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:
            metrics.api_request(
                request.method, self.templates.of(request), 500, time.perf_counter() - started
            )
            raise
        elapsed = time.perf_counter() - started
        metrics.api_request(
            request.method, self.templates.of(request), response.status_code, elapsed
        )
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
        if declared is not None:
            # The server delivers no more than a declared length: the number decides.
            if not declared.isdigit() or int(declared) > self.limit:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)
            return
        # A chunked body declares nothing: read it here, up to the limit, before the app sees
        # it (an app that hits the limit mid-parse would answer 400, not 413).
        buffered = await self._read_within_limit(receive)
        if buffered is None:
            await self._refuse(send)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": buffered, "more_body": False}

        await self.app(scope, replay, send)

    async def _read_within_limit(self, receive: Receive) -> bytes | None:
        """The whole streamed body, or None once it passes the limit."""
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)  # the client left; the app sees an empty body
            body = message.get("body", b"")
            seen += len(body)
            if seen > self.limit:
                return None
            chunks.append(body)
            if not message.get("more_body", False):
                return b"".join(chunks)

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


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


class TrailingSlashes:
    """Routes a path given without its trailing slash, or with one it lacks, to the route
    of the other form: PostHog's router accepts both, and the documents print the form
    without it. Starlette would answer 307, which httpx and curl without `-L` do not follow.

    The path is rewritten before routing rather than each route registered twice, so the
    alias is the documented route itself: the same dependencies (auth, rate limits), the
    same route template in the log and the metrics, the same body (`next` links included),
    and one path per route in the OpenAPI document."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes  # the app's own list, so routes added later count too

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] != "/" and not self._routed(scope):
            path: str = scope["path"]
            alias = path.removesuffix("/") if path.endswith("/") else path + "/"
            other = {**scope, "path": alias}
            if isinstance(raw := scope.get("raw_path"), bytes):
                other["raw_path"] = raw.removesuffix(b"/") if path.endswith("/") else raw + b"/"
            if self._routed(other):
                scope = other
        await self.app(scope, receive, send)

    def _routed(self, scope: Scope) -> bool:
        """Whether a route takes the path (for any method: a wrong one still answers 405)."""
        return any(route.matches(scope)[0] is not Match.NONE for route in self.routes)
