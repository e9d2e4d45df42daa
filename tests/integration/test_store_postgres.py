"""recap's store when Postgres goes away and comes back, and the test server helper itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from activities.errors import NON_RETRYABLE_TYPES, to_application_error
from recap.store.repository import SummaryStore
from tests.support.store_samples import summary, timeline

if TYPE_CHECKING:
    # Imported by pytest_plugins, so that pytest rewrites its asserts.
    from tests.support.postgres import PostgresServer

pytest_plugins = ["tests.support.postgres"]


def test_a_write_while_postgres_is_down_fails_retryably_then_succeeds(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    store = SummaryStore(postgres_url)
    store.save_summary(team_id="t", summary=summary("before"))
    postgres_server.stop()
    try:
        with pytest.raises(OperationalError) as raised:
            store.save_summary(team_id="t", summary=summary("during"))
        with pytest.raises(OperationalError):
            store.save_timeline(
                team_id="t", timeline_hash="h", timeline=timeline(), text="x", tokens=1
            )
    finally:
        postgres_server.start()
    message = str(raised.value)
    assert "connection" in message and str(postgres_server.port) in message
    # The store activity's retry policy takes it from here: the error is not final.
    failure = to_application_error(raised.value)
    assert failure.type == "internal_error" and failure.type not in NON_RETRYABLE_TYPES
    assert not failure.non_retryable

    # The same store object, its pool's connections dead, writes again once Postgres is back.
    after = store.save_summary(team_id="t", summary=summary("after"))
    assert after.summary is not None and after.summary.title == "after"
    assert store.count_summaries(team_id="t", session_id="s1") == 1
    store.save_timeline(team_id="t", timeline_hash="h", timeline=timeline(), text="x", tokens=1)
    assert store.load_timeline("h") is not None


def test_server_keeps_its_port_and_data_across_a_restart(
    postgres_server: PostgresServer,
) -> None:
    first = postgres_server.create_database()
    second = postgres_server.create_database()
    assert first != second and first.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    engine = create_engine(first, pool_pre_ping=True)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE kept (n integer)"))
        connection.execute(text("INSERT INTO kept VALUES (7)"))
    port = postgres_server.port
    postgres_server.restart()
    assert postgres_server.port == port and postgres_server.running
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM kept")).scalar() == 7
    with create_engine(second).connect() as connection:
        assert connection.execute(text("SELECT to_regclass('kept')")).scalar() is None
    engine.dispose()
