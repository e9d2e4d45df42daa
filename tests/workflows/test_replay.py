"""Recorded histories replay with the current workflow code: a change that alters the
commands a workflow issues fails here before it breaks running workflows.

Record new histories after a deliberate change with
`uv run python -m tests.workflows.histories.record` (`… record report` or `… record digest`
for those alone).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.catalog import ALL_WORKFLOWS

HISTORIES = {
    path.name: path.read_text()
    for path in sorted((Path(__file__).parent / "histories").glob("*.json"))
}
# Workflows that name their children after their own id replay under the recorded id.
WORKFLOW_IDS = {"pattern_report.json": "pattern-report:team-replay:recorded"}


def test_histories_are_recorded() -> None:
    names = set(HISTORIES)
    assert {
        "batch_first_run.json",
        "batch_last_run.json",
        "single_summary.json",
        # Recorded after the `local-store` patch; the ones above, before it.
        "batch_first_run_local_store.json",
        "batch_last_run_local_store.json",
        "single_summary_local_store.json",
        "single_summary_failed_local_store.json",
        # Recorded after the `local-compile` patch.
        "batch_first_run_local_compile.json",
        "batch_last_run_local_compile.json",
        "single_summary_local_compile.json",
        "single_summary_failed_local_compile.json",
        "pattern_report.json",
        "digest.json",
    } <= names


@pytest.mark.parametrize("name", sorted(HISTORIES))
async def test_history_replays_without_nondeterminism(name: str) -> None:
    history = WorkflowHistory.from_json(WORKFLOW_IDS.get(name, f"replay-{name}"), HISTORIES[name])
    replayer = Replayer(workflows=list(ALL_WORKFLOWS), data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{name}: {result.replay_failure}"
