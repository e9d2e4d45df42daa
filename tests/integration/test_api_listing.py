"""The recordings listing (issue 17, gap 5): both of PostHog's shapes at once, PostHog's
default page of 50, and the filters of PostHog's recordings query that recap implements,
each of which must actually filter; a PostHog filter recap does not implement is a 400
naming it, never silently unfiltered data.

Through the real app, with a files source and with the PostHog double; no Temporal (it
points at a closed port), since listing needs only the source and the store."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from recap.core.config import Settings
from recap.demo.generator import SCENARIOS, generate_session
from recap.embedded.ports import free_port
from recap.store.keys import READ_SCOPE, KeyStore
from recap.store.repository import store_for
from tests.support.api_stack import serve
from tests.support.posthog_double import posthog_double, served_from_document

TEAM = "listing-team"
OLD_SESSIONS = 55  # more than PostHog's default page of 50
OLD_START_MS = 1_700_000_000_000  # November 2023: outside any relative window
ORDERS = [
    "start_time",
    "duration",
    "recording_duration",
    "active_seconds",
    "inactive_seconds",
    "console_error_count",
    "click_count",
    "keypress_count",
    "mouse_activity_count",
    "activity_score",
    "recording_ttl",
]


@dataclass
class Served:
    source: str
    http: httpx.Client
    docs: list[dict[str, Any]]
    recent: str  # started an hour ago
    two_days: str  # started two days ago
    posthog_requests: list[Any] | None = None

    @property
    def ids(self) -> set[str]:
        return {doc["data"]["id"] for doc in self.docs}

    def get(self, **params: Any) -> httpx.Response:
        return self.http.get(f"/api/projects/{TEAM}/session_recordings/", params=params)

    def ok(self, **params: Any) -> dict[str, Any]:
        answer = self.get(**params)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def everything(self, **params: Any) -> list[dict[str, Any]]:
        body = self.ok(limit=1000, **params)
        assert body["count"] == len(body["results"]) and body["has_next"] is False
        results: list[dict[str, Any]] = body["results"]
        return results


def _documents() -> tuple[list[dict[str, Any]], str, str]:
    now_ms = int(time.time() * 1000)
    docs = [
        generate_session(
            SCENARIOS[n % len(SCENARIOS)], seed=n, start_ms=OLD_START_MS + n * 3_600_000
        )
        for n in range(OLD_SESSIONS)
    ]
    recent = generate_session("wanderer", seed=900, start_ms=now_ms - 3_600_000)
    two_days = generate_session("signup_success", seed=901, start_ms=now_ms - 2 * 86_400_000)
    docs += [recent, two_days]
    assert len({doc["data"]["id"] for doc in docs}) == len(docs)
    return docs, recent["data"]["id"], two_days["data"]["id"]


def _settings(root: Path, source: str) -> tuple[Settings, str]:
    settings = Settings(
        source=source,
        database_url=f"sqlite:///{root / 'recap.db'}",
        data_dir=root / "data",
        temporal_address=f"127.0.0.1:{free_port()}",
    )
    keys = KeyStore(store_for(settings.resolved_database_url))
    return settings, keys.create(team_id=TEAM, scopes=[READ_SCOPE], label="listing")[1]


@pytest.fixture(scope="module", params=["files", "posthog"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    root = tmp_path_factory.mktemp(request.param)
    docs, recent, two_days = _documents()
    if request.param == "files":
        recordings = root / "recordings"
        recordings.mkdir()
        for doc in docs:
            path = recordings / f"{doc['data']['id']}.json"
            path.write_text(json.dumps(doc), encoding="utf-8")
        settings, token = _settings(root, f"files:{recordings}")
        with (
            serve(settings) as url,
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http,
        ):
            yield Served("files", http, docs, recent, two_days)
        return
    with posthog_double() as posthog:
        for doc in docs:
            person = doc["data"]["person"]
            posthog.add(
                served_from_document(
                    doc,
                    doc["data"]["id"],
                    distinct_id=person["distinct_ids"][0],
                    person_uuid=person["uuid"],
                )
            )
        settings, token = _settings(root, "posthog")
        settings = settings.model_copy(
            update={
                "posthog_host": posthog.base_url,
                "posthog_project_id": posthog.project_id,
                "posthog_api_key": SecretStr(posthog.api_key),
            }
        )
        with (
            serve(settings) as url,
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http,
        ):
            yield Served("posthog", http, docs, recent, two_days, posthog.requests)


def _is_400(answer: httpx.Response, attr: str) -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["type"] == "validation_error", body
    assert body["attr"] == attr, body
    assert attr in body["detail"], body


def _started(recording: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(recording["start_time"])


# -- shape and paging ---------------------------------------------------------------------


def test_the_default_page_is_50_in_both_shapes_and_next_pages_through_everything_once(
    served: Served,
) -> None:
    first = served.ok()
    assert len(first["results"]) == 50
    assert first["count"] == len(served.ids) > 50
    assert first["version"] == 4
    assert first["has_next"] is True and first["next"] is not None
    assert first["previous"] is None
    assert "next_cursor" not in first  # recap pages by offset only
    seen = [item["id"] for item in first["results"]]
    page = first
    while page["next"]:
        page = served.http.get(page["next"]).json()
        assert page["has_next"] is (page["next"] is not None)
        assert page["previous"] is not None and page["version"] == 4
        seen.extend(item["id"] for item in page["results"])
    assert len(seen) == len(set(seen)) and set(seen) == served.ids


def test_a_small_limit_pages_with_has_next_agreeing_with_next(served: Served) -> None:
    seen: list[str] = []
    page = served.ok(limit=7)
    pages = 1
    while True:
        assert len(page["results"]) <= 7
        assert page["has_next"] is (page["next"] is not None)
        seen.extend(item["id"] for item in page["results"])
        if not page["has_next"]:
            break
        page = served.http.get(page["next"]).json()
        pages += 1
    assert pages == -(-len(served.ids) // 7)
    assert sorted(seen) == sorted(served.ids)


# -- filters that recap implements --------------------------------------------------------


def test_date_from_and_date_to_absolute(served: Served) -> None:
    everything = served.everything()
    starts = sorted(_started(item) for item in everything)
    cut = starts[20]
    after = served.everything(date_from=cut.isoformat())
    before = served.everything(date_to=cut.isoformat())
    assert len(after) == len([s for s in starts if s >= cut]) < len(everything)
    assert all(_started(item) >= cut for item in after)
    assert len(before) == len([s for s in starts if s <= cut]) == 21
    assert all(_started(item) <= cut for item in before)
    # A bare date: from its start / to its end (UTC).
    day = starts[0].date().isoformat()
    that_day = [s for s in starts if s.date() == starts[0].date()]
    both = served.everything(date_from=day, date_to=day)
    assert len(both) == len(that_day) and 0 < len(both) < len(everything)


def test_date_from_and_date_to_relative(served: Served) -> None:
    last_day = served.everything(date_from="-1d")
    assert [item["id"] for item in last_day] == [served.recent]
    last_three = served.everything(date_from="-3d")
    assert {item["id"] for item in last_three} == {served.recent, served.two_days}
    # JSON-quoted, as PostHog reads every value.
    assert served.ok(date_from='"-36h"')["count"] == 1
    older = served.everything(date_to="-1d")
    assert served.recent not in {item["id"] for item in older}
    assert len(older) == len(served.ids) - 1
    assert served.ok(date_from="-3d", date_to="-1d")["count"] == 1


def test_session_ids(served: Served) -> None:
    chosen = sorted(served.ids)[:3]
    listed = served.everything(session_ids=json.dumps(chosen))
    assert sorted(item["id"] for item in listed) == chosen
    nothing = served.ok(session_ids='["zzz"]')
    assert nothing["count"] == 0 and nothing["results"] == [] and nothing["has_next"] is False


def test_distinct_ids(served: Served) -> None:
    everything = served.everything()
    wanted = {everything[0]["distinct_id"], everything[5]["distinct_id"]}
    listed = served.everything(distinct_ids=json.dumps(sorted(wanted)))
    expected = [item["id"] for item in everything if item["distinct_id"] in wanted]
    assert sorted(item["id"] for item in listed) == sorted(expected)
    assert 2 <= len(listed) < len(everything)
    assert served.ok(distinct_ids='["nobody"]')["count"] == 0


def test_person_uuid(served: Served) -> None:
    doc = served.docs[3]
    uuid = doc["data"]["person"]["uuid"]
    listed = served.everything(person_uuid=uuid)
    if served.source == "files":
        # A files source knows no persons: no recording is that person's.
        assert listed == []
    else:
        assert [item["id"] for item in listed] == [doc["data"]["id"]]
    assert served.ok(person_uuid="00000000-0000-0000-0000-000000000000")["count"] == 0


@pytest.mark.parametrize("order", ORDERS)
def test_order_by_each_key_both_ways(served: Served, order: str) -> None:
    field = "recording_duration" if order == "duration" else order
    for direction in ("ASC", "DESC"):
        listed = served.everything(order=order, order_direction=direction)
        assert len(listed) == len(served.ids)
        values = [item.get(field) for item in listed]
        known = [value for value in values if value is not None]
        # Recordings without the value come last, whichever the direction.
        assert values == known + [None] * (len(values) - len(known))
        if field in ("start_time",):
            known = [datetime.fromisoformat(value) for value in known]
        assert known == sorted(known, reverse=direction == "DESC"), (order, direction)
    if order in ("start_time", "duration", "click_count"):
        ascending = served.everything(order=order, order_direction="ASC")
        descending = served.everything(order=order)  # DESC by default
        assert ascending[0][field] != descending[0][field]


def test_minimum_duration_through_having_predicates(served: Served) -> None:
    everything = served.everything()
    durations = sorted(item["recording_duration"] for item in everything)
    threshold = durations[len(durations) // 2]
    predicate = [{"type": "recording", "key": "duration", "operator": "gt", "value": threshold}]
    listed = served.everything(having_predicates=json.dumps(predicate))
    assert all(item["recording_duration"] > threshold for item in listed)
    assert len(listed) == len([d for d in durations if d > threshold])
    assert 0 < len(listed) < len(everything)


def test_recaps_own_filters_still_apply(served: Served) -> None:
    assert served.ok(has_summary="true")["count"] == 0
    assert served.ok(has_summary="false")["count"] == len(served.ids)


# -- refused and malformed ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("properties", '[{"key":"$browser","value":"Chrome","operator":"exact","type":"person"}]'),
        ("events", '[{"id":"$pageview","type":"events"}]'),
        ("actions", '[{"id":1,"type":"actions"}]'),
        ("console_log_filters", '[{"key":"level","value":["error"],"type":"log_entry"}]'),
        ("filter_test_accounts", "true"),
        ("operand", "OR"),
        ("session_recording_id", "018bcfe5-6800-7035-b636-c7290e627fa3"),
        ("after", "cursor-1"),
        ("comment_text", '{"key":"content","value":"bug","operator":"icontains"}'),
    ],
)
def test_an_unimplemented_posthog_filter_is_a_400_naming_it(
    served: Served, name: str, value: str
) -> None:
    _is_400(served.get(**{name: value}), name)


def test_an_empty_posthog_filter_and_a_foreign_parameter_are_accepted(served: Served) -> None:
    everything = len(served.ids)
    harmless = {
        "properties": "[]",
        "events": "[]",
        "filter_test_accounts": "false",
        "operand": "AND",
        "kind": "RecordingsQuery",
        "user_modified_filters": '{"date_from": true}',
    }
    assert served.ok(**harmless)["count"] == everything
    assert served.ok(not_a_posthog_filter="anything", utm_source="x")["count"] == everything


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("session_ids", "zzz"),
        ("session_ids", '{"a": 1}'),
        ("session_ids", "[1, 2]"),
        ("distinct_ids", '"one"'),
        ("date_from", "yesterday"),
        ("date_from", "-7x"),
        ("date_to", "2024-13-45"),
        ("order", "surfacing_score"),
        ("order_direction", "up"),
        ("having_predicates", '[{"type":"person","key":"$browser","operator":"gt","value":1}]'),
        ("having_predicates", '[{"key":"duration","operator":"gt","value":"long"}]'),
        ("having_predicates", "not json"),
        ("limit", "0"),
    ],
)
def test_a_malformed_value_is_a_400_naming_the_parameter(
    served: Served, name: str, value: str
) -> None:
    answer = served.get(**{name: value})
    assert answer.status_code == 400, answer.text
    assert answer.json()["attr"] == name, answer.json()


# -- PostHog: filters reach PostHog, whose default window then applies ---------------------


@pytest.mark.parametrize("served", ["posthog"], indirect=True)
def test_posthog_is_asked_with_the_filters(served: Served) -> None:
    assert served.posthog_requests is not None
    served.posthog_requests.clear()
    served.ok(date_from="-3d", session_ids=f'["{served.recent}"]', order="duration")
    (asked,) = [r for r in served.posthog_requests if r.path.endswith("/session_recordings/")]
    assert asked.query["date_from"] == ["-3d"]
    assert json.loads(asked.query["session_ids"][0]) == [served.recent]
    assert asked.query["order"] == ["duration"] and asked.query["order_direction"] == ["DESC"]
    served.posthog_requests.clear()
    # Filters not asked for before (a listing is cached per filters for a while).
    served.ok(distinct_ids='["only-in-this-test"]')
    (listed,) = [r for r in served.posthog_requests if r.path.endswith("/session_recordings/")]
    # No date_from of recap's own: PostHog's default window (the last 3 days) applies.
    assert "date_from" not in listed.query
    assert listed.query["distinct_ids"] == ['["only-in-this-test"]']
