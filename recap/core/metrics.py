"""recap's own Prometheus metrics, recorded by the activities and the API and served by the
worker and the API on RECAP_METRICS_PORT, or, without that port, at the API's GET /metrics
(docs/operations.md, "Metrics").

Every label is a small closed set (outcomes, kinds, error types, route templates): never a
team id, a session id, a key or anything a request or a recording carries.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer


__all__ = [
    "CONTENT_TYPE_LATEST",
    "api_request",
    "cluster_named",
    "error",
    "exposition",
    "model_budget_refused",
    "serve",
    "session_compiled",
    "summaries_reused",
    "summary_generated",
    "summary_joined",
    "summary_stored",
]

SUMMARIES = Counter(
    "recap_summaries",
    "Summaries stored, by the session's outcome (summary_outcome.success).",
    ["outcome"],
)
LLM_TOKENS = Counter(
    "recap_llm_tokens",
    "Model tokens spent on session summaries, as the model server reports them.",
    ["kind"],
)
LLM_LATENCY = Histogram(
    "recap_llm_latency_seconds",
    "Model time per answer, a corrected retry included.",
    ["purpose"],
    buckets=(0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 240, 480),
)
GATE_DROPPED = Counter(
    "recap_gate_dropped_claims",
    "Claims of the model the grounding gate dropped, by the part of the summary.",
    ["part"],
)
ERRORS = Counter(
    "recap_errors",
    "Activity errors by their typed ApplicationError type, retryable ones included.",
    ["type", "retryable"],
)
SESSIONS_COMPILED = Counter("recap_sessions_compiled", "Recordings compiled into a timeline.")
TIMELINE_TOKENS = Histogram(
    "recap_timeline_tokens",
    "Tokens of a compiled timeline, after the budget.",
    buckets=(250, 500, 1000, 2000, 4000, 6000, 8000, 12000, 16000, 32000),
)
SUMMARIES_REUSED = Counter(
    "recap_summaries_reused",
    "Sessions a batch skipped because a current summary was already stored.",
)
SUMMARIES_JOINED = Counter(
    "recap_summaries_joined",
    "Summary workflows a batch joined instead of starting, by how they ended.",
    ["status"],
)
MODEL_BUDGET_REFUSALS = Counter(
    "recap_model_budget_refusals",
    "Model calls refused because a team's daily budget was spent, by the limit reached.",
    ["limit"],
)
API_REQUESTS = Counter(
    "recap_api_requests",
    "API requests by method, route template and status.",
    ["method", "route", "status"],
)
API_LATENCY = Histogram(
    "recap_api_request_duration_seconds",
    "API request time by method and route template.",
    ["method", "route"],
)

# Anything else a client sends as a method is one label value, so it cannot grow the series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"


def session_compiled(tokens: int) -> None:
    SESSIONS_COMPILED.inc()
    TIMELINE_TOKENS.observe(tokens)


def summary_generated(
    *,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    latency_ms: int,
    dropped_parts: Iterable[str],
) -> None:
    """The model's side of a summary: tokens, latency and the parts the gate dropped."""
    if prompt_tokens:
        LLM_TOKENS.labels(kind="prompt").inc(prompt_tokens)
    if completion_tokens:
        LLM_TOKENS.labels(kind="completion").inc(completion_tokens)
    LLM_LATENCY.labels(purpose="summary").observe(latency_ms / 1000)
    for part in dropped_parts:
        GATE_DROPPED.labels(part=part).inc()


def summary_stored(*, success: bool) -> None:
    SUMMARIES.labels(outcome="success" if success else "failure").inc()


def cluster_named(latency_ms: int) -> None:
    LLM_LATENCY.labels(purpose="cluster_name").observe(latency_ms / 1000)


def error(error_type: str, *, retryable: bool) -> None:
    ERRORS.labels(type=error_type, retryable="true" if retryable else "false").inc()


def summaries_reused(count: int) -> None:
    SUMMARIES_REUSED.inc(count)


def summary_joined(status: str) -> None:
    SUMMARIES_JOINED.labels(status=status).inc()


def model_budget_refused(limit: str) -> None:
    """`limit` is `calls` or `tokens`: which of RECAP_TEAM_DAILY_MODEL_* was reached. The
    team is not a label (see above); `recap doctor` shows each team's usage."""
    MODEL_BUDGET_REFUSALS.labels(limit=limit).inc()


def api_request(method: str, route: str | None, status: int, seconds: float) -> None:
    """`route` is the matched route's template (`/api/projects/{project_id}/…`), never the
    raw path; None when no route matched."""
    method = method if method in _METHODS else "OTHER"
    route = route or UNMATCHED_ROUTE
    API_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    API_LATENCY.labels(method=method, route=route).observe(seconds)


def exposition() -> bytes:
    """The registry in Prometheus' text format, for GET /metrics."""
    return generate_latest(REGISTRY)


_servers: dict[tuple[str, int], WSGIServer] = {}
_servers_lock = threading.Lock()


def serve(host: str, port: int) -> WSGIServer:
    """Serves the registry on http://host:port/metrics from a daemon thread, once per
    process and address (the worker and `recap dev` may both ask)."""
    with _servers_lock:
        if (host, port) not in _servers:
            try:
                server, _thread = start_http_server(port, addr=host)
            except OSError as error:
                raise OSError(
                    f"cannot serve recap's metrics on {host}:{port} ({error}); free the port "
                    "or change RECAP_METRICS_PORT"
                ) from error
            _servers[(host, port)] = server
        return _servers[(host, port)]
