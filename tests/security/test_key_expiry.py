"""Key expiry (issue 16, finding 10): `recap keys create --expires-in 90d` makes a key that
stops working when its time is up. An expired key is refused exactly as an unknown one is,
so a caller cannot tell that it existed; `recap keys list` shows expiry and marks expired
keys."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from recap.cli.keys import keys_app
from recap.cli.options import parse_duration
from recap.core.config import Settings, get_settings
from recap.store.keys import READ_SCOPE, KeyStore
from recap.store.repository import SummaryStore
from tests.support.api_stack import serve

CLUSTERS = "/api/projects/team-a/session_recordings/error_clusters/"
runner = CliRunner()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    monkeypatch.setenv("RECAP_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _words(output: str) -> str:
    # Typer draws errors in a box and wraps them: compare the words only.
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


def test_an_expired_key_answers_401_exactly_like_an_unknown_one(cli_db: str) -> None:
    created = runner.invoke(
        keys_app,
        ["create", "--team", "team-a", "--scopes", READ_SCOPE, "--expires-in", "1h", "--json"],
    )
    assert created.exit_code == 0, created.output
    live_token = json.loads(created.stdout)["token"]
    keys = KeyStore(SummaryStore(cli_db))
    _, expired_token = keys.create(
        team_id="team-a",
        scopes=[READ_SCOPE],
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    # Same shape as a real token, an id that was never issued.
    unknown_token = f"rck_{'0' * 12}_{expired_token.rsplit('_', 1)[1]}"

    with serve(Settings(database_url=cli_db)) as url:

        def get(token: str) -> httpx.Response:
            return httpx.get(url + CLUSTERS, headers={"Authorization": f"Bearer {token}"})

        live, expired, unknown = get(live_token), get(expired_token), get(unknown_token)
    assert live.status_code == 200
    assert expired.status_code == unknown.status_code == 401
    assert expired.content == unknown.content
    assert expired.headers.get("www-authenticate") == unknown.headers.get("www-authenticate")
    # The key created with --expires-in 1h stops too, once its hour has passed.
    later = KeyStore(SummaryStore(cli_db), clock=lambda: datetime.now(UTC) + timedelta(hours=2))
    assert later.authenticate(live_token) is None
    assert keys.authenticate(live_token) is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12h", timedelta(hours=12)),
        ("90d", timedelta(days=90)),
        ("4w", timedelta(weeks=4)),
        (" 90D ", timedelta(days=90)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("90", "is not a duration"),
        ("d", "is not a duration"),
        ("1.5d", "is not a duration"),
        ("-1d", "is not a duration"),
        ("90m", "is not a duration"),
        ("1d12h", "is not a duration"),
        ("0h", "from 1h to 3650d"),
        ("99999w", "from 1h to 3650d"),
    ],
)
def test_nonsense_durations_are_refused_and_create_nothing(
    cli_db: str, text: str, message: str
) -> None:
    result = runner.invoke(
        keys_app, ["create", "--team", "team-a", "--scopes", READ_SCOPE, "--expires-in", text]
    )
    assert result.exit_code == 2
    words = _words(result.output)
    assert "--expires-in" in words and message in words
    assert "rck_" not in result.output
    assert KeyStore(SummaryStore(cli_db)).list() == []


def test_expiry_is_set_from_now_and_listed_with_expired_keys_marked(cli_db: str) -> None:
    before = datetime.now(UTC)
    created = runner.invoke(
        keys_app,
        ["create", "--team", "team-a", "--scopes", READ_SCOPE, "--expires-in", "90d", "--json"],
    )
    assert created.exit_code == 0, created.output
    made = json.loads(created.stdout)
    expires_at = datetime.fromisoformat(made["expires_at"])
    assert before + timedelta(days=90) - timedelta(seconds=1) <= expires_at
    assert expires_at <= datetime.now(UTC) + timedelta(days=90)
    assert made["expired"] is False
    keys = KeyStore(SummaryStore(cli_db))
    old, _ = keys.create(
        team_id="team-a", scopes=[READ_SCOPE], expires_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    forever, _ = keys.create(team_id="team-a", scopes=[READ_SCOPE])

    rows = {
        row["id"]: row for row in json.loads(runner.invoke(keys_app, ["list", "--json"]).stdout)
    }
    assert rows[made["id"]]["expires_at"] == made["expires_at"]
    assert rows[old.id]["expired"] is True and rows[old.id]["expires_at"].startswith("2026-01-01")
    assert rows[forever.id]["expires_at"] is None and rows[forever.id]["expired"] is False

    table = runner.invoke(keys_app, ["list"])
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    row_of = {key: next(i for i, line in enumerate(lines) if key in line) for key in rows}
    # The state column: "expired" / "expires" over the day, "live" for a key that never ends.
    assert "expired" in lines[row_of[old.id]] and "2026-01-01" in lines[row_of[old.id] + 1]
    assert "expires" in lines[row_of[made["id"]]]
    assert expires_at.strftime("%Y-%m-%d") in lines[row_of[made["id"]] + 1]
    assert "live" in lines[row_of[forever.id]]


def test_the_store_wants_an_aware_expiry(tmp_path: Path) -> None:
    keys = KeyStore(SummaryStore(f"sqlite:///{tmp_path / 'k.db'}"))
    with pytest.raises(ValueError, match="time zone"):
        keys.create(team_id="t", scopes=[READ_SCOPE], expires_at=datetime(2030, 1, 1))
    assert keys.list() == []
