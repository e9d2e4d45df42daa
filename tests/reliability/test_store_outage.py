"""The database goes down mid-batch (Postgres stopped, then started): the store
activities retry, and nothing is lost or duplicated."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from temporalio.client import Client

from recap.demo.generator import write_sample_sessions
from tests.reliability.harness import (
    FaultPlan,
    Queues,
    faulty_model,
    report,
    run_batch,
    running_workflows,
    settings_for,
    summary_counts,
    wait_batch,
    worker_environment,
    workers,
)

if TYPE_CHECKING:
    # Imported by pytest_plugins, so that pytest rewrites its asserts.
    from tests.support.postgres import PostgresServer

pytest_plugins = ["tests.support.postgres"]

SESSIONS = 45
OUTAGE_SECONDS = 8.0


async def test_postgres_down_mid_batch_loses_and_duplicates_nothing(
    temporal_client: Client, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    directory = tmp_path / "recordings"
    session_ids: list[str] = []
    for seed in range(SESSIONS // 3):
        session_ids.extend(s.session_id for s in write_sample_sessions(directory, seed=700 + seed))
    if not postgres_server.running:
        postgres_server.start()
    database_url = postgres_server.create_database()
    team = f"rel-store-{uuid.uuid4().hex[:6]}"
    queues = Queues.fresh("store")
    source = f"files:{directory}"
    with faulty_model(FaultPlan(latency=0.2)) as model:
        environment = worker_environment(
            temporal_client, queues, model, source, RECAP_DATABASE_URL=database_url
        )
        settings = settings_for(temporal_client, queues, source).model_copy(
            update={"database_url": database_url}
        )
        async with workers(environment, tmp_path / "worker.log") as worker:
            workflow_id = await run_batch(
                temporal_client, settings, team, session_ids, concurrency=5
            )
            for _ in range(600):
                if model.calls >= 8:
                    break
                await asyncio.sleep(0.1)
            calls_at_outage = model.calls
            postgres_server.stop()
            await asyncio.sleep(OUTAGE_SECONDS)
            postgres_server.start()
            progress = await wait_batch(temporal_client, workflow_id, within=600)
        calls = model.calls
        logged = worker.log_path.read_text(encoding="utf-8", errors="replace")
    lost, duplicated = summary_counts(database_url, team, session_ids)
    store_retries = logged.count("OperationalError")
    report(
        "store_outage",
        sessions=len(session_ids),
        calls=calls,
        calls_before_outage=calls_at_outage,
        outage_seconds=OUTAGE_SECONDS,
        activity_failures_logged=store_retries,
        summarized=progress.summarized,
        failed=progress.failed,
        lost=lost,
        duplicated=duplicated,
    )
    assert calls_at_outage < len(session_ids), "the outage came after the batch ended"
    assert store_retries > 0, "no activity saw the database down: the outage missed the batch"
    assert progress.status == "completed" and progress.failed == 0, progress.failures
    assert lost == 0 and duplicated == 0
    assert calls <= 1.05 * len(session_ids)
    assert await running_workflows(temporal_client, team) == []
