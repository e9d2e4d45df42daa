"""DeliverWorkflow: sends one stored report or digest to a team's destinations.

1. list the team's destinations (when the request names none);
2. deliver to each, all at once, each with its own retries: a destination that fails or
   refuses never stops the others, and never fails the report, which is stored already.

Returns each destination's outcome; the store keeps the record of every attempt.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.details import literal
from workflows.retry_policies import STORE_RETRY
from workflows.search_attributes import TEAM

with workflow.unsafe.imports_passed_through():
    from activities.delivery import (
        DeliveryActivities,
        DeliveryRequest,
        ListTeamDestinationsInput,
    )
    from activities.failures import failure_type
    from workflows.contracts import DeliverInput, DeliverResult, DestinationOutcome


@workflow.defn(name="DeliverWorkflow")
class DeliverWorkflow:
    def __init__(self) -> None:
        self._outcomes: dict[str, DestinationOutcome] = {}
        self._total = 0

    def _show(self, request: DeliverInput) -> None:
        counts: dict[str, int] = {}
        for outcome in self._outcomes.values():
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        done = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none yet"
        workflow.set_current_details(
            f"**Delivering {literal(request.item_kind)} {literal(request.item_id)}**\n"
            f"- destinations: {len(self._outcomes)}/{self._total} done ({done})"
        )

    @workflow.run
    async def run(self, request: DeliverInput) -> DeliverResult:
        workflow.upsert_search_attributes([TEAM.value_set(request.team_id)])
        destination_ids = request.destination_ids
        if destination_ids is None:
            listed = await workflow.execute_activity_method(
                DeliveryActivities.list_team_destinations,
                ListTeamDestinationsInput(team_id=request.team_id),
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=STORE_RETRY,
                summary="list the team's destinations",
            )
            destination_ids = listed.destination_ids
        destination_ids = list(dict.fromkeys(destination_ids))
        self._total = len(destination_ids)
        self._show(request)
        await asyncio.gather(*(self._deliver(request, each) for each in destination_ids))
        return DeliverResult(
            team_id=request.team_id,
            item_kind=request.item_kind,
            item_id=request.item_id,
            outcomes=[self._outcomes[each] for each in destination_ids],
        )

    async def _deliver(self, request: DeliverInput, destination_id: str) -> None:
        try:
            delivered = await workflow.execute_activity_method(
                DeliveryActivities.deliver,
                DeliveryRequest(
                    team_id=request.team_id,
                    destination_id=destination_id,
                    item_kind=request.item_kind,
                    item_id=request.item_id,
                ),
                start_to_close_timeout=timedelta(seconds=60),
                # 5xx, 429 (its Retry-After replaces the backoff) and timeouts are retried;
                # a refusal (4xx) or a missing destination or item is final.
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=request.retry_initial_seconds),
                    backoff_coefficient=request.retry_backoff,
                    maximum_interval=timedelta(seconds=request.retry_max_interval_seconds),
                    maximum_attempts=request.retry_max_attempts,
                    non_retryable_error_types=["delivery_rejected", "delivery_unavailable"],
                ),
                summary=f"deliver {request.item_kind} {request.item_id} to {destination_id}",
            )
        except ActivityError as error:
            error_type, message = failure_type(error, "delivery_failed")
            self._outcomes[destination_id] = DestinationOutcome(
                destination_id=destination_id,
                status="rejected" if error_type == "delivery_rejected" else "failed",
                error_type=error_type,
                error=message,
            )
        else:
            self._outcomes[destination_id] = DestinationOutcome(
                destination_id=destination_id, status=delivered.status
            )
        self._show(request)
