"""The sessions list's filters and paging: outcome, summary, signals, dates and search each
narrow the list to exactly the recordings they describe; the pager keeps the filters; a bad
value is a 400 page that says what is wrong. Served by uvicorn and read over HTTP with
httpx; no Temporal, a files source of 30 recordings a day apart and the store."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from recap.core.config import Settings
from recap.demo.generator import SCENARIOS, generate_session
from recap.embedded.ports import free_port
from recap.llm.schema import CitedEvent, Issue, IssueKind, KeyAction, SummaryOutcome
from recap.store.repository import SummaryStore, store_for
from recap.store.users import UserStore
from recap.timeline.models import SessionInfo, Timeline, TimelineStats
from tests.support.api_stack import serve
from tests.support.store_samples import summary

PASSWORD = "correct horse battery"
RECORDINGS = 30
DAY_MS = 86_400_000
# Noon UTC on 1 March 2024, then one recording a day: recording n starts on March n+1.
START_MS = int(datetime(2024, 3, 1, 12, tzinfo=UTC).timestamp() * 1000)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ROW = re.compile(r'<tr class="session-row" data-session-id="([^"]+)">(.*?)</tr>', re.S)
_NEXT = re.compile(r'<a id="page-next" rel="next" href="([^"]+)">')


@dataclass
class Deployment:
    settings: Settings
    ids: list[str]  # in start order, one a day from 1 March 2024

    # The summarized ones (index into `ids`), by what their summary says.
    LAMP = 0  # success, no signals, "lamp" in its title
    RAGE = 1  # failure, a rage click
    CRASH = 2  # failure, an exception
    BOTH = 3  # success, a rage click and an error
    CALM = 4  # success, a slow click its summary does not cite

    def pick(self, *indexes: int) -> set[str]:
        return {self.ids[index] for index in indexes}


def _event(ref: str, kind: str, *flags: str) -> CitedEvent:
    return CitedEvent(ref=ref, t_ms=int(ref[1:]) * 1000, kind=kind, window="w1", flags=list(flags))


def _save(
    store: SummaryStore,
    session_id: str,
    title: str,
    *,
    success: bool,
    actions: list[CitedEvent] | None = None,
    errors: list[CitedEvent] | None = None,
    stats: TimelineStats | None = None,
) -> None:
    """The summary, written from a stored timeline whose counts (`stats`) are the
    recording's signals, as the compiler counted them."""
    timeline_hash = f"h-{session_id}"
    timeline = Timeline(
        session=SessionInfo(session_id=session_id, duration_ms=60_000, windows=1),
        events=[],
        stats=stats or TimelineStats(),
    )
    store.save_timeline(
        team_id="team-a", timeline_hash=timeline_hash, timeline=timeline, text="", tokens=1
    )
    written = summary(title, session_id=session_id, timeline_hash=timeline_hash).model_copy(
        update={
            "summary_outcome": SummaryOutcome(description=f"{title}.", success=success),
            "key_actions": [KeyAction(event=e, description="clicked") for e in actions or []],
            "issues": [
                Issue(kind=IssueKind.ERROR, event=e, description="threw", severity="high")
                for e in errors or []
            ],
        }
    )
    store.save_summary(team_id="team-a", summary=written)


def _deployment(root: Path) -> Deployment:
    recordings = root / "recordings"
    recordings.mkdir()
    ids = []
    for n in range(RECORDINGS):
        doc = generate_session(
            SCENARIOS[n % len(SCENARIOS)], seed=n, start_ms=START_MS + n * DAY_MS
        )
        ids.append(doc["data"]["id"])
        (recordings / f"{ids[-1]}.json").write_text(json.dumps(doc), encoding="utf-8")
    settings = Settings(
        source=f"files:{recordings}",
        database_url=f"sqlite:///{root / 'recap.db'}",
        data_dir=root / "data",
        temporal_address=f"127.0.0.1:{free_port()}",
    )
    store = store_for(settings.resolved_database_url)
    d = Deployment(settings, ids)
    _save(store, ids[d.LAMP], "Buys a lamp after two tries", success=True)
    _save(
        store,
        ids[d.RAGE],
        "Gives up on the coupon",
        success=False,
        actions=[_event("e3", "click", "rage")],
        stats=TimelineStats(rage_clicks=3),
    )
    _save(
        store,
        ids[d.CRASH],
        "Checkout crashed at payment",
        success=False,
        errors=[_event("e7", "exception")],
        stats=TimelineStats(exceptions=1),
    )
    _save(
        store,
        ids[d.BOTH],
        "Signs up despite a broken form",
        success=True,
        actions=[_event("e2", "click", "rage", "error_after")],
        stats=TimelineStats(rage_clicks=4, network_errors=1, console_errors=2),
    )
    # A slow click the summary never mentions is still the recording's signal.
    _save(
        store,
        ids[d.CALM],
        "Reads the pricing page",
        success=True,
        stats=TimelineStats(slow_clicks=1),
    )
    UserStore(store).create(team_id="team-a", email="ada@example.com", password=PASSWORD)
    return d


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    return _deployment(tmp_path_factory.mktemp("ui-sessions-list"))


@pytest.fixture(scope="module")
def ada(deployment: Deployment) -> Iterator[httpx.Client]:
    with (
        serve(deployment.settings) as url,
        httpx.Client(base_url=url, follow_redirects=False, timeout=30) as http,
    ):
        form = http.get("/ui/sign-in")
        token = _CSRF.search(form.text)
        assert token is not None
        answer = http.post(
            "/ui/sign-in",
            data={"csrf_token": token.group(1), "email": "ada@example.com", "password": PASSWORD},
        )
        assert answer.status_code == 303, answer.text
        yield http


def _page(http: httpx.Client, query: str = "", status: int = 200) -> str:
    answer = http.get(f"/ui/team-a/sessions{'?' if query else ''}{query}")
    assert answer.status_code == status, answer.text
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert 'style="' not in answer.text
    return answer.text


def _rows(text: str) -> dict[str, str]:
    return {session_id: row for session_id, row in _ROW.findall(text)}


def _listed(http: httpx.Client, query: str) -> set[str]:
    return set(_rows(_page(http, query)))


def test_the_form_keeps_its_filters_and_labels_every_field(ada: httpx.Client) -> None:
    text = _page(ada, "outcome=failure&summarized=yes&signal=rage&q=coupon&date_from=2024-03-01")
    assert '<form id="session-filters" class="filters" method="get"' in text
    for field in ("filter-q", "filter-outcome", "filter-summarized", "filter-date-from"):
        assert f'<label for="{field}">' in text and f'id="{field}"' in text
    assert '<option value="failure" selected>' in text
    assert '<option value="yes" selected>' in text
    assert 'value="rage" checked>' in text and 'value="error">' in text
    assert 'value="coupon"' in text and 'value="2024-03-01"' in text
    assert '<button type="submit" id="filter-apply">' in text
    assert '<a id="filter-clear" href="/ui/team-a/sessions">Clear filters</a>' in text


def test_outcome_lists_exactly_the_failed_or_the_successful(
    deployment: Deployment, ada: httpx.Client
) -> None:
    d = deployment
    assert _listed(ada, "outcome=failure") == d.pick(d.RAGE, d.CRASH)
    assert _listed(ada, "outcome=success") == d.pick(d.LAMP, d.BOTH, d.CALM)
    text = _page(ada, "outcome=failure")
    assert "2 matching recordings, page 1 of 1." in text
    rows = _rows(text)
    # The outcome is a word and a mark, with the title and the cited signal as tags.
    crash = rows[d.ids[d.CRASH]]
    assert '<span aria-hidden="true">✗</span> failure' in crash
    assert "Checkout crashed at payment" in crash and 'data-signal="error"' in crash
    assert 'data-signal="rage"' in rows[d.ids[d.RAGE]]
    assert '<time datetime="2024-03-03T12:' in crash  # started on the third day


def test_summarized_no_lists_only_the_unsummarized(
    deployment: Deployment, ada: httpx.Client
) -> None:
    d = deployment
    summarized = d.pick(d.LAMP, d.RAGE, d.CRASH, d.BOTH, d.CALM)
    unsummarized = set(d.ids) - summarized
    assert len(unsummarized) == 25
    text = _page(ada, "summarized=no")
    assert set(_rows(text)) == unsummarized
    assert "not summarized" in text and "25 matching recordings, page 1 of 1." in text
    assert _listed(ada, "summarized=yes") == summarized


def test_signals_list_those_with_every_chosen_one(
    deployment: Deployment, ada: httpx.Client
) -> None:
    d = deployment
    assert _listed(ada, "signal=rage") == d.pick(d.RAGE, d.BOTH)
    assert _listed(ada, "signal=error") == d.pick(d.CRASH, d.BOTH)
    assert _listed(ada, "signal=rage&signal=error") == d.pick(d.BOTH)
    assert _listed(ada, "signal=rage&outcome=failure") == d.pick(d.RAGE)
    assert _listed(ada, "signal=slow") == d.pick(d.CALM)


def test_search_finds_titles_outcomes_and_ids(deployment: Deployment, ada: httpx.Client) -> None:
    d = deployment
    assert _listed(ada, "q=lamp") == d.pick(d.LAMP)
    assert _listed(ada, "q=LAMP") == d.pick(d.LAMP)
    assert _listed(ada, "q=broken+form") == d.pick(d.BOTH)
    unsummarized = d.ids[20]
    assert _listed(ada, f"q={unsummarized[-12:]}") == {unsummarized}
    text = _page(ada, "q=no+such+words")
    assert "0 matching recordings" in text and "No recordings match these filters." in text


def test_a_date_range_leaves_out_recordings_outside_it(
    deployment: Deployment, ada: httpx.Client
) -> None:
    d = deployment
    # 3 to 5 March: the recordings of the third, fourth and fifth day.
    assert _listed(ada, "date_from=2024-03-03&date_to=2024-03-05") == d.pick(2, 3, 4)
    assert _listed(ada, "date_from=2024-03-29") == d.pick(28, 29)
    assert _listed(ada, "date_to=2024-03-02&outcome=success") == d.pick(d.LAMP)


def test_paging_keeps_the_filters_and_the_second_page_has_the_rest(
    deployment: Deployment, ada: httpx.Client
) -> None:
    first = _page(ada, "date_from=2024-03-01&q=-")  # every id has a dash: all 30 match
    assert "30 matching recordings, page 1 of 2." in first
    assert len(_rows(first)) == 25
    link = _NEXT.search(first)
    assert link is not None
    href = html.unescape(link.group(1))
    assert href == "/ui/team-a/sessions?q=-&date_from=2024-03-01&page=2"
    second = ada.get(href)
    assert second.status_code == 200
    assert "page 2 of 2." in second.text and 'rel="next"' not in second.text
    assert 'rel="prev" href="/ui/team-a/sessions?q=-&amp;date_from=2024-03-01"' in second.text
    rows = set(_rows(second.text))
    assert len(rows) == 5 and rows | set(_rows(first)) == set(deployment.ids)
    # Unfiltered, the same two pages.
    assert len(_rows(_page(ada))) == 25 and len(_rows(_page(ada, "page=2"))) == 5


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date_from=banana", "“banana” is not a date"),
        ("outcome=maybe&q=lamp", "Outcome must be any, success or failure"),
        ("signal=sparkle", "There is no signal “sparkle”"),
    ],
)
def test_a_bad_value_is_a_400_page_that_says_what_is_wrong(
    ada: httpx.Client, query: str, message: str
) -> None:
    text = _page(ada, query, status=400)
    assert 'id="filter-errors"' in text and 'role="alert"' in text
    assert message in text
    assert '<form id="session-filters"' in text  # to correct it
    assert _rows(text) == {}  # never a list that silently dropped a filter


def test_a_page_reads_the_store_twice_whatever_the_number_of_recordings(
    ada: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    read = SummaryStore.recording_summaries

    def counted(self: SummaryStore, **kwargs: Any) -> Any:
        calls.append(len(kwargs["session_ids"]))
        return read(self, **kwargs)

    monkeypatch.setattr(SummaryStore, "recording_summaries", counted)
    _page(ada, "signal=rage&q=coupon")
    # Once for the whole listing, once for the page's rows: no read per row.
    assert calls == [RECORDINGS, 1]
    signals: list[int | None] = []
    count = SummaryStore.signal_counts

    def counted_signals(self: SummaryStore, **kwargs: Any) -> Any:
        ids = kwargs["session_ids"]
        signals.append(None if ids is None else len(ids))
        return count(self, **kwargs)

    monkeypatch.setattr(SummaryStore, "signal_counts", counted_signals)
    _page(ada, "signal=rage")
    # The team's counts once for the filter, the page's for its rows.
    assert signals == [None, 2]
