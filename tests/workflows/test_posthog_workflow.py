"""`RECAP_SOURCE=posthog` end to end: the workflow on the real dev server reads a recording
from the loopback PostHog double, survives a body cut mid-stream by Temporal's retry, and
compiles the same timeline as the file source does from the same file."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client

from activities.models import SummarizeTimelineInput
from recap.core.config import get_settings
from recap.core.naming import summary_workflow_id
from recap.demo.generator import generate_session
from recap.llm.gate import gate
from recap.llm.prompts import load_prompt
from recap.llm.schema import (
    ModelKeyAction,
    ModelSummary,
    RunMetadata,
    SessionSummary,
    SummaryOutcome,
)
from recap.sources.files import load_recording_file
from recap.store.repository import store_for
from recap.timeline import compile_timeline
from tests.support.posthog_double import (
    Fault,
    PostHogDouble,
    posthog_double,
    served_from_document,
    served_from_file,
)
from tests.support.recordings import CHALK_FILTERS
from tests.support.temporal import activity_attempts, running_worker
from worker import build_activities
from workflows.contracts import SummarizeSessionInput
from workflows.session_summary import SummarizeSessionWorkflow

SESSION = "30497eae-825d-433d-a484-4b75074332b2"


@pytest.fixture
def double(monkeypatch: pytest.MonkeyPatch) -> Iterator[PostHogDouble]:
    with posthog_double() as server:
        monkeypatch.setenv("RECAP_SOURCE", "posthog")
        monkeypatch.setenv("RECAP_POSTHOG_HOST", server.base_url)
        monkeypatch.setenv("RECAP_POSTHOG_PROJECT_ID", str(server.project_id))
        monkeypatch.setenv("RECAP_POSTHOG_API_KEY", server.api_key)
        monkeypatch.setenv("RECAP_POSTHOG_BLOCKS_PER_REQUEST", "2")
        get_settings.cache_clear()
        yield server
    get_settings.cache_clear()


@activity.defn(name="summarize_session")
async def cite_first_events(request: SummarizeTimelineInput) -> SessionSummary:
    """The model's stand-in (the model itself is not what this test is about)."""
    stored = store_for(get_settings().resolved_database_url).load_timeline(request.timeline_hash)
    assert stored is not None
    answer = ModelSummary(
        title="Chips",
        segments=[],
        key_actions=[
            ModelKeyAction(ref=e.ref, description="did it") for e in stored.timeline.events[:2]
        ],
        issues=[],
        summary_outcome=SummaryOutcome(description="Filtered todos.", success=True),
    )
    run = RunMetadata(
        model="stand-in",
        prompt_version=load_prompt().version,
        timeline_hash=stored.timeline_hash,
        timeline_tokens=stored.tokens,
        latency_ms=1,
    )
    return gate(answer, stored.timeline, run, focus_area=None)


async def test_a_posthog_recording_is_summarized_once_despite_a_cut_body(
    temporal_client: Client, double: PostHogDouble
) -> None:
    double.add(served_from_file(CHALK_FILTERS, SESSION, blocks=6))
    double.inject(Fault(match="source=blob_v2", cut=True))
    team = f"team-{uuid.uuid4().hex[:8]}"
    built = build_activities(get_settings()).summary
    async with running_worker(
        temporal_client,
        workflows=[SummarizeSessionWorkflow],
        activities=[built.compile_timeline, cite_first_events, built.store_summary],
    ) as worker:
        handle = await temporal_client.start_workflow(
            SummarizeSessionWorkflow.run,
            SummarizeSessionInput(team_id=team, session_id=SESSION, source="posthog"),
            id=summary_workflow_id(team, SESSION),
            task_queue=worker.task_queue,
        )
        result = await handle.result()

    history = await handle.fetch_history()
    # The cut body failed attempt 1; the worker retried the local activity.
    assert activity_attempts(history, "compile_timeline") == [2]
    store = store_for(get_settings().resolved_database_url)
    assert store.count_summaries(team_id=team, session_id=SESSION) == 1
    assert result.stored.has_summary
    summary = result.stored.summary
    assert summary is not None
    stored = store.load_timeline(summary.run.timeline_hash)
    assert stored is not None
    local = compile_timeline(load_recording_file(CHALK_FILTERS))
    assert stored.timeline.events == local.events
    assert stored.timeline.session.duration_ms == local.session.duration_ms
    blocks = [r for r in double.snapshot_requests() if "source=blob_v2" in r.target]
    assert len(blocks) == 1 + 3  # the cut first range, then 6 blocks 2 at a time


def test_recap_fetch_writes_an_export_the_file_source_reads(
    double: PostHogDouble, tmp_path: Path
) -> None:
    document = generate_session("checkout_failure", seed=3)
    session_id = document["data"]["id"]
    original = tmp_path / "original.json"
    original.write_text(json.dumps(document))
    double.add(served_from_document(document, session_id, blocks=4, compress=True))
    out = tmp_path / "fetched.json"
    env = {
        "RECAP_POSTHOG_HOST": double.base_url,
        "RECAP_POSTHOG_PROJECT_ID": str(double.project_id),
        "RECAP_POSTHOG_API_KEY": double.api_key,
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "recap.cli", "fetch", session_id, "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stderr and double.api_key not in done.stderr
    written = json.loads(out.read_text())
    assert written["version"] == "2023-04-28"
    assert written["data"]["id"] == session_id
    snapshots = written["data"]["snapshots"]
    assert snapshots and all(event["windowId"] for event in snapshots)
    assert not any(event.get("cv") for event in snapshots)  # cv fields arrive decompressed
    fetched = compile_timeline(load_recording_file(out))
    assert fetched.events == compile_timeline(load_recording_file(original)).events

    missing = subprocess.run(
        [sys.executable, "-m", "recap.cli", "fetch", "no-such-session", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert missing.returncode == 1
    assert "not found" in missing.stderr and double.api_key not in missing.stderr
    assert not list(tmp_path.glob(".*partial"))
