"""Records the histories `tests/workflows/test_replay.py` replays: run once after a
deliberate change to a workflow's commands
(`uv run python -m tests.workflows.histories.record`), then commit the JSON.

It runs a small batch (a missing recording, a forced continue-as-new) and one single
summary on a local dev server, with the test double in place of the model. Those four are
written with the suffix of the newest patch of their workflows (`_local_compile`); the
histories with an older suffix (`_local_store`) or none were recorded before it and stay,
so that runs started before each patch are proven to replay too.
`... record report` records only the pattern report's history (a few stored summaries,
a few missing, an unknown session; the pattern steps answered by `PatternDouble`), and
`... record digest` only a digest run's (its report over the period's recordings, and the
hand-off to delivery).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
_WORK = Path(tempfile.mkdtemp(prefix="recap-histories-"))
os.environ["RECAP_DATA_DIR"] = str(_WORK / "data")
os.environ["RECAP_DATABASE_URL"] = f"sqlite:///{_WORK / 'data' / 'recap.db'}"
# As in tests/conftest.py: the workers may read the recordings written here, for any team.
os.environ["RECAP_ALLOWED_SOURCES"] = f"files:{_WORK}"
os.environ["RECAP_SOURCE_TEAMS"] = "*"


async def record() -> None:
    from temporalio.common import SearchAttributeKey
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from recap.core.config import get_settings
    from recap.core.naming import SEARCH_ATTRIBUTES, summary_workflow_id
    from recap.demo.generator import write_sample_sessions
    from tests.support.temporal import temporal_cli
    from tests.workflows.test_batch_workflow import BAD_IDS, FakeModel, running_workers, start

    recordings = _WORK / "recordings"
    ids = [
        sample.session_id
        for seed in range(2)
        for sample in write_sample_sessions(recordings, seed=seed)
    ]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        data_converter=pydantic_data_converter,
        search_attributes=[SearchAttributeKey.for_keyword(name) for name in SEARCH_ATTRIBUTES],
        dev_server_log_level="warn",
    )
    try:
        client = env.client
        model = FakeModel(get_settings())
        model.release.set()
        async with running_workers(client, model) as queues:
            handle = await start(
                client,
                queues,
                "team-replay",
                [*ids, BAD_IDS[0]],
                recordings,
                max_concurrency=2,
                max_history_events=15,
            )
            result = await handle.result()
            assert result.history_lengths, "the batch should have continued as new"
        histories = {
            "batch_first_run_local_compile.json": await client.get_workflow_handle(
                handle.id, run_id=handle.first_execution_run_id
            ).fetch_history(),
            "batch_last_run_local_compile.json": await client.get_workflow_handle(
                handle.id
            ).fetch_history(),
            "single_summary_local_compile.json": await client.get_workflow_handle(
                summary_workflow_id("team-replay", ids[0])
            ).fetch_history(),
            "single_summary_failed_local_compile.json": await client.get_workflow_handle(
                summary_workflow_id("team-replay", BAD_IDS[0])
            ).fetch_history(),
        }
        for name, history in histories.items():
            (HERE / name).write_text(history.to_json())
            print(f"wrote {name}: {len(history.events)} events")
    finally:
        await env.shutdown()


def _report_settings(model_url: str, recordings: Path) -> None:
    """The settings the report and digest recordings run with: the loopback model, and the
    recordings directory as every team's source."""
    from recap.core.config import get_settings

    os.environ["RECAP_LLM_BASE_URL"] = model_url
    os.environ["RECAP_LLM_SCHEMA_LIMITS"] = "false"
    os.environ["RECAP_SOURCE_TEAMS"] = "*"
    os.environ["RECAP_ALLOWED_SOURCES"] = f"files:{recordings}"
    get_settings.cache_clear()


async def record_report() -> None:
    import sys

    from recap.core.config import get_settings
    from recap.store.repository import store_for
    from tests.support.model_double import chat_server
    from tests.support.report_fixtures import PatternDouble, labels, report_cases, store_summaries
    from tests.support.temporal import start_dev_server
    from tests.workflows.test_report_workflow import UNKNOWN, running_stack

    recordings = _WORK / "report-recordings"
    cases = report_cases(recordings, labels(failed=2, coupon=2, fine=2))
    double = PatternDouble()
    env = await start_dev_server()
    try:
        with chat_server() as chat:
            chat.responder = double
            _report_settings(chat.base_url, recordings)
            store = store_for(get_settings().resolved_database_url)
            store_summaries(store, "team-replay", cases[:3])
            label_of = {case.session_id: case.label for case in cases}
            async with running_stack(env.client, chat, double, label_of) as stack:
                session_ids = [case.session_id for case in cases] + [UNKNOWN]
                workflow_id = "pattern-report:team-replay:recorded"
                await stack.run(
                    "team-replay",
                    workflow_id=workflow_id,
                    session_ids=session_ids,
                    source=f"files:{recordings}",
                )
                history = await env.client.get_workflow_handle(workflow_id).fetch_history()
        (HERE / "pattern_report.json").write_text(history.to_json())
        print(f"wrote pattern_report.json: {len(history.events)} events", file=sys.stderr)
    finally:
        await env.shutdown()


async def record_digest() -> None:
    import sys

    from recap.core.config import get_settings
    from recap.store.repository import store_for
    from tests.support.model_double import chat_server
    from tests.support.report_fixtures import PatternDouble, labels, report_cases, store_summaries
    from tests.support.temporal import start_dev_server
    from tests.workflows.test_report_workflow import running_stack
    from workflows.contracts import DigestInput
    from workflows.digest import DigestWorkflow

    recordings = _WORK / "digest-recordings"
    cases = report_cases(recordings, labels(failed=2, coupon=2, fine=2))
    double = PatternDouble()
    env = await start_dev_server()
    try:
        with chat_server() as chat:
            chat.responder = double
            _report_settings(chat.base_url, recordings)
            store_summaries(store_for(get_settings().resolved_database_url), "team-replay", cases)
            label_of = {case.session_id: case.label for case in cases}
            async with running_stack(env.client, chat, double, label_of) as stack:
                workflow_id = "scheduled-run:daily-replay:recorded"
                await env.client.execute_workflow(
                    DigestWorkflow.run,
                    DigestInput(
                        schedule_id="daily-replay",
                        team_id="team-replay",
                        period_seconds=86_400,
                        source=f"files:{recordings}",
                        llm_task_queue=stack.llm,
                    ),
                    id=workflow_id,
                    task_queue=stack.main,
                )
                history = await env.client.get_workflow_handle(workflow_id).fetch_history()
        (HERE / "digest.json").write_text(history.to_json())
        print(f"wrote digest.json: {len(history.events)} events", file=sys.stderr)
    finally:
        await env.shutdown()


if __name__ == "__main__":
    import sys

    modes = {"report": record_report, "digest": record_digest}
    asyncio.run(modes[sys.argv[1]]() if sys.argv[1:2] else record())
    os._exit(0)
