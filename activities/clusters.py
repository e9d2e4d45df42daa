"""Activities of error clustering: list a team's sessions, extract each session's errors,
cluster the team's errors, name clusters with the model, and store the names.

Occurrences and clusters travel through the store; payloads carry ids and counts only.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import datetime

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import typed_errors
from recap.clustering.cluster import cluster_errors
from recap.clustering.extract import extract_errors
from recap.clustering.naming import ClusterName, NamedCluster, name_cluster, needs_name
from recap.core import metrics
from recap.core.config import get_settings
from recap.core.logging import get_logger
from recap.services import summary as pipeline
from recap.services.bootstrap import chat_model, open_source
from recap.store.clusters import clusters_for
from recap.store.repository import store_for
from recap.store.session_index import SessionIndex

log = get_logger(__name__)

HEARTBEAT_SECONDS = 5.0


class ListTeamSessionsInput(BaseModel):
    team_id: str
    date_from: datetime | None = None
    date_to: datetime | None = None


class TeamSessions(BaseModel):
    session_ids: list[str]
    # The worker's configured model queue, for runs whose starter did not name one.
    llm_task_queue: str


class ExtractSessionErrorsInput(BaseModel):
    team_id: str
    session_id: str
    # "files:DIR" or "posthog", used only when no timeline is stored; None: RECAP_SOURCE.
    source: str | None = None
    # Whose summary says whether the session failed; the plain summary when it has none.
    focus_area: str | None = None


class ExtractedErrors(BaseModel):
    session_id: str
    occurrences: int
    fingerprints: int
    # False when a stored timeline was reused.
    compiled: bool


class ClusterTeamErrorsInput(BaseModel):
    team_id: str
    # This run's sessions; the team's clusters are recomputed over all its occurrences.
    session_ids: list[str]


class ClusteredErrors(BaseModel):
    cluster_ids: list[str]  # sorted by sessions affected, most first
    # New clusters, or clusters that changed enough to deserve a new name, most affected first.
    to_name: list[str]
    # Clusters that hold at least one session of this run.
    touched: int
    occurrences: int
    llm_task_queue: str


class NameErrorClusterInput(BaseModel):
    team_id: str
    cluster_id: str
    focus_area: str | None = None


class SaveClusterNamesInput(BaseModel):
    team_id: str
    names: list[NamedCluster]


class SavedClusterNames(BaseModel):
    saved: int
    # Clusters that disappeared since they were named (a later run re-clustered the team).
    missing: list[str]


@activity.defn(name="list_team_sessions")
def list_team_sessions(request: ListTeamSessionsInput) -> TeamSessions:
    """The team's sessions with a stored timeline or summary in the date range."""
    settings = get_settings()
    with typed_errors():
        index = SessionIndex(store_for(settings.resolved_database_url))
        session_ids = index.session_ids(
            request.team_id, since=request.date_from, until=request.date_to
        )
    return TeamSessions(session_ids=session_ids, llm_task_queue=settings.llm_task_queue)


@activity.defn(name="extract_session_errors")
def extract_session_errors(request: ExtractSessionErrorsInput) -> ExtractedErrors:
    """Reuses the session's stored timeline (or compiles the recording once) and saves the
    errors on it as occurrences."""
    settings = get_settings()
    store = store_for(settings.resolved_database_url)
    with typed_errors():
        stored_summary = store.get_summary(
            team_id=request.team_id, session_id=request.session_id, focus_area=request.focus_area
        )
        if stored_summary is None and request.focus_area:
            stored_summary = store.get_summary(
                team_id=request.team_id, session_id=request.session_id
            )
        summary = stored_summary.summary if stored_summary else None
        stored = SessionIndex(store).latest_timeline(request.team_id, request.session_id, summary)
        compiled = stored is None
        if stored is None:
            source = open_source(
                request.source or settings.source,
                settings,
                progress=lambda progress: activity.heartbeat(
                    progress.blocks_done, progress.blocks_total
                ),
            )
            result = pipeline.compile_session(
                team_id=request.team_id,
                session_id=request.session_id,
                source=source,
                store=store,
                max_tokens=settings.timeline_max_tokens,
                config=settings.timeline,
            )
            metrics.session_compiled(result.tokens)
            stored = store.load_timeline(result.timeline_hash)
            if stored is None:
                raise pipeline.TimelineMissing(
                    f"compiled timeline {result.timeline_hash} is not in the store"
                )
        failed_outcome = None if summary is None else not summary.summary_outcome.success
        occurrences = extract_errors(stored.timeline, failed_outcome=failed_outcome)
        clusters_for(settings.resolved_database_url).save_occurrences(
            request.team_id, activity.info().workflow_id or "", occurrences
        )
    log.info(
        "session errors extracted",
        team_id=request.team_id,
        session_id=request.session_id,
        occurrences=len(occurrences),
        compiled=compiled,
    )
    return ExtractedErrors(
        session_id=request.session_id,
        occurrences=len(occurrences),
        fingerprints=len({o.fingerprint for o in occurrences}),
        compiled=compiled,
    )


@activity.defn(name="cluster_team_errors")
def cluster_team_errors(request: ClusterTeamErrorsInput) -> ClusteredErrors:
    """Re-clusters all of the team's occurrences, keeping earlier clusters' ids and names."""
    settings = get_settings()
    with typed_errors():
        clusters = clusters_for(settings.resolved_database_url)
        previous = clusters.load_clusters(request.team_id)
        occurrences = clusters.load_occurrences(request.team_id)
        current = cluster_errors(request.team_id, occurrences, previous=previous)
        clusters.save_clusters(request.team_id, current)
    earlier = {cluster.cluster_id: cluster for cluster in previous}
    this_run = set(request.session_ids)
    to_name = [
        cluster.cluster_id
        for cluster in current
        if needs_name(cluster, earlier.get(cluster.cluster_id))
    ]
    touched = sum(1 for cluster in current if this_run.intersection(cluster.session_ids))
    log.info(
        "team errors clustered",
        team_id=request.team_id,
        occurrences=len(occurrences),
        clusters=len(current),
        to_name=len(to_name),
    )
    return ClusteredErrors(
        cluster_ids=[cluster.cluster_id for cluster in current],
        to_name=to_name,
        touched=touched,
        occurrences=len(occurrences),
        llm_task_queue=settings.llm_task_queue,
    )


async def _heartbeat_forever() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_SECONDS)


@activity.defn(name="name_error_cluster")
async def name_error_cluster(request: NameErrorClusterInput) -> NamedCluster:
    """One model call for one cluster's title, impact and severity (gated, not stored:
    `save_cluster_names` stores a run's names in one write)."""
    settings = get_settings()
    clusters = clusters_for(settings.resolved_database_url)
    found = await asyncio.to_thread(clusters.load_clusters, request.team_id)
    cluster = next((c for c in found if c.cluster_id == request.cluster_id), None)
    if cluster is None:
        metrics.error("cluster_missing", retryable=False)
        raise ApplicationError(
            f"error cluster {request.cluster_id} of team {request.team_id} is not in the store; "
            "a later clustering run may have replaced it",
            type="cluster_missing",
            non_retryable=True,
        )
    model = chat_model(settings)
    heartbeat = asyncio.create_task(_heartbeat_forever())
    try:
        with typed_errors():
            named = await name_cluster(cluster, model, focus_area=request.focus_area)
    finally:
        heartbeat.cancel()
        with suppress(asyncio.CancelledError):
            await heartbeat
        await model.close()
    metrics.cluster_named(named.latency_ms)
    log.info(
        "error cluster named",
        team_id=request.team_id,
        cluster_id=request.cluster_id,
        model=named.model,
        latency_ms=named.latency_ms,
    )
    return named


@activity.defn(name="save_cluster_names")
def save_cluster_names(request: SaveClusterNamesInput) -> SavedClusterNames:
    """Writes the names onto the team's current clusters (one read and one write, so
    concurrent model calls never overwrite each other's names)."""
    settings = get_settings()
    names: dict[str, ClusterName] = {named.cluster_id: named.name for named in request.names}
    with typed_errors():
        clusters = clusters_for(settings.resolved_database_url)
        current = clusters.load_clusters(request.team_id)
        updated = [
            cluster.model_copy(update=names[cluster.cluster_id].model_dump())
            if cluster.cluster_id in names
            else cluster
            for cluster in current
        ]
        clusters.save_clusters(request.team_id, updated)
    present = {cluster.cluster_id for cluster in current}
    return SavedClusterNames(
        saved=len(present.intersection(names)),
        missing=sorted(set(names) - present),
    )


CLUSTER_ACTIVITIES = (
    list_team_sessions,
    extract_session_errors,
    cluster_team_errors,
    name_error_cluster,
    save_cluster_names,
)
# The model call runs on the model's task queue; the rest on the main one.
CLUSTER_MODEL_ACTIVITIES = (name_error_cluster,)
CLUSTER_PIPELINE_ACTIVITIES = (
    list_team_sessions,
    extract_session_errors,
    cluster_team_errors,
    save_cluster_names,
)
