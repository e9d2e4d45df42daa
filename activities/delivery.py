"""Activities of delivery: thin adapters over `recap.services.delivery` that list a team's
destinations and deliver one stored report or digest to one destination per attempt.

Payloads carry ids only: the item is read from the store and the destination's URL and
secret are opened inside the activity, never put in a payload or a log."""

from __future__ import annotations

import httpx
from pydantic import BaseModel
from temporalio import activity

from activities.errors import typed_errors
from recap.core.config import Settings
from recap.delivery.sender import new_client
from recap.services import delivery
from recap.services.bootstrap import TeamSources
from recap.services.delivery import DeliveryRequest, DeliveryResult
from recap.store.destinations import DestinationStore
from recap.store.reports import ReportStore
from recap.store.repository import SummaryStore

__all__ = [
    "DeliveryActivities",
    "DeliveryRequest",
    "DeliveryResult",
    "ListTeamDestinationsInput",
    "TeamDestinations",
]


class ListTeamDestinationsInput(BaseModel):
    team_id: str


class TeamDestinations(BaseModel):
    destination_ids: list[str]


class DeliveryActivities:
    """Both run on the main queue; `deliver` posts with one shared client (no redirects,
    bounded timeouts)."""

    def __init__(
        self,
        settings: Settings,
        store: SummaryStore,
        sources: TeamSources,
        client: httpx.Client | None = None,
    ) -> None:
        self._settings = settings
        self._destinations: DestinationStore = delivery.destination_store(settings, store)
        self._reports = ReportStore(store)
        self._sources = sources
        self._client = client or new_client()

    @activity.defn(name="list_team_destinations")
    def list_team_destinations(self, request: ListTeamDestinationsInput) -> TeamDestinations:
        with typed_errors():
            found = self._destinations.list(request.team_id)
        return TeamDestinations(destination_ids=[each.destination_id for each in found])

    @activity.defn(name="deliver")
    def deliver(self, request: DeliveryRequest) -> DeliveryResult:
        """One attempt; the last one the retry policy allows marks the destination."""
        info = activity.info()
        maximum = info.retry_policy.maximum_attempts if info.retry_policy else 0
        with typed_errors():
            return delivery.deliver(
                request,
                destinations=self._destinations,
                reports=self._reports,
                links=delivery.delivery_links(self._settings, self._sources, request.team_id),
                client=self._client,
                attempt=info.attempt,
                last_attempt=maximum > 0 and info.attempt >= maximum,
            )
