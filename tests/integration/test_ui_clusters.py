"""The error clusters page (issue 19): the team's clusters, most sessions affected first,
with their counts, a sparkline of occurrences per day computed from the stored errors and
links to their sessions; one cluster's page; another team's clusters are neither listed
nor found. And the similar sessions the session page shows, with why they are alike.

Served by uvicorn and read over HTTP with httpx; no Temporal, a files source and the store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from recap.api.app import create_app
from recap.api.ui.clusters_page import similar_sessions
from recap.api.ui.common import UiState
from recap.api.ui.sparkline import sparkline_points
from recap.clustering.models import ErrorCluster, ErrorKind, ErrorOccurrence
from recap.core.config import Settings
from recap.demo.generator import write_sample_sessions
from recap.embedded.ports import free_port
from recap.llm.gate import gate
from recap.llm.schema import ModelKeyAction, ModelSummary, RunMetadata, SummaryOutcome
from recap.store.clusters import ClusterStore
from recap.store.repository import store_for
from recap.store.users import UserStore
from recap.timeline.models import EventKind, SessionInfo, Timeline, TimelineEvent, TimelineStats
from recap.timeline.render import render_timeline

PASSWORD = "correct horse battery"
PAYMENT = "Card is undefined at payment"
PAYMENT_ID = "ec_aaaaaaaaaaaa"
CART_ID = "ec_cccccccccccc"
OTHER_TEAM_ID = "ec_bbbbbbbbbbbb"
OTHER_TEAM_TITLE = "Team B own error"
PAY = ["pay-1", "pay-2", "pay-3", "pay-4"]
PAY_FINGERPRINT = "a" * 16
CART_FINGERPRINT = "c" * 16
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Deployment:
    settings: Settings


def _occurrence(
    session_id: str, fingerprint: str, day: int | None, count: int = 1
) -> ErrorOccurrence:
    when = None if day is None else datetime(2026, 11, day, 9, tzinfo=UTC).timestamp() * 1000
    return ErrorOccurrence(
        session_id=session_id,
        kind=ErrorKind.EXCEPTION if fingerprint == PAY_FINGERPRINT else ErrorKind.NETWORK,
        ref="e3",
        t_ms=5_000,
        timestamp_ms=None if when is None else int(when),
        message="TypeError: card is undefined",
        normalized="TypeError: card is undefined",
        fingerprint=fingerprint,
        count=count,
    )


def _cluster(
    team_id: str,
    cluster_id: str,
    *,
    kind: ErrorKind,
    title: str | None,
    fingerprint: str,
    sessions: list[str],
    occurrences: int,
) -> ErrorCluster:
    return ErrorCluster(
        cluster_id=cluster_id,
        team_id=team_id,
        fingerprints=[fingerprint],
        title=title,
        kind=kind,
        occurrences=occurrences,
        sessions_affected=len(sessions),
        session_ids=sorted(sessions),
        failed_ratio=0.5,
        first_seen_ms=None,
        last_seen_ms=None,
        sample_session_ids=sessions[:5],
        sample_messages=["GET /api/cart 500" if kind is ErrorKind.NETWORK else "TypeError"],
        sample_actions=[],
        centroid_terms={},
    )


def _store_session(settings: Settings, session_id: str, title: str, *, failed: bool) -> None:
    """A stored timeline and its summary, for the similar sessions."""
    events = [
        TimelineEvent(
            **{
                "ref": "e1",
                "t_ms": 0,
                "window": "w1",
                "kind": EventKind.NAVIGATION,
                "url": "https://shop.example/checkout",
            }
        ),
        TimelineEvent(
            **{
                "ref": "e2",
                "t_ms": 4_000,
                "window": "w1",
                "kind": EventKind.CLICK,
                "target": 'button "Pay"',
                "flags": ["error_after"] if failed else [],
            }
        ),
    ]
    timeline = Timeline(
        session=SessionInfo(session_id=session_id, duration_ms=10_000, windows=1),
        events=events,
        stats=TimelineStats(raw_events=10, emitted_events=2),
    )
    timeline_hash = f"h-{session_id}"
    store = store_for(settings.resolved_database_url)
    store.save_timeline(
        team_id="team-a",
        timeline_hash=timeline_hash,
        timeline=timeline,
        text=render_timeline(timeline),
        tokens=20,
    )
    answer = ModelSummary(
        title=title,
        segments=[],
        key_actions=[ModelKeyAction(ref="e2", description=f"Clicked Pay: {title}")],
        issues=[],
        summary_outcome=SummaryOutcome(description=title, success=not failed),
    )
    run = RunMetadata(
        model="m",
        prompt_version="p@1",
        timeline_hash=timeline_hash,
        timeline_tokens=20,
        latency_ms=5,
    )
    store.save_summary(team_id="team-a", summary=gate(answer, timeline, run, focus_area=None))


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    tmp_path: Path = tmp_path_factory.mktemp("ui-clusters")
    recordings = tmp_path / "recordings"
    write_sample_sessions(recordings, seed=0)
    settings = Settings(
        source=f"files:{recordings}",
        database_url=f"sqlite:///{tmp_path / 'recap.db'}",
        data_dir=tmp_path / "data",
        temporal_address=f"127.0.0.1:{free_port()}",
    )
    store = store_for(settings.resolved_database_url)
    clusters = ClusterStore(store)
    # Per day: 2 on Nov 1, none on Nov 2, 5 + 2 on Nov 3, 1 on Nov 4: peak 7, 10 in all.
    clusters.save_occurrences(
        "team-a",
        "run-1",
        [
            _occurrence("pay-1", PAY_FINGERPRINT, 1, count=2),
            _occurrence("pay-2", PAY_FINGERPRINT, 3, count=5),
            _occurrence("pay-3", PAY_FINGERPRINT, 3, count=2),
            _occurrence("pay-4", PAY_FINGERPRINT, 4),
            _occurrence("cart-1", CART_FINGERPRINT, None),
        ],
    )
    clusters.save_clusters(
        "team-a",
        [
            _cluster(
                "team-a",
                CART_ID,
                kind=ErrorKind.NETWORK,
                title=None,
                fingerprint=CART_FINGERPRINT,
                sessions=["cart-1"],
                occurrences=1,
            ),
            _cluster(
                "team-a",
                PAYMENT_ID,
                kind=ErrorKind.EXCEPTION,
                title=PAYMENT,
                fingerprint=PAY_FINGERPRINT,
                sessions=PAY,
                occurrences=10,
            ),
        ],
    )
    clusters.save_occurrences("team-b", "run-b", [_occurrence("b-1", PAY_FINGERPRINT, 2)])
    clusters.save_clusters(
        "team-b",
        [
            _cluster(
                "team-b",
                OTHER_TEAM_ID,
                kind=ErrorKind.EXCEPTION,
                title=OTHER_TEAM_TITLE,
                fingerprint=PAY_FINGERPRINT,
                sessions=["b-1"],
                occurrences=1,
            )
        ],
    )
    _store_session(settings, "pay-1", "Payment failed with card undefined", failed=True)
    _store_session(settings, "pay-2", "Payment failed with card undefined again", failed=True)
    _store_session(settings, "blog-1", "Read the blog calmly", failed=False)
    users = UserStore(store)
    users.create(team_id="team-a", email="ada@example.com", password=PASSWORD)
    users.create(team_id="team-b", email="bo@example.com", password=PASSWORD)
    return Deployment(settings)


@pytest.fixture(scope="module")
def url(deployment: Deployment) -> Iterator[str]:
    from tests.support.api_stack import serve

    with serve(deployment.settings) as served:
        yield served


@contextmanager
def _signed_in(url: str, email: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, follow_redirects=False, timeout=20) as http:
        token = _CSRF.search(http.get("/ui/sign-in").text)
        assert token is not None
        answer = http.post(
            "/ui/sign-in",
            data={"csrf_token": token.group(1), "email": email, "password": PASSWORD},
        )
        assert answer.status_code == 303, answer.text
        yield http


def _row(page: str, cluster_id: str) -> str:
    """The table row of one cluster."""
    rows: list[str] = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    found = [row for row in rows if f"/clusters/{cluster_id}" in row]
    assert len(found) == 1, cluster_id
    return found[0]


def test_the_clusters_page_lists_the_teams_clusters_with_their_counts(url: str) -> None:
    with _signed_in(url, "ada@example.com") as ada:
        answer = ada.get("/ui/team-a/clusters")
    assert answer.status_code == 200, answer.text
    page = answer.text
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert "style=" not in page and len(answer.content) < 200_000
    assert "<h1>Error clusters</h1>" in page and "2 clusters" in page
    # Most sessions affected first.
    assert page.index(PAYMENT_ID) < page.index(CART_ID)

    payment = _row(page, PAYMENT_ID)
    assert f'<span class="title">{PAYMENT}</span>' in payment
    assert '<span class="tag kind">exception</span>' in payment
    cells = re.findall(r'<td class="num">(\d+)</td>', payment)
    assert cells == ["4", "10"]  # sessions affected, occurrences
    # Three sessions linked, the fourth on the cluster's page.
    linked = re.findall(r'href="/ui/team-a/sessions/([^"]+)"', payment)
    assert linked == ["pay-1", "pay-2", "pay-3"]
    assert "and 1 more" in payment

    # The sparkline: the stored occurrences per day, drawn by code.
    svg = re.search(r"<svg[^>]*>.*?</svg>", payment, re.S)
    assert svg is not None
    label = re.search(r'aria-label="([^"]+)"', svg.group(0))
    assert label is not None and 'role="img"' in svg.group(0)
    assert label.group(1).startswith("occurrences per day, peak 7, 10 in all over 4 days")
    assert "2026-11-01 to 2026-11-04" in label.group(1)
    assert f"<title>{label.group(1)}</title>" in svg.group(0)
    points = re.search(r'points="([^"]+)"', svg.group(0))
    expected = " ".join(f"{x:g},{y:g}" for x, y in sparkline_points([2, 0, 7, 1], 120, 28))
    assert points is not None and points.group(1) == expected

    # A cluster without a name shows its most seen message; without times, no line.
    cart = _row(page, CART_ID)
    assert "GET /api/cart 500" in cart and "not named yet" in cart
    assert "<svg" not in cart and "no times recorded" in cart


def test_another_teams_clusters_are_neither_listed_nor_found(url: str) -> None:
    with _signed_in(url, "ada@example.com") as ada:
        listing = ada.get("/ui/team-a/clusters")
        theirs = ada.get(f"/ui/team-a/clusters/{OTHER_TEAM_ID}")
        unknown = ada.get("/ui/team-a/clusters/ec_000000000000")
        malformed = ada.get("/ui/team-a/clusters/not-a-cluster")
        their_list = ada.get("/ui/team-b/clusters")
    assert OTHER_TEAM_TITLE not in listing.text and OTHER_TEAM_ID not in listing.text
    assert [a.status_code for a in (theirs, unknown, malformed, their_list)] == [404] * 4
    assert OTHER_TEAM_TITLE not in theirs.text
    with _signed_in(url, "bo@example.com") as bo:
        own = bo.get("/ui/team-b/clusters")
        ours = bo.get(f"/ui/team-b/clusters/{PAYMENT_ID}")
    assert own.status_code == 200 and OTHER_TEAM_TITLE in own.text
    assert PAYMENT not in own.text and "pay-1" not in own.text
    assert ours.status_code == 404


def test_one_clusters_page_lists_all_its_sessions(url: str) -> None:
    with _signed_in(url, "ada@example.com") as ada:
        answer = ada.get(f"/ui/team-a/clusters/{PAYMENT_ID}")
        signed_out = httpx.get(f"{url}/ui/team-a/clusters/{PAYMENT_ID}")
    assert answer.status_code == 200, answer.text
    page = answer.text
    assert f"<h1>{PAYMENT}</h1>" in page
    assert set(re.findall(r'href="/ui/team-a/sessions/([^"]+)"', page)) == set(PAY)
    # A session with a summary shows its title and outcome.
    assert "Payment failed with card undefined" in page
    assert '<span class="outcome failure"' in page
    assert "peak 7" in page and "50% of those with a summary" in page
    assert signed_out.status_code == 303


def _ui(deployment: Deployment) -> UiState:
    state: UiState = create_app(deployment.settings).state.ui
    return state


async def test_similar_sessions_name_the_neighbour_and_the_errors_they_share(
    deployment: Deployment,
) -> None:
    ui = _ui(deployment)
    similar = await similar_sessions(ui, "team-a", "pay-1")
    assert similar, "pay-2 shares its words and its error"
    best = similar[0]
    assert best.session_id == "pay-2"
    assert best.title == "Payment failed with card undefined again"
    assert best.outcome == "failure" and best.score > 0
    assert best.shared_clusters == [PAYMENT]
    assert PAYMENT in best.why
    others = [view for view in similar if view.session_id != "pay-2"]
    assert all(view.score < best.score and view.shared_clusters == [] for view in others)
    # Another team's sessions are never compared; an unknown session has no neighbours.
    assert await similar_sessions(ui, "team-b", "pay-1") == []
    assert await similar_sessions(ui, "team-a", "no-such-session") == []
    assert len(await similar_sessions(ui, "team-a", "pay-1", limit=1)) == 1


async def test_the_similar_partial_links_each_session_and_says_why(
    deployment: Deployment,
) -> None:
    ui = _ui(deployment)
    similar = await similar_sessions(ui, "team-a", "pay-1")
    template = ui.templates.get_template("_similar.html")
    html = template.render(similar=similar, team_id="team-a")
    assert '<h2 id="similar-heading">Similar sessions</h2>' in html
    assert 'href="/ui/team-a/sessions/pay-2"' in html
    assert "Payment failed with card undefined again" in html
    assert f"same errors: “{PAYMENT}”" in html
    assert '<span class="outcome failure"' in html and "style=" not in html
    empty = template.render(similar=[], team_id="team-a")
    assert "No similar sessions stored yet." in empty and "<ol" not in empty
