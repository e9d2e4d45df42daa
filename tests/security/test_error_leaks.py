"""Leaks in errors (issue 16, finding 9): what the API answers and what activities leave in
Temporal's history name the failing dependency and an error type, never an address, a host,
a project id, a path or an exception's own text. Those go to the log."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from activities.errors import to_application_error, typed_errors
from recap.core.config import Settings
from recap.embedded.ports import free_port
from recap.store.keys import READ_SCOPE, KeyStore
from recap.store.repository import store_for
from tests.support.api_stack import serve

SECRET_TEXT = "password=hunter2 at /srv/recap/private"


def test_readyz_says_temporal_is_down_without_its_address(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'ready.db'}",
        temporal_address=f"127.0.0.1:{port}",
    )
    with serve(settings) as url:
        ready = httpx.get(f"{url}/readyz", timeout=30)
    assert ready.status_code == 503
    body = ready.json()
    assert body["checks"]["temporal"] == {"ok": False, "detail": "unavailable"}
    assert str(port) not in ready.text and "127.0.0.1" not in ready.text


def test_a_source_failure_names_posthog_only(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'leak.db'}"
    _, token = KeyStore(store_for(database)).create(team_id="team-a", scopes=[READ_SCOPE])
    port = free_port()  # a PostHog that does not answer
    settings = Settings(
        database_url=database,
        source="posthog",
        posthog_host=f"http://127.0.0.1:{port}",
        posthog_project_id="424242",
        posthog_api_key=SecretStr("phx_leaky_key_0123456789"),
    )
    with serve(settings) as url:
        answer = httpx.get(
            f"{url}/api/projects/team-a/session_recordings/0190aaaa-0000-7000-8000-000000000001/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "service_unavailable"
    assert "PostHog" in answer.json()["detail"]
    for secret in (str(port), "424242", "127.0.0.1", "phx_leaky"):
        assert secret not in answer.text


def test_an_unexpected_activity_error_leaves_only_its_type_in_the_history() -> None:
    failure = to_application_error(RuntimeError(SECRET_TEXT))
    assert failure.type == "internal_error" and not failure.non_retryable
    assert "hunter2" not in str(failure) and "/srv" not in str(failure)
    assert "RuntimeError" in str(failure)
    with pytest.raises(Exception) as raised, typed_errors():
        raise RuntimeError(SECRET_TEXT)
    # Temporal serializes the cause chain into the history too: there must be none.
    assert raised.value.__cause__ is None and "hunter2" not in str(raised.value)
