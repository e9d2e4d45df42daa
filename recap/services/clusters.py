"""Error clustering as use cases: which sessions a team has, the errors of one session (from
its stored timeline, or compiled once), the team's clusters recomputed, one cluster named by
the model, and a run's names stored. Each takes its stores, source and model as parameters.

Occurrences and clusters live in the store; callers pass ids and get counts back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from recap.clustering.cluster import cluster_errors
from recap.clustering.extract import extract_errors
from recap.clustering.models import ErrorCluster, ErrorOccurrence
from recap.clustering.naming import ClusterName, NamedCluster, name_cluster, needs_name
from recap.core.config import TimelineConfig
from recap.llm.client import ChatModel
from recap.recording.models import SnapshotSource
from recap.services.compiled import CompiledTimeline
from recap.services.similar import refresh_session_document
from recap.services.summary import TimelineMissing, compile_session
from recap.store.clusters import ClusterStore
from recap.store.repository import SummaryStore
from recap.store.session_index import SessionIndex


class ClusterMissing(Exception):
    """A cluster to name is gone: a later clustering run of the team replaced it."""

    code = "cluster_missing"


def team_sessions(
    store: SummaryStore, team_id: str, *, since: datetime | None, until: datetime | None
) -> list[str]:
    """The team's sessions with a stored timeline or summary in [since, until)."""
    return SessionIndex(store).session_ids(team_id, since=since, until=until)


@dataclass(frozen=True)
class SessionErrors:
    occurrences: list[ErrorOccurrence]
    # The timeline compiled for this extraction; None when a stored one was reused.
    compiled: CompiledTimeline | None


def extract_session_errors(
    *,
    team_id: str,
    session_id: str,
    focus_area: str | None,
    run_id: str,
    store: SummaryStore,
    clusters: ClusterStore,
    open_source: Callable[[], SnapshotSource],
    max_tokens: int,
    config: TimelineConfig,
) -> SessionErrors:
    """Reuses the session's stored timeline (or compiles the recording once, from the source
    `open_source` opens) and saves the errors on it as occurrences of run `run_id`.

    The summary for `focus_area` (else the plain one) says whether the session failed."""
    stored_summary = store.get_summary(
        team_id=team_id, session_id=session_id, focus_area=focus_area
    )
    if stored_summary is None and focus_area:
        stored_summary = store.get_summary(team_id=team_id, session_id=session_id)
    summary = stored_summary.summary if stored_summary else None
    stored = SessionIndex(store).latest_timeline(team_id, session_id, summary)
    compiled = None
    if stored is None:
        compiled = compile_session(
            team_id=team_id,
            session_id=session_id,
            source=open_source(),
            store=store,
            max_tokens=max_tokens,
            config=config,
        )
        stored = store.load_timeline(compiled.timeline_hash)
        if stored is None:
            raise TimelineMissing(f"compiled timeline {compiled.timeline_hash} is not in the store")
    failed_outcome = None if summary is None else not summary.summary_outcome.success
    occurrences = extract_errors(stored.timeline, failed_outcome=failed_outcome)
    clusters.save_occurrences(team_id, run_id, occurrences, sessions=[session_id])
    # The session's fingerprints (and, when compiled just now, its timeline) are part of
    # what similar sessions compare it on.
    refresh_session_document(store, team_id, session_id, timeline=stored)
    return SessionErrors(occurrences=occurrences, compiled=compiled)


@dataclass(frozen=True)
class TeamClusters:
    clusters: list[ErrorCluster]  # sorted by sessions affected, most first
    # New clusters, or clusters that changed enough to deserve a new name, most affected first.
    to_name: list[str]
    # Clusters that hold at least one of the given sessions.
    touched: int
    occurrences: int


def recluster_team(clusters: ClusterStore, team_id: str, session_ids: list[str]) -> TeamClusters:
    """Re-clusters all of the team's occurrences, keeping earlier clusters' ids and names;
    `session_ids` (a run's sessions) only decide which clusters count as touched."""
    previous = clusters.load_clusters(team_id)
    occurrences = clusters.load_occurrences(team_id)
    current = cluster_errors(team_id, occurrences, previous=previous)
    clusters.save_clusters(team_id, current)
    earlier = {cluster.cluster_id: cluster for cluster in previous}
    this_run = set(session_ids)
    return TeamClusters(
        clusters=current,
        to_name=[
            cluster.cluster_id
            for cluster in current
            if needs_name(cluster, earlier.get(cluster.cluster_id))
        ],
        touched=sum(1 for cluster in current if this_run.intersection(cluster.session_ids)),
        occurrences=len(occurrences),
    )


async def name_team_cluster(
    clusters: ClusterStore,
    model: ChatModel,
    *,
    team_id: str,
    cluster_id: str,
    focus_area: str | None,
) -> NamedCluster:
    """One model call for one cluster's title, impact and severity (gated, not stored:
    `save_cluster_names` stores a run's names in one write)."""
    found = await asyncio.to_thread(clusters.load_clusters, team_id)
    cluster = next((c for c in found if c.cluster_id == cluster_id), None)
    if cluster is None:
        raise ClusterMissing(
            f"error cluster {cluster_id} of team {team_id} is not in the store; "
            "a later clustering run may have replaced it"
        )
    return await name_cluster(cluster, model, focus_area=focus_area)


@dataclass(frozen=True)
class SavedNames:
    saved: int
    # Clusters that disappeared since they were named (a later run re-clustered the team).
    missing: list[str]


def save_cluster_names(
    clusters: ClusterStore, team_id: str, named: list[NamedCluster]
) -> SavedNames:
    """Writes the names onto the team's current clusters (one read and one write, so
    concurrent model calls never overwrite each other's names)."""
    names: dict[str, ClusterName] = {each.cluster_id: each.name for each in named}
    current = clusters.load_clusters(team_id)
    updated = [
        cluster.model_copy(update=names[cluster.cluster_id].model_dump())
        if cluster.cluster_id in names
        else cluster
        for cluster in current
    ]
    clusters.save_clusters(team_id, updated)
    present = {cluster.cluster_id for cluster in current}
    return SavedNames(saved=len(present.intersection(names)), missing=sorted(set(names) - present))
