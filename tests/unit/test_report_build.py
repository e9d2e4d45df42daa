"""The report's gate and counts (`build_patterns`), its stable id and its Markdown."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from recap.reports import build_patterns, render_digest_markdown, render_markdown, report_id
from recap.reports.assign import Assignment
from recap.reports.models import Digest, PatternChange, PatternReport, ReportInputs
from recap.reports.patterns import CandidatePattern
from recap.reports.sessions import ReportEvent, ReportSession
from recap.timeline.models import EventKind, SessionInfo, Timeline, TimelineEvent, TimelineStats

START_MS = 1_700_000_000_000


def _timeline(session_id: str, start_ms: int) -> Timeline:
    events = [
        TimelineEvent(ref="e1", t_ms=0, window="w1", kind=EventKind.NAVIGATION, url="https://s/a"),
        TimelineEvent(
            ref="e2",
            t_ms=1_500,
            window="w1",
            kind=EventKind.CLICK,
            target='button "Pay"',
            url="https://s/checkout",
            flags=["error_after"],
        ),
        TimelineEvent(
            ref="e3", t_ms=2_000, window="w1", kind=EventKind.CONSOLE_ERROR, url="https://s/c"
        ),
    ]
    return Timeline(
        session=SessionInfo(session_id=session_id, start_timestamp_ms=start_ms),
        events=events,
        stats=TimelineStats(),
    )


def _session(
    session_id: str, *, success: bool, refs: tuple[str, ...] = ("e2", "e3")
) -> ReportSession:
    return ReportSession(
        session_id=session_id,
        success=success,
        outcome="",
        title="",
        events=[ReportEvent(ref=ref, t_ms=0, kind="click", line=ref) for ref in refs],
    )


def _pattern(name: str, severity: str = "high") -> CandidatePattern:
    return CandidatePattern.model_validate(
        {"name": name, "description": f"{name}.", "severity": severity, "indicators": ["x"]}
    )


def _assign(pattern_id: str, session_id: str, ref: str) -> Assignment:
    return Assignment(pattern_id=pattern_id, session_id=session_id, ref=ref, description="seen")


SESSIONS = [
    _session("s1", success=False),
    _session("s2", success=True),
    _session("s3", success=True),
]
TIMELINES = {
    "s1": _timeline("s1", START_MS + 60_000),
    "s2": _timeline("s2", START_MS),
    "s3": _timeline("s3", START_MS + 120_000),
}


def test_examples_copy_the_timeline_and_counts_are_code_s() -> None:
    patterns, gate = build_patterns(
        [_pattern("Pay fails")],
        [
            _assign("p1", "s1", "e3"),
            _assign("p1", "s1", "e2"),
            _assign("p1", "s1", "e2"),  # the same event twice counts once
            _assign("p1", "s2", "e3"),
        ],
        SESSIONS,
        TIMELINES,
    )
    assert gate.dropped_examples == [] and gate.dropped_patterns == []
    (pattern,) = patterns
    stats = pattern.stats
    assert (stats.sessions_affected, stats.occurrences, stats.sessions_failed) == (2, 3, 1)
    assert stats.sessions_affected_ratio == round(2 / 3, 4)
    assert stats.first_seen == datetime.fromtimestamp((START_MS + 2_000) / 1000, tz=UTC)
    assert stats.last_seen == datetime.fromtimestamp((START_MS + 62_000) / 1000, tz=UTC)
    assert not stats.single_session
    # one example per session, its first event, sessions in time order (s2 started first)
    assert [(e.session_id, e.ref) for e in pattern.examples] == [("s2", "e3"), ("s1", "e2")]
    first = pattern.examples[1]
    assert (first.t_ms, first.url, first.kind, first.target) == (
        1_500,
        "https://s/checkout",
        "click",
        'button "Pay"',
    )
    assert first.timestamp == "2023-11-14T22:14:21.500Z"
    assert first.session_failed is True and pattern.examples[0].session_failed is False


def test_unresolvable_examples_are_dropped_with_their_reason() -> None:
    patterns, gate = build_patterns(
        [_pattern("Pay fails"), _pattern("Invented")],
        [
            _assign("p1", "s1", "e2"),
            _assign("p1", "s9", "e2"),  # not a session of the report
            _assign("p2", "s1", "e77"),  # not in the timeline
            _assign("p2", "s2", "e1"),  # in the timeline, not cited by the summary
            _assign("p7", "s1", "e2"),  # no such pattern
        ],
        SESSIONS,
        TIMELINES,
    )
    assert [p.name for p in patterns] == ["Pay fails"]
    assert patterns[0].stats.single_session and patterns[0].stats.sessions_affected == 1
    reasons = [(e.pattern, e.session_id, e.ref, e.reason) for e in gate.dropped_examples]
    assert reasons == [
        ("Pay fails", "s9", "e2", "session s9 is not in the report"),
        ("Invented", "s1", "e77", "e77 is not in session s1's timeline"),
        ("Invented", "s2", "e1", "e1 is not an event session s2's summary cites"),
        ("p7", "s1", "e2", "p7 is not one of the report's patterns"),
    ]
    (dropped,) = gate.dropped_patterns
    assert dropped.name == "Invented"
    assert dropped.reason.startswith("none of its 2 examples checks out (first: e77 is not")


def test_a_pattern_nobody_shows_is_dropped_and_order_is_severity_then_sessions() -> None:
    patterns, gate = build_patterns(
        [
            _pattern("Low one", "low"),
            _pattern("Wide", "high"),
            _pattern("Narrow", "high"),
            _pattern("Nobody", "critical"),
        ],
        [
            _assign("p1", "s1", "e2"),
            _assign("p2", "s1", "e2"),
            _assign("p2", "s2", "e2"),
            _assign("p3", "s3", "e3"),
        ],
        SESSIONS,
        TIMELINES,
    )
    assert [(p.pattern_id, p.name) for p in patterns] == [
        ("p1", "Wide"),
        ("p2", "Narrow"),
        ("p3", "Low one"),
    ]
    assert [(d.name, d.reason) for d in gate.dropped_patterns] == [
        ("Nobody", "no session's cited events were assigned to it")
    ]


def test_report_id_is_stable_for_the_same_inputs_only() -> None:
    inputs = {
        "team_id": "t1",
        "session_ids": ["b", "a", "c"],
        "focus_area": "checkout",
        "prompt_versions": {"report_patterns": "report_patterns@1", "report_assign": "x@2"},
        "model": "m",
    }
    first = report_id(**inputs)  # type: ignore[arg-type]
    assert re.fullmatch(r"rp_[0-9a-f]{16}", first)
    same = {**inputs, "session_ids": ["c", "a", "b"], "focus_area": " checkout "}
    assert report_id(**same) == first  # type: ignore[arg-type]
    for change in (
        {"team_id": "t2"},
        {"session_ids": ["a", "b"]},
        {"focus_area": None},
        {"prompt_versions": {"report_patterns": "report_patterns@2"}},
        {"model": "other"},
    ):
        assert report_id(**{**inputs, **change}) != first  # type: ignore[arg-type]


def _report(patterns_count: int = 1) -> PatternReport:
    patterns, gate = build_patterns(
        [_pattern("Pay [fails](http://evil) | badly", "critical"), _pattern("Ghost")],
        [_assign("p1", "s1", "e2"), _assign("p2", "s1", "e99")],
        SESSIONS,
        TIMELINES,
    )
    return PatternReport(
        report_id="rp_0123456789abcdef",
        team_id="t1",
        title="Patterns across 3 sessions",
        created_at=datetime(2025, 1, 2, tzinfo=UTC),
        inputs=ReportInputs(
            session_ids=["s1", "s2", "s3"], focus_area="checkout", model="m", prompt_versions={}
        ),
        sessions_reported=3,
        patterns=patterns[:patterns_count],
        gate=gate,
    )


def test_markdown_has_counts_examples_and_escapes_model_text() -> None:
    text = render_markdown(_report())
    assert text.startswith("# Patterns across 3 sessions\n")
    assert "1 patterns across 3 summarized sessions" in text
    assert "Focus area: checkout" in text
    assert "### 1. Pay \\[fails\\]\\(http://evil\\) \\| badly (critical) · single session" in text
    assert "- Sessions affected: 1 of 3 (33%), 1 of them failed" in text
    assert (
        "| `s1` (failed) | e2 | 00:01 (2023-11-14T22:14:21.500Z) | <https://s/checkout> |" in text
    )
    assert "- Ghost: none of its 1 examples checks out" in text
    assert "](http" not in text


def test_digest_markdown_lists_the_changes() -> None:
    digest = Digest(
        digest_id="dg_0123456789abcdef",
        team_id="t1",
        schedule_id="weekly",
        period_start=datetime(2025, 1, 1, tzinfo=UTC),
        period_end=datetime(2025, 1, 8, tzinfo=UTC),
        report=_report(),
        previous_report_id=None,
        changes=[
            PatternChange(
                name="Pay fails",
                change="rising",
                previous_sessions=3,
                current_sessions=11,
                previous_ratio=0.075,
                current_ratio=0.275,
            )
        ],
        quiet=False,
    )
    text = render_digest_markdown(digest)
    assert text.startswith("# Digest 2025-01-01 00:00 UTC to 2025-01-08 00:00 UTC\n")
    assert "0 new, 1 rising, 0 falling, 0 steady, 0 gone patterns" in text
    assert "- **rising**: Pay fails: 3 → 11 sessions (8% → 28%)" in text
    assert "Quiet period" not in text
    assert "### 1. Pay" in text
    quiet = digest.model_copy(update={"changes": [], "quiet": True})
    assert "Quiet period: no new or rising pattern" in render_digest_markdown(quiet)
