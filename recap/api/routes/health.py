"""The operator's endpoints: `/healthz` (the process is up), `/readyz` (the database and
Temporal answer, in two words each: nothing about where they are) and `/metrics` for
Prometheus, which the app mounts only when the metrics have no port of their own
(`recap.api.app.metrics_on_api_port`)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from recap.api.deps import RuntimeDep
from recap.api.errors import ApiProblem
from recap.api.models import Check, Health, Readiness
from recap.api.responses import ERROR_RESPONSES, json_response
from recap.core import metrics
from recap.core.logging import get_logger
from recap.jobs import client as jobs
from recap.store.repository import SummaryStore

log = get_logger(__name__)


def router() -> APIRouter:
    routes = APIRouter(responses=ERROR_RESPONSES)
    routes.add_api_route(
        "/healthz", healthz, methods=["GET"], response_model=Health, summary="The process is up"
    )
    routes.add_api_route(
        "/readyz",
        readyz,
        methods=["GET"],
        response_model=Readiness,
        summary="Temporal and the database answer",
        responses={503: {"model": Readiness, "description": "not ready"}},
    )
    return routes


async def healthz() -> Health:
    return Health()


async def readyz(state: RuntimeDep) -> JSONResponse:
    checks = {"database": Check(ok=True), "temporal": Check(ok=True)}
    try:
        await asyncio.wait_for(asyncio.to_thread(_ping_database, state.store), 5)
    except Exception as error:
        checks["database"] = Check(ok=False, detail="unavailable")
        log.warning("readiness: database", error=repr(error))
    try:
        await asyncio.wait_for(jobs.check_temporal(await state.temporal()), 6)
    except Exception as error:
        # Unauthenticated: no address or server text, only that it failed (the log has more).
        checks["temporal"] = Check(ok=False, detail="unavailable")
        if not isinstance(error, ApiProblem):
            log.warning("readiness: temporal", error=repr(error))
    ready = all(check.ok for check in checks.values())
    readiness = Readiness(status="ok" if ready else "unavailable", checks=checks)
    return json_response(readiness, 200 if ready else 503)


async def prometheus_metrics() -> Response:
    """For Prometheus, not API callers: the app serves it outside the OpenAPI document."""
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE_LATEST)


def _ping_database(store: SummaryStore) -> None:
    store.migrate()
    with store.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
