"""Both summary shapes, pinned (issue 17, gap 2): the one PostHog's serializer answers,
served on the PostHog-compatible endpoints, and recap's own, stored and printed by the CLI.
The PostHog field lists below are written from PostHog's `SessionSummarySerializer`
(`ee/hogai/session_summaries/session/output_data.py`), not from recap's models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recap.api.summary_shape import exception_event_ids, posthog_summary, shape_summaries
from recap.llm.gate import gate
from recap.llm.schema import (
    KeyActionFlag,
    ModelKeyAction,
    ModelSegment,
    ModelSummary,
    RunMetadata,
    SegmentOutcome,
    SessionSummary,
    SummaryOutcome,
)
from recap.store.repository import SummaryStore, TimelineFacts
from recap.timeline.models import EventKind, SessionInfo, Timeline, TimelineEvent, TimelineStats

# PostHog's serializer, level by level: field -> JSON types it may hold.
INT, NUM, STR, BOOL, NULL = (int,), (int, float), (str,), (bool,), (type(None),)
POSTHOG_SUMMARY = {"segments", "key_actions", "segment_outcomes", "session_outcome"}
POSTHOG_SEGMENT = {"index": INT, "name": STR, "start_event_id": STR, "end_event_id": STR}
POSTHOG_META = {
    "duration": INT + NULL,
    "duration_percentage": NUM + NULL,
    "events_count": INT + NULL,
    "events_percentage": NUM + NULL,
    "key_action_count": INT,
    "failure_count": INT,
    "abandonment_count": INT,
    "confusion_count": INT,
    "exception_count": INT,
}
POSTHOG_EVENT = {
    "description": STR,
    "abandonment": BOOL,
    "confusion": BOOL,
    "exception": STR + NULL,
    "event_id": STR,
    "timestamp": STR + NULL,
    "milliseconds_since_start": INT,
    "window_id": STR,
    "current_url": STR + NULL,
    "event": STR,
    "event_type": STR + NULL,
    "event_index": INT + NULL,
    "session_id": STR,
    "event_uuid": STR + NULL,
}
POSTHOG_SEGMENT_OUTCOME = {"segment_index": INT, "summary": STR, "success": BOOL}
POSTHOG_OUTCOME = {"description": STR, "success": BOOL}
# recap's own fields, beside PostHog's; none is a name PostHog's summary uses.
RECAP_EXTRAS = {
    "schema_version",
    "session_id",
    "ongoing",
    "title",
    "issues",
    "focus_area_findings",
    "gate",
    "gate_notes",
    "run",
}
# recap's own summary (store, `recap summarize --json`), as DESIGN.md's contract has it.
RECAP_SUMMARY = {
    "schema_version",
    "session_id",
    "ongoing",
    "title",
    "segments",
    "key_actions",
    "issues",
    "focus_area_findings",
    "summary_outcome",
    "gate",
    "gate_notes",
    "run",
}


def _timeline() -> Timeline:
    def event(ref: int, t_ms: int, kind: EventKind, **fields: Any) -> TimelineEvent:
        return TimelineEvent(ref=f"e{ref}", t_ms=t_ms, window="w1", kind=kind, **fields)

    events = [
        event(1, 0, EventKind.NAVIGATION, url="https://shop.example/cart"),
        event(2, 2_000, EventKind.CLICK, target='button "Apply coupon"', flags=["dead"]),
        event(3, 4_000, EventKind.INPUT, target='input "Coupon"', value="SAVE10"),
        event(4, 10_000, EventKind.NAVIGATION, url="https://shop.example/checkout"),
        event(
            5,
            12_000,
            EventKind.CLICK,
            target='button "Pay"',
            flags=["error_after", "error_shown"],
            url="https://shop.example/checkout",
        ),
        event(6, 12_100, EventKind.EXCEPTION, value="TypeError: card is undefined"),
        event(7, 20_000, EventKind.CLICK, target='link "Help"'),
    ]
    return Timeline(
        session=SessionInfo(
            session_id="s-shape",
            start_timestamp_ms=1_700_000_000_000,
            duration_ms=40_000,
            start_url="https://shop.example/cart",
            windows=1,
        ),
        events=events,
        stats=TimelineStats(raw_events=90, emitted_events=10),
    )


def _summary() -> SessionSummary:
    answer = ModelSummary(
        title="Checkout failed at payment",
        segments=[
            ModelSegment(
                name="Cart",
                start_ref="e1",
                end_ref="e3",
                outcome=SegmentOutcome(success=True, summary="Applied a coupon"),
            ),
            ModelSegment(
                name="Payment",
                start_ref="e4",
                end_ref="e6",
                outcome=SegmentOutcome(success=False, summary="Payment threw an error"),
            ),
        ],
        key_actions=[
            # Out of time order on purpose: PostHog's groups list events in order.
            ModelKeyAction(
                ref="e5",
                description="Clicked Pay; an error appeared",
                flags=[KeyActionFlag.EXCEPTION_BLOCKING],
            ),
            ModelKeyAction(ref="e3", description="Typed a coupon"),
            ModelKeyAction(
                ref="e7", description="Looked for help", flags=[KeyActionFlag.ABANDONMENT]
            ),
        ],
        issues=[],
        summary_outcome=SummaryOutcome(description="Could not pay", success=False),
    )
    run = RunMetadata(
        model="m", prompt_version="p@1", timeline_hash="h-shape", timeline_tokens=50, latency_ms=5
    )
    return gate(answer, _timeline(), run, focus_area=None)


def _check(value: dict[str, Any], fields: dict[str, tuple[type, ...]], where: str) -> None:
    for name, types in fields.items():
        assert name in value, f"{where} lacks {name}"
        assert isinstance(value[name], types), f"{where}.{name} is {value[name]!r}"
        if types == INT:
            assert not isinstance(value[name], bool), f"{where}.{name} is a bool"


def test_the_posthog_shape_has_every_field_of_posthogs_serializer() -> None:
    body = posthog_summary(_summary(), TimelineFacts(event_count=10, duration_ms=40_000))
    data = body.model_dump(mode="json")

    assert set(data) == POSTHOG_SUMMARY | RECAP_EXTRAS
    assert not POSTHOG_SUMMARY & RECAP_EXTRAS
    for segment in data["segments"]:
        _check(segment, POSTHOG_SEGMENT, "segment")
        _check(segment["meta"], POSTHOG_META, "segment.meta")
    for group in data["key_actions"]:
        assert isinstance(group["segment_index"], int)
        for event in group["events"]:
            _check(event, POSTHOG_EVENT, "key_action event")
            assert event["exception"] in (None, "blocking", "non-blocking")
    for outcome in data["segment_outcomes"]:
        _check(outcome, POSTHOG_SEGMENT_OUTCOME, "segment_outcome")
    _check(data["session_outcome"], POSTHOG_OUTCOME, "session_outcome")


def test_the_posthog_shape_is_computed_from_the_timeline() -> None:
    summary = _summary()
    # The gate drops an abandonment flag without a left form; set the flags after it, to
    # see each flag reach PostHog's booleans.
    assert summary.key_actions[2].event.ref == "e7"
    summary.key_actions[2].flags = [KeyActionFlag.ABANDONMENT, KeyActionFlag.CONFUSION]
    body = posthog_summary(summary, TimelineFacts(event_count=10, duration_ms=40_000))

    assert [(s.index, s.name, s.start_event_id, s.end_event_id) for s in body.segments] == [
        (0, "Cart", "e1", "e3"),
        (1, "Payment", "e4", "e6"),
    ]
    cart, payment = (segment.meta for segment in body.segments)
    assert (cart.duration, cart.events_count, cart.key_action_count) == (4, 3, 1)
    assert cart.duration_percentage == 0.1 and cart.events_percentage == 0.3
    assert (payment.duration, payment.events_count) == (2, 3)
    assert (payment.key_action_count, payment.failure_count, payment.exception_count) == (2, 2, 1)
    assert (payment.abandonment_count, payment.confusion_count) == (1, 1)
    # e7 (20 s) lies after both segments: it belongs to the last one that started before it.
    groups = {group.segment_index: group.events for group in body.key_actions}
    assert [event.event_id for event in groups[0]] == ["e3"]
    assert [event.event_id for event in groups[1]] == ["e5", "e7"]
    pay, help_ = groups[1]
    assert pay.exception == "blocking" and not pay.abandonment
    assert help_.abandonment and help_.confusion and help_.exception is None
    assert pay.milliseconds_since_start == 12_000
    assert pay.timestamp == "2023-11-14T22:13:32.000Z"
    assert pay.current_url == "https://shop.example/checkout"
    assert (pay.event, pay.event_type, pay.event_index) == ("$autocapture", "click", 4)
    assert pay.session_id == "s-shape" and pay.target == 'button "Pay"'
    assert pay.timeline_flags == ["error_after", "error_shown"]
    assert [(o.segment_index, o.success) for o in body.segment_outcomes] == [(0, True), (1, False)]
    assert body.session_outcome == summary.summary_outcome
    assert (body.title, body.gate, body.run) == (summary.title, summary.gate, summary.run)
    assert exception_event_ids(body) == ["e5"]


def test_without_timeline_facts_the_shares_are_null() -> None:
    body = posthog_summary(_summary())
    assert all(segment.meta.duration_percentage is None for segment in body.segments)
    assert all(segment.meta.events_percentage is None for segment in body.segments)
    assert body.segments[0].meta.events_count == 3


def test_shares_come_from_the_stored_timeline(tmp_path: Path) -> None:
    store = SummaryStore(f"sqlite:///{tmp_path / 'recap.db'}")
    timeline = _timeline()
    store.save_timeline(
        team_id="t", timeline_hash="h-shape", timeline=timeline, text="…", tokens=50
    )
    summary = _summary()

    assert store.timeline_facts({"h-shape", "unknown"}) == {
        "h-shape": TimelineFacts(event_count=10, duration_ms=40_000)
    }
    shaped = shape_summaries(store, {"s-shape": summary})["s-shape"]
    assert shaped.segments[1].meta.events_percentage == 0.3
    assert shaped.segments[1].meta.duration_percentage == 0.0525  # 2.1 s of 40 s


def test_recaps_own_shape_is_pinned() -> None:
    """The stored summary and `recap summarize --json` keep recap's names."""
    data = _summary().model_dump(mode="json")
    assert set(data) == RECAP_SUMMARY
    assert set(data["segments"][0]) == {"name", "start", "end", "outcome", "duration_ms"}
    assert set(data["key_actions"][0]) == {"event", "description", "flags"}
    assert {"ref", "t_ms", "timestamp", "kind", "window", "url", "flags"} <= set(
        data["key_actions"][0]["event"]
    )
