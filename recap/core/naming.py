"""Names that Temporal, the embedded stack and the CLI must agree on.

Plain strings only: this module is imported by code that must not import temporalio.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Final

# Workflow types started by name (Schedules, child workflows of another module).
SCHEDULED_WORKFLOW = "ScheduledSummariesWorkflow"
BATCH_WORKFLOW = "SummarizeSessionsIndividuallyWorkflow"
REPORT_WORKFLOW = "PatternReportWorkflow"

# Custom search attributes (all Keyword) operators filter on in the Temporal UI.
SEARCH_ATTRIBUTE_TEAM = "RecapTeamId"
SEARCH_ATTRIBUTE_SESSION = "RecapSessionId"
SEARCH_ATTRIBUTE_STATUS = "RecapStatus"
SEARCH_ATTRIBUTES: tuple[str, ...] = (
    SEARCH_ATTRIBUTE_TEAM,
    SEARCH_ATTRIBUTE_SESSION,
    SEARCH_ATTRIBUTE_STATUS,
)


def summary_workflow_id(team_id: str, session_id: str, focus_area: str | None = None) -> str:
    """Stable id, so a duplicate request attaches to the running workflow.

    Different focus areas are different summaries, so they get their own suffix.
    """
    base = f"session-summary:{team_id}:{session_id}"
    focus = " ".join((focus_area or "").split()).lower()
    if not focus:
        return base
    return f"{base}:focus-{hashlib.sha256(focus.encode()).hexdigest()[:10]}"


BATCH_ID_PREFIX = "session-batch"
CLUSTER_ID_PREFIX = "error-clusters"
SCHEDULED_ID_PREFIX = "scheduled-summaries"


def batch_workflow_id(team_id: str, batch_key: str) -> str:
    """One batch of session summaries; `batch_key` tells batches of one team apart."""
    return f"{BATCH_ID_PREFIX}:{team_id}:{batch_key}"


def scheduled_run_workflow_id(schedule_id: str) -> str:
    """A schedule's runs; Temporal appends each run's scheduled time to this id."""
    return f"{SCHEDULED_ID_PREFIX}:{schedule_id}"


def scheduled_batch_workflow_id(schedule_id: str, start: datetime, end: datetime) -> str:
    """The batch one scheduled run hands its recordings to, stable per schedule and window
    (end times from `start` to `end`): a replayed or retried start attaches, never doubles."""
    return (
        f"{scheduled_run_workflow_id(schedule_id)}:"
        f"{start.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}-{end.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}"
    )


def cluster_workflow_id(team_id: str, run_key: str) -> str:
    """One error-clustering run; `run_key` tells a team's runs apart."""
    return f"{CLUSTER_ID_PREFIX}:{team_id}:{run_key}"


DELIVERY_ID_PREFIX = "delivery"


def delivery_workflow_id(team_id: str, item_id: str) -> str:
    """Delivering one stored report or digest (ids "rp_…", "dg_…") to the team's
    destinations, one run per item at a time; a later run sends nothing already delivered."""
    return f"{DELIVERY_ID_PREFIX}:{team_id}:{item_id}"


DIGEST_WORKFLOW = "DigestWorkflow"
DIGEST_REPORT_ID_PREFIX = "digest-report"


def digest_report_workflow_id(team_id: str, schedule_id: str, period_end: datetime) -> str:
    """The pattern report of one digest period: a retried digest run attaches to it."""
    end = period_end.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{DIGEST_REPORT_ID_PREFIX}:{team_id}:{schedule_id}:{end}"


REPORT_ID_PREFIX = "pattern-report"


def report_workflow_id(team_id: str, key: str) -> str:
    """One pattern report run; `key` (`report_request_key`) is stable per request, so the
    same request attaches to the running report instead of starting a second."""
    return f"{REPORT_ID_PREFIX}:{team_id}:{key}"


def report_request_key(
    *,
    session_ids: list[str],
    focus_area: str | None,
    force: bool,
    selection: str | None = None,
    asked_at: datetime | None = None,
) -> str:
    """16 hex over what a report request asks: the sessions (in any order), or a selection
    (its parameters as JSON) and the minute it was asked; the focus area and force."""
    focus = " ".join((focus_area or "").split()).lower()
    parts = [focus, "force" if force else ""]
    if selection is None:
        parts += sorted(set(session_ids))
    else:
        minute = (asked_at or datetime.now(UTC)).astimezone(UTC)
        parts += [selection, f"{minute:%Y%m%dT%H%M}"]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def report_batch_workflow_id(team_id: str, report_workflow_id: str) -> str:
    """The batch a report summarizes its missing sessions in: stable per report run id,
    and listed among the team's batch jobs."""
    digest = hashlib.sha256(report_workflow_id.encode()).hexdigest()[:12]
    return batch_workflow_id(team_id, f"report-{digest}")


FUNNEL_WORKFLOW = "FunnelReportWorkflow"
FUNNEL_ID_PREFIX = "funnel-report"


def funnel_workflow_id(team_id: str, key: str) -> str:
    """One funnel report run; `key` (`funnel_request_key`) is stable per request."""
    return f"{FUNNEL_ID_PREFIX}:{team_id}:{key}"


def funnel_request_key(
    *,
    steps: list[str],
    session_ids: list[str],
    focus_area: str | None,
    force: bool,
    selection: str | None = None,
    asked_at: datetime | None = None,
) -> str:
    """16 hex over the steps (in order) and what `report_request_key` covers."""
    key = report_request_key(
        session_ids=session_ids,
        focus_area=focus_area,
        force=force,
        selection=selection,
        asked_at=asked_at,
    )
    return hashlib.sha256("\x00".join([key, *steps]).encode()).hexdigest()[:16]


JOURNEY_WORKFLOW = "PersonJourneyWorkflow"
JOURNEY_ID_PREFIX = "person-journey"


def journey_workflow_id(
    team_id: str, distinct_id: str, since_seconds: int, *, by_person_id: bool = False
) -> str:
    """One person's journey over a period: stable per team, person and period, so the
    same request while one runs attaches to it (the id is hashed: a distinct id may be an
    email or hold any character)."""
    kind = "person" if by_person_id else "distinct"
    key = "\x00".join([kind, distinct_id, str(since_seconds)])
    return f"{JOURNEY_ID_PREFIX}:{team_id}:{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def journey_batch_workflow_id(team_id: str, journey_workflow_id: str) -> str:
    """The batch a journey summarizes its person's missing sessions in: stable per
    journey run id, and listed among the team's batch jobs."""
    digest = hashlib.sha256(journey_workflow_id.encode()).hexdigest()[:12]
    return batch_workflow_id(team_id, f"journey-{digest}")


def job_team(workflow_id: str) -> str | None:
    """The team a batch, clustering, report, funnel or journey job id names, or None for
    any other id."""
    parts = workflow_id.split(":")
    if len(parts) != 3 or parts[0] not in JOB_ID_PREFIXES:
        return None
    return parts[1]


# The jobs `/api/jobs/{id}` and the jobs page follow; each id names its team.
JOB_ID_PREFIXES: Final = (
    BATCH_ID_PREFIX,
    CLUSTER_ID_PREFIX,
    REPORT_ID_PREFIX,
    FUNNEL_ID_PREFIX,
    JOURNEY_ID_PREFIX,
)
