"""The three steps of one session summary as plain functions: compile, summarize, store.

Temporal activities call these; so can tests and benchmarks, without Temporal.
"""

from __future__ import annotations

from pydantic import BaseModel

from recap.core.config import TimelineConfig
from recap.llm.client import ChatModel
from recap.llm.schema import SessionSummary
from recap.llm.summarize import SummaryRequest, summarize_timeline
from recap.recording.models import NoEventsOrTooShort, RecordingNotFound, SnapshotSource
from recap.store.repository import StoredSummary, SummaryStore
from recap.timeline import budget_timeline, compile_timeline, count_tokens, render_timeline
from recap.timeline import timeline_hash as hash_timeline


class CompiledTimeline(BaseModel):
    """A pointer to the stored timeline plus what the workflow shows operators."""

    session_id: str
    timeline_hash: str
    tokens: int
    events: int
    duration_ms: int
    truncated_events: int = 0


def compile_session(
    *,
    team_id: str,
    session_id: str,
    source: SnapshotSource,
    store: SummaryStore,
    max_tokens: int,
    config: TimelineConfig | None = None,
) -> CompiledTimeline:
    recording = source.load(session_id)
    if recording.session_id != session_id:
        raise RecordingNotFound(
            f"recording file for {session_id} holds session {recording.session_id}"
        )
    full = compile_timeline(recording, config)
    minimum_ms = (config or TimelineConfig()).min_session_ms
    if not full.events or full.session.duration_ms < minimum_ms:
        raise NoEventsOrTooShort(
            f"recording {session_id} has {len(full.events)} events over "
            f"{full.session.duration_ms} ms: nothing to summarize (at least {minimum_ms} ms "
            "with events are needed)"
        )
    timeline = budget_timeline(full, max_tokens)
    text = render_timeline(timeline)
    tokens = count_tokens(text)
    digest = hash_timeline(timeline)
    store.save_timeline(
        team_id=team_id, timeline_hash=digest, timeline=timeline, text=text, tokens=tokens
    )
    return CompiledTimeline(
        session_id=session_id,
        timeline_hash=digest,
        tokens=tokens,
        events=len(timeline.events),
        duration_ms=timeline.session.duration_ms,
        truncated_events=timeline.stats.truncated_events,
    )


class TimelineMissing(Exception):
    code = "timeline_missing"


async def summarize_session(
    *,
    timeline_hash: str,
    focus_area: str | None,
    store: SummaryStore,
    model: ChatModel,
    schema_limits: bool = False,
    product_context: str | None = None,
) -> SessionSummary:
    stored = store.load_timeline(timeline_hash)
    if stored is None:
        raise TimelineMissing(f"compiled timeline {timeline_hash} is not in the store")
    request = SummaryRequest(
        timeline=stored.timeline,
        rendered=stored.text,
        timeline_hash=stored.timeline_hash,
        timeline_tokens=stored.tokens,
        focus_area=focus_area or None,
        schema_limits=schema_limits,
        product_context=product_context,
    )
    return await summarize_timeline(request, model)


def store_summary(*, team_id: str, summary: SessionSummary, store: SummaryStore) -> StoredSummary:
    return store.save_summary(team_id=team_id, summary=summary)
