"""The three activities of a session summary: thin adapters over `recap.services.summary`.

Credentials and connections come from the worker's environment here, never from the
workflow's inputs.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

from temporalio import activity

from activities.errors import typed_errors
from activities.models import (
    CompiledTimeline,
    CompileTimelineInput,
    StoreSummaryInput,
    SummarizeTimelineInput,
)
from recap.core import metrics
from recap.core.config import get_settings
from recap.core.logging import get_logger
from recap.llm.schema import SessionSummary
from recap.services import summary as pipeline
from recap.services.bootstrap import chat_model, open_source
from recap.store.repository import StoredSummary, store_for

log = get_logger(__name__)

HEARTBEAT_SECONDS = 5.0


@activity.defn(name="compile_timeline")
def compile_timeline(request: CompileTimelineInput) -> CompiledTimeline:
    settings = get_settings()
    with typed_errors():
        source = open_source(
            request.source or settings.source,
            settings,
            # Streaming a large recording takes a while: tell Temporal the worker is alive.
            progress=lambda progress: activity.heartbeat(
                progress.blocks_done, progress.blocks_total
            ),
        )
        compiled = pipeline.compile_session(
            team_id=request.team_id,
            session_id=request.session_id,
            source=source,
            store=store_for(settings.resolved_database_url),
            max_tokens=request.max_tokens or settings.timeline_max_tokens,
            config=settings.timeline,
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


async def _heartbeat_forever() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_SECONDS)


@activity.defn(name="summarize_session")
async def summarize_session(request: SummarizeTimelineInput) -> SessionSummary:
    settings = get_settings()
    model = chat_model(settings)
    heartbeat = asyncio.create_task(_heartbeat_forever())
    try:
        with typed_errors():
            summary = await pipeline.summarize_session(
                timeline_hash=request.timeline_hash,
                focus_area=request.focus_area,
                store=store_for(settings.resolved_database_url),
                model=model,
                schema_limits=settings.effective_llm_schema_limits,
                product_context=settings.product_context,
            )
    finally:
        heartbeat.cancel()
        with suppress(asyncio.CancelledError):
            await heartbeat
        await model.close()
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
def store_summary(request: StoreSummaryInput) -> StoredSummary:
    settings = get_settings()
    with typed_errors():
        stored = pipeline.store_summary(
            team_id=request.team_id,
            summary=request.summary,
            store=store_for(settings.resolved_database_url),
        )
    metrics.summary_stored(success=request.summary.summary_outcome.success)
    return stored


ALL_ACTIVITIES = (compile_timeline, summarize_session, store_summary)
# The model call runs on its own, rate-limited task queue; the rest on the main one.
MODEL_ACTIVITIES = (summarize_session,)
PIPELINE_ACTIVITIES = (compile_timeline, store_summary)
