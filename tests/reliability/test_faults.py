"""Nothing is lost under faults: real dev server, real worker processes (one SIGKILLed
mid-batch), a loopback model server that injects faults, the loopback PostHog double.

Each test prints its figures on a `RELIABILITY name {…}` line."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from recap.core.config import get_settings
from recap.demo.generator import write_sample_sessions
from tests.reliability.harness import (
    MODEL_KEY,
    FaultPlan,
    Queues,
    faulty_model,
    histories_json,
    report,
    run_batch,
    running_workflows,
    settings_for,
    summary_counts,
    wait_batch,
    worker_environment,
    workers,
)
from tests.support.posthog_double import Fault, posthog_double

# Typed reasons a session may end with when the model keeps failing (never untyped).
MODEL_FAILURES = {
    "llm_rate_limited",
    "llm_unavailable",
    "malformed_model_output",
    "summary_invalid",
    "llm_error",
}


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    directory = tmp_path_factory.mktemp("reliability-recordings")
    ids: list[str] = []
    seed = 0
    while len(ids) < 200:
        ids.extend(s.session_id for s in write_sample_sessions(directory, seed=1000 + seed))
        seed += 1
    return directory, ids[:200]


def _team(name: str) -> str:
    return f"rel-{name}-{uuid.uuid4().hex[:6]}"


async def test_worker_killed_mid_batch_loses_and_repeats_nothing(
    temporal_client: Client, recordings: tuple[Path, list[str]], tmp_path: Path
) -> None:
    directory, session_ids = recordings
    team = _team("kill")
    queues = Queues.fresh("kill")
    source = f"files:{directory}"
    with faulty_model(FaultPlan(latency=0.15)) as model:
        environment = worker_environment(temporal_client, queues, model, source)
        settings = settings_for(temporal_client, queues, source)
        first = workers(environment, tmp_path / "worker-1.log")
        async with first as worker:
            workflow_id = await run_batch(temporal_client, settings, team, session_ids)
            for _ in range(600):
                if model.calls >= 40:
                    break
                await asyncio.sleep(0.1)
            calls_at_kill = model.calls
            await worker.kill()
        async with workers(environment, tmp_path / "worker-2.log"):
            progress = await wait_batch(temporal_client, workflow_id, within=600)
        calls = model.calls
    missing, duplicated = summary_counts(get_settings().resolved_database_url, team, session_ids)
    report(
        "worker_kill",
        sessions=len(session_ids),
        calls=calls,
        calls_before_kill=calls_at_kill,
        summarized=progress.summarized,
        failed=progress.failed,
        lost=missing,
        duplicated=duplicated,
    )
    assert calls_at_kill < len(session_ids), "the worker was killed after the batch ended"
    assert progress.status == "completed" and progress.failed == 0, progress.failures
    assert progress.summarized + progress.skipped == len(session_ids)
    assert missing == 0 and duplicated == 0
    assert calls <= 1.05 * len(session_ids), f"{calls} model calls for {len(session_ids)}"
    assert await running_workflows(temporal_client, team) == []


async def test_model_faults_end_typed_and_nothing_runs_on(
    temporal_client: Client, recordings: tuple[Path, list[str]], tmp_path: Path
) -> None:
    directory, all_ids = recordings
    session_ids = all_ids[:60]
    team = _team("model")
    queues = Queues.fresh("model")
    source = f"files:{directory}"
    with faulty_model(FaultPlan(rate=0.3, timeout_delay=6.0)) as model:
        environment = worker_environment(temporal_client, queues, model, source)
        settings = settings_for(temporal_client, queues, source)
        async with workers(environment, tmp_path / "worker.log"):
            workflow_id = await run_batch(temporal_client, settings, team, session_ids)
            progress = await wait_batch(temporal_client, workflow_id, within=900)
        calls, faults = model.calls, dict(model.faults)
    missing, duplicated = summary_counts(get_settings().resolved_database_url, team, session_ids)
    failed = {failure.session_id: failure.error_type for failure in progress.failures}
    report(
        "model_faults",
        sessions=len(session_ids),
        calls=calls,
        faults_injected=faults,
        summarized=progress.summarized,
        failed_typed=failed,
        lost=missing - len(failed),
        duplicated=duplicated,
    )
    assert sum(faults.values()) >= 0.2 * calls and set(faults) == set(FaultPlan().kinds)
    assert set(failed.values()) <= MODEL_FAILURES, failed
    assert progress.summarized + len(failed) == len(session_ids)
    assert missing == len(failed), "a session without a summary was not reported as failed"
    assert duplicated == 0
    assert await running_workflows(temporal_client, team) == []


async def test_posthog_faults_inside_a_batch(
    temporal_client: Client, recordings: tuple[Path, list[str]], tmp_path: Path
) -> None:
    directory, all_ids = recordings
    served_ids = all_ids[60:80]
    absent = [f"0190ffff-0000-7000-8000-00000000000{i}" for i in range(3)]
    team = _team("posthog")
    queues = Queues.fresh("posthog")
    with posthog_double() as posthog, faulty_model() as model:
        for session_id in served_ids:
            posthog.add_file(directory / f"{session_id}.json")
        # 429 with Retry-After on the first snapshot listings, cut bodies on block fetches.
        posthog.inject(
            Fault(
                match="/snapshots/",
                status=429,
                headers={"Retry-After": "1"},
                times=4,
            ),
            Fault(match="source=blob_v2", cut=True, times=4),
        )
        extra = {
            "RECAP_POSTHOG_HOST": posthog.base_url,
            "RECAP_POSTHOG_PROJECT_ID": posthog.project_id,
            "RECAP_POSTHOG_API_KEY": posthog.api_key,
        }
        environment = worker_environment(temporal_client, queues, model, "posthog", **extra)
        settings = settings_for(temporal_client, queues, "posthog").model_copy(
            update={
                "posthog_host": posthog.base_url,
                "posthog_project_id": posthog.project_id,
                "posthog_api_key": SecretStr(posthog.api_key),
            }
        )
        async with workers(environment, tmp_path / "worker.log") as worker:
            workflow_id = await run_batch(temporal_client, settings, team, served_ids + absent)
            progress = await wait_batch(temporal_client, workflow_id, within=600)
        remaining = [fault for fault in posthog.faults if fault.times > 0]
        histories = await histories_json(temporal_client, team)
        logged = worker.log_path.read_text(encoding="utf-8", errors="replace")
        posthog_key = posthog.api_key
    failed = {failure.session_id: failure.error_type for failure in progress.failures}
    missing, duplicated = summary_counts(get_settings().resolved_database_url, team, served_ids)
    report(
        "posthog_faults",
        sessions=len(served_ids) + len(absent),
        faults_injected={"429": 4, "cut_body": 4, "404": len(absent)},
        faults_left_unused=len(remaining),
        summarized=progress.summarized,
        failed_typed=failed,
        lost=missing,
        duplicated=duplicated,
        histories_checked=len(histories),
    )
    assert not remaining, "every injected PostHog fault was hit"
    assert failed == dict.fromkeys(absent, "recording_not_found")
    assert progress.summarized == len(served_ids) and missing == 0 and duplicated == 0
    # Secrets: neither key is in any workflow history or in the worker's log.
    assert histories
    for secret in (posthog_key, MODEL_KEY):
        assert not any(secret in history for history in histories)
        assert secret not in logged
    assert await running_workflows(temporal_client, team) == []
