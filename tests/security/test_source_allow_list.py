"""The source a workflow names (issue 16, finding 3): anyone who can start a workflow (the
Temporal frontend, its UI) writes its input, so the worker reads only RECAP_SOURCE and
RECAP_ALLOWED_SOURCES, and refuses anything else as a non-retryable `source_not_allowed`."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from recap.core.config import Settings
from recap.core.naming import summary_workflow_id
from recap.services.bootstrap import SourceNotAllowed, allowed_source
from tests.support.recordings import CHALK
from tests.support.temporal import activity_attempts, running_worker
from worker import build_activities
from workflows.contracts import SummarizeSessionInput
from workflows.session_summary import SummarizeSessionWorkflow

CHALK_SESSION = "30497eae-825d-433d-a484-4b75074332b2"


def _settings(tmp_path: Path, source: str, allowed: str = "") -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'allow.db'}", source=source, allowed_sources=allowed
    )


def test_only_the_configured_and_allowed_sources_are_read(tmp_path: Path) -> None:
    mine, other = tmp_path / "mine", tmp_path / "other"
    (mine / "team-a").mkdir(parents=True)
    other.mkdir()
    settings = _settings(tmp_path, f"files:{mine}")
    assert allowed_source(settings, None).directory == mine
    assert allowed_source(settings, f"files:{mine / 'team-a'}").directory == mine / "team-a"
    for refused in (f"files:{other}", f"files:{mine}/../other", "files:/etc", "posthog"):
        with pytest.raises(SourceNotAllowed):
            allowed_source(settings, refused)
    wider = _settings(tmp_path, f"files:{mine}", allowed=f"posthog, files:{other}")
    assert allowed_source(wider, "posthog").is_posthog
    assert allowed_source(wider, f"files:{other}").directory == other


async def test_a_workflow_naming_another_directory_is_refused_once(
    temporal_client: Client, tmp_path: Path
) -> None:
    # A directory the worker was never told about, holding a real recording.
    private = tmp_path / "private"
    private.mkdir()
    shutil.copy(CHALK / f"{CHALK_SESSION}.json", private)
    settings = _settings(tmp_path, f"files:{tmp_path / 'recordings'}")
    built = build_activities(settings).summary
    team = f"team-{uuid.uuid4().hex[:8]}"
    async with running_worker(
        temporal_client,
        workflows=[SummarizeSessionWorkflow],
        activities=[built.compile_timeline, built.summarize_session, built.store_summary],
    ) as worker:
        handle = await temporal_client.start_workflow(
            SummarizeSessionWorkflow.run,
            SummarizeSessionInput(
                team_id=team, session_id=CHALK_SESSION, source=f"files:{private}"
            ),
            id=summary_workflow_id(team, CHALK_SESSION),
            task_queue=worker.task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    # Fetch-compile is a local activity: its typed failure is the workflow's own.
    refused = failure.value.cause
    assert isinstance(refused, ApplicationError)
    assert refused.type == "source_not_allowed" and refused.non_retryable
    history = await handle.fetch_history()
    # Refused once, not retried, and nothing was read: no model call either.
    assert activity_attempts(history, "compile_timeline") == [1]
    assert activity_attempts(history, "summarize_session") == []
