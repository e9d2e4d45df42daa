"""Guessing keys (issue 16, finding 10): failed authentications are throttled per client
address; once an address is over, it gets 429 before any key it sends is looked at, so a
guess cannot be told from a hit."""

from __future__ import annotations

from pathlib import Path

import httpx

from recap.core.config import Settings
from recap.store.keys import READ_SCOPE, KeyStore
from recap.store.repository import store_for
from tests.support.api_stack import serve

CLUSTERS = "/api/projects/team-a/session_recordings/error_clusters/"


def test_bad_secrets_from_one_address_are_throttled(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'guess.db'}"
    _, token = KeyStore(store_for(database)).create(team_id="team-a", scopes=[READ_SCOPE])
    key_id = token.split("_")[1]
    settings = Settings(database_url=database, api_auth_failures_per_minute=5)
    with serve(settings) as url:
        good = {"Authorization": f"Bearer {token}"}
        assert httpx.get(url + CLUSTERS, headers=good).status_code == 200
        answers = [
            httpx.get(url + CLUSTERS, headers={"Authorization": f"Bearer rck_{key_id}_guess{i}"})
            for i in range(12)
        ]
        after = httpx.get(url + CLUSTERS, headers=good)
    codes = [answer.status_code for answer in answers]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, codes
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert after.status_code == 429  # the right key is not even checked while over
