"""The HTTP API over real HTTP: the app served by uvicorn, the Temporal dev server, a worker
process with the real activities, and the loopback model server."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from recap.api.app import create_app
from recap.clustering.models import ErrorCluster
from recap.sources.files import DirectorySource
from recap.sources.metadata import recording_metadata
from recap.store.clusters import ClusterStore
from recap.store.keys import READ_SCOPE, KeyStore
from recap.store.repository import store_for
from tests.support.api_stack import TOO_SHORT, ApiStack, api_stack, serve

__all__ = ["api_stack"]

ROOT = Path(__file__).resolve().parents[2]
A = "/api/projects/team-a"
B = "/api/projects/team-b"
BATCH = "/session_summaries/create_session_summaries_individually/"


def _is_error(response: httpx.Response, status: int, code: str, attr: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"type", "code", "detail", "attr"}
    assert body["code"] == code, body
    assert body["detail"]
    if attr is not None:
        assert body["attr"] == attr, body


async def _batch(
    http: httpx.AsyncClient, stack: ApiStack, payload: Any, team: str = A
) -> httpx.Response:
    return await http.post(
        f"{stack.url}{team}{BATCH}", json=payload, headers=stack.headers(), timeout=180
    )


@pytest.fixture(scope="module")
async def summarized(api_stack: ApiStack) -> dict[str, Any]:
    """One waited batch over three good sessions, a missing one and a too-short one."""
    good = api_stack.session_ids[:3]
    payload = {"session_ids": [*good, "missing-session-1", TOO_SHORT]}
    async with httpx.AsyncClient() as http:
        response = await _batch(http, api_stack, payload)
    assert response.status_code == 200, response.text
    return {"good": good, "response": response}


async def test_batch_answers_summaries_and_typed_errors(
    api_stack: ApiStack, summarized: dict[str, Any]
) -> None:
    """As PostHog, one entry per requested session keyed by its id (issue 17, gap 1)."""
    response: httpx.Response = summarized["response"]
    results = response.json()
    good = summarized["good"]
    assert list(results) == [*good, "missing-session-1", TOO_SHORT]
    assert response.headers["Recap-Workflow-Id"].startswith("session-batch:team-a:")
    for session_id in good:
        summary = results[session_id]
        assert summary["session_id"] == session_id
        assert summary["session_outcome"]["description"]
        assert summary["key_actions"], summary  # the grounded refs survived the gate
        # PostHog's shape: events grouped by segment, each with the timeline's facts.
        for group in summary["key_actions"]:
            for event in group["events"]:
                assert event["event_id"].startswith("e")
                assert event["milliseconds_since_start"] >= 0
    assert results["missing-session-1"]["error"] == "recording_not_found"
    assert "missing-session-1" in results["missing-session-1"]["error_message"]
    # The type in words: the server's recordings path stays out of the answer (issue 16, #9).
    assert str(api_stack.recordings) not in json.dumps(results)
    assert results[TOO_SHORT]["error"] == "no_events_or_too_short"


async def test_recording_object_has_source_metadata_and_store_state(
    api_stack: ApiStack, summarized: dict[str, Any]
) -> None:
    session_id = summarized["good"][0]
    expected = recording_metadata(DirectorySource(api_stack.recordings).load(session_id))
    async with httpx.AsyncClient(headers=api_stack.headers("team-a", "read")) as http:
        plain = await http.get(f"{api_stack.url}{A}/session_recordings/{session_id}/")
        full = await http.get(
            f"{api_stack.url}/api/environments/team-a/session_recordings/{session_id}/",
            params={"include": "summary"},
        )
    assert plain.status_code == 200, plain.text
    recording = plain.json()
    assert recording["id"] == session_id
    assert recording["has_summary"] is True
    assert set(recording["summary_outcome"]) == {"description", "success"}
    assert "summary" not in recording
    assert recording["recording_duration"] == round(expected.recording_duration or 0) > 0
    assert recording["click_count"] == expected.click_count
    assert recording["start_url"] == expected.start_url
    assert full.status_code == 200
    summary = full.json()["summary"]
    assert summary["session_id"] == session_id
    assert summary["session_outcome"] == recording["summary_outcome"]


async def test_summarize_one_recording(api_stack: ApiStack) -> None:
    session_id = api_stack.session_ids[3]
    async with httpx.AsyncClient(headers=api_stack.headers(), timeout=180) as http:
        response = await http.post(
            f"{api_stack.url}{A}/session_recordings/{session_id}/summarize/",
            json={"focus_area": "checkout"},
        )
        missing = await http.post(
            f"{api_stack.url}{A}/session_recordings/no-such-recording/summarize/", json={}
        )
    assert response.status_code == 200, response.text
    recording = response.json()
    # The focused summary answers, but as in PostHog only a summary without a focus area
    # sets has_summary and summary_outcome (issue 17, gap 6).
    plain = store_for(api_stack.settings.resolved_database_url).get_summary(
        team_id="team-a", session_id=session_id
    )
    assert recording["id"] == session_id
    assert recording["has_summary"] is (plain is not None)
    if plain is None:
        assert recording["summary_outcome"] is None
    assert recording["summary"]["run"]["focus_area"] == "checkout"
    assert response.headers["Recap-Workflow-Id"].startswith(f"session-summary:team-a:{session_id}")
    _is_error(missing, 404, "not_found")


async def test_summarize_reuses_a_stored_summary_unless_forced(api_stack: ApiStack) -> None:
    # Model spend (issue 16, finding 7): asking again costs no model call, unless forced.
    session_id = api_stack.session_ids[3]
    url = f"{api_stack.url}{A}/session_recordings/{session_id}/summarize/"
    async with httpx.AsyncClient(headers=api_stack.headers(), timeout=180) as http:
        first = await http.post(url, json={})
        calls = len(api_stack.model.requests)
        again = await http.post(url, json={})
        reused = len(api_stack.model.requests)
        forced = await http.post(url, json={"force": True})
    assert first.status_code == again.status_code == forced.status_code == 200
    assert reused == calls
    assert len(api_stack.model.requests) == calls + 1
    assert again.json()["summary"] == first.json()["summary"]


async def test_list_pages_with_links_and_filters(
    api_stack: ApiStack, summarized: dict[str, Any]
) -> None:
    listing = f"{api_stack.url}{A}/session_recordings/"
    all_ids = sorted([*api_stack.session_ids, TOO_SHORT])
    async with httpx.AsyncClient(headers=api_stack.headers("team-a", "read")) as http:
        first = (await http.get(listing, params={"limit": 4})).json()
        assert first["count"] == len(all_ids)
        assert first["previous"] is None
        assert [item["id"] for item in first["results"]] == all_ids[:4]
        second = (await http.get(first["next"])).json()
        assert [item["id"] for item in second["results"]] == all_ids[4:8]
        back = (await http.get(second["previous"])).json()
        assert back["results"] == first["results"]
        seen = [item["id"] for item in first["results"] + second["results"]]
        page = second
        while page["next"]:
            page = (await http.get(page["next"])).json()
            seen.extend(item["id"] for item in page["results"])
        assert seen == all_ids
        done = (await http.get(listing, params={"has_summary": "true"})).json()
        not_done = (await http.get(listing, params={"has_summary": "false"})).json()
        succeeded = (await http.get(listing, params={"outcome": "success"})).json()
        failed = (await http.get(listing, params={"outcome": "failure"})).json()
    summarized_ids = {item["id"] for item in done["results"]}
    assert set(summarized["good"]) <= summarized_ids
    assert all(item["has_summary"] for item in done["results"])
    assert done["count"] + not_done["count"] == len(all_ids)
    assert not summarized_ids & {item["id"] for item in not_done["results"]}
    assert all(item["summary_outcome"]["success"] for item in succeeded["results"])
    assert succeeded["count"] + failed["count"] == done["count"]


async def test_job_progress(api_stack: ApiStack, summarized: dict[str, Any]) -> None:
    workflow_id = summarized["response"].headers["Recap-Workflow-Id"]
    async with httpx.AsyncClient(headers=api_stack.headers("team-a", "read")) as http:
        job = await http.get(f"{api_stack.url}/api/jobs/{workflow_id}")
        other = await http.get(
            f"{api_stack.url}/api/jobs/{workflow_id}", headers=api_stack.headers("team-b")
        )
        unknown = await http.get(f"{api_stack.url}/api/jobs/session-batch:team-a:nope")
    assert job.status_code == 200, job.text
    status = job.json()
    assert status["kind"] == "session_summaries" and status["status"] == "completed"
    progress = status["progress"]
    assert (progress["total"], progress["failed"], progress["done"]) == (5, 2, 5)
    assert {failure["error_type"] for failure in progress["failures"]} == {
        "recording_not_found",
        "no_events_or_too_short",
    }
    _is_error(other, 404, "not_found")
    _is_error(unknown, 404, "not_found")


async def test_error_clusters_job_and_listing(
    api_stack: ApiStack, summarized: dict[str, Any]
) -> None:
    from recap.jobs.client import connect, start_clustering

    client = await connect(api_stack.settings)
    workflow_id = await start_clustering(
        client,
        api_stack.settings,
        team_id="team-a",
        session_ids=api_stack.session_ids,
        source=api_stack.settings.source,
    )
    async with httpx.AsyncClient(headers=api_stack.headers("team-a", "read")) as http:
        for _ in range(600):
            job = (await http.get(f"{api_stack.url}/api/jobs/{workflow_id}")).json()
            if job["status"] in ("completed", "failed"):
                break
            await asyncio.sleep(0.2)
        assert job["kind"] == "error_clusters" and job["status"] == "completed", job
        clusters = (await http.get(f"{api_stack.url}{A}/session_recordings/error_clusters/")).json()
        other = (
            await http.get(
                f"{api_stack.url}{B}/session_recordings/error_clusters/",
                headers=api_stack.headers("team-b", "read"),
            )
        ).json()
    stored = ClusterStore(store_for(api_stack.settings.resolved_database_url)).load_clusters(
        "team-a"
    )
    assert clusters["count"] == len(stored) == job["progress"]["clusters"] > 0
    affected = [cluster["sessions_affected"] for cluster in clusters["results"]]
    assert affected == sorted(affected, reverse=True)
    assert [ErrorCluster.model_validate(c) for c in clusters["results"]] == stored[:100]
    assert other["count"] == 0  # team B sees none of team A's clusters


async def test_similar_sessions(api_stack: ApiStack, summarized: dict[str, Any]) -> None:
    session_id = summarized["good"][0]
    async with httpx.AsyncClient(headers=api_stack.headers("team-a", "read")) as http:
        found = await http.get(
            f"{api_stack.url}{A}/session_recordings/{session_id}/similar_sessions/"
        )
        unknown = await http.get(
            f"{api_stack.url}{A}/session_recordings/never-seen/similar_sessions/"
        )
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["session_id"] == session_id
    assert body["results"], body
    assert session_id not in {match["session_id"] for match in body["results"]}
    scores = [match["score"] for match in body["results"]]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1.0001 for s in scores)
    _is_error(unknown, 404, "not_found")


async def test_keys_401_403_and_other_teams_404(
    api_stack: ApiStack, summarized: dict[str, Any]
) -> None:
    session_id = summarized["good"][0]
    recording = f"/session_recordings/{session_id}/"
    async with httpx.AsyncClient(base_url=api_stack.url) as http:
        _is_error(await http.get(f"{A}{recording}"), 401, "not_authenticated")
        _is_error(
            await http.get(f"{A}{recording}", headers={"Authorization": "Bearer rck_nope"}),
            401,
            "authentication_failed",
        )
        read_only = api_stack.headers("team-a", "read")
        write_only = api_stack.headers("team-a", "write")
        # Summarizing one recording needs write; as in PostHog, write implies read.
        _is_error(
            await http.post(f"{A}{recording}summarize/", json={}, headers=read_only),
            403,
            "permission_denied",
        )
        assert (await http.get(f"{A}{recording}", headers=write_only)).status_code == 200
        # Team B's keys, even with every scope, find nothing of team A's.
        team_b = api_stack.headers("team-b")
        for path in (recording, f"{recording}similar_sessions/", "/session_recordings/"):
            _is_error(await http.get(f"{A}{path}", headers=team_b), 404, "not_found")
        _is_error(
            await http.post(f"{A}{BATCH}", json={"session_ids": ["x"]}, headers=team_b),
            404,
            "not_found",
        )
        # A read-only key of team B asking team A: 404, not 403 (nothing leaks).
        _is_error(
            await http.post(
                f"{A}{BATCH}",
                json={"session_ids": ["x"]},
                headers=api_stack.headers("team-b", "read"),
            ),
            404,
            "not_found",
        )
        # On its own project, team B sees the recording (same source) but not A's summary.
        own = await http.get(f"{B}{recording}", headers=team_b)
        assert own.status_code == 200
        assert own.json()["has_summary"] is False and own.json()["summary_outcome"] is None
        _is_error(
            await http.get(f"{B}{recording}similar_sessions/", headers=team_b), 404, "not_found"
        )
        # A revoked key stops working at once.
        store = KeyStore(store_for(api_stack.settings.resolved_database_url))
        key, token = store.create(team_id="team-a", scopes=[READ_SCOPE])
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await http.get(f"{A}{recording}", headers=bearer)).status_code == 200
        assert store.revoke(key.id)
        _is_error(await http.get(f"{A}{recording}", headers=bearer), 401, "authentication_failed")


@pytest.mark.parametrize(
    ("payload", "attr", "code"),
    [
        ({"session_ids": []}, "session_ids", "min_length"),
        ({"session_ids": [f"s{i}" for i in range(301)]}, "session_ids", "max_length"),
        ({"session_ids": ["s1"], "focus_area": "x" * 501}, "focus_area", "max_length"),
        ({"session_ids": "s1"}, "session_ids", "invalid_input"),
        ({"session_ids": ["s1"], "focus_area": 5}, "focus_area", "invalid_input"),
        ({"session_ids": [1, 2]}, "session_ids__0", "invalid_input"),
        ({"session_ids": [None]}, "session_ids__0", "invalid_input"),
        ({"focus_area": "x"}, "session_ids", "required"),
    ],
)
async def test_validation_errors(
    api_stack: ApiStack, payload: dict[str, Any], attr: str, code: str
) -> None:
    async with httpx.AsyncClient() as http:
        response = await _batch(http, api_stack, payload)
    _is_error(response, 400, code, attr)
    assert response.json()["type"] == "validation_error"


async def test_malformed_and_oversized_bodies(api_stack: ApiStack) -> None:
    url = f"{api_stack.url}{A}{BATCH}"
    headers = {**api_stack.headers(), "Content-Type": "application/json"}
    async with httpx.AsyncClient() as http:
        malformed = await http.post(url, content=b'{"session_ids": [', headers=headers)
        huge = await http.post(
            url, content=b'{"session_ids": ["' + b"a" * 200_000 + b'"]}', headers=headers
        )
    _is_error(malformed, 400, "parse_error")
    assert malformed.json()["attr"] is None  # no parse position: DRF's ParseError names none
    _is_error(huge, 413, "request_too_large")


async def test_health_readiness_and_rate_limits(api_stack: ApiStack) -> None:
    async with httpx.AsyncClient(base_url=api_stack.url) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["temporal"]["ok"] and ready.json()["checks"]["database"]["ok"]

    down = api_stack.settings.model_copy(
        update={"temporal_address": "127.0.0.1:9", "api_rate_burst_per_minute": 3}
    )
    with serve(down) as url:
        async with httpx.AsyncClient(base_url=url, headers=api_stack.headers("team-b")) as http:
            not_ready = await http.get("/readyz")
            answers = [await http.get(f"{B}/session_recordings/error_clusters/") for _ in range(4)]
            other_key = await http.get(
                f"{B}/session_recordings/error_clusters/",
                headers=api_stack.headers("team-b", "read"),
            )
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["temporal"]["ok"] is False
    assert not_ready.json()["checks"]["database"]["ok"] is True
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    _is_error(answers[3], 429, "throttled")
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    assert other_key.status_code == 200  # limits are per key


def _seed_caller(host: str, token: str, session_ids: list[str]) -> dict[str, Any]:
    """Only what PostHog's documents and server show: POST the session ids (answered with
    one entry per session), then read each recording's `has_summary` and
    `summary_outcome` {description, success}, polling while one is not there yet."""
    headers = {"Authorization": f"Bearer {token}"}
    created = httpx.post(
        f"{host}/api/environments/team-a/session_summaries/create_session_summaries_individually/",
        headers=headers,
        json={"session_ids": session_ids, "focus_area": None},
    )
    assert created.status_code == 200
    assert list(created.json()) == session_ids
    outcomes: dict[str, Any] = {}
    for _ in range(600):
        for session_id in session_ids:
            if session_id in outcomes:
                continue
            recording = httpx.get(
                f"{host}/api/environments/team-a/session_recordings/{session_id}/",
                headers=headers,
            ).json()
            if recording["has_summary"]:
                outcomes[session_id] = recording["summary_outcome"]
        if len(outcomes) == len(session_ids):
            break
        time.sleep(0.2)
    return outcomes


async def test_seed_document_caller(api_stack: ApiStack) -> None:
    session_ids = api_stack.session_ids[4:6]
    outcomes = await asyncio.to_thread(
        _seed_caller, api_stack.url, api_stack.tokens["team-a"]["rw"], session_ids
    )
    assert set(outcomes) == set(session_ids)
    for outcome in outcomes.values():
        assert isinstance(outcome["description"], str) and outcome["description"]
        assert isinstance(outcome["success"], bool)


def test_openapi_document_is_committed_and_current() -> None:
    """`openapi.json` is generated from the app; regenerate it with
    `uv run python -m recap.api.openapi` when the API changes."""
    committed = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    assert committed == create_app().openapi()


async def test_request_bodies_stay_out_of_the_logs(
    api_stack: ApiStack, capfd: pytest.CaptureFixture[str]
) -> None:
    focus = "FOCUS-TEXT-THAT-MUST-NOT-BE-LOGGED"
    async with httpx.AsyncClient() as http:
        response = await _batch(
            http, api_stack, {"session_ids": ["logcheck-1"], "focus_area": focus}
        )
        invalid = await _batch(http, api_stack, {"session_ids": "bad id!", "focus_area": focus})
    assert response.status_code == 200 and invalid.status_code == 400
    assert focus not in invalid.text
    captured = capfd.readouterr()
    logged = captured.out + captured.err
    assert "api request" in logged  # the API does log requests ...
    assert focus not in logged  # ... but never a body
    assert api_stack.worker_log is not None
    assert focus not in api_stack.worker_log.read_text(encoding="utf-8", errors="replace")


async def test_posthog_source_supplies_the_recording_metadata(
    api_stack: ApiStack, summarized: dict[str, Any]
) -> None:
    """With RECAP_SOURCE=posthog the recording object is PostHog's own (from the
    double, which speaks the documented endpoints) joined with recap's summary state."""
    from pydantic import SecretStr

    from tests.support.posthog_double import posthog_double

    session_id = summarized["good"][0]
    with posthog_double() as posthog:
        served = posthog.add_file(api_stack.recordings / f"{session_id}.json")
        posthog.add_file(api_stack.recordings / f"{TOO_SHORT}.json")  # never summarized
        settings = api_stack.settings.model_copy(
            update={
                "source": "posthog",
                "posthog_host": posthog.base_url,
                "posthog_project_id": posthog.project_id,
                "posthog_api_key": SecretStr(posthog.api_key),
            }
        )
        with serve(settings) as url:
            async with httpx.AsyncClient(base_url=url, headers=api_stack.headers()) as http:
                one = await http.get(f"{A}/session_recordings/{session_id}/")
                listing = await http.get(f"{A}/session_recordings/", params={"limit": 1})
                summarized_only = await http.get(
                    f"{A}/session_recordings/", params={"has_summary": "true"}
                )
                missing = await http.get(f"{A}/session_recordings/not-in-posthog/")
        requested = [request.path for request in posthog.requests]
    assert one.status_code == 200, one.text
    recording = one.json()
    expected = served.metadata()
    for field in ("distinct_id", "recording_duration", "click_count", "start_url"):
        assert recording[field] == expected[field], field
    # The person without its properties: a team sees those only when it enables them.
    assert recording["person"] == {**expected["person"], "properties": None}
    assert recording["has_summary"] is True and recording["summary_outcome"]
    assert any(path.endswith(f"/session_recordings/{session_id}/") for path in requested)
    assert listing.json()["count"] == 2 and listing.json()["next"] is not None
    assert [item["id"] for item in summarized_only.json()["results"]] == [session_id]
    _is_error(missing, 404, "not_found")


async def test_recap_api_command_serves_the_app(api_stack: ApiStack) -> None:
    """`recap api` as operators run it: a process on RECAP_API_PORT."""
    import os
    import sys

    from recap.embedded.ports import free_port

    port = free_port()
    env = {
        **os.environ,
        "RECAP_API_PORT": str(port),
        "RECAP_TEMPORAL_ADDRESS": api_stack.settings.temporal_address,
        "RECAP_SOURCE": api_stack.settings.source,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "recap.cli", "api", env=env, cwd=ROOT
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(200):
                try:
                    ready = await http.get("/readyz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            recording = await http.get(
                f"{A}/session_recordings/{api_stack.session_ids[0]}/",
                headers=api_stack.headers("team-a", "read"),
            )
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)
    assert ready.status_code == 200, ready.text
    assert recording.status_code == 200 and recording.json()["id"] == api_stack.session_ids[0]
