"""The team's error clusters, most sessions affected first, each with its occurrences per
day as a sparkline; one cluster's page with all its sessions; and the sessions most like
one session, for the session page.

Every number comes from the stored clusters and occurrences: the model only named them."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from recap.api.ui.common import UiState, not_found, page, page_number, team_page, ui_state
from recap.api.ui.sparkline import sparkline, sparkline_label
from recap.clustering.models import ErrorCluster, ErrorOccurrence
from recap.services.similar import UnknownSession, similar_in_team
from recap.store.clusters import ClusterStore
from recap.store.repository import StoredSummary

PAGE_SIZE: Final = 20
SESSIONS_PAGE_SIZE: Final = 50
# Sessions linked from a cluster's row; the rest are on the cluster's page.
SHOWN_SESSIONS: Final = 3
# The sparkline has at most this many points: a longer span counts several days per point.
MAX_POINTS: Final = 60
SPARK_WIDTH: Final = 120
SPARK_HEIGHT: Final = 28
_CLUSTER_ID = re.compile(r"ec_[0-9a-f]{12}")


def router() -> APIRouter:
    routes = APIRouter(prefix="/ui", include_in_schema=False)
    routes.add_api_route("/{project_id}/clusters", clusters_page, methods=["GET"])
    routes.add_api_route("/{project_id}/clusters/{cluster_id}", cluster_page, methods=["GET"])
    return routes


@dataclass(frozen=True)
class OccurrenceSeries:
    """A cluster's occurrences counted per bucket of `days` UTC days from `start`; those
    without a known time are `untimed`."""

    start: date | None
    days: int
    counts: list[int]
    untimed: int

    @property
    def unit(self) -> str:
        return "day" if self.days == 1 else f"{self.days} days"

    @property
    def end(self) -> date | None:
        if self.start is None:
            return None
        return self.start + timedelta(days=self.days * len(self.counts) - 1)


def occurrence_series(
    occurrences: Iterable[ErrorOccurrence], max_points: int = MAX_POINTS
) -> OccurrenceSeries:
    """Occurrences (each weighted by the identical events it stands for) per UTC day from
    the first day one was seen to the last, days merged into buckets when the span is
    longer than `max_points` days."""
    per_day: dict[date, int] = {}
    untimed = 0
    for occurrence in occurrences:
        if occurrence.timestamp_ms is None:
            untimed += occurrence.count
            continue
        day = datetime.fromtimestamp(occurrence.timestamp_ms / 1000, UTC).date()
        per_day[day] = per_day.get(day, 0) + occurrence.count
    if not per_day:
        return OccurrenceSeries(start=None, days=1, counts=[], untimed=untimed)
    first, last = min(per_day), max(per_day)
    span = (last - first).days + 1
    days = max(1, math.ceil(span / max_points))
    counts = [0] * math.ceil(span / days)
    for day, count in per_day.items():
        counts[(day - first).days // days] += count
    return OccurrenceSeries(start=first, days=days, counts=counts, untimed=untimed)


@dataclass(frozen=True)
class ClusterView:
    """One cluster as the pages show it."""

    cluster_id: str
    kind: str
    # The model's name, else the most seen message: `named` tells which.
    title: str
    named: bool
    sessions_affected: int
    occurrences: int
    first_seen: str | None
    last_seen: str | None
    series: OccurrenceSeries
    spark: Markup | None
    spark_text: str | None
    failed_percent: int | None
    severity: str | None
    impact: str | None
    shown_sessions: list[str]
    more_sessions: int
    cluster: ErrorCluster = field(repr=False)


def _when(epoch_ms: int | None) -> str | None:
    if epoch_ms is None:
        return None
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def cluster_name(cluster: ErrorCluster) -> str:
    """The cluster's title, else its most seen message, else its id."""
    if cluster.title:
        return cluster.title
    if cluster.sample_messages:
        return cluster.sample_messages[0]
    return cluster.cluster_id


def _first_sessions(cluster: ErrorCluster, count: int) -> list[str]:
    """The sessions that hit the error first, then the others by id."""
    ordered = list(dict.fromkeys([*cluster.sample_session_ids, *cluster.session_ids]))
    return ordered[:count]


def cluster_view(cluster: ErrorCluster, occurrences: Sequence[ErrorOccurrence]) -> ClusterView:
    """`cluster` with its series over time, from `occurrences` (those of its fingerprints)."""
    mine = set(cluster.fingerprints)
    series = occurrence_series(o for o in occurrences if o.fingerprint in mine)
    spark = spark_text = None
    if series.counts:
        spark_text = (
            f"{sparkline_label(series.counts, series.unit)}, from {series.start:%Y-%m-%d}"
            f" to {series.end:%Y-%m-%d}"
        )
        spark = sparkline(series.counts, SPARK_WIDTH, SPARK_HEIGHT, spark_text)
    shown = _first_sessions(cluster, SHOWN_SESSIONS)
    return ClusterView(
        cluster_id=cluster.cluster_id,
        kind=cluster.kind.value,
        title=cluster_name(cluster),
        named=bool(cluster.title),
        sessions_affected=cluster.sessions_affected,
        occurrences=cluster.occurrences,
        first_seen=_when(cluster.first_seen_ms),
        last_seen=_when(cluster.last_seen_ms),
        series=series,
        spark=spark,
        spark_text=spark_text,
        failed_percent=None if cluster.failed_ratio is None else round(cluster.failed_ratio * 100),
        severity=cluster.severity,
        impact=cluster.impact,
        shown_sessions=shown,
        more_sessions=max(0, len(cluster.session_ids) - len(shown)),
        cluster=cluster,
    )


def _page_views(ui: UiState, team_id: str, number: int) -> tuple[list[ClusterView], int]:
    """The views of page `number` of the team's clusters, and how many clusters it has."""
    clusters = ClusterStore(ui.store)
    found = clusters.load_clusters(team_id)
    shown = found[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    fingerprints = [fingerprint for cluster in shown for fingerprint in cluster.fingerprints]
    occurrences = clusters.occurrences_of(team_id, fingerprints) if fingerprints else []
    return [cluster_view(cluster, occurrences) for cluster in shown], len(found)


async def clusters_page(request: Request, project_id: str) -> Response:
    """`/ui/{project_id}/clusters`: the team's error clusters, most sessions affected first."""
    ui = ui_state(request)
    session = await team_page(request, project_id)
    if isinstance(session, Response):
        return session
    number = page_number(request.query_params.get("page"))
    views, count = await asyncio.to_thread(_page_views, ui, project_id, number)
    return page(
        request,
        "clusters.html",
        {
            "team_id": project_id,
            "clusters": views,
            "count": count,
            "page": number,
            "pages": max(1, -(-count // PAGE_SIZE)),
        },
        session=session,
    )


@dataclass(frozen=True)
class SessionLine:
    """A session of a cluster, with what its summary says when there is one."""

    session_id: str
    title: str | None
    outcome: Literal["success", "failure"] | None
    outcome_text: str | None


def _session_line(session_id: str, stored: StoredSummary | None) -> SessionLine:
    summary = stored.summary if stored is not None else None
    outcome = stored.summary_outcome if stored is not None else None
    return SessionLine(
        session_id=session_id,
        title=summary.title if summary is not None else None,
        outcome=None if outcome is None else ("success" if outcome.success else "failure"),
        outcome_text=outcome.description if outcome is not None else None,
    )


def _one_cluster(
    ui: UiState, team_id: str, cluster_id: str, number: int
) -> tuple[ClusterView, list[SessionLine]] | None:
    clusters = ClusterStore(ui.store)
    cluster = next((c for c in clusters.load_clusters(team_id) if c.cluster_id == cluster_id), None)
    if cluster is None:
        return None
    view = cluster_view(cluster, clusters.occurrences_of(team_id, cluster.fingerprints))
    ordered = list(dict.fromkeys([*cluster.sample_session_ids, *cluster.session_ids]))
    shown = ordered[(number - 1) * SESSIONS_PAGE_SIZE : number * SESSIONS_PAGE_SIZE]
    summaries = ui.store.recording_summaries(team_id=team_id, session_ids=shown)
    return view, [_session_line(each, summaries.get(each)) for each in shown]


async def cluster_page(request: Request, project_id: str, cluster_id: str) -> Response:
    """`/ui/{project_id}/clusters/{cluster_id}`: one cluster, with all its sessions."""
    ui = ui_state(request)
    session = await team_page(request, project_id)
    if isinstance(session, Response):
        return session
    if _CLUSTER_ID.fullmatch(cluster_id) is None:
        return not_found(request, session)
    number = page_number(request.query_params.get("page"))
    found = await asyncio.to_thread(_one_cluster, ui, project_id, cluster_id, number)
    if found is None:
        return not_found(request, session)
    view, sessions = found
    count = len(view.cluster.session_ids)
    return page(
        request,
        "cluster.html",
        {
            "team_id": project_id,
            "c": view,
            "sessions": sessions,
            "count": count,
            "page": number,
            "pages": max(1, -(-count // SESSIONS_PAGE_SIZE)),
        },
        session=session,
    )


# -- similar sessions, for the session page ----------------------------------------------


@dataclass(frozen=True)
class SimilarSessionView:
    """A session like the one on the page, and why: the error clusters both hit, and the
    cosine score of their documents (summary words, signals, error fingerprints)."""

    session_id: str
    title: str | None
    outcome: Literal["success", "failure"] | None
    outcome_text: str | None
    score: float
    shared_clusters: list[str]

    @property
    def why(self) -> str:
        """The reason in words, for the page."""
        score = f"similarity {self.score:.2f}"
        if not self.shared_clusters:
            return score
        shown = ", ".join(f"“{name}”" for name in self.shared_clusters[:3])
        more = len(self.shared_clusters) - 3
        errors = f"{shown} and {more} more" if more > 0 else shown
        return f"same errors: {errors}; {score}"


def _similar(ui: UiState, team_id: str, session_id: str, limit: int) -> list[SimilarSessionView]:
    try:
        matches, summaries = similar_in_team(ui.store, team_id, session_id, limit)
    except UnknownSession:
        return []
    if not matches:
        return []
    # The clusters the session hit: their names, and their sessions as a set for each match.
    hit = [
        (cluster_name(cluster), set(cluster.session_ids))
        for cluster in ClusterStore(ui.store).load_clusters(team_id)
        if session_id in cluster.session_ids
    ]
    views = []
    for match in matches:
        summary = summaries.get(match.session_id)
        outcome = summary.summary_outcome if summary is not None else None
        views.append(
            SimilarSessionView(
                session_id=match.session_id,
                title=summary.title if summary is not None else None,
                outcome=None if outcome is None else ("success" if outcome.success else "failure"),
                outcome_text=outcome.description if outcome is not None else None,
                score=match.score,
                shared_clusters=list(
                    dict.fromkeys(name for name, ids in hit if match.session_id in ids)
                ),
            )
        )
    return views


async def similar_sessions(
    ui: UiState, team_id: str, session_id: str, limit: int = 5
) -> list[SimilarSessionView]:
    """The team's stored sessions most like `session_id`, best first, each with its title,
    outcome and why it is alike; empty when the session has nothing stored to compare."""
    return await asyncio.to_thread(_similar, ui, team_id, session_id, limit)
