"""DigestWorkflow on the real Temporal dev server: one run of a digest schedule reports on
the recordings that ended in its period (the real PatternReportWorkflow, with the report's
model steps answered by the loopback double), stores the digest, and hands it to the
team's destinations (the real DeliverWorkflow, posting to a loopback webhook receiver)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client

from recap.core.config import get_settings
from recap.core.naming import delivery_workflow_id
from recap.delivery.webhook import verify
from recap.services.bootstrap import summary_store
from recap.store.destinations import DestinationStore
from recap.store.reports import ReportStore
from recap.store.secrets import SecretBox
from tests.support.model_double import ChatServer
from tests.support.receivers import receiving
from tests.support.report_fixtures import (
    CHECKOUT_PATTERN,
    COUPON_PATTERN,
    PatternDouble,
    ReportCase,
    store_summaries,
)
from tests.workflows.test_report_workflow import (
    _labels,
    labelled,
    model_server,
    running_stack,
)
from workflows.contracts import DeliverResult, DigestInput
from workflows.digest import DigestWorkflow

__all__ = ["labelled", "model_server"]
SIGNING_SECRET = "whsec-digest-0123456789abcdef"


async def test_a_digest_run_reports_stores_and_delivers_its_period(
    temporal_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    model_server: tuple[ChatServer, PatternDouble],
    labelled: tuple[Path, list[ReportCase]],
) -> None:
    directory, cases = labelled
    chat, double = model_server
    team = f"team-{uuid.uuid4().hex[:8]}"
    secret_key = SecretBox.generate()
    monkeypatch.setenv("RECAP_SECRET_KEY", secret_key)
    get_settings.cache_clear()
    store = summary_store(get_settings())
    store_summaries(store, team, cases)
    with receiving() as receiver:
        DestinationStore(store, SecretBox(secret_key)).add(
            team, kind="webhook", name="ops", url=receiver.url, signing_secret=SIGNING_SECRET
        )
        async with running_stack(temporal_client, chat, double, _labels(cases)) as stack:
            schedule = f"daily-{uuid.uuid4().hex[:6]}"
            digest = await temporal_client.execute_workflow(
                DigestWorkflow.run,
                DigestInput(
                    schedule_id=schedule,
                    team_id=team,
                    period_seconds=86_400,
                    source=f"files:{directory}",
                    llm_task_queue=stack.llm,
                ),
                id=f"scheduled-run:{schedule}:{uuid.uuid4().hex[:6]}",
                task_queue=stack.main,
            )
            assert digest.delivery_workflow_id == delivery_workflow_id(team, digest.digest_id)
            delivered = await temporal_client.get_workflow_handle(
                digest.delivery_workflow_id, result_type=DeliverResult
            ).result()

    # The period's recordings (every file was written within the day) were reported.
    stored = ReportStore(store).digest(team, digest.digest_id)
    assert stored is not None and stored.report.report_id == digest.report_id
    assert stored.report.sessions_reported == len(cases)
    assert {p.name for p in stored.report.patterns} == {CHECKOUT_PATTERN, COUPON_PATTERN}
    # The schedule's first digest: every pattern is new, so it is not quiet.
    assert stored.previous_report_id is None
    assert {change.change for change in stored.changes} == {"new"}
    assert (digest.new_patterns, digest.quiet) == (2, False)
    assert stack.summaries.calls == {}  # the stored summaries were reused
    # One signed message for the digest, never one per session.
    assert [outcome.status for outcome in delivered.outcomes] == ["delivered"]
    (message,) = receiver.received
    assert verify(message.body, SIGNING_SECRET, message.headers["x-recap-signature"])
    body = json.loads(message.body)
    assert (body["type"], body["id"]) == ("recap.digest", digest.digest_id)
