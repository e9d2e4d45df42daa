"""recap's HTTP API: the summary side of PostHog's API (same paths, fields and shapes),
behind scoped per-team keys, starting and reading recap's Temporal jobs.

`/api/projects/{project_id}/…` and `/api/environments/{project_id}/…` serve the same
endpoints; the project id is the team a key belongs to. Another team's ids answer 404.
Every path answers with and without its trailing slash, as PostHog's router does
(`TrailingSlashes`). This module assembles the app; the routes live in `recap.api.routes`,
their dependencies in `recap.api.deps`, the other middleware in `recap.api.middleware`.
"""

from __future__ import annotations

import ipaddress

from fastapi import FastAPI

from recap.api import errors, routes, ui
from recap.api.catalog import RecordingCatalog
from recap.api.deps import Runtime
from recap.api.middleware import BodyLimit, RequestLog, RouteTemplates, TrailingSlashes
from recap.api.ratelimit import RateLimiter, RateLimits
from recap.api.routes.health import prometheus_metrics
from recap.core.config import Settings, get_settings
from recap.core.tracing import configure_tracing
from recap.services.bootstrap import summary_store
from recap.store.keys import KeyStore

# The same team endpoints under both of PostHog's prefixes, each with its OpenAPI tag.
TEAM_PREFIXES = (
    ("/api/projects/{project_id}", "projects"),
    ("/api/environments/{project_id}", "environments"),
)


def listens_on_loopback(host: str) -> bool:
    """Whether an address to listen on is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: assume the network can reach it


def metrics_on_api_port(settings: Settings) -> bool:
    """Whether the API serves /metrics on its own port. Never when RECAP_METRICS_PORT is
    set (`recap.api.server` serves them there) or RECAP_API_METRICS is false; with
    RECAP_API_METRICS left unset, only while the API listens on loopback, so an API
    published to a network does not publish its metrics with it."""
    if settings.metrics_port is not None or not settings.api_metrics:
        return False
    if "api_metrics" in settings.model_fields_set:
        return True
    return listens_on_loopback(settings.api_host)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # With a tracer provider installed FastAPI traces each request, and the Temporal calls a
    # request makes become its children.
    configure_tracing(settings)
    app = FastAPI(
        title="recap",
        version="1",
        description=(
            "AI summaries of PostHog session recordings: the summary side of PostHog's API, "
            "served by recap. Authenticate with `Authorization: Bearer <key>` "
            "(`recap keys create`)."
        ),
        # The browsable UI is optional (RECAP_API_DOCS); clients keep /openapi.json.
        docs_url="/docs" if settings.api_docs else None,
        redoc_url="/redoc" if settings.api_docs else None,
        # The other form of a path is routed, not redirected (`TrailingSlashes`).
        redirect_slashes=False,
    )
    app.state.runtime = _runtime(settings)
    errors.install(app)
    templates = RouteTemplates()
    for prefix, tag in TEAM_PREFIXES:
        for router in routes.team_routers():
            app.include_router(router, prefix=prefix, tags=[tag])
            templates.add(router, prefix)
    # Health sits beside the jobs under one tag, as the published OpenAPI document has it.
    for router in routes.service_routers():
        app.include_router(router, tags=["jobs"])
    # The pages for people (/ui/), outside the OpenAPI document.
    ui.install(app, app.state.runtime)
    if metrics_on_api_port(settings):
        app.add_api_route("/metrics", prometheus_metrics, methods=["GET"], include_in_schema=False)
    app.add_middleware(RequestLog, templates=templates)
    # Outside the request log, so the log, the metrics and the route see the routed path.
    app.add_middleware(TrailingSlashes, routes=app.router.routes)
    # Added last, so it runs first: an oversized body is refused before anything reads it.
    app.add_middleware(BodyLimit, limit=settings.api_max_body_bytes)
    return app


def _runtime(settings: Settings) -> Runtime:
    """What the app holds for its lifetime, built from the settings."""
    store = summary_store(settings)
    return Runtime(
        settings=settings,
        store=store,
        keys=KeyStore(store),
        limiter=RateLimiter(
            RateLimits(
                burst_per_minute=settings.api_rate_burst_per_minute,
                sustained_per_hour=settings.api_rate_sustained_per_hour,
            )
        ),
        auth_failures=RateLimiter(
            RateLimits(
                burst_per_minute=settings.api_auth_failures_per_minute,
                sustained_per_hour=settings.api_auth_failures_per_hour,
            )
        ),
        catalog=RecordingCatalog(settings, store),
    )
