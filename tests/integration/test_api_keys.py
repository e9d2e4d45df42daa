"""API keys (hashed, scoped, per team), the per-key rate limiter, and `recap keys`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from recap.api.ratelimit import RateLimiter, RateLimits
from recap.cli.keys import keys_app
from recap.core.config import get_settings
from recap.store.keys import (
    READ_SCOPE,
    WRITE_SCOPE,
    ApiKey,
    InvalidScopes,
    KeyStore,
    parse_scopes,
)
from recap.store.repository import SummaryStore
from tests.support.store_samples import migration_head

runner = CliRunner()


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(SummaryStore(f"sqlite:///{tmp_path / 'recap.db'}"))


def _flip(char: str) -> str:
    return "b" if char == "a" else "a"


# Keys and tokens


def test_token_authenticates_to_its_team_and_scopes(keys: KeyStore) -> None:
    key, token = keys.create(team_id="team-1", scopes=[READ_SCOPE], label="ci")
    other, other_token = keys.create(team_id="team_2", scopes=[READ_SCOPE, WRITE_SCOPE])
    assert token.startswith(f"rck_{key.id}_") and len(key.id) == 12
    found = keys.authenticate(token)
    assert found is not None
    assert (found.id, found.team_id, found.scopes, found.label) == (
        key.id,
        "team-1",
        frozenset({READ_SCOPE}),
        "ci",
    )
    assert found.created_at.tzinfo is not None and found.revoked_at is None
    found_other = keys.authenticate(other_token)
    assert found_other is not None and found_other.team_id == "team_2"
    assert found_other.scopes == {READ_SCOPE, WRITE_SCOPE}
    assert other.id != key.id


def test_database_holds_no_plaintext_token(keys: KeyStore) -> None:
    key, token = keys.create(team_id="t", scopes=[READ_SCOPE])
    secret = token.removeprefix(f"rck_{key.id}_")
    assert len(secret) == 43
    with keys._store.engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(text("SELECT * FROM api_keys"))]
    assert len(rows) == 1
    cells = [str(cell) for cell in rows[0]]
    assert key.id in cells
    assert not any(token in cell or secret in cell for cell in cells)


def test_revoked_key_no_longer_authenticates(keys: KeyStore) -> None:
    key, token = keys.create(team_id="t", scopes=[READ_SCOPE])
    _, kept_token = keys.create(team_id="t", scopes=[READ_SCOPE])
    assert keys.revoke(key.id) is True
    assert keys.authenticate(token) is None
    assert keys.revoke(key.id) is False  # already revoked
    assert keys.revoke("000000000000") is False  # unknown
    assert keys.revoke("not an id") is False
    assert keys.authenticate(kept_token) is not None
    revoked = [k for k in keys.list() if k.id == key.id]
    assert revoked[0].revoked_at is not None


def test_tampered_tokens_are_refused(keys: KeyStore) -> None:
    key, token = keys.create(team_id="t", scopes=[READ_SCOPE])
    other, _ = keys.create(team_id="u", scopes=[READ_SCOPE])
    last = len(token) - 1
    in_secret = token[:last] + _flip(token[last])
    id_at = len("rck_")
    in_id = token[:id_at] + _flip(token[id_at]) + token[id_at + 1 :]
    # Another key's id with this key's secret: the id exists, the hash does not match.
    swapped = token.replace(key.id, other.id)
    for tampered in (in_secret, in_id, swapped):
        assert tampered != token
        assert keys.authenticate(tampered) is None
    assert keys.authenticate(token) is not None


def test_malformed_tokens_are_refused_before_the_database(tmp_path: Path) -> None:
    # The store points at a directory, not a database: any query would raise.
    keys = KeyStore(SummaryStore(f"sqlite:///{tmp_path}"))
    good_shape = "rck_0123456789ab_" + "a" * 43
    assert len(good_shape) == 60
    for token in (
        "",
        "rck_",
        "Bearer " + good_shape,
        good_shape.replace("rck_", "rcx_"),
        good_shape.replace("0123456789ab", "0123456789AB"),  # the id is lowercase hex
        good_shape.replace("0123456789ab", "0123456789ag"),
        good_shape[:-1],
        good_shape + "a",
        good_shape[:-1] + "\u00e9",
        good_shape[:-1] + "=",
        good_shape[:-1] + " ",
        good_shape + "a" * 10_000_000,
    ):
        assert keys.authenticate(token) is None


def test_scopes_are_validated(keys: KeyStore) -> None:
    assert parse_scopes(f" {WRITE_SCOPE} ,{READ_SCOPE},") == {READ_SCOPE, WRITE_SCOPE}
    for bad in ("", " , ", "session_recording:admin", f"{READ_SCOPE},read"):
        with pytest.raises(InvalidScopes) as raised:
            parse_scopes(bad)
        assert READ_SCOPE in str(raised.value) and WRITE_SCOPE in str(raised.value)
    with pytest.raises(InvalidScopes):
        keys.create(team_id="t", scopes=["admin"])
    with pytest.raises(InvalidScopes):
        keys.create(team_id="t", scopes=[])
    assert keys.list() == []


def test_team_ids_are_validated(keys: KeyStore) -> None:
    for bad in ("", "a b", "team/1", "x" * 129, "tëam", "t\n"):
        with pytest.raises(ValueError, match="team id"):
            keys.create(team_id=bad, scopes=[READ_SCOPE])
    assert keys.list() == []
    key, _ = keys.create(team_id="x" * 128, scopes=[READ_SCOPE])
    assert key.team_id == "x" * 128


def test_write_implies_read_as_in_posthog(keys: KeyStore) -> None:
    writer, _ = keys.create(team_id="t", scopes=[WRITE_SCOPE])
    reader, _ = keys.create(team_id="t", scopes=[READ_SCOPE])
    assert writer.allows(WRITE_SCOPE) and writer.allows(READ_SCOPE)
    assert reader.allows(READ_SCOPE) and not reader.allows(WRITE_SCOPE)
    assert not reader.allows("session_recording")


def test_list_filters_by_team_and_never_exposes_hashes(keys: KeyStore) -> None:
    a, token_a = keys.create(team_id="a", scopes=[READ_SCOPE])
    b, _ = keys.create(team_id="b", scopes=[WRITE_SCOPE])
    assert {k.id for k in keys.list()} == {a.id, b.id}
    assert [k.id for k in keys.list("a")] == [a.id]
    assert keys.list("nobody") == []
    with keys._store.engine.connect() as connection:
        stored_hash = connection.execute(
            text("SELECT token_hash FROM api_keys WHERE id = :id"), {"id": a.id}
        ).scalar_one()
    for key in keys.list():
        assert isinstance(key, ApiKey)
        shown = repr(key) + json.dumps(
            {name: str(getattr(key, name)) for name in key.__dataclass_fields__}
        )
        assert stored_hash not in shown and token_a not in shown


def test_authenticate_records_last_use(keys: KeyStore) -> None:
    key, token = keys.create(team_id="t", scopes=[READ_SCOPE])
    assert keys.list()[0].last_used_at is None
    keys.authenticate(token)
    used = keys.list()[0].last_used_at
    assert used is not None and used >= key.created_at


# Migrations


def _alembic() -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("recap.store").joinpath("migrations")))
    return config


def test_migration_creates_api_keys_on_a_fresh_database(tmp_path: Path) -> None:
    store = SummaryStore(f"sqlite:///{tmp_path / 'fresh.db'}")
    store.migrate()
    assert "api_keys" in inspect(store.engine).get_table_names()
    with store.engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == migration_head()


def test_migration_upgrades_a_database_at_0003(tmp_path: Path) -> None:
    store = SummaryStore(f"sqlite:///{tmp_path / 'old.db'}")
    config = _alembic()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
    tables = set(inspect(store.engine).get_table_names())
    assert "error_clusters" in tables and "api_keys" not in tables
    KeyStore(store).create(team_id="t", scopes=[READ_SCOPE])  # migrates on first use
    assert "api_keys" in inspect(store.engine).get_table_names()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    assert "api_keys" not in inspect(store.engine).get_table_names()


# Rate limiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_is_allowed_then_refused_until_a_token_refills() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimits(burst_per_minute=6, sustained_per_hour=1000), clock)
    assert all(limiter.check("k") is None for _ in range(6))
    # 6 per minute: one token every 10 s.
    assert limiter.check("k") == 10
    clock.now += 4
    assert limiter.check("k") == 6  # a refused request takes nothing
    clock.now += 6
    assert limiter.check("k") is None
    assert limiter.check("k") == 10


def test_waiting_refills_the_whole_burst_but_no_more() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimits(burst_per_minute=3, sustained_per_hour=1000), clock)
    assert [limiter.check("k") for _ in range(4)] == [None, None, None, 20]
    clock.now += 3600  # far longer than a minute: the bucket caps at its capacity
    assert [limiter.check("k") for _ in range(4)] == [None, None, None, 20]


def test_sustained_limit_trips_even_when_the_burst_refills() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimits(burst_per_minute=5, sustained_per_hour=8), clock)
    assert [limiter.check("k") for _ in range(5)] == [None] * 5
    clock.now += 60  # burst bucket full again; sustained has regained 8/3600*60 < 1
    assert [limiter.check("k") for _ in range(3)] == [None] * 3
    wait = limiter.check("k")
    # 8 per hour: a token every 450 s; 60 s of the current one have already accrued.
    assert wait is not None and 385 <= wait <= 391
    clock.now += 450
    assert limiter.check("k") is None


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimits(burst_per_minute=480, sustained_per_hour=4800), clock)
    assert all(limiter.check("k") is None for _ in range(480))
    wait = limiter.check("k")
    assert wait == 1  # 0.125 s to the next token, rounded up


def test_keys_are_limited_independently() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimits(burst_per_minute=2, sustained_per_hour=100), clock)
    assert [limiter.check("a") for _ in range(3)] == [None, None, 30]
    assert [limiter.check("b") for _ in range(3)] == [None, None, 30]


def test_idle_keys_are_forgotten_when_many_are_tracked() -> None:
    clock = FakeClock()
    limiter = RateLimiter(
        RateLimits(burst_per_minute=2, sustained_per_hour=100), clock, max_tracked_keys=10
    )
    for index in range(9):
        limiter.check(f"idle-{index}")
    clock.now += 3600  # the idle keys' buckets are full again
    assert limiter.check("busy") is None
    assert limiter.check("busy") is None
    assert len(limiter._buckets) == 10
    limiter.check("new")  # one key too many: the full (idle) buckets go
    assert set(limiter._buckets) == {"busy", "new"}
    assert limiter.check("busy") == 30  # busy kept its state: its burst is spent


def test_rate_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RateLimits(burst_per_minute=0, sustained_per_hour=10)


# `recap keys`


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli' / 'recap.db'}"
    monkeypatch.setenv("RECAP_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("RECAP_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_cli_create_list_revoke(cli_db: str) -> None:
    created = runner.invoke(
        keys_app,
        ["create", "--team", "acme", "--scopes", f"{READ_SCOPE},{WRITE_SCOPE}", "--json"],
    )
    assert created.exit_code == 0, created.output
    made = json.loads(created.stdout)
    token = made["token"]
    assert made["team_id"] == "acme" and made["scopes"] == [READ_SCOPE, WRITE_SCOPE]
    # The token the CLI printed is the one the store accepts, in the configured database.
    found = KeyStore(SummaryStore(cli_db)).authenticate(token)
    assert found is not None and found.id == made["id"]

    plain = runner.invoke(
        keys_app, ["create", "--team", "other", "--scopes", READ_SCOPE, "--label", "ci"]
    )
    assert plain.exit_code == 0, plain.output
    plain_token = next(line for line in plain.stdout.splitlines() if line.startswith("rck_"))
    assert KeyStore(SummaryStore(cli_db)).authenticate(plain_token) is not None

    listed = runner.invoke(keys_app, ["list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert {row["team_id"] for row in rows} == {"acme", "other"}
    assert token not in listed.stdout and plain_token not in listed.stdout
    assert not any("hash" in name or "token" in name for row in rows for name in row)
    only = json.loads(runner.invoke(keys_app, ["list", "--team", "acme", "--json"]).stdout)
    assert [row["id"] for row in only] == [made["id"]]
    table = runner.invoke(keys_app, ["list"])
    assert table.exit_code == 0 and made["id"] in table.stdout and token not in table.stdout

    revoked = runner.invoke(keys_app, ["revoke", made["id"]])
    assert revoked.exit_code == 0, revoked.output
    assert KeyStore(SummaryStore(cli_db)).authenticate(token) is None
    again = runner.invoke(keys_app, ["revoke", made["id"]])
    assert again.exit_code == 1 and "no live API key" in again.output
    rows = json.loads(runner.invoke(keys_app, ["list", "--json"]).stdout)
    assert next(row for row in rows if row["id"] == made["id"])["revoked_at"] is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "acme", "--scopes", "session_recording:admin"], "valid scopes"),
        (["--team", "acme", "--scopes", ","], "no scopes"),
        (["--team", "a b", "--scopes", READ_SCOPE], "team id"),
    ],
)
def test_cli_rejects_bad_scopes_and_teams(cli_db: str, args: list[str], message: str) -> None:
    result = runner.invoke(keys_app, ["create", *args])
    assert result.exit_code == 2
    # Typer draws the error in a box and wraps it: compare the words only.
    assert message in " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())
    assert "rck_" not in result.output
    assert KeyStore(SummaryStore(cli_db)).list() == []
