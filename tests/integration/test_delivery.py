"""Posting deliveries over real loopback HTTP, the destinations store (secrets sealed at
rest, the failing mark), and one delivery attempt as the `deliver` activity makes it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from recap.delivery.links import Links
from recap.delivery.sender import OutgoingMessage, new_client, retry_after, send
from recap.services.delivery import (
    DeliveryRejected,
    DeliveryRequest,
    DeliveryResult,
    DeliveryRetryable,
    DeliveryUnavailable,
    deliver,
)
from recap.store.destinations import FAILING_AFTER, DestinationError, DestinationStore
from recap.store.reports import ReportStore
from recap.store.repository import SummaryStore
from recap.store.secrets import SecretBox, SecretKeyMissing
from tests.support.receivers import Answer, receiving
from tests.support.report_samples import report

SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"
SECRET = "whsec-0123456789abcdef0123"


@pytest.fixture
def store(tmp_path: Path) -> SummaryStore:
    return SummaryStore(f"sqlite:///{tmp_path / 'recap.db'}")


@pytest.fixture
def destinations(store: SummaryStore) -> DestinationStore:
    return DestinationStore(store, SecretBox(SecretBox.generate()))


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with new_client(httpx.Timeout(0.5)) as made:
        yield made


def _message(url: str) -> OutgoingMessage:
    return OutgoingMessage("webhook destination 'ops'", url, b"{}", {"Idempotency-Key": "k"})


# -- the sender --------------------------------------------------------------------------


def test_answers_become_typed_outcomes(client: httpx.Client) -> None:
    script = [
        Answer(200),
        Answer(503),
        Answer(429, {"Retry-After": "7"}),
        Answer(400, body=b'{"error": "missing field"}'),
        Answer(301, {"Location": "https://elsewhere"}),
        Answer(404),
    ]
    with receiving(script) as receiver:
        outcomes = [send(_message(receiver.url), client) for _ in script]
    assert [(o.status, o.http_status) for o in outcomes] == [
        ("delivered", 200),
        ("retryable", 503),
        ("retryable", 429),
        ("rejected", 400),
        ("rejected", 301),
        ("rejected", 404),
    ]
    assert outcomes[2].retry_after_seconds == 7
    assert outcomes[1].retry_after_seconds is None
    assert "missing field" in (outcomes[3].error or "")
    assert all(receiver.url not in (o.error or "") for o in outcomes)
    assert [r.headers["idempotency-key"] for r in receiver.received] == ["k"] * 6


def test_timeouts_and_refused_connections_are_retryable(client: httpx.Client) -> None:
    with receiving([Answer(200, delay_seconds=1.5)]) as receiver:
        slow = send(_message(receiver.url), client)
    assert (slow.status, slow.http_status) == ("retryable", None)
    assert "did not answer in time" in (slow.error or "")
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    refused = send(_message(f"http://127.0.0.1:{port}/hook"), client)
    assert refused.status == "retryable" and str(port) not in (refused.error or "")


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after("12") == 12
    assert retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10
    assert retry_after("soon") is None and retry_after(None) is None
    assert retry_after("99999") == 600


# -- the store ---------------------------------------------------------------------------


def test_urls_and_secrets_are_sealed_at_rest(
    store: SummaryStore, destinations: DestinationStore
) -> None:
    slack = destinations.add("team-a", kind="slack", name="#product", url=SLACK_URL)
    hook = destinations.add(
        "team-a", kind="webhook", name="ops", url="https://ops.example.com/x", signing_secret=SECRET
    )
    with store.engine.connect() as connection:
        cells = " ".join(
            str(cell)
            for row in connection.execute(text("SELECT * FROM destinations"))
            for cell in row
        )
    assert "XXXXsecretXXXX" not in cells and SECRET not in cells and "ops.example" not in cells
    opened = destinations.target("team-a", hook.destination_id)
    assert opened is not None and opened.signing_secret == SECRET
    assert "ops.example" not in repr(opened) and SECRET not in repr(opened)
    assert destinations.target("team-b", slack.destination_id) is None  # another team's
    assert not slack.signed and hook.signed
    with pytest.raises(SecretKeyMissing):
        DestinationStore(store, SecretBox(None)).add(
            "team-a", kind="slack", name="x", url=SLACK_URL
        )
    with pytest.raises(DestinationError, match="http") as bad:
        destinations.add("team-a", kind="slack", name="x", url="hooks.slack.com/T0/secretpart")
    assert "secretpart" not in str(bad.value)


# -- one attempt, as the `deliver` activity makes it ---------------------------------------


def _attempt(
    destinations: DestinationStore,
    reports: ReportStore,
    client: httpx.Client,
    destination_id: str,
    attempt: int,
    *,
    last: bool = False,
    item_id: str = "rp_0123456789abcdef",
) -> DeliveryResult:
    return deliver(
        DeliveryRequest(
            team_id="team-a",
            destination_id=destination_id,
            item_kind="report",
            item_id=item_id,
        ),
        destinations=destinations,
        reports=reports,
        links=Links(team_id="team-a"),
        client=client,
        attempt=attempt,
        last_attempt=last,
    )


def test_failed_deliveries_are_recorded_and_mark_the_destination_failing(
    store: SummaryStore, destinations: DestinationStore, client: httpx.Client
) -> None:
    reports = ReportStore(store)
    reports.save_report(report())
    with receiving([Answer(503), Answer(503), Answer(400), Answer(400)]) as receiver:
        hook = destinations.add(
            "team-a", kind="webhook", name="ops", url=receiver.url, signing_secret=SECRET
        )
        with pytest.raises(DeliveryRetryable):
            _attempt(destinations, reports, client, hook.destination_id, 1)
        record = destinations.delivery(hook.destination_id, "report", "rp_0123456789abcdef")
        assert record is not None and (record.status, record.attempts) == ("failed", 1)
        shown = destinations.get(hook.destination_id)
        # A retry is still coming: one failed attempt does not count against it yet.
        assert shown is not None and shown.consecutive_failures == 0 and shown.last_error
        with pytest.raises(DeliveryRetryable):
            _attempt(destinations, reports, client, hook.destination_id, 2, last=True)
        shown = destinations.get(hook.destination_id)
        assert shown is not None and shown.consecutive_failures == 1 and not shown.failing
        with pytest.raises(DeliveryRejected):
            _attempt(destinations, reports, client, hook.destination_id, 3)
        record = destinations.delivery(hook.destination_id, "report", "rp_0123456789abcdef")
        assert record is not None and (record.status, record.http_status) == ("rejected", 400)
        shown = destinations.get(hook.destination_id)
        assert shown is not None and shown.consecutive_failures == 2
        # One more refused report makes FAILING_AFTER deliveries in a row that gave up.
        reports.save_report(report(report_id="rp_aaaaaaaaaaaaaaaa"))
        with pytest.raises(DeliveryRejected):
            _attempt(
                destinations, reports, client, hook.destination_id, 1, item_id="rp_aaaaaaaaaaaaaaaa"
            )
        assert len(receiver.received) == 4
    shown = destinations.get(hook.destination_id)
    assert shown is not None and shown.failing and FAILING_AFTER == 3
    assert shown.last_error is not None and "answered 400" in shown.last_error


def test_a_delivered_item_is_not_sent_again_and_clears_the_failures(
    store: SummaryStore, destinations: DestinationStore, client: httpx.Client
) -> None:
    reports = ReportStore(store)
    reports.save_report(report())
    with receiving([Answer(503)]) as receiver:
        hook = destinations.add(
            "team-a", kind="webhook", name="ops", url=receiver.url, signing_secret=SECRET
        )
        with pytest.raises(DeliveryRetryable):
            _attempt(destinations, reports, client, hook.destination_id, 1, last=True)
        assert destinations.get(hook.destination_id).consecutive_failures == 1  # type: ignore[union-attr]
        first = _attempt(destinations, reports, client, hook.destination_id, 1)
        again = _attempt(destinations, reports, client, hook.destination_id, 1)
        assert len(receiver.received) == 2
    assert first.status == "delivered" and not first.earlier
    assert again.earlier is True
    shown = destinations.get(hook.destination_id)
    assert shown is not None and shown.consecutive_failures == 0 and shown.last_delivered_at


def test_a_missing_item_or_destination_is_final(
    store: SummaryStore, destinations: DestinationStore, client: httpx.Client
) -> None:
    reports = ReportStore(store)
    hook = destinations.add(
        "team-a", kind="webhook", name="ops", url="http://127.0.0.1:9/x", signing_secret=SECRET
    )
    with pytest.raises(DeliveryUnavailable, match="not stored"):
        _attempt(destinations, reports, client, hook.destination_id, 1)
    with pytest.raises(DeliveryUnavailable, match="does not exist"):
        _attempt(destinations, reports, client, "dst_000000000000", 1)
