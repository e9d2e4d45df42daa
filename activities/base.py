"""What the cross-session activities (pattern reports, funnels, journeys) are built with:
the settings, the store, the team's sources, the chat model and the team's model budget."""

from __future__ import annotations

from collections.abc import Callable

from recap.core.config import Settings
from recap.llm.client import ChatModel
from recap.services.bootstrap import TeamSources
from recap.services.budget import ModelBudget
from recap.store.repository import SummaryStore


class ModelActivities:
    """The dependencies of a set of activities that read sessions and ask the model."""

    def __init__(
        self,
        settings: Settings,
        store: SummaryStore,
        sources: TeamSources,
        chat_model: Callable[[], ChatModel],
        budget: ModelBudget | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._sources = sources
        self._chat_model = chat_model
        self._budget = budget or ModelBudget.from_settings(settings, store)
