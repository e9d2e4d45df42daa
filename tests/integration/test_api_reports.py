"""Pattern reports over HTTP (issue 18): recap's `…/session_summaries/reports/` and
`…/reports/{id}/` over reports saved in the store (JSON and Markdown, paging, other teams),
and PostHog's `POST …/session_summaries/create_session_summaries/`: its validation without
Temporal, then one real report through the dev server and a worker process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from recap.api.models import MAX_FOCUS_AREA, MAX_SESSION_IDS
from recap.core.config import Settings
from recap.embedded.ports import free_port
from recap.reports import render_markdown
from recap.reports.models import PatternReport
from recap.store.keys import READ_SCOPE, WRITE_SCOPE, KeyStore
from recap.store.reports import ReportStore
from recap.store.repository import store_for
from tests.support import report_samples
from tests.support.api_stack import ApiStack, api_stack, serve
from tests.support.report_fixtures import INVENTED_PATTERN, PatternDouble, answering_reports

__all__ = ["api_stack"]

A = "/api/projects/team-a"
B = "/api/projects/team-b"
REPORTS = "/session_summaries/reports/"
CREATE = "/session_summaries/create_session_summaries/"
# Three reports of team-a, newest first, and one of team-b.
NEWEST, MIDDLE, OLDEST = "rp_000000000000000c", "rp_000000000000000b", "rp_000000000000000a"
OTHER_TEAM = "rp_00000000000000bb"


@dataclass
class Reports:
    url: str
    tokens: dict[str, str]
    saved: dict[str, PatternReport]

    def get(self, path: str, token: str = "read", **headers: str) -> httpx.Response:
        auth = {"Authorization": f"Bearer {self.tokens[token]}"}
        return httpx.get(self.url + path, headers={**auth, **headers}, timeout=30)

    def post(self, path: str, body: Any, token: str = "read") -> httpx.Response:
        auth = {"Authorization": f"Bearer {self.tokens[token]}"}
        return httpx.post(self.url + path, json=body, headers=auth, timeout=30)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reports]:
    """The app over a database of its own, Temporal at a closed port: reading reports and
    refusing bad requests need neither."""
    root: Path = tmp_path_factory.mktemp("reports-api")
    settings = Settings(
        database_url=f"sqlite:///{root / 'recap.db'}",
        data_dir=root / "data",
        temporal_address=f"127.0.0.1:{free_port()}",
    )
    store = store_for(settings.resolved_database_url)
    keys = KeyStore(store)
    tokens = {
        "read": keys.create(team_id="team-a", scopes=[READ_SCOPE], label="read")[1],
        "rw": keys.create(team_id="team-a", scopes=[READ_SCOPE, WRITE_SCOPE], label="rw")[1],
        "b": keys.create(team_id="team-b", scopes=[READ_SCOPE], label="b")[1],
    }
    saved: dict[str, PatternReport] = {}
    for age, (report_id, patterns) in enumerate(((NEWEST, 3), (MIDDLE, 7), (OLDEST, 1))):
        report = report_samples.report("team-a", report_id=report_id, patterns=patterns)
        report.created_at -= timedelta(days=age)
        saved[report_id] = report
    saved[OTHER_TEAM] = report_samples.report("team-b", report_id=OTHER_TEAM, patterns=2)
    for report in saved.values():
        ReportStore(store).save_report(report)
    with serve(settings) as url:
        yield Reports(url, tokens, saved)


def test_the_listing_pages_the_teams_reports_newest_first(reports: Reports) -> None:
    first = reports.get(f"{A}{REPORTS}?limit=2")
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["count"] == 3
    assert [row["report_id"] for row in page["results"]] == [NEWEST, MIDDLE]
    assert page["previous"] is None
    assert page["next"].endswith(f"{A}{REPORTS}?limit=2&offset=2")
    second = reports.get(f"{A}{REPORTS}?limit=2&offset=2").json()
    assert [row["report_id"] for row in second["results"]] == [OLDEST]
    assert second["next"] is None and second["previous"].endswith(f"{REPORTS}?limit=2")
    # Lightweight rows: each pattern's counts, no examples.
    row = page["results"][1]
    stored = reports.saved[MIDDLE]
    assert row["title"] == stored.title and row["sessions_reported"] == 40
    assert row["sessions_not_reported"] == 3
    assert [p["pattern_id"] for p in row["patterns"]] == [p.pattern_id for p in stored.patterns]
    assert row["patterns"][0]["stats"]["sessions_affected"] == 9
    assert all("examples" not in pattern for pattern in row["patterns"])
    # Another team's listing holds its own report only.
    other = reports.get(f"{B}{REPORTS}", token="b").json()
    assert [row["report_id"] for row in other["results"]] == [OTHER_TEAM]


def test_a_report_answers_as_stored(reports: Reports) -> None:
    answer = reports.get(f"{A}{REPORTS}{MIDDLE}/")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert PatternReport.model_validate(answer.json()) == reports.saved[MIDDLE]
    # Without the trailing slash, the same body.
    assert reports.get(f"{A}{REPORTS}{MIDDLE}").json() == answer.json()


def test_a_report_answers_markdown_when_asked(reports: Reports) -> None:
    answer = reports.get(f"{A}{REPORTS}{MIDDLE}/", accept="text/markdown")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/markdown; charset=utf-8"
    assert answer.text == render_markdown(reports.saved[MIDDLE])
    assert answer.text.startswith("# Checkout sessions this week")
    # JSON preferred over Markdown: JSON.
    preferring_json = reports.get(
        f"{A}{REPORTS}{MIDDLE}/", accept="text/markdown;q=0.5, application/json"
    )
    assert preferring_json.headers["content-type"] == "application/json"


def test_another_teams_or_an_unknown_report_is_not_found(reports: Reports) -> None:
    for path in (
        f"{A}{REPORTS}{OTHER_TEAM}/",  # team-b's report, asked for by team-a
        f"{A}{REPORTS}rp_ffffffffffffffff/",
        f"{A}{REPORTS}not-a-report-id/",
    ):
        answer = reports.get(path)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["code"] == "not_found"
    # team-a's key under team-b's project: 404 before anything is read.
    assert reports.get(f"{B}{REPORTS}{OTHER_TEAM}/").status_code == 404
    assert reports.get(f"{B}{REPORTS}{OTHER_TEAM}/", token="b").status_code == 200


def test_reading_reports_needs_a_key(reports: Reports) -> None:
    answer = httpx.get(f"{reports.url}{A}{REPORTS}", timeout=30)
    assert answer.status_code == 401
    assert answer.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"session_ids": []}, "session_ids"),
        ({"session_ids": [f"s{n}" for n in range(MAX_SESSION_IDS + 1)]}, "session_ids"),
        ({"session_ids": ["s1"], "focus_area": "x" * (MAX_FOCUS_AREA + 1)}, "focus_area"),
        ({"focus_area": "checkout"}, "session_ids"),
        # No id recap could hold: nothing to report, refused before Temporal.
        ({"session_ids": ["../etc/passwd", "a b"]}, "session_ids"),
    ],
)
def test_create_refuses_invalid_requests_before_starting_anything(
    reports: Reports, body: dict[str, Any], attr: str
) -> None:
    # Temporal is at a closed port: a request that got past validation would be a 503.
    answer = reports.post(A + CREATE, body)
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["type"] == "validation_error" and error["attr"] == attr, error


def test_a_valid_create_needs_temporal(reports: Reports) -> None:
    """The same request shape with a good id gets past validation to Temporal (here down)."""
    answer = reports.post(A + CREATE, {"session_ids": ["s1"], "focus_area": "x" * MAX_FOCUS_AREA})
    assert answer.status_code == 503, answer.text
    assert answer.json()["detail"] == "Temporal is unavailable; try again later"


# -- a real report: the dev server, a worker process, the loopback model ------------------------


@pytest.fixture
def pattern_model(api_stack: ApiStack) -> Iterator[PatternDouble]:
    """The stack's model answers the pattern steps too: the invented pattern's second
    example cites `e1`, which the grounded summaries cite as well, so it is kept."""
    with answering_reports(api_stack.model) as double:
        yield double


async def test_create_answers_posthogs_patterns_then_lists_the_report(
    api_stack: ApiStack, pattern_model: PatternDouble
) -> None:
    sessions = api_stack.session_ids[:3]
    async with httpx.AsyncClient(headers=api_stack.headers(scopes="read"), timeout=180) as http:
        answer = await http.post(
            f"{api_stack.url}{A}{CREATE}",
            json={"session_ids": [*sessions, "../not-an-id"], "focus_area": None},
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["Recap-Workflow-Id"]
        body = answer.json()
        # PostHog's EnrichedSessionGroupSummaryPatternsList, recap's fields beside.
        assert body["patterns"], body
        assert pattern_model.calls["report_patterns"] >= 1
        for pattern in body["patterns"]:
            assert isinstance(pattern["pattern_id"], int) and pattern["pattern_id"] >= 1
            assert {"pattern_name", "pattern_description", "severity", "indicators"} <= set(pattern)
            assert set(pattern["stats"]) >= {
                "occurences",
                "sessions_affected",
                "sessions_affected_ratio",
                "segments_success_ratio",
            }
            assert len(pattern["events"]) == pattern["stats"]["sessions_affected"]
            for event in pattern["events"]:
                assert {"segment_name", "previous_events_in_segment", "next_events_in_segment"} <= (
                    set(event)
                )
                target = event["target_event"]
                assert target["session_id"] in sessions
                assert target["event_id"].startswith("e")
                assert target["milliseconds_since_start"] >= 0
        assert INVENTED_PATTERN in [pattern["pattern_name"] for pattern in body["patterns"]]
        assert body["report_id"].startswith("rp_")
        assert body["sessions_reported"] == len(sessions)
        assert [item["session_id"] for item in body["not_reported"]] == ["../not-an-id"]

        # The same request, asked for asynchronously: the job handle at once.
        started = await http.post(
            f"{api_stack.url}{A}{CREATE}?async=true", json={"session_ids": sessions}
        )
        assert started.status_code == 202, started.text
        assert started.headers["Preference-Applied"] == "respond-async"
        job = started.json()
        assert job["workflow_id"] == started.headers["Recap-Workflow-Id"]
        assert job["session_ids"] == sessions and job["status"] == "running"

        # A wait that runs out answers the job too, without claiming a preference.
        waited = await http.post(
            f"{api_stack.url}{A}{CREATE}?timeout=0.01",
            json={"session_ids": sessions, "focus_area": "a focus of its own"},
        )
        assert waited.status_code == 202, waited.text
        assert "Preference-Applied" not in waited.headers
        assert waited.json()["workflow_id"] == waited.headers["Recap-Workflow-Id"]

        # The report is stored and listed for its team, and for no other.
        listed = (await http.get(f"{api_stack.url}{A}{REPORTS}")).json()
        assert body["report_id"] in [row["report_id"] for row in listed["results"]]
        stored = await http.get(f"{api_stack.url}{A}{REPORTS}{body['report_id']}/")
        assert stored.status_code == 200
        assert stored.json()["inputs"]["session_ids"] == sessions
        other = await http.get(
            f"{api_stack.url}{B}{REPORTS}{body['report_id']}/", headers=api_stack.headers("team-b")
        )
        assert other.status_code == 404
    # The runs answered early end before the fixture puts the summaries-only model back.
    from recap.jobs.client import connect
    from recap.jobs.reports import report_result

    client = await connect(api_stack.settings)
    for workflow_id in (job["workflow_id"], waited.json()["workflow_id"]):
        assert await report_result(client, workflow_id, 120) is not None
    # The job a 202 names is followed where batches are: /api/jobs/{workflow_id}.
    async with httpx.AsyncClient(headers=api_stack.headers(scopes="read")) as http:
        followed = await http.get(f"{api_stack.url}/api/jobs/{waited.json()['workflow_id']}")
        foreign = await http.get(
            f"{api_stack.url}/api/jobs/{waited.json()['workflow_id']}",
            headers=api_stack.headers("team-b"),
        )
    assert followed.status_code == 200, followed.text
    assert (followed.json()["kind"], followed.json()["status"]) == ("pattern_report", "completed")
    assert followed.json()["progress"]["step"] == "done"
    assert followed.json()["progress"]["report_id"].startswith("rp_")
    assert foreign.status_code == 404
