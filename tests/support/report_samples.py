"""Small pattern reports and digests for the delivery tests: counts that differ from each
other, so an assertion on one cannot pass by reading another."""

from __future__ import annotations

from datetime import UTC, datetime

from recap.reports.models import (
    Digest,
    NewErrorCluster,
    Pattern,
    PatternChange,
    PatternExample,
    PatternReport,
    PatternStats,
    ReportInputs,
    SessionNotReported,
)

CREATED = datetime(2025, 5, 8, 9, 30, tzinfo=UTC)
SEVERITIES = ("critical", "high", "high", "medium", "medium", "low", "low")


def _example(session: str, t_ms: int, failed: bool) -> PatternExample:
    return PatternExample(
        session_id=session,
        ref=f"e{t_ms // 1000}",
        t_ms=t_ms,
        kind="click",
        target="Pay now",
        description="clicked Pay now and nothing happened",
        session_failed=failed,
    )


def pattern(index: int, *, sessions: int, total: int, name: str | None = None) -> Pattern:
    examples = [
        _example(f"sess-{n:02d}-0188aaaa", 12_000 + 1000 * n, failed=n % 2 == 0)
        for n in range(sessions)
    ]
    return Pattern(
        pattern_id=f"p{index}",
        name=name or f"Pattern number {index}",
        description=f"Users hit problem {index} while paying.",
        severity=SEVERITIES[(index - 1) % len(SEVERITIES)],  # type: ignore[arg-type]
        stats=PatternStats(
            sessions_affected=sessions,
            sessions_affected_ratio=sessions / total,
            occurrences=sessions * 3 + index,
            sessions_failed=sum(example.session_failed is True for example in examples),
            single_session=sessions == 1,
        ),
        examples=examples,
    )


def report(
    team_id: str = "team-a", *, report_id: str = "rp_0123456789abcdef", patterns: int = 7
) -> PatternReport:
    total = 40
    return PatternReport(
        report_id=report_id,
        team_id=team_id,
        title="Checkout sessions this week",
        created_at=CREATED,
        inputs=ReportInputs(
            session_ids=[f"s{n}" for n in range(43)], model="m", prompt_versions={"map": "1"}
        ),
        sessions_reported=total,
        not_reported=[
            SessionNotReported(session_id=f"gone-{n}", error="not_found", error_message="gone")
            for n in range(3)
        ],
        # Most sessions first: pattern 1 has 9 sessions, pattern 7 has 3. Patterns share
        # sessions: 9 distinct, 5 of them failed (sess-00, -02, -04, -06, -08).
        patterns=[pattern(i, sessions=10 - i, total=total) for i in range(1, patterns + 1)],
    )


def digest(
    team_id: str = "team-a",
    *,
    digest_id: str = "dg_fedcba9876543210",
    report_id: str = "rp_1111222233334444",
    quiet: bool = False,
) -> Digest:
    changes = [
        PatternChange(
            name="Pattern number 1",
            change="rising",
            previous_sessions=4,
            current_sessions=9,
            previous_ratio=0.1,
            current_ratio=0.225,
        ),
        PatternChange(
            name="Pattern number 2",
            change="new",
            previous_sessions=0,
            current_sessions=8,
            previous_ratio=0.0,
            current_ratio=0.2,
        ),
        PatternChange(
            name="Old coupon bug",
            change="gone",
            previous_sessions=6,
            current_sessions=0,
            previous_ratio=0.15,
            current_ratio=0.0,
        ),
        PatternChange(
            name="Pattern number 3",
            change="steady",
            previous_sessions=7,
            current_sessions=7,
            previous_ratio=0.175,
            current_ratio=0.175,
        ),
    ]
    if quiet:
        changes = [changes[3]]
    return Digest(
        digest_id=digest_id,
        team_id=team_id,
        schedule_id="weekly",
        period_start=datetime(2025, 5, 1, tzinfo=UTC),
        period_end=datetime(2025, 5, 8, tzinfo=UTC),
        report=report(team_id, report_id=report_id, patterns=3 if quiet else 7),
        previous_report_id="rp_0000000000000000",
        changes=changes,
        new_clusters=(
            []
            if quiet
            else [NewErrorCluster(cluster_id="c1", title="TypeError", sessions_affected=5)]
        ),
        quiet=quiet,
    )
