"""A digest: one period's pattern report compared with the schedule's previous one, and
the error clusters first seen in the period, all by code; stored like a report."""

from __future__ import annotations

import hashlib
from datetime import datetime

from recap.reports import compare
from recap.reports.models import Digest, NewErrorCluster
from recap.store.clusters import ClusterStore
from recap.store.reports import ReportStore
from recap.store.repository import SummaryStore

# The clusters a digest lists as new: at most this many, most sessions first.
NEW_CLUSTERS_MAX = 10


class DigestReportMissing(LookupError):
    """The period's report is not in the store (it was never stored, or another team's)."""

    code = "report_missing"


def digest_id(team_id: str, schedule_id: str, period_end: datetime) -> str:
    """Stable per schedule and period: a retried run writes the same digest again."""
    key = f"{team_id}\x00{schedule_id}\x00{period_end.isoformat()}"
    return "dg_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def make_digest(
    store: SummaryStore,
    *,
    team_id: str,
    schedule_id: str,
    period_start: datetime,
    period_end: datetime,
    report_id: str,
) -> Digest:
    """Compares the period's stored report with the schedule's previous digest (one whose
    period ended by the middle of this one, so a run a little late still finds it), lists
    the team's error clusters first seen in the period, and stores the digest."""
    reports = ReportStore(store)
    report = reports.report(team_id, report_id)
    if report is None:
        raise DigestReportMissing(f"report {report_id} of team {team_id} is not stored")
    halfway = period_start + (period_end - period_start) / 2
    previous = reports.previous_digest(team_id, schedule_id, halfway)
    changes = compare(previous.report if previous else None, report)
    start_ms = int(period_start.timestamp() * 1000)
    end_ms = int(period_end.timestamp() * 1000)
    fresh = [
        cluster
        for cluster in ClusterStore(store).load_clusters(team_id)
        if cluster.first_seen_ms is not None and start_ms <= cluster.first_seen_ms <= end_ms
    ]
    fresh.sort(key=lambda cluster: (-cluster.sessions_affected, cluster.cluster_id))
    new_clusters = [
        NewErrorCluster(
            cluster_id=cluster.cluster_id,
            title=cluster.title,
            sessions_affected=cluster.sessions_affected,
        )
        for cluster in fresh[:NEW_CLUSTERS_MAX]
    ]
    noteworthy = any(change.change in ("new", "rising") for change in changes)
    digest = Digest(
        digest_id=digest_id(team_id, schedule_id, period_end),
        team_id=team_id,
        schedule_id=schedule_id,
        period_start=period_start,
        period_end=period_end,
        report=report,
        previous_report_id=previous.report.report_id if previous else None,
        changes=changes,
        new_clusters=new_clusters,
        quiet=not noteworthy and not new_clusters,
    )
    reports.save_digest(digest)
    return digest
