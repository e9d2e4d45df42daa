"""One destination's message for one report or digest: Slack Block Kit or the signed
webhook envelope, with the idempotency key; None when a quiet digest goes to a destination
set to `quiet: silent`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from recap.delivery import slack, webhook
from recap.delivery.links import Links
from recap.delivery.models import DestinationTarget, ItemKind
from recap.delivery.sender import OutgoingMessage
from recap.reports.models import Digest, PatternReport


def label(target: DestinationTarget) -> str:
    return f"{target.kind} destination {target.name!r}"


def _json(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _headers(
    target: DestinationTarget, body: bytes, key: str | None, attempt: int
) -> dict[str, str]:
    headers = {webhook.ATTEMPT_HEADER: str(attempt)}
    if key is not None:
        headers[webhook.IDEMPOTENCY_HEADER] = key
    if target.signing_secret is not None:
        headers[webhook.SIGNATURE_HEADER] = webhook.signature(body, target.signing_secret)
    return headers


def item_kind(item: PatternReport | Digest) -> ItemKind:
    return "digest" if isinstance(item, Digest) else "report"


def item_id(item: PatternReport | Digest) -> str:
    return item.digest_id if isinstance(item, Digest) else item.report_id


def compose(
    target: DestinationTarget, item: PatternReport | Digest, links: Links, *, attempt: int = 1
) -> OutgoingMessage | None:
    """The message to post, the same bytes on every attempt (only the attempt header moves)."""
    quiet = isinstance(item, Digest) and item.quiet
    if quiet and target.quiet == "silent":
        return None
    if target.kind == "slack":
        if isinstance(item, Digest):
            message = slack.quiet_message(item) if quiet else slack.digest_message(item, links)
        else:
            message = slack.report_message(item, links)
        body = _json(message)
    elif isinstance(item, Digest) and quiet:
        body = webhook.quiet_body(item, links)
    else:
        body = webhook.envelope_body(item, links)
    key = webhook.idempotency_key(target.destination_id, item_kind(item), item_id(item))
    return OutgoingMessage(label(target), target.url, body, _headers(target, body, key, attempt))


def compose_check(target: DestinationTarget, now: datetime) -> OutgoingMessage:
    """`recap destinations test`: a small message, signed like any other."""
    if target.kind == "slack":
        body = _json(slack.check_message(target.name))
    else:
        body = webhook.check_body(target.team_id, target.destination_id, target.name, now)
    return OutgoingMessage(label(target), target.url, body, _headers(target, body, None, 1))
