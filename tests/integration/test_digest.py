"""A digest compares a period's stored report with the schedule's previous digest, lists
the error clusters first seen in the period, and is stored (issue 18, part 2): a pattern
that grows from 3 to 11 sessions is rising, one that disappears is gone, and a period with
nothing new is quiet. On SQLite, through the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recap.clustering.models import ErrorCluster
from recap.reports.models import PatternReport
from recap.services.digest import DigestReportMissing, digest_id, make_digest
from recap.store.clusters import ClusterStore
from recap.store.reports import ReportStore
from recap.store.repository import SummaryStore
from tests.support.report_samples import pattern, report
from tests.support.store_samples import cluster

TEAM = "team-a"
SCHEDULE = "weekly-checkout"
DAY = timedelta(days=1)
MONDAY = datetime(2025, 5, 5, 6, 0, tzinfo=UTC)


def _report(report_id: str, **counts: int) -> PatternReport:
    """A 40-session report with the named patterns affecting that many sessions."""
    sample = report(TEAM, report_id=report_id, patterns=0)
    sample.patterns = [
        pattern(index, sessions=sessions, total=40, name=name)
        for index, (name, sessions) in enumerate(counts.items(), start=1)
    ]
    return sample


def _cluster_first_seen(number: int, when: datetime) -> ErrorCluster:
    found = cluster(number, title=f"cluster {number}")
    found.first_seen_ms = int(when.timestamp() * 1000)
    return found


@pytest.fixture
def store(tmp_path: Path) -> SummaryStore:
    return SummaryStore(f"sqlite:///{tmp_path / 'digest.db'}")


def test_a_digest_compares_with_the_previous_period(store: SummaryStore) -> None:
    reports = ReportStore(store)
    reports.save_report(_report("rp_week1", Coupon_dead_button=3, Address_form_resets=6))
    reports.save_report(_report("rp_week2", Coupon_dead_button=11))
    ClusterStore(store).save_clusters(
        TEAM,
        [
            _cluster_first_seen(1, MONDAY - 3 * DAY),  # in the first period only
            _cluster_first_seen(2, MONDAY + 2 * DAY),  # new in the second
        ],
    )

    first = make_digest(
        store,
        team_id=TEAM,
        schedule_id=SCHEDULE,
        period_start=MONDAY - 7 * DAY,
        period_end=MONDAY,
        report_id="rp_week1",
    )
    # A run a few minutes late still finds the previous period's digest.
    second_end = MONDAY + 7 * DAY + timedelta(minutes=4)
    second = make_digest(
        store,
        team_id=TEAM,
        schedule_id=SCHEDULE,
        period_start=second_end - 7 * DAY,
        period_end=second_end,
        report_id="rp_week2",
    )

    assert first.previous_report_id is None
    assert {change.change for change in first.changes} == {"new"}
    assert [c.cluster_id for c in first.new_clusters] == [cluster(1).cluster_id]
    assert second.previous_report_id == "rp_week1"
    changes = {change.name: change for change in second.changes}
    assert changes["Coupon_dead_button"].change == "rising"
    assert (
        changes["Coupon_dead_button"].previous_sessions,
        changes["Coupon_dead_button"].current_sessions,
    ) == (3, 11)
    assert changes["Address_form_resets"].change == "gone"
    assert [c.cluster_id for c in second.new_clusters] == [cluster(2).cluster_id]
    assert second.quiet is False
    # Stored, readable by id, with a stable id per schedule and period.
    assert second.digest_id == digest_id(TEAM, SCHEDULE, second_end)
    assert reports.digest(TEAM, second.digest_id) == second
    assert reports.digest("team-b", second.digest_id) is None


def test_a_period_with_nothing_new_is_quiet(store: SummaryStore) -> None:
    reports = ReportStore(store)
    reports.save_report(_report("rp_a", Coupon_dead_button=5))
    reports.save_report(_report("rp_b", Coupon_dead_button=5))
    for report_id, end in (("rp_a", MONDAY), ("rp_b", MONDAY + DAY)):
        digest = make_digest(
            store,
            team_id=TEAM,
            schedule_id=SCHEDULE,
            period_start=end - DAY,
            period_end=end,
            report_id=report_id,
        )
    assert [change.change for change in digest.changes] == ["steady"]
    assert digest.new_clusters == [] and digest.quiet is True


def test_a_missing_report_is_a_typed_error(store: SummaryStore) -> None:
    ReportStore(store).save_report(
        _report("rp_other_team", X=1).model_copy(update={"team_id": "b"})
    )
    for report_id in ("rp_nowhere", "rp_other_team"):
        with pytest.raises(DigestReportMissing):
            make_digest(
                store,
                team_id=TEAM,
                schedule_id=SCHEDULE,
                period_start=MONDAY - DAY,
                period_end=MONDAY,
                report_id=report_id,
            )
