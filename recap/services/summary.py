"""The three steps of one session summary as plain functions: compile, summarize, store;
and which sessions the current prompt version has already summarized.

Temporal activities call these; so can the starter, tests and benchmarks, without Temporal.
"""

from __future__ import annotations

from recap.core.config import TimelineConfig
from recap.llm.client import ChatModel
from recap.llm.prompts import load_prompt
from recap.llm.schema import SessionSummary
from recap.llm.summarize import SummaryRequest, summarize_timeline
from recap.recording.models import NoEventsOrTooShort, RecordingNotFound, SnapshotSource
from recap.services.compiled import CompiledTimeline
from recap.store.repository import StoredSummary, StoredTimeline, SummaryStore
from recap.timeline import compile_budgeted, count_tokens, render_timeline
from recap.timeline import timeline_hash as hash_timeline


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
    # Budgeted as it is compiled: a long recording's events are never all held at once.
    timeline = compile_budgeted(recording, max_tokens, config)
    minimum_ms = (config or TimelineConfig()).min_session_ms
    events = timeline.stats.emitted_events
    if not events or timeline.session.duration_ms < minimum_ms:
        raise NoEventsOrTooShort(
            f"recording {session_id} has {events} events over "
            f"{timeline.session.duration_ms} ms: nothing to summarize (at least {minimum_ms} ms "
            "with events are needed)"
        )
    text = render_timeline(timeline)
    tokens = count_tokens(text)
    digest = hash_timeline(timeline)
    store.save_timeline(
        team_id=team_id, timeline_hash=digest, timeline=timeline, text=text, tokens=tokens
    )
    # A session compiled but never summarized (the model failed) is still one the similar
    # sessions of others are ranked against.
    from recap.services.similar import refresh_session_document

    refresh_session_document(
        store,
        team_id,
        session_id,
        timeline=StoredTimeline(timeline_hash=digest, timeline=timeline, text=text, tokens=tokens),
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
    """Stores the summary and refreshes the session's similar-sessions document with it."""
    # Imported here: the error stores pull in scikit-learn, which the CLI's
    # `summarized_sessions` path (this module) should not load.
    from recap.services.similar import refresh_session_document

    stored = store.save_summary(team_id=team_id, summary=summary)
    refresh_session_document(store, team_id, summary.session_id)
    return stored


def current_prompt_version() -> str:
    """The version of the prompt summaries are written with now; a summary written with
    another is stale and is summarized again."""
    return load_prompt().version


def summarized_sessions(
    store: SummaryStore,
    *,
    team_id: str,
    session_ids: list[str],
    focus_area: str | None,
    prompt_version: str,
) -> list[str]:
    """The sessions, in the order given, whose summary for this focus area `prompt_version`
    wrote: work that a batch or `recap summarize` need not repeat."""
    found = store.sessions_with_summary(
        team_id=team_id,
        session_ids=session_ids,
        focus_area=focus_area,
        prompt_version=prompt_version,
    )
    return [session_id for session_id in session_ids if session_id in found]
