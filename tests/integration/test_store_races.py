"""Concurrent writers of the same rows, on SQLite and on Postgres: worker threads and
processes that migrate a fresh database at once, and activities that store the same
session, schedule or team's clusters at the same moment."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select, text

from recap.clustering import cluster_errors
from recap.store.clusters import ClusterStore
from recap.store.repository import SummaryStore
from recap.store.tables import SummaryRow, TimelineRow
from recap.store.watermarks import WatermarkStore
from tests.support.store_samples import migration_head, occurrences, summary, timeline

pytest_plugins = ["tests.support.postgres"]
# A race that deadlocks fails here rather than at the suite's timeout.
pytestmark = pytest.mark.timeout(120)

THREADS = 8
ROUNDS = 20
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

# A process that opens the store, waits for the agreed moment, and migrates.
_MIGRATE_AT = """
import sys, time
from recap.store.repository import SummaryStore
url, at = sys.argv[1], float(sys.argv[2])
store = SummaryStore(url)
time.sleep(max(0.0, at - time.time()))
store.migrate()
"""


def _together(count: int, work: Callable[[int], None]) -> None:
    """Run `work(0..count-1)` on as many threads, released at once; re-raise any failure."""
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        work(index)

    with ThreadPoolExecutor(count) as pool:
        for future in [pool.submit(run, index) for index in range(count)]:
            future.result()


def test_workers_migrating_a_fresh_database_at_once(database_url: str) -> None:
    # Processes (separate workers) and threads (separate stores in one worker) all find
    # the database empty at the same moment.
    at = time.time() + 2.5
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _MIGRATE_AT, database_url, str(at)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    stores = [SummaryStore(database_url) for _ in range(4)]

    def migrate(index: int) -> None:
        time.sleep(max(0.0, at - time.time()))
        stores[index].migrate()

    _together(len(stores), migrate)
    for process in processes:
        _, errors = process.communicate(timeout=60)
        assert process.returncode == 0, errors
    engine = stores[0].engine
    assert "api_keys" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == [
            (migration_head(),)
        ]


def test_one_session_stored_by_many_writers_at_once_is_one_row(database_url: str) -> None:
    # A store per thread on Postgres is a pool per worker; one store is the worker's own.
    shared = SummaryStore(database_url)
    stores = [SummaryStore(database_url) for _ in range(THREADS // 2)]
    stores += [shared] * (THREADS - len(stores))

    def write(index: int) -> None:
        store = stores[index]
        for round_ in range(ROUNDS):
            store.save_timeline(
                team_id="t", timeline_hash="same", timeline=timeline(), text="x", tokens=1
            )
            stored = store.save_summary(team_id="t", summary=summary(f"w{index} r{round_}"))
            assert stored.summary is not None

    _together(THREADS, write)
    with shared.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(SummaryRow)) == 1
        assert connection.scalar(select(func.count()).select_from(TimelineRow)) == 1
    final = shared.get_summary(team_id="t", session_id="s1")
    assert final is not None and final.summary is not None
    assert final.summary.title.endswith(f"r{ROUNDS - 1}")


def test_overlapping_runs_of_one_schedule_hand_each_session_once(database_url: str) -> None:
    # Each run hands sessions of its own and one all runs of that round share, and moves the
    # mark to its own window end; runs finish in any order.
    store = SummaryStore(database_url)
    store.migrate()
    stores = [WatermarkStore(SummaryStore(database_url)) for _ in range(THREADS)]
    windows = {
        (index, round_): [f"s{index}-{round_}-{k}" for k in range(2)] + [f"shared-{round_}"]
        for index in range(THREADS)
        for round_ in range(ROUNDS)
    }

    def hand(index: int) -> None:
        for round_ in range(ROUNDS):
            stores[index].record_handoff(
                schedule_id="nightly",
                team_id="t",
                window_end=T0 + timedelta(minutes=index * ROUNDS + round_),
                session_ids=windows[index, round_],
                batch_workflow_id=f"batch-{index}-{round_}",
            )

    _together(THREADS, hand)
    everyone = {session for sessions in windows.values() for session in sessions}
    final = stores[0].get("nightly")
    assert final is not None
    assert final.watermark == T0 + timedelta(minutes=THREADS * ROUNDS - 1)
    assert final.sessions_handed == len(everyone)
    assert stores[0].already_handed("nightly", sorted(everyone)) == everyone


def test_one_team_clustered_by_many_writers_at_once(database_url: str) -> None:
    found = occurrences(range(30))
    clusters = cluster_errors("team", found)
    sets = [clusters, clusters[:1], clusters[1:]]
    stores = [ClusterStore(SummaryStore(database_url)) for _ in range(THREADS)]
    stores[0].load_clusters("team")  # migrated, so only the writes race

    def write(index: int) -> None:
        store = stores[index]
        # Writers see the sessions in different orders, as separate runs would.
        mine = found if index % 2 else found[::-1]
        for round_ in range(ROUNDS // 2):
            store.save_occurrences("team", f"run-{index}-{round_}", mine)
            store.save_clusters("team", sets[(index + round_) % len(sets)])

    _together(THREADS, write)
    assert len(stores[0].load_occurrences("team")) == len(found)
    assert stores[0].load_clusters("team") in sets
