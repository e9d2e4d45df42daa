"""PostHog's authentication and validation on recap's API (issue 17, gaps 3 and 9), over
real HTTP with the dev server and a worker behind it: where a key may be sent, what a bad
one answers, what a scope implies, and how a batch treats an id that names no recording."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from recap.store.keys import READ_SCOPE, WRITE_SCOPE, KeyStore
from recap.store.repository import store_for
from tests.support.api_stack import ApiStack, api_stack, serve

__all__ = ["api_stack"]

A = "/api/projects/team-a"
BATCH = "/session_summaries/create_session_summaries_individually/"
CLUSTERS = "/session_recordings/error_clusters/"
# The key of the right shape that no store holds.
UNKNOWN_KEY = "rck_000000000000_" + "x" * 43
AUTHENTICATION_FAILED = {
    "type": "authentication_error",
    "code": "authentication_failed",
    "detail": "Personal API key found in request is invalid.",
    "attr": None,
}
NOT_AUTHENTICATED = {
    "type": "authentication_error",
    "code": "not_authenticated",
    "detail": "Authentication credentials were not provided.",
    "attr": None,
}


@pytest.fixture(scope="module")
def url(api_stack: ApiStack) -> Iterator[str]:
    """An app of its own over the same store, Temporal and worker, with room for the bad keys
    these tests send: the shared app's per-address throttle stays for the other tests."""
    roomy = api_stack.settings.model_copy(
        update={"api_auth_failures_per_minute": 1000, "api_auth_failures_per_hour": 1000}
    )
    with serve(roomy) as served:
        yield served


def _token(api_stack: ApiStack, *scopes: str) -> str:
    keys = KeyStore(store_for(api_stack.settings.resolved_database_url))
    return keys.create(team_id="team-a", scopes=list(scopes), label="compat")[1]


async def test_a_key_in_the_json_body_or_the_query_authenticates(
    api_stack: ApiStack, url: str
) -> None:
    token = _token(api_stack, READ_SCOPE, WRITE_SCOPE)
    session_id = api_stack.session_ids[0]
    async with httpx.AsyncClient(base_url=url, timeout=180) as http:
        in_query = await http.get(
            f"{A}/session_recordings/{session_id}/", params={"personal_api_key": token}
        )
        in_body = await http.post(
            f"{A}{BATCH}", json={"session_ids": [session_id], "personal_api_key": token}
        )
        in_both = await http.post(
            f"{A}{BATCH}",
            json={"session_ids": [session_id]},
            params={"personal_api_key": token},
        )
    assert in_query.status_code == 200, in_query.text
    assert in_query.json()["id"] == session_id
    assert in_body.status_code == 200, in_body.text
    assert list(in_body.json()) == [session_id]
    assert in_both.status_code == 200, in_both.text


async def test_the_header_comes_first_then_the_body_then_the_query(
    api_stack: ApiStack, url: str
) -> None:
    """PostHog's order: the first place that holds a key decides, even when it is wrong."""
    token = _token(api_stack, READ_SCOPE)
    async with httpx.AsyncClient(base_url=url) as http:
        header_wins = await http.get(
            f"{A}{CLUSTERS}",
            headers={"Authorization": f"Bearer {UNKNOWN_KEY}"},
            params={"personal_api_key": token},
        )
        body_before_query = await http.post(
            f"{A}{BATCH}",
            json={"session_ids": ["x"], "personal_api_key": UNKNOWN_KEY},
            params={"personal_api_key": token},
        )
        # Only a JSON body is read for a key: a form field is no key.
        form = await http.post(f"{A}{BATCH}", data={"personal_api_key": token})
    assert header_wins.status_code == 401 and header_wins.json() == AUTHENTICATION_FAILED
    assert body_before_query.status_code == 401
    assert body_before_query.json() == AUTHENTICATION_FAILED
    assert form.status_code == 401 and form.json() == NOT_AUTHENTICATED


async def test_a_bad_key_answers_posthogs_authentication_failed(
    api_stack: ApiStack, url: str
) -> None:
    keys = KeyStore(store_for(api_stack.settings.resolved_database_url))
    revoked, revoked_token = keys.create(team_id="team-a", scopes=[READ_SCOPE])
    assert keys.revoke(revoked.id)
    async with httpx.AsyncClient(base_url=url) as http:
        answers = [
            await http.get(f"{A}{CLUSTERS}", headers={"Authorization": "Bearer rck_nope"}),
            await http.get(f"{A}{CLUSTERS}", headers={"Authorization": f"Bearer {revoked_token}"}),
            await http.get(f"{A}{CLUSTERS}", params={"personal_api_key": UNKNOWN_KEY}),
            await http.post(
                f"{A}{BATCH}", json={"session_ids": ["x"], "personal_api_key": "rck_nope"}
            ),
        ]
        missing = await http.get(f"{A}{CLUSTERS}")
    for answer in answers:
        assert answer.status_code == 401, answer.text
        assert answer.json() == AUTHENTICATION_FAILED
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert missing.status_code == 401 and missing.json() == NOT_AUTHENTICATED


async def test_a_write_only_key_reads_and_a_read_only_key_runs_the_batch(
    api_stack: ApiStack, url: str
) -> None:
    session_id = api_stack.session_ids[1]
    write_only = {"Authorization": f"Bearer {_token(api_stack, WRITE_SCOPE)}"}
    read_only = {"Authorization": f"Bearer {_token(api_stack, READ_SCOPE)}"}
    async with httpx.AsyncClient(base_url=url, timeout=180) as http:
        read = await http.get(f"{A}/session_recordings/{session_id}/", headers=write_only)
        listed = await http.get(f"{A}/session_recordings/", headers=write_only)
        batch = await http.post(
            f"{A}{BATCH}",
            json={"session_ids": [session_id]},
            headers=read_only,
        )
        # Summarizing one recording stays a write, as it was.
        summarize = await http.post(
            f"{A}/session_recordings/{session_id}/summarize/", json={}, headers=read_only
        )
    assert read.status_code == 200 and read.json()["id"] == session_id
    assert listed.status_code == 200
    assert batch.status_code == 200, batch.text
    assert batch.json()[session_id]["session_id"] == session_id
    assert summarize.status_code == 403
    assert summarize.json()["code"] == "permission_denied"


async def test_an_id_recap_cannot_hold_is_that_sessions_recording_not_found(
    api_stack: ApiStack, url: str
) -> None:
    good = api_stack.session_ids[2]
    bad = ["bad id!", "../../etc/passwd", "x" * 201]
    async with httpx.AsyncClient(base_url=url, headers=api_stack.headers(), timeout=180) as http:
        mixed = await http.post(f"{A}{BATCH}", json={"session_ids": [good, *bad]})
        only_bad = await http.post(f"{A}{BATCH}", json={"session_ids": bad[:1]})
    assert mixed.status_code == 200, mixed.text
    body: dict[str, Any] = mixed.json()
    assert list(body) == [good, *bad]
    assert body[good]["session_id"] == good
    assert body[good]["session_outcome"]["description"]
    for session_id in bad:
        error = body[session_id]
        assert error["error"] == "recording_not_found", error
        assert "not a valid recording id" in error["error_message"].lower()
    assert only_bad.status_code == 200, only_bad.text
    assert only_bad.json() == {bad[0]: body[bad[0]]}


async def test_the_batch_bounds_stay_400(api_stack: ApiStack, url: str) -> None:
    async with httpx.AsyncClient(base_url=url, headers=api_stack.headers()) as http:
        empty = await http.post(f"{A}{BATCH}", json={"session_ids": []})
        many = await http.post(f"{A}{BATCH}", json={"session_ids": ["bad id!"] * 301})
        focus = await http.post(
            f"{A}{BATCH}", json={"session_ids": ["s1"], "focus_area": "x" * 501}
        )
    assert (empty.status_code, empty.json()["code"], empty.json()["attr"]) == (
        400,
        "min_length",
        "session_ids",
    )
    assert (many.status_code, many.json()["code"]) == (400, "max_length")
    assert (focus.status_code, focus.json()["attr"]) == (400, "focus_area")


async def test_malformed_json_names_no_attribute(api_stack: ApiStack, url: str) -> None:
    headers = {**api_stack.headers(), "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=url, headers=headers) as http:
        answers = [
            await http.post(f"{A}{BATCH}", content=body)
            for body in (b'{"session_ids": [', b"{,}", b'{"session_ids": ["a"]} trailing')
        ]
    for answer in answers:
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert body["type"] == "invalid_request" and body["code"] == "parse_error"
        assert body["attr"] is None, body


async def test_keys_in_the_query_or_body_stay_out_of_logs_and_answers(
    api_stack: ApiStack, url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    token = _token(api_stack, READ_SCOPE)
    secret = token.split("_", 2)[2]
    bad_secret = "y" * 43
    bad = f"rck_{token.split('_')[1]}_{bad_secret}"
    session_id = api_stack.session_ids[0]
    capfd.readouterr()  # only this test's lines
    async with httpx.AsyncClient(base_url=url, timeout=180) as http:
        answers = [
            await http.get(f"{A}{CLUSTERS}", params={"personal_api_key": token}),
            await http.get(f"{A}{CLUSTERS}", params={"personal_api_key": bad}),
            await http.get("/api/projects/team-b/", params={"personal_api_key": token}),
            await http.post(
                f"{A}{BATCH}", json={"session_ids": [session_id], "personal_api_key": token}
            ),
            await http.post(f"{A}{BATCH}", json={"session_ids": [], "personal_api_key": token}),
            await http.post(f"{A}{BATCH}", json={"session_ids": "x", "personal_api_key": bad}),
            await http.post(
                f"{A}{BATCH}",
                json={"session_ids": ["x"] * 301},
                params={"personal_api_key": token},
            ),
        ]
    assert [answer.status_code for answer in answers] == [200, 401, 404, 200, 400, 401, 400]
    captured = capfd.readouterr()
    logged = captured.out + captured.err
    assert logged.count("api request") >= len(answers)  # the API does log each request ...
    for text in [logged, *(answer.text for answer in answers)]:
        assert secret not in text and bad_secret not in text  # ... never a key's secret
        assert "personal_api_key" not in text
