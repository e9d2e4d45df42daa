"""Selecting a person's sessions and storing journeys, without Temporal: a files source
gives the recordings whose own distinct id is the person's, within the period, the newest
kept up to the cap (said in the result); a selection by PostHog person id finds nothing in
files; the store answers the latest journey per team and person, and nothing to another
team."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from pydantic import SecretStr

from recap.core.config import Settings
from recap.demo.recordings import GeneratedSession
from recap.services.bootstrap import source_opener
from recap.services.journeys import (
    PersonSelection,
    latest_journey,
    save_journey,
    select_person_sessions,
    stored_journey,
)
from recap.store.repository import store_for
from tests.support.journey_fixtures import DISTINCT_ID, PLAN, generate, start_ms
from tests.support.journey_samples import stored_journey as sample
from tests.support.posthog_double import posthog_double

OTHER_SESSION = "019a5f00-0000-7000-8000-0000000be0f2"
# Two days after her last session, at noon.
NOW = datetime(2025, 11, 24, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Her twelve recordings and one of another person, as files (never compiled here)."""
    root = tmp_path_factory.mktemp("journey-selection")
    for index in range(len(PLAN)):
        generate(index).write_as(root, "export")
    visit = generate(6)
    other = {**visit.person, "distinct_id": "bo@example.com", "distinct_ids": ["bo@example.com"]}
    GeneratedSession(OTHER_SESSION, other, visit.events, visit.truth).write_as(root, "export")
    return root


def _settings(root: Path, directory: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{root / 'recap.db'}",
        data_dir=root / "data",
        source=f"files:{directory}",
    )


async def _select(
    settings: Settings, *, since: timedelta, cap: int = 200, by_person_id: bool = False
) -> PersonSelection:
    return await select_person_sessions(
        team_id="team-a",
        source=None,
        distinct_id=DISTINCT_ID,
        by_person_id=by_person_id,
        since_seconds=int(since.total_seconds()),
        now=NOW,
        max_sessions=cap,
        settings=settings,
        sources=source_opener(settings),
    )


async def test_files_give_her_recordings_in_the_period_oldest_first(
    directory: Path, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, directory)
    everything = await _select(settings, since=timedelta(days=30))
    starts = [start_ms(index) for index in range(len(PLAN))]
    assert [ref.start_timestamp_ms for ref in everything.sessions] == starts
    assert all(ref.distinct_id == DISTINCT_ID for ref in everything.sessions)
    assert OTHER_SESSION not in [ref.session_id for ref in everything.sessions]
    assert (everything.found, everything.truncated) == (12, False)
    assert all(ref.duration_ms and ref.start_url for ref in everything.sessions)

    # The last week: her sessions of 18, 20 and 22 November.
    week = await _select(settings, since=timedelta(days=7))
    assert [ref.start_timestamp_ms for ref in week.sessions] == starts[-3:]
    assert week.window_start == NOW - timedelta(days=7) and week.window_end == NOW

    capped = await _select(settings, since=timedelta(days=30), cap=5)
    assert [ref.start_timestamp_ms for ref in capped.sessions] == starts[-5:]
    assert (capped.found, capped.truncated) == (12, True)

    # A files source knows no PostHog persons.
    by_person = await _select(settings, since=timedelta(days=30), by_person_id=True)
    assert by_person.sessions == [] and by_person.found == 0


def test_the_store_answers_the_latest_journey_per_team_and_person(tmp_path: Path) -> None:
    store = store_for(f"sqlite:///{tmp_path / 'recap.db'}")
    older = sample("team-a", "jn_000000000000000a", DISTINCT_ID, NOW - timedelta(days=1))
    newer = sample("team-a", "jn_000000000000000b", DISTINCT_ID, NOW)
    someone = sample("team-a", "jn_000000000000000c", "bo@example.com", NOW + timedelta(1))
    theirs = sample("team-b", "jn_000000000000000d", DISTINCT_ID, NOW + timedelta(days=2))
    for journey in (newer, older, someone, theirs):
        save_journey(store, journey)
    save_journey(store, newer)  # a retried store writes the same row again

    assert latest_journey(store, "team-a", DISTINCT_ID) == newer
    assert latest_journey(store, "team-b", DISTINCT_ID) == theirs
    assert latest_journey(store, "team-c", DISTINCT_ID) is None
    assert stored_journey(store, "team-a", older.journey_id) == older
    assert stored_journey(store, "team-b", older.journey_id) is None


async def test_posthog_gives_her_recordings_by_distinct_id_or_person_id(
    directory: Path, tmp_path: Path
) -> None:
    """The PostHog double, holding her twelve recordings and another person's: the listing
    asked by her distinct id (or her person id) gives hers only, oldest first."""
    her_uuid = "0190a1b2-0000-7000-8000-0000000000aa"
    with posthog_double() as double:
        for index in range(len(PLAN)):
            path = generate(index).write_as(tmp_path / "served", "export")
            double.add_file(path, distinct_id=DISTINCT_ID, person_uuid=her_uuid)
        other = directory / f"{OTHER_SESSION}.json"
        double.add_file(
            other,
            OTHER_SESSION,
            distinct_id="bo@example.com",
            person_uuid="0190a1b2-0000-7000-8000-0000000000bb",
        )
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'recap.db'}",
            data_dir=tmp_path / "data",
            source="posthog",
            posthog_host=double.base_url,
            posthog_project_id=double.project_id,
            posthog_api_key=SecretStr(double.api_key),
        )
        by_distinct_id = await _select(settings, since=timedelta(days=30))
        by_person = await select_person_sessions(
            team_id="team-a",
            source=None,
            distinct_id=her_uuid,
            by_person_id=True,
            since_seconds=int(timedelta(days=30).total_seconds()),
            now=NOW,
            max_sessions=200,
            settings=settings,
            sources=source_opener(settings),
        )
        asked = [
            unquote(request.target)
            for request in double.requests
            if request.path.endswith("/session_recordings/")
        ]
    starts = [start_ms(index) for index in range(len(PLAN))]
    for selection in (by_distinct_id, by_person):
        assert [ref.start_timestamp_ms for ref in selection.sessions] == starts
        assert OTHER_SESSION not in [ref.session_id for ref in selection.sessions]
    # The listing itself was filtered by the person, as PostHog's API takes it.
    assert any("distinct_ids" in query for query in asked), asked
    assert any(her_uuid in query for query in asked), asked
