"""A stored journey made by hand (no sessions, no model), for tests that need one in the
store: the API's routes, the store's latest-per-person answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from recap.journeys import Journey, JourneyCounts, JourneyFindings, JourneyRun
from recap.reports.prompting import StepUsage
from recap.services.journeys import StoredJourney

AT = datetime(2025, 11, 24, 12, tzinfo=UTC)


def stored_journey(
    team: str, journey_id: str, distinct_id: str, created_at: datetime = AT
) -> StoredJourney:
    return StoredJourney(
        journey_id=journey_id,
        team_id=team,
        distinct_id=distinct_id,
        by_person_id=False,
        since_seconds=86_400,
        window_start=created_at - timedelta(days=1),
        window_end=created_at,
        truncated=False,
        sessions_found=0,
        created_at=created_at,
        usage=StepUsage(),
        journey=Journey(
            distinct_id=distinct_id,
            counts=JourneyCounts(sessions=0, succeeded=0, failed=0, unknown=0, total_duration_ms=0),
            sessions=[],
            findings=JourneyFindings(),
            run=JourneyRun(prompt_version="v", calls=0, windows=[]),
        ),
    )
