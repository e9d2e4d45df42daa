"""The page of one session (issue 19): the stored summary beside its timeline, every
cited ref a link to its line, signals marked, the gate's drops in a collapsed section,
the Temporal UI link; another team's or an unknown session is 404. Served by uvicorn and
read over HTTP with httpx; no Temporal, a files source and the store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from recap.core.config import Settings
from recap.demo.generator import write_sample_sessions
from recap.embedded.ports import free_port
from recap.llm.gate import gate
from recap.llm.schema import (
    IssueKind,
    KeyActionFlag,
    ModelIssue,
    ModelKeyAction,
    ModelSegment,
    ModelSummary,
    RunMetadata,
    SegmentOutcome,
    SessionSummary,
    SummaryOutcome,
)
from recap.store.repository import store_for
from recap.store.users import UserStore
from recap.timeline.models import EventKind, SessionInfo, Timeline, TimelineEvent, TimelineStats
from recap.timeline.render import render_timeline
from tests.support.api_stack import serve

PASSWORD = "correct horse battery"
TITLE = "Checkout failed at payment"
TIMELINE_HASH = "h-ui-session"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LINE = re.compile(r'<li id="(e\d+)"[^>]*>')


@dataclass
class Deployment:
    settings: Settings
    summarized: str
    unsummarized: str
    summary: SessionSummary


def _timeline(session_id: str) -> Timeline:
    def event(ref: int, t_ms: int, kind: EventKind, **fields: object) -> TimelineEvent:
        return TimelineEvent(
            **{"ref": f"e{ref}", "t_ms": t_ms, "window": "w1", "kind": kind, **fields}
        )

    events = [
        event(1, 0, EventKind.NAVIGATION, url="https://shop.example/cart"),
        event(2, 2_000, EventKind.CLICK, target='button "Apply coupon"', flags=["dead"]),
        event(3, 4_000, EventKind.INPUT, target='input "Coupon"', value="SAVE10"),
        event(4, 10_000, EventKind.NAVIGATION, url="https://shop.example/checkout"),
        event(5, 72_000, EventKind.CLICK, target='button "Pay"', flags=["error_after"]),
        event(6, 72_100, EventKind.EXCEPTION, value="TypeError: card is undefined"),
        event(7, 80_000, EventKind.CLICK, target='link "Help"'),
    ]
    return Timeline(
        session=SessionInfo(session_id=session_id, duration_ms=90_000, windows=1),
        events=events,
        stats=TimelineStats(raw_events=40, emitted_events=7),
    )


def _summary(timeline: Timeline) -> SessionSummary:
    answer = ModelSummary(
        title=TITLE,
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
            ModelKeyAction(
                ref="e5", description="Clicked Pay", flags=[KeyActionFlag.EXCEPTION_BLOCKING]
            ),
            ModelKeyAction(ref="e3", description="Typed a coupon"),
            # Cites no event of the timeline: the gate drops it.
            ModelKeyAction(ref="e99", description="Invented a refund"),
        ],
        issues=[
            ModelIssue(
                kind=IssueKind.ERROR, ref="e6", description="Card is undefined", severity="high"
            ),
            # A rage claim on an unflagged click: the gate drops it.
            ModelIssue(
                kind=IssueKind.RAGE_CLICK, ref="e7", description="Raged at Help", severity="low"
            ),
        ],
        summary_outcome=SummaryOutcome(description="Could not pay", success=False),
    )
    run = RunMetadata(
        model="m",
        prompt_version="p@1",
        timeline_hash=TIMELINE_HASH,
        timeline_tokens=50,
        latency_ms=5,
    )
    return gate(answer, timeline, run, focus_area=None)


def _deployment(tmp_path: Path, **overrides: Any) -> Deployment:
    recordings = tmp_path / "recordings"
    session_ids = [sample.session_id for sample in write_sample_sessions(recordings, seed=0)]
    fields: dict[str, Any] = {
        "source": f"files:{recordings}",
        "database_url": f"sqlite:///{tmp_path / 'recap.db'}",
        "data_dir": tmp_path / "data",
        "temporal_address": f"127.0.0.1:{free_port()}",
        "temporal_namespace": "recap-ns",
    }
    settings = Settings(**{**fields, **overrides})
    store = store_for(settings.resolved_database_url)
    summarized, unsummarized = session_ids[0], session_ids[1]
    timeline = _timeline(summarized)
    store.save_timeline(
        team_id="team-a",
        timeline_hash=TIMELINE_HASH,
        timeline=timeline,
        text=render_timeline(timeline),
        tokens=50,
    )
    summary = _summary(timeline)
    store.save_summary(team_id="team-a", summary=summary)
    users = UserStore(store)
    users.create(team_id="team-a", email="ada@example.com", password=PASSWORD)
    users.create(team_id="team-b", email="bo@example.com", password=PASSWORD)
    return Deployment(settings, summarized, unsummarized, summary)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    return _deployment(tmp_path_factory.mktemp("ui-session"))


@pytest.fixture(scope="module")
def url(deployment: Deployment) -> Iterator[str]:
    with serve(deployment.settings) as served:
        yield served


def _client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, follow_redirects=False, timeout=20)


def _sign_in(http: httpx.Client, email: str) -> None:
    form = http.get("/ui/sign-in")
    token = _CSRF.search(form.text)
    assert token is not None
    answer = http.post(
        "/ui/sign-in", data={"csrf_token": token.group(1), "email": email, "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.text


@pytest.fixture
def ada(url: str) -> Iterator[httpx.Client]:
    with _client(url) as http:
        _sign_in(http, "ada@example.com")
        yield http


def _page(http: httpx.Client, session_id: str) -> str:
    page = http.get(f"/ui/team-a/sessions/{session_id}")
    assert page.status_code == 200, page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    return page.text


def test_the_page_shows_the_summary_beside_its_timeline(
    deployment: Deployment, ada: httpx.Client
) -> None:
    page = _page(ada, deployment.summarized)
    summary = deployment.summary
    assert f"<h1>{TITLE}</h1>" in page
    assert "Could not pay" in page and '<span class="outcome failure">failure</span>' in page
    assert "Applied a coupon" in page and "Payment threw an error" in page
    assert "Card is undefined" in page and "high severity" in page
    assert "exception_blocking" in page

    cited = {event.ref for event in summary.cited_events()}
    assert cited == {"e1", "e3", "e4", "e5", "e6"}
    lines = set(_LINE.findall(page))
    assert lines == {f"e{n}" for n in range(1, 8)}
    for ref in cited:
        assert f'href="#{ref}"' in page, ref
    linked = set(re.findall(r'href="#(e\d+)"', page))
    # The dropped rage claim's line (e7) is linked from the gate's section too.
    assert linked == cited | {"e7"} and linked <= lines
    # Each line reads as recap's text timeline renders it.
    assert "e5 01:12 click button" in page.replace("&#34;", '"')


def test_lines_with_a_signal_are_marked_with_a_word_not_colour_alone(
    deployment: Deployment, ada: httpx.Client
) -> None:
    page = _page(ada, deployment.summarized)
    marked = dict(re.findall(r'<li id="(e\d+)"[^>]*data-flags="([^"]*)"', page))
    assert marked == {"e2": "dead", "e5": "error_after"}
    dead_line = page.split('<li id="e2"', 1)[1].split("</li>", 1)[0]
    assert 'class="event signal' in dead_line and "⚑ dead" in dead_line
    plain_line = page.split('<li id="e7"', 1)[1].split("</li>", 1)[0]
    assert "signal" not in plain_line and "⚑" not in plain_line


def test_what_the_gate_dropped_is_inside_a_collapsed_details(
    deployment: Deployment, ada: httpx.Client
) -> None:
    page = _page(ada, deployment.summarized)
    dropped = deployment.summary.gate.dropped
    assert {claim.ref for claim in dropped} >= {"e99", "e7"}
    details = re.search(r"<details[^>]*>(.*?)</details>", page, re.S)
    assert details is not None and "<details open" not in page
    assert "What the gate dropped" in details.group(1)
    outside = page.replace(details.group(0), "")
    for claim in dropped:
        assert claim.reason in details.group(1)
        if claim.text:
            assert claim.text in details.group(1)
            assert claim.text not in outside
    # A dropped ref that names no line is text, not a link to nowhere.
    assert 'href="#e99"' not in page


def test_the_temporal_ui_link_names_the_summary_workflow(
    deployment: Deployment, ada: httpx.Client
) -> None:
    page = _page(ada, deployment.summarized)
    expected = (
        f"{deployment.settings.temporal_ui_url}/namespaces/recap-ns/workflows/"
        f"session-summary%3Ateam-a%3A{deployment.summarized}"
    )
    assert f'href="{expected}"' in page
    # A files source is no PostHog: no replay link is invented.
    assert "/replay/" not in page
    assert '<script src="/ui/static/session.js" defer></script>' in page
    script = ada.get("/ui/static/session.js")
    assert script.status_code == 200 and "scrollIntoView" in script.text


def test_another_teams_session_and_an_unknown_id_answer_404(
    deployment: Deployment, url: str
) -> None:
    with _client(url) as bo:
        _sign_in(bo, "bo@example.com")
        other = bo.get(f"/ui/team-a/sessions/{deployment.summarized}")
        own_prefix = bo.get(f"/ui/team-b/sessions/{deployment.summarized}")
    with _client(url) as ada:
        _sign_in(ada, "ada@example.com")
        unknown = ada.get("/ui/team-a/sessions/no-such-session")
        malformed = ada.get("/ui/team-a/sessions/bad%20id")
    answers = [other, unknown, malformed]
    assert [answer.status_code for answer in answers] == [404] * 3
    # The same page for each: only the header (the person's team, the form token) differs.
    assert len({answer.text.split('<main id="main">')[1] for answer in answers}) == 1
    assert TITLE not in other.text
    # The files source is every team's: team-b sees the recording, never team-a's summary.
    assert own_prefix.status_code == 200
    assert "not summarized yet" in own_prefix.text and TITLE not in own_prefix.text


def test_not_signed_in_redirects_to_sign_in(deployment: Deployment, url: str) -> None:
    with _client(url) as http:
        answer = http.get(f"/ui/team-a/sessions/{deployment.summarized}")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/sign-in?next=/ui/team-a/sessions/")


def test_the_sessions_list_links_each_row_to_its_page(
    deployment: Deployment, ada: httpx.Client
) -> None:
    listing = ada.get("/ui/team-a/sessions")
    assert listing.status_code == 200
    for session_id in (deployment.summarized, deployment.unsummarized):
        assert f'href="/ui/team-a/sessions/{session_id}"' in listing.text


def test_a_session_without_a_summary_shows_its_metadata(
    deployment: Deployment, ada: httpx.Client
) -> None:
    page = _page(ada, deployment.unsummarized)
    assert "not summarized yet" in page
    assert deployment.unsummarized in page
    assert "Duration" in page and "Start URL" in page
    assert TITLE not in page and "<details" not in page


def test_a_posthog_team_gets_a_replay_link_at_each_key_action(tmp_path: Path) -> None:
    # Nothing is asked of PostHog: the summary and its timeline come from the store.
    deployment = _deployment(
        tmp_path,
        source="posthog",
        posthog_host="https://ph.example",
        posthog_project_id="7",
        posthog_api_key="phx_not_used",
    )
    with serve(deployment.settings) as url, _client(url) as http:
        _sign_in(http, "ada@example.com")
        page = _page(http, deployment.summarized)
    replay = f"https://ph.example/project/7/replay/{deployment.summarized}"
    assert f'href="{replay}?t=0"' in page  # the whole recording
    assert f'href="{replay}?t=72"' in page  # e5, "Clicked Pay", at 01:12
    assert f'href="{replay}?t=4"' in page  # e3, at 00:04
