"""SummarizeSessionsIndividuallyWorkflow on the real Temporal dev server.

Compile, store and the batch activities are the real ones, on the main queue; the model
call is a same-named test activity on its own queue (as the worker runs it), counting calls
per session and optionally held on an asyncio.Event.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle

from activities.models import SummarizeTimelineInput
from recap.core.config import Settings
from recap.core.naming import batch_workflow_id, summary_workflow_id
from recap.demo.generator import write_sample_sessions
from recap.llm.gate import gate
from recap.llm.prompts import load_prompt
from recap.llm.schema import ModelKeyAction, ModelSummary, RunMetadata, SessionSummary
from recap.llm.schema import SummaryOutcome as Outcome
from recap.store.repository import store_for
from recap.timeline.models import EventKind
from tests.support.temporal import running_worker, task_queue
from worker import build_activities
from workflows.batch_summaries import SummarizeSessionsIndividuallyWorkflow
from workflows.catalog import ALL_WORKFLOWS
from workflows.contracts import BatchProgress, SummarizeSessionsInput

BAD_IDS = [f"00000000-0000-0000-0000-00000000000{i}" for i in range(5)]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    directory = tmp_path_factory.mktemp("batch-recordings")
    ids: list[str] = []
    for seed in range(15):
        ids.extend(sample.session_id for sample in write_sample_sessions(directory, seed=seed))
    assert len(ids) == len(set(ids)) == 45
    return directory, ids


@dataclass
class FakeModel:
    settings: Settings
    calls: Counter[str] = field(default_factory=Counter)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def activity(self) -> Callable[..., object]:
        @activity.defn(name="summarize_session")
        async def summarize_session(request: SummarizeTimelineInput) -> SessionSummary:
            self.calls[request.session_id] += 1
            await self.release.wait()
            stored = store_for(self.settings.resolved_database_url).load_timeline(
                request.timeline_hash
            )
            assert stored is not None
            clicks = [e for e in stored.timeline.events if e.kind == EventKind.CLICK][:2]
            answer = ModelSummary(
                title="A session",
                segments=[],
                key_actions=[ModelKeyAction(ref=e.ref, description="Clicked") for e in clicks],
                issues=[],
                summary_outcome=Outcome(description="The user browsed.", success=True),
            )
            run = RunMetadata(
                model="fake-model",
                prompt_version=load_prompt().version,
                timeline_hash=stored.timeline_hash,
                timeline_tokens=stored.tokens,
                latency_ms=1,
                focus_area=request.focus_area,
            )
            return gate(answer, stored.timeline, run, focus_area=request.focus_area)

        return summarize_session


@dataclass
class Queues:
    main: str
    llm: str


@asynccontextmanager
async def running_workers(client: Client, model: FakeModel) -> AsyncIterator[Queues]:
    queues = Queues(main=task_queue(), llm=task_queue("test-llm"))
    async with (
        running_worker(
            client,
            queue=queues.main,
            workflows=ALL_WORKFLOWS,
            activities=build_activities(model.settings).main_queue(),
            threads=8,
            max_concurrent_activities=50,  # joins wait without a thread
        ),
        running_worker(client, queue=queues.llm, activities=[model.activity()]),
    ):
        yield queues


async def start(
    client: Client,
    queues: Queues,
    team: str,
    session_ids: list[str],
    directory: Path,
    **options: object,
) -> WorkflowHandle[SummarizeSessionsIndividuallyWorkflow, BatchProgress]:
    request = SummarizeSessionsInput.model_validate(
        {
            "team_id": team,
            "session_ids": session_ids,
            "source": f"files:{directory}",
            "llm_task_queue": queues.llm,
            "max_concurrency": 10,
            **options,
        }
    )
    return await client.start_workflow(
        SummarizeSessionsIndividuallyWorkflow.run,
        request,
        id=batch_workflow_id(team, uuid.uuid4().hex[:12]),
        task_queue=queues.main,
    )


async def progress_when(
    handle: WorkflowHandle[SummarizeSessionsIndividuallyWorkflow, BatchProgress],
    condition: Callable[[BatchProgress], bool],
) -> BatchProgress:
    """Polls the progress query until `condition` holds (or 20 s pass)."""
    for _ in range(200):
        progress = await handle.query(SummarizeSessionsIndividuallyWorkflow.progress)
        if condition(progress):
            return progress
        await asyncio.sleep(0.1)
    return progress


def _team() -> str:
    return f"team-{uuid.uuid4().hex[:8]}"


async def test_batch_summarizes_then_skips_then_forces(
    temporal_client: Client, settings: Settings, recordings: tuple[Path, list[str]]
) -> None:
    directory, good = recordings
    model = FakeModel(settings)
    model.release.set()
    team = _team()
    sessions = good[:20] + BAD_IDS + good[20:]
    async with running_workers(temporal_client, model) as queues:
        first = await start(temporal_client, queues, team, sessions, directory)
        result = await first.result()
        assert (result.total, result.done) == (50, 50)
        assert (result.summarized, result.skipped, result.failed) == (45, 0, 5)
        assert sorted(f.session_id for f in result.failures) == BAD_IDS
        assert {f.error_type for f in result.failures} == {"recording_not_found"}
        assert sum(model.calls.values()) == 45 and set(model.calls) == set(good)
        description = await first.describe()
        assert description.typed_search_attributes is not None
        attributes = {p.key.name: p.value for p in description.typed_search_attributes}
        assert attributes["RecapTeamId"] == team
        assert attributes["RecapStatus"] == "completed"
        # A child is started with its search attributes and keeps them up to date.
        for session_id, status in ((good[0], "summarized"), (BAD_IDS[0], "failed")):
            child = temporal_client.get_workflow_handle(summary_workflow_id(team, session_id))
            found = (await child.describe()).typed_search_attributes
            recap = {p.key.name: p.value for p in found if p.key.name.startswith("Recap")}
            assert recap == {
                "RecapTeamId": team,
                "RecapSessionId": session_id,
                "RecapStatus": status,
            }

        again = await (await start(temporal_client, queues, team, sessions, directory)).result()
        assert (again.summarized, again.skipped, again.failed) == (0, 45, 5)
        assert sum(model.calls.values()) == 45

        forced = await (
            await start(temporal_client, queues, team, sessions, directory, force=True)
        ).result()
        assert (forced.summarized, forced.skipped, forced.failed) == (45, 0, 5)
        assert model.calls == Counter({session_id: 2 for session_id in good})

    store = store_for(settings.resolved_database_url)
    for session_id in good:
        assert store.count_summaries(team_id=team, session_id=session_id) == 1


async def test_overlapping_batches_call_the_model_once_per_session(
    temporal_client: Client, settings: Settings, recordings: tuple[Path, list[str]]
) -> None:
    directory, good = recordings
    model = FakeModel(settings)
    team = _team()
    first_ids, second_ids = good[:20], good[10:30]
    async with running_workers(temporal_client, model) as queues:
        first = await start(temporal_client, queues, team, first_ids, directory)
        second = await start(temporal_client, queues, team, second_ids, directory)
        # Hold the model until both batches have their windows full, so they really overlap.
        for handle in (first, second):
            await progress_when(handle, lambda progress: progress.in_flight == 10)
        model.release.set()
        results = await asyncio.gather(first.result(), second.result())

    assert model.calls == Counter({session_id: 1 for session_id in good[:30]})
    for result in results:
        assert result.summarized + result.skipped == 20 and result.failed == 0


async def test_progress_query_reports_exact_counts_mid_batch(
    temporal_client: Client, settings: Settings, recordings: tuple[Path, list[str]]
) -> None:
    directory, good = recordings
    model = FakeModel(settings)
    team = _team()
    sessions = [BAD_IDS[0], *good[:6]]
    async with running_workers(temporal_client, model) as queues:
        handle = await start(temporal_client, queues, team, sessions, directory, max_concurrency=3)
        progress = await progress_when(
            handle, lambda p: p.failed == 1 and p.in_flight == 3 and len(model.calls) == 3
        )
        assert progress.model_dump(exclude={"failures", "history_lengths"}) == {
            "status": "running",
            "total": 7,
            "done": 1,
            "summarized": 0,
            "skipped": 0,
            "failed": 1,
            "in_flight": 3,
        }
        assert [(f.session_id, f.error_type) for f in progress.failures] == [
            (BAD_IDS[0], "recording_not_found")
        ]
        model.release.set()
        result = await handle.result()
    assert (result.done, result.summarized, result.failed, result.in_flight) == (7, 6, 1, 0)


async def test_continue_as_new_loses_and_repeats_nothing(
    temporal_client: Client, settings: Settings, recordings: tuple[Path, list[str]]
) -> None:
    directory, good = recordings
    model = FakeModel(settings)
    model.release.set()
    team = _team()
    sessions = [*good[:12], BAD_IDS[1]]
    async with running_workers(temporal_client, model) as queues:
        handle = await start(
            temporal_client,
            queues,
            team,
            sessions,
            directory,
            max_concurrency=3,
            max_history_events=20,
        )
        result = await handle.result()
    assert len(result.history_lengths) >= 2  # it really continued as new, more than once
    assert (result.total, result.summarized, result.failed) == (13, 12, 1)
    assert model.calls == Counter({session_id: 1 for session_id in good[:12]})


async def test_recap_batch_cli_runs_a_batch_and_reports_it(
    temporal_client: Client,
    settings: Settings,
    recordings: tuple[Path, list[str]],
) -> None:
    """`recap batch --sessions …` as a real process against the dev server: it waits with
    a progress bar, exits 1 because one id is bad, and `recap batch status --json` agrees."""
    import json
    import os
    import sys

    from recap.core.config import get_settings

    directory, ids = recordings
    model = FakeModel(settings)
    model.release.set()
    team = f"cli-{uuid.uuid4().hex[:6]}"
    async with running_workers(temporal_client, model) as queues:
        env = {
            **os.environ,
            "RECAP_TEMPORAL_ADDRESS": temporal_client.service_client.config.target_host,
            "RECAP_TASK_QUEUE": queues.main,
            "RECAP_LLM_TASK_QUEUE": queues.llm,
        }
        command = [sys.executable, "-m", "recap.cli", "batch"]
        sessions = ",".join([*ids[:3], BAD_IDS[0]])
        started = await asyncio.create_subprocess_exec(
            *command,
            "--sessions",
            sessions,
            "--source",
            f"files:{directory}",
            "--team",
            team,
            "--force",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, errors = await asyncio.wait_for(started.communicate(), timeout=120)
        text = out.decode() + errors.decode()
        assert started.returncode == 1, text  # one session failed
        assert "recording_not_found" in text and "summarized" in text
        workflow_id = next(
            word for word in text.split() if word.startswith("session-batch:")
        ).rstrip(":")
        status = await asyncio.create_subprocess_exec(
            *command,
            "status",
            workflow_id,
            "--json",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, errors = await asyncio.wait_for(status.communicate(), timeout=60)
        assert status.returncode == 0, errors.decode()
        report = json.loads(out)
        assert (report["summarized"], report["failed"], report["total"]) == (3, 1, 4)
    get_settings.cache_clear()
    assert sum(model.calls.values()) == 3
