"""The activity of a digest run: compare the period's stored report with the previous
period's and store the digest (`recap.services.digest`)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from pydantic import BaseModel
from temporalio import activity

from activities.errors import typed_errors
from recap.core.logging import get_logger
from recap.reports.models import Digest
from recap.services.digest import make_digest
from recap.store.repository import SummaryStore

log = get_logger(__name__)


class MakeDigestInput(BaseModel):
    schedule_id: str
    team_id: str
    period_start: datetime
    period_end: datetime
    report_id: str


class DigestResult(BaseModel):
    digest_id: str
    report_id: str
    period_start: datetime
    period_end: datetime
    quiet: bool
    new_patterns: int
    rising_patterns: int
    gone_patterns: int
    new_clusters: int
    delivery_workflow_id: str | None = None


class DigestActivities:
    """On the main queue, over the store."""

    def __init__(self, store: SummaryStore) -> None:
        self._store = store

    @activity.defn(name="make_digest")
    async def make_digest(self, request: MakeDigestInput) -> DigestResult:
        with typed_errors():
            digest: Digest = await asyncio.to_thread(
                make_digest,
                self._store,
                team_id=request.team_id,
                schedule_id=request.schedule_id,
                period_start=request.period_start,
                period_end=request.period_end,
                report_id=request.report_id,
            )
        counts = {kind: 0 for kind in ("new", "rising", "gone")}
        for change in digest.changes:
            if change.change in counts:
                counts[change.change] += 1
        log.info(
            "digest stored",
            team_id=request.team_id,
            schedule_id=request.schedule_id,
            digest_id=digest.digest_id,
            quiet=digest.quiet,
        )
        return DigestResult(
            digest_id=digest.digest_id,
            report_id=digest.report.report_id,
            period_start=digest.period_start,
            period_end=digest.period_end,
            quiet=digest.quiet,
            new_patterns=counts["new"],
            rising_patterns=counts["rising"],
            gone_patterns=counts["gone"],
            new_clusters=len(digest.new_clusters),
        )
