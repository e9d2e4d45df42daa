"""The stores over recap's store, each run on SQLite and on Postgres: API keys, error
clusters, schedule watermarks, the session index, summary lookups and the migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.resources import files

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from recap.clustering import cluster_errors
from recap.store.clusters import ClusterStore
from recap.store.keys import READ_SCOPE, WRITE_SCOPE, KeyStore
from recap.store.repository import SummaryStore
from recap.store.session_index import SessionIndex
from recap.store.watermarks import WatermarkStore
from tests.support.store_samples import migration_head, occurrences, summary, timeline

pytest_plugins = ["tests.support.postgres"]

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TABLES = {
    "alembic_version",
    "timelines",
    "session_summaries",
    "schedule_watermarks",
    "schedule_handoffs",
    "error_occurrences",
    "error_clusters",
    "api_keys",
}


def test_migrations_go_down_to_nothing_and_back_up(database_url: str) -> None:
    store = SummaryStore(database_url)
    store.migrate()
    assert set(inspect(store.engine).get_table_names()) >= TABLES
    config = Config()
    config.set_main_option("script_location", str(files("recap.store").joinpath("migrations")))
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == migration_head()
    assert set(inspect(store.engine).get_table_names()) >= TABLES


def test_api_keys(database_url: str) -> None:
    keys = KeyStore(SummaryStore(database_url))
    key, token = keys.create(team_id="t", scopes=[READ_SCOPE], label="ci")
    other, _ = keys.create(team_id="u", scopes=[WRITE_SCOPE])
    found = keys.authenticate(token)
    assert found is not None and found.id == key.id and found.team_id == "t"
    assert found.scopes == {READ_SCOPE} and found.label == "ci"
    assert found.created_at.tzinfo is not None
    listed = keys.list()
    assert [k.id for k in listed] == [key.id, other.id]
    used = listed[0].last_used_at
    assert used is not None and used >= key.created_at and used.tzinfo is not None
    assert [k.id for k in keys.list("u")] == [other.id]
    assert keys.revoke(key.id) and not keys.revoke(key.id)
    assert keys.authenticate(token) is None
    assert keys.list("t")[0].revoked_at is not None


def test_error_occurrences_and_clusters(database_url: str) -> None:
    store = ClusterStore(SummaryStore(database_url))
    found = occurrences(range(12))
    store.save_occurrences("team", "run-1", found)
    store.save_occurrences("team", "run-2", found)  # idempotent per (team, session, ref)
    store.save_occurrences("other", "run-1", found[:3])
    loaded = store.load_occurrences("team")
    assert loaded == sorted(found, key=lambda o: (o.session_id, o.t_ms, o.ref))
    assert {o.session_id for o in store.load_occurrences("team", ["s001", "s003"])} == {
        "s001",
        "s003",
    }

    clusters = cluster_errors("team", loaded)
    assert len(clusters) == 2
    clusters[0].title = "Orders without totals"
    store.save_clusters("team", clusters[:1])
    store.save_clusters("team", clusters)  # replaces the team's set
    assert store.load_clusters("team") == clusters
    assert store.load_clusters("other") == []


def test_watermarks_advance_once_and_never_backwards(database_url: str) -> None:
    watermarks = WatermarkStore(SummaryStore(database_url))
    assert watermarks.get("nightly") is None
    first = watermarks.record_handoff(
        schedule_id="nightly",
        team_id="t1",
        window_end=T0,
        session_ids=["s1", "s2"],
        batch_workflow_id="batch-1",
    )
    assert first.watermark == T0 and first.sessions_handed == 2
    assert watermarks.already_handed("nightly", ["s1", "s3"]) == {"s1"}
    again = watermarks.record_handoff(
        schedule_id="nightly",
        team_id="t1",
        window_end=T0 - timedelta(hours=1),
        session_ids=["s2", "s3"],
        batch_workflow_id="batch-2",
    )
    assert again.watermark == T0 and again.sessions_handed == 3
    assert again.last_batch_workflow_id == "batch-2"
    watermarks.forget("nightly")
    assert watermarks.get("nightly") is None
    assert watermarks.already_handed("nightly", ["s1"]) == set()


def test_session_index(database_url: str) -> None:
    store = SummaryStore(database_url)
    index = SessionIndex(store)
    before = datetime.now(UTC) - timedelta(seconds=1)
    store.save_timeline(
        team_id="t", timeline_hash="h1", timeline=timeline("s1"), text="one", tokens=1
    )
    store.save_timeline(
        team_id="t", timeline_hash="h2", timeline=timeline("s2"), text="two", tokens=1
    )
    store.save_summary(team_id="t", summary=summary("second", session_id="s2", timeline_hash="h2"))
    store.save_summary(team_id="t", summary=summary("third", session_id="s3"))
    store.save_summary(team_id="other", summary=summary("elsewhere", session_id="s9"))
    after = datetime.now(UTC) + timedelta(seconds=1)

    assert index.session_ids("t") == ["s1", "s2", "s3"]
    assert index.session_ids("t", since=before, until=after) == ["s1", "s2", "s3"]
    assert index.session_ids("t", since=after) == []
    assert index.session_ids("t", until=before) == []
    summaries = index.summaries("t")
    assert sorted(summaries) == ["s2", "s3"] and summaries["s2"].title == "second"
    assert sorted(index.summaries("t", ["s1", "s2"])) == ["s2"]
    written_from = index.latest_timeline("t", "s2", summaries["s2"])
    assert written_from is not None and written_from.text == "two"
    newest = index.latest_timeline("t", "s1")
    assert newest is not None and newest.timeline_hash == "h1"
    assert index.latest_timeline("t", "s3") is None


def test_summary_lookups(database_url: str) -> None:
    store = SummaryStore(database_url)
    store.save_summary(team_id="t", summary=summary("focused", focus="checkout"))
    store.save_summary(team_id="t", summary=summary("plain"))
    store.save_summary(team_id="t", summary=summary("only focused", session_id="s2", focus="x"))
    store.save_summary(
        team_id="t", summary=summary("old prompt", session_id="s3", prompt_version="p@0")
    )
    speaking = store.recording_summaries(team_id="t", session_ids=["s1", "s2", "s4"])
    # Only the summary without a focus area speaks for a recording (PostHog's
    # has_summary/summary_outcome ignore summaries with extra context): s2 has none.
    assert {session: s.summary.title for session, s in speaking.items() if s.summary} == {
        "s1": "plain",
    }
    assert store.sessions_with_summary(
        team_id="t", session_ids=["s1", "s2", "s3"], focus_area=None, prompt_version="p@1"
    ) == {"s1"}
    assert store.sessions_with_summary(
        team_id="t", session_ids=["s1", "s2"], focus_area=" X ", prompt_version="p@1"
    ) == {"s2"}
