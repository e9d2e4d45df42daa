"""The generic webhook: a versioned JSON envelope around the report or digest, signed with
the destination's own secret, and the idempotency key its receiver deduplicates on.

    X-Recap-Signature: sha256=<hex of HMAC-SHA256(secret, body bytes)>
    Idempotency-Key: <stable per destination and item, the same on every retry>

The body carries nothing that changes between attempts, so every retry sends the same
bytes under the same signature; a receiver that keeps the keys it has accepted takes a
report once however often it arrives."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from recap.delivery.headline import one_line, quiet_line
from recap.delivery.links import Links
from recap.delivery.models import ItemKind
from recap.reports.models import Digest, PatternReport

ENVELOPE_VERSION = 1
SIGNATURE_HEADER = "X-Recap-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Informational, not signed: receivers must not trust it for anything but logs.
ATTEMPT_HEADER = "X-Recap-Delivery-Attempt"
_KEY_NAMESPACE = uuid.UUID("5d1c0a3e-8f0b-4c52-9a53-6a0f2f1b7e11")


def idempotency_key(destination_id: str, item_kind: ItemKind, item_id: str) -> str:
    """The same for one item at one destination, every attempt and every run; different
    for the same item at another destination."""
    return str(uuid.uuid5(_KEY_NAMESPACE, f"{destination_id}\x1f{item_kind}\x1f{item_id}"))


def _encode(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def envelope_body(item: PatternReport | Digest, links: Links) -> bytes:
    """`{"type": "recap.report"|"recap.digest", "version", "id", "team_id", "created_at",
    "text", "links", "data"}` where `data` is the stored model as JSON."""
    if isinstance(item, Digest):
        kind, item_id, report = "recap.digest", item.digest_id, item.report
    else:
        kind, item_id, report = "recap.report", item.report_id, item
    envelope = {
        "type": kind,
        "version": ENVELOPE_VERSION,
        "id": item_id,
        "team_id": item.team_id,
        "created_at": report.created_at.astimezone(UTC).isoformat(),
        "text": one_line(item),
        "links": {"report": links.report(report.report_id)},
        "data": item.model_dump(mode="json"),
    }
    return _encode(envelope)


def quiet_body(digest: Digest, links: Links) -> bytes:
    """A quiet digest for a destination set to `quiet: line`: the digest envelope, whose
    `text` is the one line and whose `data.quiet` is true."""
    body = json.loads(envelope_body(digest, links))
    body["text"] = quiet_line(digest)
    return _encode(body)


def check_body(team_id: str, destination_id: str, name: str, now: datetime) -> bytes:
    """`recap destinations test`: a small signed envelope of type `recap.test`."""
    return _encode(
        {
            "type": "recap.test",
            "version": ENVELOPE_VERSION,
            "id": f"test_{uuid.uuid4().hex[:16]}",
            "team_id": team_id,
            "created_at": now.astimezone(UTC).isoformat(),
            "text": f"recap can deliver to this destination ({name}).",
            "links": {"report": None},
            "data": {"destination_id": destination_id},
        }
    )


def signature(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """What a receiver does: recompute over the exact bytes received, compare in constant
    time."""
    return header is not None and hmac.compare_digest(signature(body, secret), header)
