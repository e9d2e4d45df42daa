"""PatternReportWorkflow on the real Temporal dev server.

The batch, compile, store and report activities are the real ones; the report's model
steps call a loopback model server answered by `PatternDouble`; the summary model call is a
same-named test activity on the model queue that writes the labelled summary a good model
would, counting calls per session.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHistory

from activities.models import SummarizeTimelineInput
from recap.core.config import Settings, get_settings
from recap.core.naming import (
    job_team,
    report_batch_workflow_id,
    report_request_key,
    report_workflow_id,
)
from recap.jobs.reports import ReportFailed, report_progress, report_result, start_report
from recap.llm.schema import SessionSummary
from recap.services.budget import ModelBudget
from recap.store.reports import ReportStore
from recap.store.repository import store_for
from tests.support.model_double import ChatServer, chat_server
from tests.support.report_fixtures import (
    CHECKOUT_PATTERN,
    COUPON_PATTERN,
    INVENTED_PATTERN,
    Label,
    PatternDouble,
    ReportCase,
    copies,
    labelled_summary,
    labels,
    report_cases,
    store_summaries,
)
from tests.support.temporal import running_worker, task_queue
from worker import build_activities
from workflows.catalog import ALL_WORKFLOWS
from workflows.contracts import PatternReportInput, PatternReportResult
from workflows.pattern_report import PatternReportWorkflow

UNKNOWN = "00000000-0000-0000-0000-00000000f00d"


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[ReportCase]]:
    directory = tmp_path_factory.mktemp("report-recordings")
    return directory, report_cases(directory, labels())


def _team() -> str:
    return f"team-{uuid.uuid4().hex[:8]}"


@dataclass
class SummaryModel:
    """The summary step's model: the labelled summary of the compiled timeline."""

    settings: Settings
    labels: dict[str, Label]
    calls: Counter[str] = field(default_factory=Counter)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.release.set()

    def activity(self) -> Callable[..., object]:
        @activity.defn(name="summarize_session")
        async def summarize_session(request: SummarizeTimelineInput) -> SessionSummary:
            self.calls[request.session_id] += 1
            await self.release.wait()
            stored = store_for(self.settings.resolved_database_url).load_timeline(
                request.timeline_hash
            )
            assert stored is not None
            label = self.labels[request.session_id]
            return labelled_summary(label, stored.timeline, stored.timeline_hash)

        return summarize_session


@dataclass
class Stack:
    client: Client
    settings: Settings
    main: str
    llm: str
    chat: ChatServer
    patterns: PatternDouble
    summaries: SummaryModel

    async def run(
        self, team: str, *, workflow_id: str | None = None, **options: object
    ) -> PatternReportResult:
        request = PatternReportInput.model_validate(
            {"team_id": team, "llm_task_queue": self.llm, **options}
        )
        return await self.client.execute_workflow(
            PatternReportWorkflow.run,
            request,
            id=workflow_id or f"pattern-report:{team}:{uuid.uuid4().hex[:12]}",
            task_queue=self.main,
        )


@pytest.fixture
def model_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ChatServer, PatternDouble]]:
    double = PatternDouble()
    with chat_server() as chat:
        chat.responder = double
        monkeypatch.setenv("RECAP_LLM_BASE_URL", chat.base_url)
        monkeypatch.setenv("RECAP_LLM_SCHEMA_LIMITS", "false")
        # Small prompts, so 40 sessions take several map and assign chunks.
        monkeypatch.setenv("RECAP_REPORT_CHUNK_TOKENS", "2500")
        get_settings.cache_clear()
        yield chat, double
    get_settings.cache_clear()


@asynccontextmanager
async def running_stack(
    client: Client, chat: ChatServer, double: PatternDouble, label_of: dict[str, Label]
) -> AsyncIterator[Stack]:
    settings = get_settings()
    built = build_activities(settings)
    summaries = SummaryModel(settings, label_of)
    main, llm = task_queue(), task_queue("test-llm")
    async with (
        running_worker(
            client,
            queue=main,
            workflows=ALL_WORKFLOWS,
            activities=built.main_queue(),
            threads=8,
            max_concurrent_activities=50,
        ),
        running_worker(
            client,
            queue=llm,
            activities=[
                summaries.activity(),
                built.report.find_patterns_in_chunk,
                built.report.consolidate_patterns,
                built.report.assign_chunk_events,
            ],
        ),
    ):
        yield Stack(client, settings, main, llm, chat, double, summaries)


def _labels(cases: list[ReportCase]) -> dict[str, Label]:
    return {case.session_id: case.label for case in cases}


async def test_report_summarizes_the_missing_sessions_and_stores_the_labelled_counts(
    temporal_client: Client,
    model_server: tuple[ChatServer, PatternDouble],
    labelled: tuple[Path, list[ReportCase]],
) -> None:
    directory, cases = labelled
    chat, double = model_server
    team = _team()
    stored, missing = cases[::2], cases[1::2]
    store = store_for(get_settings().resolved_database_url)
    store_summaries(store, team, stored)
    session_ids = [case.session_id for case in cases] + [UNKNOWN]
    async with running_stack(temporal_client, chat, double, _labels(cases)) as stack:
        result = await stack.run(team, session_ids=session_ids, source=f"files:{directory}")

    # The batch summarized each missing session once and reused the stored ones.
    assert stack.summaries.calls == Counter({case.session_id: 1 for case in missing})
    assert double.calls["report_patterns"] > 1 and double.calls["report_assign"] > 1
    assert double.calls["report_consolidate"] == 1
    assert (result.sessions_reported, result.patterns, result.not_reported) == (40, 2, 1)
    assert result.delivery_workflow_id is None

    report = ReportStore(store).report(team, result.report_id)
    assert report is not None
    assert [p.name for p in report.patterns] == [CHECKOUT_PATTERN, COUPON_PATTERN]
    checkout, coupon = report.patterns
    failing = {case.session_id for case in cases if case.label == "checkout_error"}
    raging = {case.session_id for case in cases if case.label == "dead_coupon"}
    assert (checkout.stats.sessions_affected, coupon.stats.sessions_affected) == (12, 9)
    assert {e.session_id for e in checkout.examples} == failing
    assert {e.session_id for e in coupon.examples} == raging
    assert (checkout.stats.occurrences, checkout.stats.sessions_failed) == (24, 12)
    assert (coupon.stats.occurrences, coupon.stats.sessions_failed) == (9, 0)
    assert [d.name for d in report.gate.dropped_patterns] == [INVENTED_PATTERN]

    # The unknown session is not reported, with PostHog's error name; the rest are.
    (gone,) = report.not_reported
    assert (gone.session_id, gone.error) == (UNKNOWN, "recording_not_found")
    assert report.sessions_reported == 40
    assert report.sessions_failed == len(failing)  # every reported session, by code
    assert report.inputs.session_ids == session_ids
    assert report.inputs.model == "served-model"
    assert set(report.inputs.prompt_versions) == {
        "report_patterns",
        "report_consolidate",
        "report_assign",
    }
    assert report.run.map_calls == double.calls["report_patterns"]
    assert report.run.assign_calls == double.calls["report_assign"]
    assert report.run.reduce_calls == 1
    assert report.run.prompt_tokens == 120 * sum(double.calls.values())
    # Each pattern step's call counted against the team's daily budget, with its tokens.
    usage = ModelBudget.from_settings(get_settings(), store).usage(team)
    assert (usage.calls, usage.tokens) == (
        sum(double.calls.values()),
        150 * sum(double.calls.values()),
    )


def test_report_ids_are_stable_per_request_and_name_their_team() -> None:
    ids = ["s1", "s2", "s3"]
    key = report_request_key(session_ids=ids, focus_area="Checkout ", force=False)
    assert key == report_request_key(session_ids=ids[::-1], focus_area="checkout", force=False)
    assert key != report_request_key(session_ids=ids, focus_area="checkout", force=True)
    assert key != report_request_key(session_ids=ids[:2], focus_area="checkout", force=False)
    asked = datetime(2025, 5, 8, 9, 30, 12, tzinfo=UTC)
    selection = '{"since_seconds": 86400}'
    by_minute = report_request_key(
        session_ids=[], focus_area=None, force=False, selection=selection, asked_at=asked
    )
    later = asked.replace(second=50)
    assert by_minute == report_request_key(
        session_ids=[], focus_area=None, force=False, selection=selection, asked_at=later
    )
    assert by_minute != report_request_key(
        session_ids=[],
        focus_area=None,
        force=False,
        selection=selection,
        asked_at=asked.replace(minute=31),
    )
    workflow_id = report_workflow_id("acme", key)
    assert job_team(workflow_id) == "acme"
    assert job_team(report_batch_workflow_id("acme", workflow_id)) == "acme"


async def test_the_same_request_attaches_then_reuses_the_summaries(
    temporal_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    model_server: tuple[ChatServer, PatternDouble],
    labelled: tuple[Path, list[ReportCase]],
) -> None:
    directory, cases = labelled
    chat, double = model_server
    team = _team()
    some = cases[:10]
    session_ids = [case.session_id for case in some]
    async with running_stack(temporal_client, chat, double, _labels(cases)) as stack:
        monkeypatch.setenv("RECAP_TASK_QUEUE", stack.main)
        monkeypatch.setenv("RECAP_LLM_TASK_QUEUE", stack.llm)
        get_settings.cache_clear()
        settings = get_settings()

        async def ask(ids: list[str]) -> str:
            return await start_report(
                temporal_client,
                settings,
                team_id=team,
                session_ids=ids,
                selection=None,
                focus_area=None,
                force=False,
                deliver=False,
                source=f"files:{directory}",
            )

        stack.summaries.release.clear()  # hold the summaries, so the report is running
        first = await ask(session_ids)
        running = (await temporal_client.get_workflow_handle(first).describe()).run_id
        # Asked again while it runs (the sessions in another order): the same run.
        assert await ask(list(reversed(session_ids))) == first
        assert (await temporal_client.get_workflow_handle(first).describe()).run_id == running
        assert await report_result(temporal_client, first, wait_seconds=0.5) is None
        stack.summaries.release.set()
        result = await report_result(temporal_client, first, wait_seconds=60)
        assert result is not None
        progress = await report_progress(temporal_client, first)
        assert progress is not None
        assert (progress.step, progress.report_id) == ("done", result.report_id)
        assert (progress.sessions_total, progress.sessions_summarized) == (10, 10)
        assert progress.chunks_done == progress.chunks_total > 0
        assert stack.summaries.calls == Counter(session_ids)

        # After it ended, the same request makes the report again from stored summaries.
        assert await ask(session_ids) == first
        second = await report_result(temporal_client, first, wait_seconds=60)
        rerun = (await temporal_client.get_workflow_handle(first).describe()).run_id
    assert rerun != running
    assert second is not None and second.report_id == result.report_id
    assert stack.summaries.calls == Counter(session_ids)  # no second summary call
    with pytest.raises(ValueError):
        await ask([])
    with pytest.raises(ReportFailed) as failed:
        await report_result(temporal_client, "pattern-report:nobody:none", wait_seconds=5)
    assert failed.value.error_type == "report_not_found"
    assert await report_progress(temporal_client, "pattern-report:nobody:none") is None


def _payload_sizes(history: WorkflowHistory) -> list[int]:
    """The size of every payload in the history (inputs, results, child inputs …)."""
    sizes: list[int] = []

    def walk(message: Any) -> None:
        if isinstance(message, Payload):
            sizes.append(message.ByteSize())
            return
        for _, value in message.ListFields():
            if hasattr(value, "ListFields"):
                walk(value)
            elif isinstance(value, str | bytes | int | float):
                continue
            else:  # a repeated field or a map
                items = value.values() if hasattr(value, "values") else value
                for item in items:
                    if hasattr(item, "ListFields"):
                        walk(item)

    for event in history.events:
        walk(event)
    return sizes


async def test_three_hundred_sessions_travel_as_ids_in_small_payloads(
    temporal_client: Client,
    model_server: tuple[ChatServer, PatternDouble],
    labelled: tuple[Path, list[ReportCase]],
) -> None:
    _, cases = labelled
    chat, double = model_server
    team = _team()
    many = copies(cases, 300)
    store = store_for(get_settings().resolved_database_url)
    store_summaries(store, team, many)
    async with running_stack(temporal_client, chat, double, _labels(many)) as stack:
        request = PatternReportInput(
            team_id=team, session_ids=[case.session_id for case in many], llm_task_queue=stack.llm
        )
        handle = await temporal_client.start_workflow(
            PatternReportWorkflow.run,
            request,
            id=f"pattern-report:{team}:{uuid.uuid4().hex[:12]}",
            task_queue=stack.main,
        )
        result = await handle.result()
        history = await handle.fetch_history()
    assert stack.summaries.calls == Counter()  # every summary was stored
    assert (result.sessions_reported, result.patterns) == (300, 2)
    report = ReportStore(store).report(team, result.report_id)
    assert report is not None
    assert {p.name: p.stats.sessions_affected for p in report.patterns} == {
        CHECKOUT_PATTERN: 88,
        COUPON_PATTERN: 68,
    }
    sizes = _payload_sizes(history)
    # Ids, patterns and assignments only: the largest (the store step's input) is ~60 kB.
    assert len(sizes) > 100 and max(sizes) < 1_000_000, max(sizes)
