"""End to end: a recording file through the worker, Temporal and a real llama-server (gemma).

The model server is started with an API key, so the summarize activity must read the key
from the environment to be answered at all; the workflow history must never contain it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import jsonschema
import pytest
from temporalio.client import Client

from recap.core.config import Settings, get_settings
from recap.core.naming import summary_workflow_id
from recap.embedded.model_server import start_llama_server
from recap.embedded.ports import free_port
from recap.embedded.processes import ManagedProcess
from recap.llm.schema import ModelSummary, response_json_schema
from recap.store.repository import store_for
from tests.conftest import POSTHOG
from tests.support.temporal import running_worker
from worker import build_activities
from workflows.contracts import SummarizeSessionInput
from workflows.session_summary import SummarizeSessionWorkflow

SECRET = f"sk-test-{uuid.uuid4().hex}"
HOGFLIX = "hogflix_session_recording"


@pytest.fixture(scope="module")
def model_settings() -> Iterator[Settings]:
    port = free_port()
    patch = pytest.MonkeyPatch()
    patch.setenv("RECAP_LLM_SERVER_PORT", str(port))
    patch.setenv("RECAP_LLM_BASE_URL", f"http://127.0.0.1:{port}/v1")
    patch.setenv("RECAP_LLM_API_KEY", SECRET)
    patch.setenv("RECAP_LLM_SCHEMA_LIMITS", "true")
    # Greedy decoding: the tiny model's answer is then the same on every run, so whether it
    # cites events does not depend on a sampling draw.
    patch.setenv("RECAP_LLM_TEMPERATURE", "0")
    get_settings.cache_clear()
    try:
        yield get_settings()
    finally:
        patch.undo()
        get_settings.cache_clear()


@pytest.fixture(scope="module")
async def llama_server(model_settings: Settings) -> AsyncIterator[ManagedProcess]:
    server = await start_llama_server(
        model_settings, model_settings.data_dir / "e2e", extra_args=["--api-key", SECRET]
    )
    try:
        yield server
    finally:
        server.stop()


async def test_recording_to_stored_summary_through_real_model(
    temporal_client: Client, model_settings: Settings, llama_server: ManagedProcess
) -> None:
    team = "e2e"
    workflow_id = summary_workflow_id(team, HOGFLIX)
    summary_activities = build_activities(model_settings).summary
    async with running_worker(
        temporal_client,
        workflows=[SummarizeSessionWorkflow],
        activities=[
            summary_activities.compile_timeline,
            summary_activities.summarize_session,
            summary_activities.store_summary,
        ],
    ) as worker:
        handle = await temporal_client.start_workflow(
            SummarizeSessionWorkflow.run,
            SummarizeSessionInput(team_id=team, session_id=HOGFLIX, source=f"files:{POSTHOG}"),
            id=workflow_id,
            task_queue=worker.task_queue,
        )
        result = await handle.result()

    stored = store_for(model_settings.resolved_database_url).get_summary(
        team_id=team, session_id=HOGFLIX
    )
    assert stored is not None and stored.has_summary
    assert stored.summary_outcome is not None
    assert stored.summary is not None
    summary = stored.summary
    assert result.stored.summary == summary
    assert summary.run.model  # the server's model name, reported back
    assert summary.run.prompt_tokens and summary.run.prompt_tokens > 100

    timeline = store_for(model_settings.resolved_database_url).load_timeline(
        summary.run.timeline_hash
    )
    assert timeline is not None
    refs = timeline.timeline.refs
    cited = summary.cited_events()
    assert cited, "the model cited no events"
    assert {event.ref for event in cited} <= refs
    for event in cited:
        source = timeline.timeline.event(event.ref)
        assert source is not None and event.t_ms == source.t_ms
    # The model's raw answer was schema-valid (the gate found no invented refs).
    assert summary.gate.missing_refs == []

    # The stored summary, projected back to the model contract, satisfies the strict schema.
    answer = ModelSummary(
        title=summary.title,
        segments=[],
        key_actions=[],
        issues=[],
        summary_outcome=summary.summary_outcome,
    )
    jsonschema.validate(
        answer.model_dump(mode="json", exclude={"focus_area_findings"}),
        response_json_schema(refs=sorted(refs), with_focus=False),
    )

    history = await handle.fetch_history()
    assert SECRET not in history.to_json()
    assert SECRET[8:] not in history.to_json()
