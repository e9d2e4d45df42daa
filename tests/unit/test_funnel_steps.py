"""Funnel steps: parsing the CLI's specs, matching them in order on a timeline, and the
split of sessions at each step (outcome steps without a summary are left out)."""

from __future__ import annotations

import pytest

from recap.funnels import (
    FunnelSession,
    FunnelStepError,
    StepKind,
    analyze_funnel,
    parse_step,
    parse_steps,
)
from recap.funnels.steps import session_path, split_sessions, target_name, target_test_id
from recap.timeline.models import EventKind, SessionInfo, Timeline, TimelineEvent, TimelineStats

SHOP = "https://shop.example.com"


def _event(number: int, kind: EventKind, **fields: object) -> TimelineEvent:
    return TimelineEvent(
        **{"ref": f"e{number}", "t_ms": number * 1_000, "window": "w1", "kind": kind, **fields}
    )


def _nav(number: int, path: str) -> TimelineEvent:
    return _event(number, EventKind.NAVIGATION, url=f"{SHOP}{path}")


def _click(number: int, target: str, kind: EventKind = EventKind.CLICK) -> TimelineEvent:
    return _event(number, kind, target=target, url=f"{SHOP}/cart")


def _session(
    session_id: str, events: list[TimelineEvent], outcome: bool | None = None
) -> FunnelSession:
    timeline = Timeline(
        session=SessionInfo(session_id=session_id), events=events, stats=TimelineStats()
    )
    return FunnelSession(timeline=timeline, outcome=outcome)


# --- parsing -------------------------------------------------------------------------------


def test_parses_each_kind_of_step() -> None:
    url = parse_step("url:/order/*/confirmation")
    assert (url.kind, url.pattern) == (StepKind.URL, "/order/*/confirmation")
    label = parse_step('click:"Place order"')
    assert (label.kind, label.pattern, label.by_test_id) == (StepKind.CLICK, "Place order", False)
    test_id = parse_step("click:[checkout-btn]")
    assert (test_id.kind, test_id.pattern, test_id.by_test_id) == (
        StepKind.CLICK,
        "checkout-btn",
        True,
    )
    event = parse_step("event:signup_started")
    assert (event.kind, event.pattern) == (StepKind.EVENT, "signup_started")
    assert parse_step("outcome:Success").pattern == "success"
    assert parse_step("outcome:failure").pattern == "failure"
    assert parse_step("url:/cart/").pattern == "/cart"  # a trailing slash is the same page
    assert parse_step(" URL:/cart ").spec == " URL:/cart "


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("/cart", "no kind or no value"),
        ("url:", "no kind or no value"),
        ("page:/cart", "unknown kind 'page'"),
        ("url:cart", "starts with /"),
        ("url:https://shop.example.com/cart", "path only"),
        ("click:Checkout", "quote the label"),
        ('click:""', "quote the label"),
        ("click:[]", "quote the label"),
        ("outcome:maybe", "success or failure"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(FunnelStepError, match=None) as raised:
        parse_step(spec)
    assert says in str(raised.value)
    assert repr(spec) in str(raised.value)


def test_a_funnel_needs_two_steps() -> None:
    with pytest.raises(FunnelStepError, match="at least two steps"):
        parse_steps(["url:/cart"])
    with pytest.raises(FunnelStepError, match="at least two steps"):
        analyze_funnel([], [parse_step("url:/cart")])


# --- targets -------------------------------------------------------------------------------


def test_reads_name_and_test_id_from_targets() -> None:
    assert target_name('button[checkout] "Checkout"') == "Checkout"
    assert target_name('link "View cart"') == "View cart"
    assert target_name('input:email "Email"') == "Email"
    assert target_name('button "Say \\"hi\\""') == 'Say "hi"'
    assert target_name("POST /api/cart") is None
    assert target_name(None) is None
    assert target_test_id('button[checkout] "Checkout"') == "checkout"
    assert target_test_id('link "View cart"') is None
    assert target_test_id('input:email "Email"') is None


# --- matching ------------------------------------------------------------------------------


def test_steps_are_reached_in_order_at_the_first_match_after_the_previous() -> None:
    steps = parse_steps(['click:"Checkout"', "url:/cart", 'click:"checkout"'])
    session = _session(
        "s1",
        [
            _nav(1, "/cart"),  # before step 1: does not count for step 2
            _click(2, 'button[checkout] "Checkout"'),
            _click(3, 'button "Checkout now"'),  # not an exact label
            _nav(4, "/cart?from=checkout"),
            _click(5, 'button[checkout] "CHECKOUT"'),  # case-insensitive
            _click(6, 'button[checkout] "Checkout"'),
        ],
    )
    path = session_path(session, steps)
    assert [(reach.ref, reach.t_ms) for reach in path.reached] == [
        ("e2", 2_000),
        ("e4", 4_000),
        ("e5", 5_000),
    ]


def test_url_globs_match_one_segment_per_star() -> None:
    steps = parse_steps(["url:/cart", "url:/order/*/confirmation"])

    def reaches(path: str) -> bool:
        session = _session("s", [_nav(1, "/cart"), _nav(2, path)])
        return len(session_path(session, steps).reached) == 2

    assert reaches("/order/21007/confirmation")
    assert reaches("/order/21007/confirmation/?utm=mail#top")
    assert not reaches("/order/21007/items/confirmation")  # * is one segment
    assert not reaches("/order/confirmation")
    assert not reaches("/order/21007/confirmation/print")
    part = parse_steps(["url:/cart", "url:/products/trail-*"])
    assert (
        len(
            session_path(
                _session("s", [_nav(1, "/cart"), _nav(2, "/products/trail-runner-2")]), part
            ).reached
        )
        == 2
    )


def test_clicks_match_submits_and_test_ids_but_not_other_kinds() -> None:
    steps = parse_steps(["url:/cart", "click:[pay-now]"])
    submit = _session(
        "s1", [_nav(1, "/cart"), _click(2, 'button[pay-now] "Pay now"', EventKind.SUBMIT)]
    )
    assert len(session_path(submit, steps).reached) == 2
    typed = _session(
        "s2", [_nav(1, "/cart"), _click(2, 'input[pay-now] "Pay now"', EventKind.INPUT)]
    )
    assert len(session_path(typed, steps).reached) == 1
    other = _session("s3", [_nav(1, "/cart"), _click(2, 'button[pay-later] "Pay now"')])
    assert len(session_path(other, steps).reached) == 1


def test_custom_events_match_by_name() -> None:
    steps = parse_steps(["event:signup_started", "event:signup_done"])
    session = _session(
        "s",
        [
            _event(1, EventKind.CUSTOM, target="signup_done"),
            _event(2, EventKind.CUSTOM, target="signup_started"),
            _event(3, EventKind.CUSTOM, target="Signup_done"),
            _event(4, EventKind.CUSTOM, target="signup_done"),
        ],
    )
    assert [reach.ref for reach in session_path(session, steps).reached] == ["e2", "e4"]


# --- the split -----------------------------------------------------------------------------


def test_split_counts_went_on_stopped_and_unknown_outcomes() -> None:
    steps = parse_steps(["url:/cart", 'click:"Checkout"', "outcome:success"])
    cart, checkout = _nav(1, "/cart"), _click(2, 'button "Checkout"')
    sessions = [
        _session("bought", [cart, checkout], outcome=True),
        _session("failed", [cart, checkout], outcome=False),
        _session("no-summary", [cart, checkout], outcome=None),
        _session("left-cart", [cart], outcome=None),  # no summary, but never needed
        _session("never-came", [_nav(1, "/")], outcome=True),
    ]
    paths = [session_path(session, steps) for session in sessions]
    assert paths[0].reached[2].ref is None  # an outcome step has no event
    assert paths[2].unknown_at == 3
    assert paths[3].unknown_at is None
    second, third = split_sessions(paths, steps)
    assert (second.reached_previous, second.went_on, second.stopped, second.unknown) == (4, 3, 1, 0)
    assert second.stopped_ids == ["left-cart"]
    assert (third.reached_previous, third.went_on, third.stopped, third.unknown) == (3, 1, 1, 1)
    assert third.went_on_ids == ["bought"]
    assert third.stopped_ids == ["failed"]

    analysis = analyze_funnel(sessions, steps)
    assert analysis.reached == [4, 3, 1]
    assert analysis.sessions_without_summary == ["no-summary"]
    assert analysis.contrasts[1].split == third
