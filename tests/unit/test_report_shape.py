"""A pattern report in PostHog's `create_session_summaries/` shape (issue 18): PostHog's
field names and numbers, each example in its segment's context from the session's
summary, and recap's report fields beside."""

from __future__ import annotations

from pathlib import Path

from recap.api.report_shape import report_row, shape_report
from recap.api.summary_shape import (
    PostHogKeyActions,
    PostHogSegment,
    PostHogSegmentOutcome,
    PostHogSessionSummary,
    SegmentMeta,
    posthog_summary,
)
from recap.reports.models import PatternExample, SessionNotReported
from tests.support import report_samples
from tests.support.report_fixtures import report_cases


def _summary_with_a_segment(tmp_path: Path) -> tuple[str, PostHogSessionSummary]:
    """A checkout session's summary in PostHog's shape, its one key action made five (e1…e5)
    in one segment named `Checkout`, so an example has neighbours either side."""
    (case,) = report_cases(tmp_path, ["checkout_error"])
    shaped = posthog_summary(case.summary)
    action = shaped.key_actions[0].events[0]
    events = [
        action.model_copy(update={"event_id": f"e{n}", "milliseconds_since_start": 1000 * n})
        for n in range(1, 6)
    ]
    meta = SegmentMeta.model_validate(dict.fromkeys(SegmentMeta.model_fields, 0))
    return case.session_id, shaped.model_copy(
        update={
            "segments": [
                PostHogSegment(
                    index=0, name="Checkout", start_event_id="e1", end_event_id="e5", meta=meta
                )
            ],
            "key_actions": [PostHogKeyActions(segment_index=0, events=events)],
            "segment_outcomes": [
                PostHogSegmentOutcome(segment_index=0, summary="payment failed", success=False)
            ],
        }
    )


def test_a_report_answers_in_posthogs_shape(tmp_path: Path) -> None:
    session_id, shaped = _summary_with_a_segment(tmp_path)
    group = shaped.key_actions[0]
    cited = group.events[3]
    report = report_samples.report(patterns=3)
    pattern = report.patterns[2]
    in_summary = PatternExample(
        session_id=session_id,
        ref=cited.event_id,
        t_ms=cited.milliseconds_since_start,
        kind="submit",
        description="paid and saw the error",
        session_failed=True,
    )
    elsewhere = pattern.examples[0].model_copy(update={"url": "https://shop.example/pay"})
    pattern.examples = [in_summary, elsewhere]
    unheld = SessionNotReported(session_id="../x", error="recording_not_found", error_message="-")

    answer = shape_report(report, {session_id: shaped}, [unheld])

    assert [p.pattern_id for p in answer.patterns] == [1, 2, 3]
    third = answer.patterns[2]
    assert third.pattern_name == pattern.name and third.pattern_description == pattern.description
    assert third.severity == pattern.severity
    stats = third.stats
    assert stats.occurences == pattern.stats.occurrences == 3 * 7 + 3
    assert stats.sessions_affected == 7 and stats.sessions_failed == 4
    assert stats.segments_success_ratio == 1 - 4 / 7
    # The example its summary has as a key action: in its segment, with its neighbours.
    context = third.events[0]
    assert (context.segment_index, context.segment_name) == (0, "Checkout")
    assert (context.segment_outcome, context.segment_success) == ("payment failed", False)
    # Up to three key actions before it, none after: e4 is the last but one.
    assert [event.event_id for event in context.previous_events_in_segment] == ["e1", "e2", "e3"]
    assert [event.event_id for event in context.next_events_in_segment] == ["e5"]
    target = context.target_event
    assert target.event_id == cited.event_id and target.session_id == session_id
    assert target.description == "paid and saw the error"  # the pattern's words
    assert (target.timestamp, target.current_url) == (cited.timestamp, cited.current_url)
    # An example no summary holds: its own facts, no segment.
    alone = third.events[1]
    assert alone.segment_name is None and alone.segment_index is None
    assert alone.target_event.event_id == elsewhere.ref
    assert alone.target_event.current_url == "https://shop.example/pay"
    assert alone.target_event.event == "$autocapture" and alone.target_event.event_type == "click"
    # recap's report fields beside PostHog's.
    assert answer.report_id == report.report_id and answer.inputs == report.inputs
    assert [item.session_id for item in answer.not_reported] == [
        *(item.session_id for item in report.not_reported),
        "../x",
    ]


def test_a_listing_row_has_no_examples() -> None:
    report = report_samples.report(patterns=2)
    row = report_row(report)
    assert row.sessions_not_reported == 3 and row.sessions_reported == 40
    assert [(p.pattern_id, p.stats) for p in row.patterns] == [
        (p.pattern_id, p.stats) for p in report.patterns
    ]
    assert "examples" not in row.model_dump()["patterns"][0]
