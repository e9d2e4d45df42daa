"""Activities of error clustering: thin adapters over `recap.services.clusters` that list a
team's sessions, extract each session's errors, cluster the team's errors, name clusters
with the model, and store the names.

Occurrences and clusters travel through the store; payloads carry ids and counts only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel
from temporalio import activity

from activities.errors import typed_errors
from activities.heartbeat import beat_per_block, heartbeating
from recap.clustering.naming import NamedCluster
from recap.core import metrics
from recap.core.config import Settings
from recap.core.logging import get_logger
from recap.llm.client import ChatModel
from recap.services import clusters as clustering
from recap.services.bootstrap import SourceOpener
from recap.services.budget import ModelBudget
from recap.store.clusters import ClusterStore
from recap.store.repository import SummaryStore

__all__ = [
    "ClusterActivities",
    "ClusterTeamErrorsInput",
    "ClusteredErrors",
    "ExtractSessionErrorsInput",
    "ExtractedErrors",
    "ListTeamSessionsInput",
    "NameErrorClusterInput",
    "NamedCluster",
    "SaveClusterNamesInput",
    "SavedClusterNames",
    "TeamSessions",
]

log = get_logger(__name__)


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


class ClusterActivities:
    """`name_error_cluster` runs on the model's queue; the rest on the main one."""

    def __init__(
        self,
        settings: Settings,
        store: SummaryStore,
        clusters: ClusterStore,
        open_source: SourceOpener,
        chat_model: Callable[[], ChatModel],
        budget: ModelBudget | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._clusters = clusters
        self._open_source = open_source
        self._chat_model = chat_model
        # Naming a cluster is a model call too: it counts against the team's daily calls.
        self._budget = budget or ModelBudget.from_settings(settings, store)

    @activity.defn(name="list_team_sessions")
    def list_team_sessions(self, request: ListTeamSessionsInput) -> TeamSessions:
        """The team's sessions with a stored timeline or summary in the date range."""
        with typed_errors():
            session_ids = clustering.team_sessions(
                self._store, request.team_id, since=request.date_from, until=request.date_to
            )
        return TeamSessions(session_ids=session_ids, llm_task_queue=self._settings.llm_task_queue)

    @activity.defn(name="extract_session_errors")
    def extract_session_errors(self, request: ExtractSessionErrorsInput) -> ExtractedErrors:
        """Reuses the session's stored timeline (or compiles the recording once) and saves
        the errors on it as occurrences."""
        with typed_errors():
            extracted = clustering.extract_session_errors(
                team_id=request.team_id,
                session_id=request.session_id,
                focus_area=request.focus_area,
                run_id=activity.info().workflow_id or "",
                store=self._store,
                clusters=self._clusters,
                open_source=lambda: self._open_source(
                    request.source, team_id=request.team_id, progress=beat_per_block
                ),
                max_tokens=self._settings.timeline_max_tokens,
                config=self._settings.timeline,
            )
        if extracted.compiled is not None:
            metrics.session_compiled(extracted.compiled.tokens)
        occurrences = extracted.occurrences
        log.info(
            "session errors extracted",
            team_id=request.team_id,
            session_id=request.session_id,
            occurrences=len(occurrences),
            compiled=extracted.compiled is not None,
        )
        return ExtractedErrors(
            session_id=request.session_id,
            occurrences=len(occurrences),
            fingerprints=len({o.fingerprint for o in occurrences}),
            compiled=extracted.compiled is not None,
        )

    @activity.defn(name="cluster_team_errors")
    def cluster_team_errors(self, request: ClusterTeamErrorsInput) -> ClusteredErrors:
        """Re-clusters all of the team's occurrences, keeping earlier clusters' ids and names."""
        with typed_errors():
            found = clustering.recluster_team(self._clusters, request.team_id, request.session_ids)
        log.info(
            "team errors clustered",
            team_id=request.team_id,
            occurrences=found.occurrences,
            clusters=len(found.clusters),
            to_name=len(found.to_name),
        )
        return ClusteredErrors(
            cluster_ids=[cluster.cluster_id for cluster in found.clusters],
            to_name=found.to_name,
            touched=found.touched,
            occurrences=found.occurrences,
            llm_task_queue=self._settings.llm_task_queue,
        )

    @activity.defn(name="name_error_cluster")
    async def name_error_cluster(self, request: NameErrorClusterInput) -> NamedCluster:
        """One model call for one cluster's title, impact and severity (gated, not stored:
        `save_cluster_names` stores a run's names in one write)."""
        with typed_errors():
            await asyncio.to_thread(self._budget.reserve, request.team_id)
        model = self._chat_model()
        try:
            async with heartbeating():
                with typed_errors():
                    named = await clustering.name_team_cluster(
                        self._clusters,
                        model,
                        team_id=request.team_id,
                        cluster_id=request.cluster_id,
                        focus_area=request.focus_area,
                    )
        finally:
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
    def save_cluster_names(self, request: SaveClusterNamesInput) -> SavedClusterNames:
        """Writes the names onto the team's current clusters (one read and one write, so
        concurrent model calls never overwrite each other's names)."""
        with typed_errors():
            saved = clustering.save_cluster_names(self._clusters, request.team_id, request.names)
        return SavedClusterNames(saved=saved.saved, missing=saved.missing)
