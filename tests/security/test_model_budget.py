"""Model spend (issue 16, finding 7): each team's model calls and tokens per UTC day are
capped by RECAP_TEAM_DAILY_MODEL_CALLS and _TOKENS. The model activity reserves a call
before it asks the model; past either limit it fails as non-retryable `budget_exceeded`,
the model is not asked, other teams go on, and the next UTC day starts afresh.

The activity runs for real against a loopback OpenAI-protocol model server; one batch runs
through the worker on the Temporal dev server.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.errors import NON_RETRYABLE_TYPES, to_application_error
from activities.models import SummarizeTimelineInput
from activities.summary import SummaryActivities
from recap.core.config import Settings, get_settings
from recap.core.naming import batch_workflow_id, summary_workflow_id
from recap.demo.generator import write_sample_sessions
from recap.doctor import run_doctor
from recap.doctor.budget import check_model_budget
from recap.recording.models import SnapshotSource
from recap.services import summary as pipeline
from recap.services.bootstrap import chat_model
from recap.services.budget import BudgetExceeded, ModelBudget
from recap.sources.files import DirectorySource
from recap.store.model_usage import ModelUsageStore
from recap.store.repository import SummaryStore, store_for
from tests.support.model_double import ChatServer, chat_server, grounded_reply
from tests.support.temporal import activity_attempts, running_worker, task_queue
from worker import build_activities
from workflows.batch_summaries import SummarizeSessionsIndividuallyWorkflow
from workflows.catalog import ALL_WORKFLOWS
from workflows.contracts import SummarizeSessionsInput
from workflows.retry_policies import MODEL_RETRY

pytest_plugins = ["tests.support.postgres"]

# The double reports 120 prompt and 30 completion tokens per answer.
TOKENS_PER_CALL = 150
# Late on a UTC day, so the next day is a minute away.
LATE = datetime(2026, 11, 23, 23, 59, tzinfo=UTC)
UNLIMITED = {"team_daily_model_calls": None, "team_daily_model_tokens": None}


def refusals(limit: str) -> float:
    return REGISTRY.get_sample_value("recap_model_budget_refusals_total", {"limit": limit}) or 0.0


@pytest.fixture
def model() -> Iterator[ChatServer]:
    with chat_server() as chat:
        chat.responder = grounded_reply  # a valid, grounded summary for every call
        yield chat


@pytest.fixture
def compiled(tmp_path: Path) -> tuple[SummaryStore, str, str]:
    """A store holding one compiled timeline: (store, session id, timeline hash)."""
    store = SummaryStore(f"sqlite:///{tmp_path / 'budget.db'}")
    (sample,) = write_sample_sessions(tmp_path / "recordings", scenarios=["checkout_failure"])
    timeline = pipeline.compile_session(
        team_id="any",
        session_id=sample.session_id,
        source=DirectorySource(tmp_path / "recordings", 64 * 1024 * 1024),
        store=store,
        max_tokens=6000,
    )
    return store, sample.session_id, timeline.timeline_hash


def settings_for(model: ChatServer, store: SummaryStore, **limits: int) -> Settings:
    return Settings(
        database_url=store.database_url,
        llm_base_url=model.base_url,
        llm_schema_limits=False,
        **{f"team_daily_model_{name}": value for name, value in limits.items()},
    )


def _no_source(*args: object, **kwargs: object) -> SnapshotSource:
    raise AssertionError("the model activity opens no recording source")


async def summarize(
    activities: SummaryActivities, team: str, compiled: tuple[SummaryStore, str, str]
) -> None:
    _, session_id, timeline_hash = compiled
    request = SummarizeTimelineInput(
        team_id=team, session_id=session_id, timeline_hash=timeline_hash
    )
    await ActivityEnvironment().run(activities.summarize_session, request)


async def test_the_third_call_of_a_team_fails_as_final_budget_exceeded_without_the_model(
    model: ChatServer, compiled: tuple[SummaryStore, str, str]
) -> None:
    store = compiled[0]
    # The worker's own wiring: the limit comes from the settings alone.
    activities = build_activities(settings_for(model, store, calls=2)).summary
    before = refusals("calls")
    await summarize(activities, "team-a", compiled)
    await summarize(activities, "team-a", compiled)
    with pytest.raises(ApplicationError) as refused:
        await summarize(activities, "team-a", compiled)
    assert len(model.requests) == 2  # the refused call never reached the model
    failure = refused.value
    assert failure.type == "budget_exceeded" and failure.non_retryable
    assert "budget_exceeded" in NON_RETRYABLE_TYPES
    assert "budget_exceeded" in MODEL_RETRY.non_retryable_error_types
    # Which limit, the usage, when it resets and which setting raises it.
    assert "2 of 2 calls" in failure.message
    assert "00:00 UTC" in failure.message
    assert "RECAP_TEAM_DAILY_MODEL_CALLS" in failure.message
    assert refusals("calls") - before == 1

    # Another team of the same deployment has its own budget.
    await summarize(activities, "team-b", compiled)
    assert len(model.requests) == 3
    usage = ModelUsageStore(store)
    today = datetime.now(UTC).date().isoformat()
    assert usage.usage("team-a", today).calls == 2
    assert usage.usage("team-a", today).tokens == 2 * TOKENS_PER_CALL
    assert usage.usage("team-b", today).calls == 1


async def test_the_token_limit_refuses_once_a_day_has_spent_it(
    model: ChatServer, compiled: tuple[SummaryStore, str, str]
) -> None:
    store = compiled[0]
    activities = build_activities(settings_for(model, store, tokens=200)).summary
    before = refusals("tokens")
    await summarize(activities, "team-a", compiled)  # 150 of 200
    await summarize(activities, "team-a", compiled)  # 300: a call in flight may overshoot
    with pytest.raises(ApplicationError) as refused:
        await summarize(activities, "team-a", compiled)
    assert len(model.requests) == 2
    assert refused.value.type == "budget_exceeded" and refused.value.non_retryable
    assert "300 of 200 tokens" in refused.value.message
    assert "RECAP_TEAM_DAILY_MODEL_TOKENS" in refused.value.message
    assert refusals("tokens") - before == 1
    await summarize(activities, "team-b", compiled)
    assert len(model.requests) == 3


async def test_the_next_utc_day_allows_calls_again(
    model: ChatServer, compiled: tuple[SummaryStore, str, str]
) -> None:
    store = compiled[0]
    settings = settings_for(model, store, calls=2)
    now = [LATE]
    budget = ModelBudget.from_settings(settings, store, clock=lambda: now[0])
    activities = SummaryActivities(
        settings, store, _no_source, partial(chat_model, settings), budget=budget
    )
    await summarize(activities, "team-a", compiled)
    await summarize(activities, "team-a", compiled)
    with pytest.raises(ApplicationError) as refused:
        await summarize(activities, "team-a", compiled)
    assert "resets at 2026-11-24 00:00 UTC (in 0 h 1 min)" in refused.value.message
    now[0] = LATE + timedelta(minutes=1)  # midnight UTC
    await summarize(activities, "team-a", compiled)
    assert len(model.requests) == 3
    assert budget.usage("team-a").calls == 1
    assert ModelUsageStore(store).usage("team-a", "2026-11-23").calls == 2


def test_budget_exceeded_maps_to_a_final_typed_error() -> None:
    error = BudgetExceeded(
        "team t has spent its daily model budget",
        team_id="t",
        limit="calls",
        resets_at=LATE,
    )
    failure = to_application_error(error)
    assert failure.type == "budget_exceeded" and failure.non_retryable
    assert failure.message == "team t has spent its daily model budget"


def test_a_reserved_step_that_asked_three_times_counts_three_calls(database_url: str) -> None:
    store = SummaryStore(database_url)
    budget = ModelBudget(ModelUsageStore(store), max_calls=3, max_tokens=None)
    team = f"team-{uuid.uuid4().hex[:8]}"
    reservation = budget.reserve(team)
    # a funnel report's explain step: one call per step with a factor, counted after
    budget.record(reservation, 900, calls=3)
    usage = budget.usage(team)
    assert (usage.calls, usage.tokens) == (3, 900)
    with pytest.raises(BudgetExceeded):
        budget.reserve(team)
    # a step that failed before asking counts its reserved call only
    other = f"team-{uuid.uuid4().hex[:8]}"
    budget.record(budget.reserve(other), 0, calls=0)
    assert budget.usage(other).calls == 1


def test_racing_for_the_last_call_exactly_one_wins(database_url: str) -> None:
    usage = ModelUsageStore(SummaryStore(database_url))
    day = "2026-11-23"
    for round_ in range(10):
        team = f"team-{round_}"
        assert usage.reserve_call(team, day, max_calls=3, max_tokens=None)
        assert usage.reserve_call(team, day, max_calls=3, max_tokens=None)
        barrier = threading.Barrier(2)

        def race(team: str = team, barrier: threading.Barrier = barrier) -> bool:
            barrier.wait()
            return usage.reserve_call(team, day, max_calls=3, max_tokens=None)

        with ThreadPoolExecutor(2) as pool:
            won = [future.result() for future in [pool.submit(race), pool.submit(race)]]
        assert sorted(won) == [False, True], f"round {round_}: {won}"
        assert usage.usage(team, day).calls == 3
    # Many workers at once for a fresh team's day: exactly the limit gets through.
    barrier = threading.Barrier(8)

    def many() -> bool:
        barrier.wait()
        return usage.reserve_call("crowd", day, max_calls=5, max_tokens=None)

    with ThreadPoolExecutor(8) as pool:
        passed = [future.result() for future in [pool.submit(many) for _ in range(8)]]
    assert passed.count(True) == 5 and usage.usage("crowd", day).calls == 5


def test_doctor_shows_limits_and_usage_warns_from_80_percent_and_fails_when_spent(
    tmp_path: Path,
) -> None:
    store = SummaryStore(f"sqlite:///{tmp_path / 'doctor.db'}")
    usage = ModelUsageStore(store)
    day = LATE.date().isoformat()
    for _ in range(8):
        usage.reserve_call("mine", day, max_calls=None, max_tokens=None)
    for _ in range(10):
        usage.reserve_call("busy", day, max_calls=None, max_tokens=None)
    usage.reserve_call("quiet", day, max_calls=None, max_tokens=None)
    usage.add_tokens("quiet", day, 1_000)
    settings = Settings(
        database_url=store.database_url,
        team_id="mine",
        team_daily_model_calls=10,
        team_daily_model_tokens=100_000,
    )
    lines = {line.value.split(":")[0]: line for line in check_model_budget(settings, 5, now=LATE)}
    assert list(lines) == ["team mine", "team busy", "team quiet"]
    mine, busy, quiet = lines["team mine"], lines["team busy"], lines["team quiet"]
    assert "8 of 10 calls" in mine.value and "0 of 100,000 tokens" in mine.value
    assert mine.ok and mine.status == "info" and "warning: 80%" in mine.detail
    assert not busy.ok and busy.status == "fail"
    assert busy.fix is not None and "RECAP_TEAM_DAILY_MODEL_CALLS" in busy.fix
    assert "2026-11-24 00:00 UTC" in busy.detail
    assert quiet.status == "pass" and "1,000 of 100,000 tokens" in quiet.value

    # Without a limit there is nothing to check; a database not created yet has no usage
    # (and is not created by looking).
    assert check_model_budget(settings.model_copy(update=UNLIMITED), 5, now=LATE) == []
    absent = tmp_path / "absent.db"
    (line,) = check_model_budget(
        Settings(database_url=f"sqlite:///{absent}", team_id="mine", team_daily_model_calls=5),
        5,
        now=LATE,
    )
    assert line.status == "pass" and "0 of 5 calls" in line.value and not absent.exists()


async def test_doctor_runs_the_budget_check(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'none.db'}", team_daily_model_calls=10)
    report = await run_doctor(settings, skip=("temporal", "model", "source", "database", "disk"))
    assert [check.name for check in report.checks] == ["model_budget"]
    assert "of 10 calls" in report.checks[0].value


async def test_a_batch_lists_the_session_past_the_budget_as_a_typed_failure(
    temporal_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three sessions of one team, two calls a day: the worker's real activities summarize
    two, and the batch reports the third as `budget_exceeded`, attempted once."""
    samples = write_sample_sessions(tmp_path)
    assert len(samples) == 3
    team = f"team-{uuid.uuid4().hex[:8]}"
    with chat_server() as double:
        double.responder = grounded_reply
        monkeypatch.setenv("RECAP_LLM_BASE_URL", double.base_url)
        monkeypatch.setenv("RECAP_LLM_SCHEMA_LIMITS", "false")
        monkeypatch.setenv("RECAP_TEAM_DAILY_MODEL_CALLS", "2")
        get_settings.cache_clear()
        settings = get_settings()
        built = build_activities(settings)
        main, llm = task_queue(), task_queue("test-llm")
        try:
            async with (
                running_worker(
                    temporal_client,
                    queue=main,
                    workflows=ALL_WORKFLOWS,
                    activities=built.main_queue(),
                ),
                running_worker(temporal_client, queue=llm, activities=built.model_queue()),
            ):
                progress = await temporal_client.execute_workflow(
                    SummarizeSessionsIndividuallyWorkflow.run,
                    SummarizeSessionsInput(
                        team_id=team,
                        session_ids=[sample.session_id for sample in samples],
                        source=f"files:{tmp_path}",
                        llm_task_queue=llm,
                    ),
                    id=batch_workflow_id(team, uuid.uuid4().hex[:12]),
                    task_queue=main,
                )
        finally:
            get_settings.cache_clear()
    assert len(double.requests) == 2
    assert (progress.summarized, progress.failed) == (2, 1)
    (failure,) = progress.failures
    assert failure.error_type == "budget_exceeded"
    assert "2 of 2 calls" in failure.error and "RECAP_TEAM_DAILY_MODEL_CALLS" in failure.error
    assert "unexpected" not in failure.error
    stored = store_for(settings.resolved_database_url)
    assert stored.get_summary(team_id=team, session_id=failure.session_id) is None
    # Final: the model activity of the refused session ran once, not under the retry policy.
    history = await temporal_client.get_workflow_handle(
        summary_workflow_id(team, failure.session_id)
    ).fetch_history()
    # Compile, then the model call: each once.
    assert activity_attempts(history, "compile_timeline") == [1]
    assert activity_attempts(history, "summarize_session") == [1]


async def test_naming_an_error_cluster_is_a_call_on_the_same_budget(
    model: ChatServer, compiled: tuple[SummaryStore, str, str]
) -> None:
    from activities.clusters import NameErrorClusterInput

    store = compiled[0]
    settings = settings_for(model, store, calls=1)
    built = build_activities(settings)
    await summarize(built.summary, "team-a", compiled)  # the day's one call
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(
            built.clusters.name_error_cluster,
            NameErrorClusterInput(team_id="team-a", cluster_id="c1"),
        )
    assert refused.value.type == "budget_exceeded" and refused.value.non_retryable
    assert len(model.requests) == 1  # the summary's call only
