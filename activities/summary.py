"""The three activities of a session summary: thin adapters over `recap.services.summary`.

Built by the worker with the store, the source opener and the model factory, so credentials
and connections come from the worker's settings, never from the workflow's inputs. The
model call is counted against the team's daily budget (`recap.services.budget`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from temporalio import activity

from activities.errors import typed_errors
from activities.heartbeat import beat_per_block, heartbeating
from activities.models import (
    CompiledTimeline,
    CompileTimelineInput,
    StoreSummaryInput,
    SummarizeTimelineInput,
)
from recap.core import metrics
from recap.core.config import Settings
from recap.core.logging import get_logger
from recap.llm.client import ChatModel
from recap.llm.schema import SessionSummary
from recap.services import summary as pipeline
from recap.services.bootstrap import SourceOpener
from recap.services.budget import ModelBudget
from recap.store.repository import StoredSummary, SummaryStore
from recap.store.summary_config import SummaryConfigStore

log = get_logger(__name__)


class SummaryActivities:
    """`compile_timeline` and `store_summary` run on the main queue; `summarize_session`
    on the model's own, rate-limited queue."""

    def __init__(
        self,
        settings: Settings,
        store: SummaryStore,
        open_source: SourceOpener,
        chat_model: Callable[[], ChatModel],
        budget: ModelBudget | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._open_source = open_source
        self._chat_model = chat_model
        # Built from the same settings and store unless given (tests pass one with a
        # clock): a model activity cannot be built without its team budget.
        self._budget = budget or ModelBudget.from_settings(settings, store)

    @activity.defn(name="compile_timeline")
    def compile_timeline(self, request: CompileTimelineInput) -> CompiledTimeline:
        with typed_errors():
            compiled = pipeline.compile_session(
                team_id=request.team_id,
                session_id=request.session_id,
                source=self._open_source(
                    request.source, team_id=request.team_id, progress=beat_per_block
                ),
                store=self._store,
                max_tokens=request.max_tokens or self._settings.timeline_max_tokens,
                config=self._settings.timeline,
            )
        metrics.session_compiled(compiled.tokens)
        log.info(
            "timeline compiled",
            team_id=request.team_id,
            session_id=request.session_id,
            events=compiled.events,
            tokens=compiled.tokens,
        )
        return compiled

    @activity.defn(name="summarize_session")
    async def summarize_session(self, request: SummarizeTimelineInput) -> SessionSummary:
        # Each attempt is a call on the team's budget, reserved before the model is asked:
        # a team past its day's calls or tokens fails here, non-retryably, at no cost.
        with typed_errors():
            reservation = await asyncio.to_thread(self._budget.reserve, request.team_id)
            # The team's own product context and tags (`session_summaries/config/`), else
            # the deployment's RECAP_PRODUCT_CONTEXT.
            config = await asyncio.to_thread(SummaryConfigStore(self._store).get, request.team_id)
        model = self._chat_model()
        try:
            async with heartbeating():
                with typed_errors():
                    summary = await pipeline.summarize_session(
                        timeline_hash=request.timeline_hash,
                        focus_area=request.focus_area,
                        store=self._store,
                        model=model,
                        schema_limits=self._settings.effective_llm_schema_limits,
                        product_context=config.prompt_context(self._settings.product_context),
                    )
        finally:
            await model.close()
        spent = (summary.run.prompt_tokens or 0) + (summary.run.completion_tokens or 0)
        try:
            await asyncio.to_thread(self._budget.record, reservation, spent)
        except Exception as error:
            # Failing now would retry, and pay for, a call that has answered: count it short.
            log.warning(
                "model tokens not counted against the team's budget",
                team_id=request.team_id,
                session_id=request.session_id,
                tokens=spent,
                error_type=type(error).__name__,
            )
        metrics.summary_generated(
            prompt_tokens=summary.run.prompt_tokens,
            completion_tokens=summary.run.completion_tokens,
            latency_ms=summary.run.latency_ms,
            dropped_parts=[dropped.part for dropped in summary.gate.dropped],
        )
        log.info(
            "session summarized",
            team_id=request.team_id,
            session_id=request.session_id,
            model=summary.run.model,
            latency_ms=summary.run.latency_ms,
            missing_refs=len(summary.gate.missing_refs),
        )
        return summary

    @activity.defn(name="store_summary")
    def store_summary(self, request: StoreSummaryInput) -> StoredSummary:
        with typed_errors():
            stored = pipeline.store_summary(
                team_id=request.team_id, summary=request.summary, store=self._store
            )
        metrics.summary_stored(success=request.summary.summary_outcome.success)
        return stored
