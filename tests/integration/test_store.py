"""SummaryStore on SQLite and on Postgres: migrations, content-addressed timelines, one row per
summary."""

from __future__ import annotations

from sqlalchemy import inspect

from recap.store.repository import SummaryStore
from tests.support.store_samples import summary
from tests.support.store_samples import timeline as sample_timeline

pytest_plugins = ["tests.support.postgres"]


def test_migrations_create_the_schema(database_url: str) -> None:
    store = SummaryStore(database_url)  # a SQLite file's directory is created too
    store.migrate()
    tables = set(inspect(store.engine).get_table_names())
    assert {"timelines", "session_summaries", "alembic_version"} <= tables


def test_summary_is_replaced_not_duplicated(database_url: str) -> None:
    store = SummaryStore(database_url)
    first = store.save_summary(team_id="t", summary=summary("first"))
    second = store.save_summary(team_id="t", summary=summary("second"))
    assert store.count_summaries(team_id="t", session_id="s1") == 1
    assert second.summary is not None and second.summary.title == "second"
    assert second.summary_outcome is not None
    assert second.summary_outcome.description == "second outcome"
    assert second.has_summary and second.updated_at >= first.updated_at
    # Another focus area is another summary; another team never sees this one.
    store.save_summary(team_id="t", summary=summary("focused", focus="  Checkout  Errors "))
    assert store.count_summaries(team_id="t", session_id="s1") == 2
    focused = store.get_summary(team_id="t", session_id="s1", focus_area="checkout errors")
    assert focused is not None and focused.focus_area == "  Checkout  Errors "
    assert store.get_summary(team_id="other", session_id="s1") is None


def test_timelines_round_trip(database_url: str) -> None:
    store = SummaryStore(database_url)
    timeline = sample_timeline()
    for _ in range(2):  # saving twice is harmless
        store.save_timeline(team_id="t", timeline_hash="abc", timeline=timeline, text="x", tokens=1)
    loaded = store.load_timeline("abc")
    assert loaded is not None and loaded.timeline == timeline and loaded.text == "x"
    assert store.load_timeline("missing") is None
