"""Reading stored summaries without generating one (issue 17, gap 8): PostHog's
`single_session_summaries/` listing and `single_session_summaries/{session_id}/`. A session
answers with its summary without a focus area; a focused one never stands in for it.

Through the real app, with summaries saved straight into the store (no Temporal)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from recap.core.config import Settings
from recap.embedded.ports import free_port
from recap.llm.schema import (
    CitedEvent,
    KeyAction,
    KeyActionFlag,
    SessionSummary,
    SummaryOutcome,
)
from recap.store.keys import READ_SCOPE, KeyStore
from recap.store.repository import SummaryStore, store_for
from tests.support.api_stack import serve
from tests.support.store_samples import summary, timeline

A = "/api/projects/team-a/single_session_summaries/"
NOT_FOUND = {
    "type": "invalid_request",
    "code": "not_found",
    "detail": "No stored summary found for this session.",
    "attr": None,
}
RETRIEVE_FIELDS = {
    "id",
    "session_id",
    "distinct_id",
    "session_start_time",
    "session_duration",
    "summary",
    "exception_event_ids",
    "extra_summary_context",
    "run_metadata",
    "created_at",
    "created_by",
}
ROW_FIELDS = {
    "id",
    "session_id",
    "distinct_id",
    "session_start_time",
    "session_duration",
    "session_outcome",
    "exception_count",
    "has_exceptions",
    "model_used",
    "visual_confirmation",
    "extra_summary_context",
    "created_at",
    "created_by",
}
# 2023-11-14T22:13:20Z
START_MS = 1_700_000_000_000


def _action(ref: str, flags: list[KeyActionFlag]) -> KeyAction:
    event = CitedEvent(ref=ref, t_ms=int(ref[1:]) * 1000, kind="click", window="w1")
    return KeyAction(event=event, description=f"clicked {ref}", flags=flags)


def _save(
    store: SummaryStore,
    team: str,
    session_id: str,
    title: str,
    *,
    focus: str | None = None,
    success: bool = True,
    actions: list[KeyAction] | None = None,
    distinct_id: str = "d1",
    duration_ms: int = 60_000,
) -> SessionSummary:
    digest = f"hash-{team}-{session_id}"
    compiled = timeline(session_id)
    compiled.session.distinct_id = distinct_id
    compiled.session.start_timestamp_ms = START_MS
    compiled.session.duration_ms = duration_ms
    store.save_timeline(team_id=team, timeline_hash=digest, timeline=compiled, text="", tokens=1)
    saved = summary(title, session_id=session_id, focus=focus, timeline_hash=digest)
    saved.summary_outcome = SummaryOutcome(description=f"{title} outcome", success=success)
    saved.key_actions = actions or []
    store.save_summary(team_id=team, summary=saved)
    return saved


@pytest.fixture
def api(tmp_path: Path) -> Iterator[httpx.Client]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'recap.db'}",
        data_dir=tmp_path / "data",
        source=f"files:{tmp_path}",
        temporal_address=f"127.0.0.1:{free_port()}",
    )
    store = store_for(settings.resolved_database_url)
    exceptions = [
        _action("e1", []),
        _action("e2", [KeyActionFlag.EXCEPTION_BLOCKING]),
        _action("e3", [KeyActionFlag.EXCEPTION_NON_BLOCKING, KeyActionFlag.CONFUSION]),
    ]
    _save(store, "team-a", "plain", "Plain summary", actions=exceptions, duration_ms=60_000)
    # A focused summary of the same session, written later: it must not shadow the plain one.
    _save(store, "team-a", "plain", "Focused summary", focus="checkout", duration_ms=60_000)
    _save(store, "team-a", "focused-only", "Only focused", focus="checkout")
    _save(store, "team-a", "failed", "Failed", success=False, distinct_id="d2", duration_ms=5_000)
    _save(store, "team-b", "other-team", "Team B's")
    _, token = KeyStore(store).create(team_id="team-a", scopes=[READ_SCOPE], label="read")
    with (
        serve(settings) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http,
    ):
        yield http


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["session_id"] for row in response.json()["results"]]


def test_retrieve_answers_the_plain_summary_in_posthogs_shape(api: httpx.Client) -> None:
    response = api.get(f"{A}plain/")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == RETRIEVE_FIELDS
    assert body["session_id"] == "plain"
    assert body["distinct_id"] == "d1"
    assert datetime.fromisoformat(body["session_start_time"]) == datetime.fromtimestamp(
        START_MS / 1000, UTC
    )
    assert body["session_duration"] == 60
    # The summary without a focus area, in PostHog's shape, although a focused one is newer.
    assert body["summary"]["title"] == "Plain summary"
    assert body["summary"]["session_outcome"] == {
        "description": "Plain summary outcome",
        "success": True,
    }
    events = [event for group in body["summary"]["key_actions"] for event in group["events"]]
    assert [event["event_id"] for event in events] == ["e1", "e2", "e3"]
    assert body["exception_event_ids"] == ["e2", "e3"]
    assert body["extra_summary_context"] is None
    assert body["run_metadata"]["model_used"] == "m"
    assert body["run_metadata"]["visual_confirmation"] is False
    assert body["created_by"] is None
    datetime.fromisoformat(body["created_at"])
    # The same id in the listing, and a re-read answers the same.
    listed = api.get(A, params={"session_ids": "plain"}).json()["results"]
    assert listed[0]["id"] == body["id"]
    assert listed[0]["exception_count"] == len(body["exception_event_ids"])
    assert api.get(f"{A}plain").json() == body


@pytest.mark.parametrize(
    "session_id",
    ["focused-only", "never-summarized", "other-team", "not%20an%20id"],
    ids=["focused only", "none", "another team's", "not an id"],
)
def test_retrieve_404s(api: httpx.Client, session_id: str) -> None:
    response = api.get(f"{A}{session_id}/")
    assert response.status_code == 404, response.text
    assert response.json() == NOT_FOUND


def test_list_rows_and_filters(api: httpx.Client) -> None:
    everything = api.get(A)
    assert everything.status_code == 200, everything.text
    page = everything.json()
    assert page["count"] == 2
    assert page["next"] is None and page["previous"] is None
    rows = {row["session_id"]: row for row in page["results"]}
    # Focused-only sessions and other teams' summaries are not listed.
    assert set(rows) == {"plain", "failed"}
    for row in rows.values():
        assert set(row) == ROW_FIELDS
        assert row["visual_confirmation"] is False
        assert row["extra_summary_context"] is None
    assert rows["plain"]["exception_count"] == 2 and rows["plain"]["has_exceptions"] is True
    assert rows["failed"]["exception_count"] == 0 and rows["failed"]["has_exceptions"] is False
    assert rows["failed"]["session_outcome"] == {"description": "Failed outcome", "success": False}
    assert rows["plain"]["model_used"] == "m"
    assert rows["failed"]["session_duration"] == 5
    # Newest first by default: "failed" was saved last.
    assert _ids(everything) == ["failed", "plain"]

    assert _ids(api.get(A, params={"distinct_id": "d2"})) == ["failed"]
    assert _ids(api.get(A, params={"session_ids": "plain, focused-only,other-team"})) == ["plain"]
    assert _ids(api.get(A, params={"outcome": "failure"})) == ["failed"]
    assert _ids(api.get(A, params={"outcome": "success"})) == ["plain"]
    assert _ids(api.get(A, params={"outcome": "unknown"})) == []
    assert _ids(api.get(A, params={"has_exceptions": "true"})) == ["plain"]
    assert _ids(api.get(A, params={"has_exceptions": "false"})) == ["failed"]
    assert _ids(api.get(A, params={"date_from": "-30d"})) == ["failed", "plain"]
    assert _ids(api.get(A, params={"date_from": "2999-01-01"})) == []
    assert _ids(api.get(A, params={"date_to": "2000-01-01"})) == []
    assert _ids(api.get(A, params={"date_to": datetime.now(UTC).date().isoformat()})) == [
        "failed",
        "plain",
    ]


def test_order_allowlist_and_pages(api: httpx.Client) -> None:
    assert _ids(api.get(A, params={"order": "session_duration"})) == ["failed", "plain"]
    assert _ids(api.get(A, params={"order": "-session_duration"})) == ["plain", "failed"]
    assert _ids(api.get(A, params={"order": "created_at"})) == ["plain", "failed"]
    for bad in ("title", "-summary", "created_at; drop table"):
        refused = api.get(A, params={"order": bad})
        assert refused.status_code == 400, refused.text
        assert refused.json()["attr"] == "order"
    for attr in ("date_from", "date_to"):
        refused = api.get(A, params={attr: "next tuesday"})
        assert refused.status_code == 400, refused.text
        assert refused.json()["attr"] == attr

    first = api.get(A, params={"limit": 1}).json()
    assert first["count"] == 2 and len(first["results"]) == 1
    assert first["previous"] is None and "offset=1" in first["next"]
    second = api.get(first["next"]).json()
    assert [row["session_id"] for row in second["results"]] == ["plain"]
    assert second["next"] is None and second["previous"] is not None


def test_read_only(api: httpx.Client) -> None:
    for method, path in (("POST", A), ("DELETE", f"{A}plain/"), ("POST", f"{A}plain/")):
        response = api.request(method, path, json={})
        assert response.status_code == 405, (method, path, response.text)
        assert response.json()["code"] == "method_not_allowed"
    # Still there.
    assert api.get(f"{A}plain/").status_code == 200
