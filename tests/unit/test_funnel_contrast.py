"""The contrast at one step on hand-made timelines: what each session's window holds, how
features become factors, what is tested, and the numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from recap.clustering.extract import extract_errors
from recap.funnels import (
    FunnelSession,
    KnownCluster,
    SessionMetadata,
    analyze_funnel,
    parse_steps,
)
from recap.funnels.contrast import metadata_features, viewport_label
from recap.timeline.models import EventKind, SessionInfo, Timeline, TimelineEvent, TimelineStats

SHOP = "https://shop.example.com"


def _timeline(session_id: str, specs: Sequence[Mapping[str, object]]) -> Timeline:
    events = [
        TimelineEvent(
            **{"ref": f"e{n}", "t_ms": n * 1_000, "window": "w1", "url": f"{SHOP}/cart", **spec}
        )
        for n, spec in enumerate(specs, start=1)
    ]
    return Timeline(
        session=SessionInfo(session_id=session_id), events=events, stats=TimelineStats()
    )


Spec = Mapping[str, object]
CART: Spec = {"kind": EventKind.NAVIGATION}
CHECKOUT: Spec = {"kind": EventKind.CLICK, "target": 'button[checkout] "Checkout"'}
SLOW_UPDATE: Spec = {"kind": EventKind.CLICK, "target": 'button "Update"', "flags": ["slow"]}
RAGE: Spec = {"kind": EventKind.CLICK, "target": 'button "Apply"', "flags": ["rage"], "count": 5}


def _failed(method: str, path: str, status: str) -> dict[str, object]:
    return {"kind": EventKind.NETWORK_ERROR, "target": f"{method} {path}", "value": status}


def _slow_request(path: str) -> dict[str, object]:
    return {**_failed("GET", path, "200"), "flags": ["slow"], "duration_ms": 4_000}


def _sessions() -> list[FunnelSession]:
    stopped = []
    for i in range(4):
        specs: list[Spec] = [
            CART,
            _failed("POST", f"/api/cart/{100 + i}", "500"),
            SLOW_UPDATE,
        ]
        if i < 2:
            specs.append(_slow_request(f"/api/items/{7 + i}"))
        if i == 0:
            specs.append(RAGE)  # one stopped session only: too rare to test
        stopped.append(FunnelSession(timeline=_timeline(f"s{i}", specs)))
    went_on = []
    for i in range(4):
        # a failure before the cart and one after Checkout: both outside the window
        specs = [_failed("GET", "/api/boot", "500"), CART]
        if i == 0:
            specs.append(_slow_request("/api/items/9"))
        specs += [CHECKOUT, _failed("POST", "/api/cart/9", "500")]
        went_on.append(FunnelSession(timeline=_timeline(f"w{i}", specs)))
    return stopped + went_on


def test_window_merge_and_numbers() -> None:
    analysis = analyze_funnel(_sessions(), parse_steps(["url:/cart", 'click:"Checkout"']))
    (contrast,) = analysis.contrasts
    assert (contrast.split.went_on, contrast.split.stopped) == (4, 4)
    keys = {f.key for factor in contrast.factors for f in factor.features}
    assert "request:GET /api/boot 500" not in keys  # before the window
    assert "signal:rage" not in keys  # in one stopped session: not tested
    assert 'rage:click button "Apply"' not in keys
    assert contrast.features_seen == 6
    assert contrast.features_tested == 4
    assert contrast.factors_tested == 3
    first, second, third = contrast.factors
    # ids in paths are templated; the slow Update click shows in the same four sessions
    assert [f.key for f in first.features] == [
        "request:POST /api/cart/:id 500",
        'slow:click button "Update"',
    ]
    assert (first.stopped_with, first.went_on_with) == (4, 0)
    assert first.p_value == pytest.approx(1 / 70)
    assert first.adjusted_p == pytest.approx(3 / 70)
    assert first.significant
    assert [f.key for f in second.features] == ["signal:slow"]  # the slow request of w0 too
    assert (second.stopped_with, second.went_on_with) == (4, 1)
    assert second.p_value == pytest.approx(5 / 70)
    assert second.adjusted_p == pytest.approx(10 / 70)
    assert not second.significant
    assert [f.key for f in third.features] == ["slow:request GET /api/items/:id"]
    assert third.p_value == pytest.approx(35 / 70)
    assert first.session_ids == ["s0", "s1", "s2", "s3"]
    stopped_refs = [(e.session_id, e.ref) for e in first.examples if e.group == "stopped"]
    assert stopped_refs == [("s0", "e2"), ("s1", "e2"), ("s2", "e2")]
    went_on_refs = [(e.session_id, e.ref, e.has_factor) for e in first.examples[3:]]
    assert went_on_refs == [("w0", "e4", False), ("w1", "e3", False), ("w2", "e3", False)]
    assert [(a.label, a.sessions) for a in contrast.next_actions] == [('click button "Update"', 4)]
    assert [(p.label, p.sessions) for p in contrast.next_pages] == [("(none)", 4)]


def test_min_stopped_and_alpha_are_parameters() -> None:
    steps = parse_steps(["url:/cart", 'click:"Checkout"'])
    strict = analyze_funnel(_sessions(), steps, min_stopped=1, alpha=0.01)
    (contrast,) = strict.contrasts
    assert contrast.features_tested == 6  # the rage click now counts, twice
    rage = next(f for f in contrast.factors if f.features[-1].key == "signal:rage")
    assert [f.key for f in rage.features] == ['rage:click button "Apply"', "signal:rage"]
    assert contrast.significant == []
    with pytest.raises(ValueError, match="alpha"):
        analyze_funnel(_sessions(), steps, alpha=1.5)


def test_an_outcome_step_contrasts_whole_sessions() -> None:
    failing = [
        FunnelSession(
            timeline=_timeline(f"f{i}", [CART, CHECKOUT, _failed("POST", "/api/pay", "502")]),
            outcome=False,
        )
        for i in range(3)
    ]
    fine = [
        FunnelSession(timeline=_timeline(f"ok{i}", [CART, CHECKOUT]), outcome=True)
        for i in range(5)
    ]
    unknown = FunnelSession(timeline=_timeline("x", [CART, CHECKOUT]), outcome=None)
    analysis = analyze_funnel(
        [*failing, *fine, unknown], parse_steps(["url:/cart", "outcome:success"])
    )
    (contrast,) = analysis.contrasts
    assert (contrast.split.went_on, contrast.split.stopped, contrast.split.unknown) == (5, 3, 1)
    assert analysis.sessions_without_summary == ["x"]
    (factor,) = contrast.factors
    assert factor.features[0].key == "request:POST /api/pay 502"
    assert (factor.stopped_with, factor.went_on_with) == (3, 0)
    assert factor.p_value == pytest.approx(1 / 56)  # C(3,3)C(5,0) / C(8,3)


def test_metadata_features() -> None:
    assert viewport_label(375) == "viewport ≤ 480 px"
    assert viewport_label(480) == "viewport ≤ 480 px"
    assert viewport_label(820) == "viewport 481-1024 px"
    assert viewport_label(1440) == "viewport > 1024 px"
    found = metadata_features(
        SessionMetadata(device="Mobile", browser="Mobile Safari", os=None, viewport_width=390)
    )
    assert [f.key for f in found] == [
        "device:Mobile",
        "browser:Mobile Safari",
        "viewport:viewport ≤ 480 px",
    ]
    assert metadata_features(SessionMetadata()) == []


def _console(message: str) -> dict[str, object]:
    return {"kind": EventKind.CONSOLE_ERROR, "value": message}


def test_errors_worded_apart_count_as_their_error_cluster() -> None:
    """Two wordings, each in two stopped sessions: neither alone is significant among four
    went-on sessions, but the team's cluster of both is one factor of four sessions."""
    wordings = ["TypeError: basket.total is undefined", "TypeError: cart is null"]
    stopped = [
        FunnelSession(timeline=_timeline(f"s{i}", [CART, _console(wordings[i % 2])]))
        for i in range(4)
    ]
    went_on = [FunnelSession(timeline=_timeline(f"w{i}", [CART, CHECKOUT])) for i in range(6)]
    sessions = stopped + went_on
    fingerprints = {
        occurrence.normalized: occurrence.fingerprint
        for session in stopped
        for occurrence in extract_errors(session.timeline, failed_outcome=None)
    }
    assert len(set(fingerprints.values())) == 2
    cluster = KnownCluster(cluster_id="ec_0123456789ab", title="Cart total crashes")
    clusters = dict.fromkeys(fingerprints.values(), cluster)
    steps = parse_steps(["url:/cart", 'click:"Checkout"'])

    without = analyze_funnel(sessions, steps).contrasts[0]
    assert [f.stopped_with for f in without.factors] == [2, 2]
    assert not without.significant

    found = analyze_funnel(sessions, steps, clusters=clusters).contrasts[0]
    (factor,) = found.significant
    assert (factor.stopped_with, factor.stopped_total, factor.went_on_with) == (4, 4, 0)
    (feature,) = factor.features
    assert (feature.kind, feature.cluster_id) == ("cluster", "ec_0123456789ab")
    assert feature.label == "error cluster: Cart total crashes"
    assert sorted(factor.session_ids) == ["s0", "s1", "s2", "s3"]
