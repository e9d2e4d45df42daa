"""Records the histories `tests/workflows/test_replay.py` replays: run once after a
deliberate change to a workflow's commands
(`uv run python -m tests.workflows.histories.record`), then commit the JSON.

It runs a small batch (a missing recording, a forced continue-as-new) and one single
summary on a local dev server, with the test double in place of the model.
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
            "batch_first_run.json": await client.get_workflow_handle(
                handle.id, run_id=handle.first_execution_run_id
            ).fetch_history(),
            "batch_last_run.json": await client.get_workflow_handle(handle.id).fetch_history(),
            "single_summary.json": await client.get_workflow_handle(
                summary_workflow_id("team-replay", ids[0])
            ).fetch_history(),
            "single_summary_failed.json": await client.get_workflow_handle(
                summary_workflow_id("team-replay", BAD_IDS[0])
            ).fetch_history(),
        }
        for name, history in histories.items():
            (HERE / name).write_text(history.to_json())
            print(f"wrote {name}: {len(history.events)} events")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record())
    os._exit(0)
