"""Error clustering: extraction, fingerprints, clusters with stable ids, similar sessions
and the store."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from recap.clustering import (
    ErrorCluster,
    ErrorKind,
    ErrorOccurrence,
    cluster_errors,
    extract_errors,
    normalize_message,
    path_template,
)
from recap.clustering.fingerprint import normalize_frame
from recap.demo.generator import SimulatedTab, tag
from recap.demo.recordings import generate_ground_truth_session
from recap.recording.models import RawEvent
from recap.services.similar import session_document, similar_sessions
from recap.sources.files import load_recording_file
from recap.store.clusters import ClusterStore
from recap.store.repository import SummaryStore
from recap.timeline import compile_events, compile_timeline
from recap.timeline.models import EventKind, SessionInfo, Timeline, TimelineEvent, TimelineStats
from tests.support.recordings import BY_WINDOW_ID, RRWEB_CONSOLE

START_MS = 1_700_000_000_000

# -- fingerprints --------------------------------------------------------------------------


def test_normalize_message_replaces_what_varies() -> None:
    assert normalize_message(
        "Order 8812 for jane@shop.example failed: 'card_declined' at "
        "https://shop.example.com/api/orders/8812?retry=2 (id 3f9a2b1c7d, "
        "req 0b1e4c5d-2f3a-4b5c-8d9e-0f1a2b3c4d5e, token ord_8f3k2j9x77)"
    ) == (
        "Order <n> for <email> failed: <str> at https://shop.example.com/api/orders/:id "
        "(id <hex>, req <uuid>, token <id>)"
    )
    assert normalize_message("Payment failed for <email> after 3 tries") == (
        "Payment failed for <email> after <n> tries"
    )
    assert normalize_message("GET /search?q=shoes&page=2 failed") == "GET /search?<query> failed"
    assert normalize_message("timed out after 1500ms (h1, v2)") == "timed out after <n>ms (h1, v2)"
    same = "Order 0b1e4c5d-2f3a-4b5c-8d9e-0f1a2b3c4d5e not found"
    assert normalize_message(same) == normalize_message(same.replace("0b1e4c5d", "9f3a2b1c"))


def test_path_template() -> None:
    assert path_template("/api/orders/123?x=1") == "/api/orders/:id"
    assert path_template(
        "https://shop.example.com/api/users/0b1e4c5d-2f3a-4b5c-8d9e-0f1a2b3c4d5e/cart"
    ) == ("/api/users/:id/cart")
    assert path_template("/files/5d41402abc4b2a76b9719d911017c592/raw") == "/files/:id/raw"
    assert path_template("/orders/ord_8f3k2j9x77/items/<token>") == "/orders/:id/items/:id"
    assert path_template("/api/v2/oauth2callback") == "/api/v2/oauth2callback"


def test_normalize_frame_strips_lines_hosts_and_bundle_hashes() -> None:
    assert normalize_frame(
        "at pay (https://shop.example.com/static/js/main.3f9a2b1c.js:1:2045)"
    ) == ("at pay (/static/js/main.js)")
    assert normalize_frame("at pay (https://cdn2.example.com/assets/index-BxY3k9_a.js:12:7)") == (
        "at pay (/assets/index.js)"
    )
    assert (
        normalize_frame("__puppeteer_evaluation_script__:3:15") == "__puppeteer_evaluation_script__"
    )


def untimed(name: str) -> list[RawEvent]:
    events = json.loads(RRWEB_CONSOLE.read_text())[name]
    return [
        RawEvent(type=e["type"], timestamp=1_000_000 + 100 * i, data=e["data"])
        for i, e in enumerate(events)
    ]


def test_real_console_messages_are_extracted_and_fingerprinted() -> None:
    name = "rrweb-plugin-console-record > should record console messages 1"
    timeline = compile_events(untimed(name), "console")
    errors = extract_errors(timeline, failed_outcome=None)
    assert [(e.kind, e.message, e.top_frame) for e in errors] == [
        (ErrorKind.CONSOLE, "should log assert", "__puppeteer_evaluation_script__:3:15")
    ]
    again = extract_errors(compile_events(untimed(name), "other"), failed_outcome=True)
    assert again[0].fingerprint == errors[0].fingerprint
    assert again[0].failed_outcome is True and again[0].session_id == "other"

    posthog = compile_timeline(load_recording_file(BY_WINDOW_ID))
    (error,) = extract_errors(posthog, failed_outcome=False)
    assert (error.kind, error.message, error.ref) == (ErrorKind.CONSOLE, "dcvrtbye", "e1")
    assert error.timestamp_ms == posthog.session.start_timestamp_ms
    assert len(error.fingerprint) == 16


def test_ground_truth_session_errors(tmp_path: Path) -> None:
    session = generate_ground_truth_session(0)
    timeline = compile_timeline(load_recording_file(session.write_as(tmp_path, "rrweb")))
    errors = extract_errors(timeline, failed_outcome=True)
    found = [(e.kind, e.message) for e in errors]
    assert (ErrorKind.NETWORK, "POST /api/wishlist 0") in found
    assert (ErrorKind.NETWORK, "POST /api/payments 402") in found
    assert (ErrorKind.NETWORK, "GET /api/chat/status 404") in found
    assert not any("recommendations" in message for _, message in found)  # slow, not failed
    shown = [e for e in errors if e.kind is ErrorKind.SHOWN]
    assert [(e.message, e.preceding_action) for e in shown] == [
        ("Payment failed. Your card was declined.", 'submit button[pay-now] "Pay now"')
    ]
    declined = next(e for e in errors if e.message == "PaymentError: card_declined")
    assert declined.preceding_action == 'submit button[pay-now] "Pay now"'
    assert (
        declined.top_frame == "at submitPayment (https://shop.example.com/assets/checkout.js:57:15)"
    )
    wishlist = next(e for e in errors if e.message == "TypeError: Failed to fetch")
    assert wishlist.preceding_action == 'click button[add-to-wishlist] "Add to wishlist"'


def _generated_timeline(seed: int, order_id: str, user: str, frame_line: int) -> Timeline:
    """A tab of the demo generator hitting the same errors with different ids and URLs."""
    tab = SimulatedTab(random.Random(seed), START_MS, f"w-{seed}")
    tab.open_page(
        f"https://shop.example.com/orders/{order_id}",
        title="Order",
        body=[tag("p", {}, "Your order")],
    )
    tab.pause(500, 900)
    tab.console_error(
        f"OrderError: order {order_id} of {user} could not be loaded (HTTP 500)",
        [f"at loadOrder (https://shop.example.com/assets/app.{seed:08x}.js:{frame_line}:9)"],
    )
    tab.fetch(
        f"/api/orders/{order_id}?expand=items", method="GET", status=500, low_ms=50, high_ms=90
    )
    tab.pause(200, 400)
    tab.console_error(
        "PaymentError: card_declined",
        ["at submitPayment (https://shop.example.com/assets/c.js:5:1)"],
    )
    tab.console_error(
        "PaymentError: insufficient_funds",
        ["at submitPayment (https://shop.example.com/assets/c.js:5:1)"],
    )
    raw = [
        RawEvent(type=e["type"], timestamp=e["timestamp"], data=e["data"], window_id=e["windowId"])
        for e in tab.events
    ]
    return compile_events(raw, f"session-{seed}")


def test_generated_errors_with_different_ids_share_a_fingerprint() -> None:
    first = extract_errors(
        _generated_timeline(1, "1042", "ann@example.com", 88), failed_outcome=None
    )
    second = extract_errors(
        _generated_timeline(2, "88317", "bob@example.org", 91),
        failed_outcome=None,
    )
    assert len(first) == len(second) == 4
    for a, b in zip(first, second, strict=True):
        assert a.message != b.message or a.kind is not ErrorKind.CONSOLE or "Payment" in a.message
        assert a.fingerprint == b.fingerprint, (a, b)
    network = next(e for e in first if e.kind is ErrorKind.NETWORK)
    assert (network.method, network.path_template, network.status) == (
        "GET",
        "/api/orders/:id",
        500,
    )
    declined, insufficient = first[2], first[3]
    assert declined.fingerprint != insufficient.fingerprint  # shared prefix, different errors


# -- clusters ------------------------------------------------------------------------------


def _event(ref: int, t_ms: int, kind: EventKind, **fields: object) -> TimelineEvent:
    return TimelineEvent(ref=f"e{ref}", t_ms=t_ms, window="w1", kind=kind, **fields)  # type: ignore[arg-type]


KINDS = ("orders_console", "chunk_exception", "pay_500", "profile_404", "shown_payment")


def _kinds_of(i: int) -> list[str]:
    """Which of the five errors session `i` hits (deterministic, all five present)."""
    return [k for n, k in enumerate(KINDS) if (i * 7 + n * 3) % (n + 2) == 0]


def _synthetic_timeline(i: int) -> Timeline:
    rng = random.Random(i)
    events = [_event(1, 100, EventKind.CLICK, target='button[pay] "Pay now"')]
    t, ref = 200, 2
    for kind in _kinds_of(i):
        order = rng.randint(1, 10**6)
        if kind == "orders_console":
            key = rng.choice(["id", "total", "items"])
            bundle = f"main.{rng.getrandbits(32):08x}.js:1:{rng.randint(1, 9999)}"
            events.append(
                _event(
                    ref,
                    t,
                    EventKind.CONSOLE_ERROR,
                    value=f"TypeError: Cannot read properties of undefined (reading '{key}')",
                    target=f"at renderOrder (https://shop.example.com/static/js/{bundle})",
                )
            )
        elif kind == "chunk_exception":
            events.append(
                _event(
                    ref,
                    t,
                    EventKind.EXCEPTION,
                    value=f"ChunkLoadError: Loading chunk {order} failed. ({order}.chunk.js)",
                )
            )
        elif kind == "pay_500":
            events.append(
                _event(
                    ref,
                    t,
                    EventKind.NETWORK_ERROR,
                    target=f"POST /api/orders/{order}/pay",
                    value=rng.choice(["500", "502"]),
                )
            )
        elif kind == "profile_404":
            events.append(
                _event(
                    ref,
                    t,
                    EventKind.NETWORK_ERROR,
                    target=f"GET /api/users/{rng.getrandbits(64):016x}/profile?tab=2",
                    value="404",
                    count=2,
                )
            )
        else:
            events.append(
                _event(
                    ref,
                    t,
                    EventKind.SUBMIT,
                    target='button[pay] "Pay now"',
                    flags=["error_shown"],
                    effect=f'+"Payment for order #{order} failed. Try again."; POST /api/pay 200',
                )
            )
        t, ref = t + 100, ref + 1
    # slow requests are friction, not errors
    events.append(
        _event(ref, t, EventKind.NETWORK_ERROR, target="GET /api/slow", value="200", flags=["slow"])
    )
    return Timeline(
        session=SessionInfo(session_id=f"s{i:03d}", start_timestamp_ms=START_MS + i * 60_000),
        events=events,
        stats=TimelineStats(),
    )


def _occurrences(sessions: range) -> list[ErrorOccurrence]:
    return [
        o
        for i in sessions
        for o in extract_errors(_synthetic_timeline(i), failed_outcome=i % 3 == 0)
    ]


def _which(cluster: ErrorCluster) -> str:
    message = cluster.sample_messages[0]
    for kind, needle in zip(
        KINDS,
        ("renderOrder", "ChunkLoadError", "/pay ", "/profile", "Payment for order"),
        strict=True,
    ):
        if needle in message or (cluster.kind is ErrorKind.CONSOLE and kind == "orders_console"):
            return kind
    raise AssertionError(message)


def test_clusters_are_pure_with_exact_counts() -> None:
    occurrences = _occurrences(range(200))
    clusters = cluster_errors("team", occurrences)
    assert len(clusters) == 5
    assert len({o.fingerprint for o in occurrences}) == 5 + 1  # 500 and 502 merge
    for cluster in clusters:
        kind = _which(cluster)
        expected = [i for i in range(200) if kind in _kinds_of(i)]
        assert cluster.sessions_affected == len(expected), kind
        assert cluster.session_ids == [f"s{i:03d}" for i in expected]
        assert cluster.occurrences == len(expected) * (2 if kind == "profile_404" else 1)
        failed = sum(1 for i in expected if i % 3 == 0)
        assert cluster.failed_ratio == round(failed / len(expected), 4)
        assert cluster.first_seen_ms is not None and cluster.last_seen_ms is not None
        assert cluster.first_seen_ms >= START_MS + expected[0] * 60_000
        assert cluster.last_seen_ms < START_MS + (expected[-1] + 1) * 60_000
        assert len(cluster.sample_session_ids) == 5 and len(cluster.sample_messages) <= 5
        assert (
            cluster.sample_actions == ['submit button[pay] "Pay now"']
            if kind == "shown_payment"
            else ['click button[pay] "Pay now"']
        )
        assert cluster.cluster_id.startswith("ec_") and len(cluster.cluster_id) == 15
    assert [c.sessions_affected for c in clusters] == sorted(
        (c.sessions_affected for c in clusters), reverse=True
    )
    pay = next(c for c in clusters if _which(c) == "pay_500")
    assert len(pay.fingerprints) == 2


def test_network_errors_of_different_status_classes_never_merge() -> None:
    timelines = [
        Timeline(
            session=SessionInfo(session_id=f"n{i}"),
            events=[
                _event(1, 0, EventKind.NETWORK_ERROR, target="POST /api/orders/1/pay", value=status)
            ],
            stats=TimelineStats(),
        )
        for i, status in enumerate(["500", "404", "0"])
    ]
    occurrences = [o for t in timelines for o in extract_errors(t, failed_outcome=None)]
    assert len(cluster_errors("team", occurrences, threshold=0.01)) == 3
    endpoints = [
        Timeline(
            session=SessionInfo(session_id=f"p{i}"),
            events=[_event(1, 0, EventKind.NETWORK_ERROR, target=target, value="404")],
            stats=TimelineStats(),
        )
        for i, target in enumerate(["POST /api/cart/1/items", "POST /api/billing/1/items"])
    ]
    occurrences = [o for t in endpoints for o in extract_errors(t, failed_outcome=None)]
    assert len(cluster_errors("team", occurrences, threshold=0.01)) == 2


def test_cluster_ids_are_stable_across_runs_and_names_carry_over() -> None:
    first = cluster_errors("team", _occurrences(range(120)))
    for cluster in first:
        cluster.title = f"name of {_which(cluster)}"
        cluster.severity = "high"
    extra = Timeline(
        session=SessionInfo(session_id="s999"),
        events=[
            _event(1, 0, EventKind.EXCEPTION, value="RangeError: Maximum call stack size exceeded")
        ],
        stats=TimelineStats(),
    )
    second = cluster_errors(
        "team",
        _occurrences(range(200)) + extract_errors(extra, failed_outcome=None),
        previous=first,
    )
    assert len(second) == 6
    before = {_which(c): c for c in first}
    for cluster in second:
        if cluster.sample_messages[0].startswith("RangeError"):
            assert cluster.cluster_id not in {c.cluster_id for c in first}
            assert cluster.title is None
            continue
        kind = _which(cluster)
        assert cluster.cluster_id == before[kind].cluster_id
        assert (cluster.title, cluster.severity) == (f"name of {kind}", "high")
        assert cluster.sessions_affected > before[kind].sessions_affected
    # a fresh run with no history gives the same ids for the same data
    assert [c.cluster_id for c in cluster_errors("team", _occurrences(range(120)))] == [
        c.cluster_id for c in first
    ]


# -- similar sessions ----------------------------------------------------------------------


def test_similar_sessions_rank_by_shared_errors_and_flags() -> None:
    docs = {
        "target": session_document(None, None, ["aaaa1111", "bbbb2222"]) + "\nflag_rage checkout",
        "twin": session_document(None, None, ["aaaa1111", "bbbb2222"]) + "\nflag_rage checkout",
        "half": session_document(None, None, ["aaaa1111"]) + "\nbrowse",
        "other": session_document(None, None, ["cccc3333"]) + "\nflag_dead",
        "empty": "",
    }
    ranked = similar_sessions("target", docs, top_n=5)
    assert [s.session_id for s in ranked] == ["twin", "half"]
    assert ranked[0].score == pytest.approx(1.0)
    assert 0 < ranked[1].score < ranked[0].score
    assert similar_sessions("target", docs, top_n=1)[0].session_id == "twin"
    with pytest.raises(ValueError, match="no document"):
        similar_sessions("missing", docs)


def test_session_document_uses_timeline_flags() -> None:
    timeline = _synthetic_timeline(0)
    flagged = replace(
        timeline,
        events=[*timeline.events, _event(99, 0, EventKind.CLICK, flags=["rage", "dead"])],
    )
    document = session_document(None, flagged, ["abc"])
    assert "flag_rage" in document and "flag_dead" in document and "fp_abc" in document


# -- store ---------------------------------------------------------------------------------


def test_store_round_trip(tmp_path: Path) -> None:
    store = ClusterStore(SummaryStore(f"sqlite:///{tmp_path / 'recap.db'}"))
    occurrences = _occurrences(range(30))
    store.save_occurrences("team", "run-1", occurrences)
    store.save_occurrences("team", "run-2", occurrences)  # idempotent per (team, session, ref)
    store.save_occurrences("other", "run-1", occurrences[:3])
    loaded = store.load_occurrences("team")
    assert sorted(o.model_dump_json() for o in loaded) == sorted(
        o.model_dump_json() for o in occurrences
    )
    some = store.load_occurrences("team", ["s001", "s002"])
    assert {o.session_id for o in some} <= {"s001", "s002"} and some
    assert all(o.session_id in {"s001", "s002"} for o in some)

    clusters = cluster_errors("team", loaded)
    clusters[0].title = "Checkout breaks"
    store.save_clusters("team", clusters)
    store.save_clusters("team", clusters[:2])  # replaces the team's set
    assert store.load_clusters("team") == clusters[:2]
    store.save_clusters("team", clusters)
    assert store.load_clusters("team") == clusters
    assert store.load_clusters("other") == []
