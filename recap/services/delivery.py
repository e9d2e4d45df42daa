"""Delivering one stored report or digest to one destination, and checking a destination
now: load the item and the destination, compose the message, post it, record the result.

The activity `deliver` calls `deliver`, once per attempt; Temporal retries what is worth
retrying (`DeliveryRetryable`) and never what the receiver refused (`DeliveryRejected`).
`recap destinations test` calls `check`. Neither ever loses a report: it is stored first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import httpx
from pydantic import BaseModel

from recap.core.config import Settings
from recap.core.logging import get_logger
from recap.delivery.compose import compose, compose_check, item_id, item_kind
from recap.delivery.links import Links
from recap.delivery.models import ItemKind
from recap.delivery.sender import SendOutcome, send
from recap.delivery.webhook import idempotency_key
from recap.reports.models import Digest, PatternReport
from recap.services.bootstrap import SourceUnavailable, TeamSources
from recap.sources.posthog import PostHogError
from recap.store.destinations import DeliveryStatus, DestinationStore
from recap.store.reports import ReportStore
from recap.store.repository import SummaryStore
from recap.store.secrets import SecretBox, SecretKeyMissing, SecretUnreadable

log = get_logger(__name__)


class DeliveryRetryable(Exception):
    """5xx, 429, a timeout or a failed connection: Temporal tries again."""

    code = "delivery_failed"

    def __init__(self, message: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class DeliveryRejected(Exception):
    """The receiver refused the message (a 4xx other than 429): sending it again cannot help."""

    code = "delivery_rejected"


class DeliveryUnavailable(Exception):
    """The destination or the item cannot be used (gone, or its secret does not open)."""

    code = "delivery_unavailable"


class DeliveryRequest(BaseModel):
    """What one attempt delivers: ids only, never a secret or the report itself."""

    team_id: str
    destination_id: str
    item_kind: ItemKind
    item_id: str


class DeliveryResult(BaseModel):
    destination_id: str
    # "skipped": a quiet digest to a destination set to `quiet: silent`.
    status: Literal["delivered", "skipped"]
    attempts: int
    http_status: int | None = None
    # Delivered by an earlier run: nothing was sent this time.
    earlier: bool = False


def delivery_links(settings: Settings, sources: TeamSources, team_id: str) -> Links:
    """Where the team's people open reports (RECAP_API_PUBLIC_URL) and example sessions
    (the team's PostHog project, when it reads one)."""
    host: str | None = None
    project: str | None = None
    try:
        source = sources.resolve(team_id)
        if source.spec.is_posthog:
            config = source.posthog_config(settings)
            host, project = config.host, config.project_id
    except (SourceUnavailable, PostHogError, SecretKeyMissing, SecretUnreadable):
        # No PostHog to link to: example sessions link to recap's own endpoint, if any.
        pass
    return Links(
        team_id=team_id,
        public_url=settings.api_public_url,
        posthog_host=host,
        posthog_project_id=project,
    )


def _item(reports: ReportStore, request: DeliveryRequest) -> PatternReport | Digest:
    found: PatternReport | Digest | None
    if request.item_kind == "digest":
        found = reports.digest(request.team_id, request.item_id)
    else:
        found = reports.report(request.team_id, request.item_id)
    if found is None:
        raise DeliveryUnavailable(
            f"{request.item_kind} {request.item_id} of team {request.team_id} is not stored;"
            " nothing to deliver"
        )
    return found


def deliver(
    request: DeliveryRequest,
    *,
    destinations: DestinationStore,
    reports: ReportStore,
    links: Links,
    client: httpx.Client,
    attempt: int,
    last_attempt: bool,
) -> DeliveryResult:
    """One attempt. Raises `DeliveryRetryable` or `DeliveryRejected` after recording it."""
    try:
        target = destinations.target(request.team_id, request.destination_id)
    except (SecretKeyMissing, SecretUnreadable) as error:
        raise DeliveryUnavailable(str(error)) from None
    if target is None:
        raise DeliveryUnavailable(
            f"destination {request.destination_id} of team {request.team_id} does not exist"
            " (removed?); `recap destinations list` shows the team's"
        )
    earlier = destinations.delivery(target.destination_id, request.item_kind, request.item_id)
    if earlier is not None and earlier.status == "delivered":
        return DeliveryResult(
            destination_id=target.destination_id,
            status="delivered",
            attempts=earlier.attempts,
            http_status=earlier.http_status,
            earlier=True,
        )
    item = _item(reports, request)
    opened = target
    key = idempotency_key(target.destination_id, item_kind(item), item_id(item))

    def record(
        status: DeliveryStatus,
        outcome: SendOutcome | None = None,
        *,
        gave_up: bool = False,
    ) -> None:
        destinations.record(
            opened,
            item_kind=request.item_kind,
            item_id=request.item_id,
            idempotency_key=key,
            status=status,
            attempts=attempt,
            http_status=outcome.http_status if outcome is not None else None,
            error=outcome.error if outcome is not None else None,
            gave_up=gave_up,
        )

    message = compose(target, item, links, attempt=attempt)
    if message is None:
        record("skipped")
        return DeliveryResult(destination_id=target.destination_id, status="skipped", attempts=0)
    outcome = send(message, client)
    bound = log.bind(
        team_id=request.team_id,
        destination_id=target.destination_id,
        item_id=request.item_id,
        attempt=attempt,
        http_status=outcome.http_status,
    )
    if outcome.status == "delivered":
        record("delivered", outcome)
        bound.info("delivered")
        return DeliveryResult(
            destination_id=target.destination_id,
            status="delivered",
            attempts=attempt,
            http_status=outcome.http_status,
        )
    problem = outcome.error or "delivery failed"
    rejected = outcome.status == "rejected"
    record("rejected" if rejected else "failed", outcome, gave_up=rejected or last_attempt)
    bound.warning("delivery rejected" if rejected else "delivery failed", error=problem)
    if rejected:
        raise DeliveryRejected(problem)
    raise DeliveryRetryable(problem, retry_after_seconds=outcome.retry_after_seconds)


def check(destinations: DestinationStore, destination_id: str, client: httpx.Client) -> SendOutcome:
    """Sends a small test message to the destination now (not recorded as a delivery)."""
    shown = destinations.get(destination_id)
    if shown is None:
        raise DeliveryUnavailable(
            f"no destination {destination_id}; `recap destinations list` shows them"
        )
    try:
        target = destinations.target(shown.team_id, destination_id)
    except (SecretKeyMissing, SecretUnreadable) as error:
        raise DeliveryUnavailable(str(error)) from None
    assert target is not None
    return send(compose_check(target, datetime.now(UTC)), client)


def destination_store(settings: Settings, store: SummaryStore) -> DestinationStore:
    """The team destinations of the store, sealed under RECAP_SECRET_KEY."""
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    return DestinationStore(store, SecretBox(key))
