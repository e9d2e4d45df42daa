"""DeliverWorkflow on the real Temporal dev server, with the real delivery activities posting
to loopback receivers: retries through Temporal under one idempotency key, refusals not
retried, and one destination's failure never stopping another's delivery."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from activities.delivery import DeliveryActivities
from recap.core.config import Settings
from recap.core.naming import delivery_workflow_id
from recap.delivery.webhook import idempotency_key, verify
from recap.services.bootstrap import source_opener, summary_store
from recap.store.destinations import DestinationStore
from recap.store.reports import ReportStore
from recap.store.secrets import SecretBox
from tests.support.receivers import Answer, receiving
from tests.support.report_samples import digest, report
from tests.support.temporal import running_worker
from workflows.contracts import DeliverInput, DeliverResult
from workflows.deliver import DeliverWorkflow

SECRET = "whsec-0123456789abcdef0123"


@pytest.fixture
def sealed(settings: Settings) -> Settings:
    return settings.model_copy(update={"secret_key": SecretStr(SecretBox.generate())})


def _destinations(settings: Settings) -> DestinationStore:
    assert settings.secret_key is not None
    return DestinationStore(
        summary_store(settings), SecretBox(settings.secret_key.get_secret_value())
    )


@asynccontextmanager
async def delivering(client: Client, settings: Settings) -> AsyncIterator[str]:
    store = summary_store(settings)
    built = DeliveryActivities(settings, store, source_opener(settings, store))
    async with running_worker(
        client,
        workflows=[DeliverWorkflow],
        activities=[built.list_team_destinations, built.deliver],
    ) as worker:
        yield worker.task_queue


async def _run(client: Client, queue: str, request: DeliverInput) -> DeliverResult:
    return await client.execute_workflow(
        DeliverWorkflow.run,
        request,
        id=f"{delivery_workflow_id(request.team_id, request.item_id)}:{uuid.uuid4().hex[:6]}",
        task_queue=queue,
    )


async def test_two_503s_then_200_make_exactly_one_delivery(
    temporal_client: Client, sealed: Settings
) -> None:
    team = f"team-{uuid.uuid4().hex[:8]}"
    sample = report(team, report_id=f"rp_{uuid.uuid4().hex[:16]}")
    ReportStore(summary_store(sealed)).save_report(sample)
    destinations = _destinations(sealed)
    with receiving([Answer(503), Answer(503, {"Retry-After": "1"})]) as receiver:
        hook = destinations.add(
            team, kind="webhook", name="ops", url=receiver.url, signing_secret=SECRET
        )
        request = DeliverInput(
            team_id=team, item_kind="report", item_id=sample.report_id, retry_initial_seconds=1
        )
        async with delivering(temporal_client, sealed) as queue:
            result = await _run(temporal_client, queue, request)
            assert [(o.destination_id, o.status) for o in result.outcomes] == [
                (hook.destination_id, "delivered")
            ]
            # Started again, it finds the delivery recorded and sends nothing.
            again = await _run(temporal_client, queue, request)
        assert again.outcomes[0].status == "delivered"
        received = list(receiver.received)
    assert len(received) == 3  # 503, 503, then the one the receiver accepted
    key = idempotency_key(hook.destination_id, "report", sample.report_id)
    assert {r.headers["idempotency-key"] for r in received} == {key}
    assert all(verify(r.body, SECRET, r.headers["x-recap-signature"]) for r in received)
    assert [r.headers["x-recap-delivery-attempt"] for r in received] == ["1", "2", "3"]
    assert json.loads(received[-1].body)["data"] == sample.model_dump(mode="json")
    record = destinations.delivery(hook.destination_id, "report", sample.report_id)
    assert record is not None and (record.status, record.attempts) == ("delivered", 3)
    shown = destinations.get(hook.destination_id)
    assert shown is not None and shown.consecutive_failures == 0 and shown.last_delivered_at


async def test_a_refusing_or_failing_destination_never_stops_another(
    temporal_client: Client, sealed: Settings
) -> None:
    team = f"team-{uuid.uuid4().hex[:8]}"
    sample = digest(
        team, digest_id=f"dg_{uuid.uuid4().hex[:16]}", report_id=f"rp_{uuid.uuid4().hex[:16]}"
    )
    ReportStore(summary_store(sealed)).save_digest(sample)
    destinations = _destinations(sealed)
    with (
        receiving([Answer(400, body=b"invalid_payload")]) as refusing,
        receiving(path="/services/T0/B0/x") as slack,
        receiving([Answer(503)] * 5) as down,
    ):
        refused = destinations.add(
            team, kind="webhook", name="a-refusing", url=refusing.url, signing_secret=SECRET
        )
        # Signed too: a relay in front of Slack can check where the message came from.
        channel = destinations.add(
            team, kind="slack", name="#product", url=slack.url, signing_secret=SECRET
        )
        failing = destinations.add(
            team, kind="webhook", name="c-down", url=down.url, signing_secret=SECRET
        )
        async with delivering(temporal_client, sealed) as queue:
            result = await _run(
                temporal_client,
                queue,
                DeliverInput(
                    team_id=team,
                    item_kind="digest",
                    item_id=sample.digest_id,
                    retry_initial_seconds=1,
                    retry_max_attempts=2,
                ),
            )
    outcomes = {o.destination_id: o for o in result.outcomes}
    assert outcomes[refused.destination_id].status == "rejected"
    assert outcomes[refused.destination_id].error_type == "delivery_rejected"
    assert outcomes[channel.destination_id].status == "delivered"
    assert outcomes[failing.destination_id].status == "failed"
    assert outcomes[failing.destination_id].error_type == "delivery_failed"
    # The 400 was sent once, never retried, and recorded against the destination.
    assert len(refusing.received) == 1
    record = destinations.delivery(refused.destination_id, "digest", sample.digest_id)
    assert record is not None and (record.status, record.http_status) == ("rejected", 400)
    shown = destinations.get(refused.destination_id)
    assert shown is not None and shown.consecutive_failures == 1
    assert "answered 400: invalid_payload" in (shown.last_error or "")
    # The Slack-shaped receiver got one Block Kit message for the digest.
    assert len(slack.received) == 1
    assert verify(slack.received[0].body, SECRET, slack.received[0].headers["x-recap-signature"])
    message = json.loads(slack.received[0].body)
    assert message["blocks"][0]["text"]["text"] == f"Digest: {sample.report.title}"
    assert message["blocks"][2]["fields"][0]["text"] == "*Sessions reported*\n40"
    # The destination that stayed down was tried as often as the policy allows, then marked.
    assert len(down.received) == 2
    down_shown = destinations.get(failing.destination_id)
    assert down_shown is not None and down_shown.consecutive_failures == 1
