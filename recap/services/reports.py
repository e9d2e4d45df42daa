"""A pattern report's use cases, one per step of `PatternReportWorkflow`: select the
sessions, read their stored summaries and timelines into the report's view of them, find,
merge and assign patterns with the model, and build and store the report.

Every step reads the sessions it needs from the store by id, so what travels between the
steps is ids, candidate patterns and assignments: never a timeline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from recap.core.config import Settings
from recap.llm.client import ChatModel
from recap.reports import (
    Assignment,
    CandidatePattern,
    ReportSession,
    StepUsage,
    assign_chunks,
    assign_events,
    build_patterns,
    consolidate_patterns,
    find_candidate_patterns,
    map_chunks,
    prompt_versions,
    report_id,
    report_run,
    report_session,
    report_title,
)
from recap.reports.models import PatternReport, ReportInputs, SessionNotReported
from recap.reports.sessions import CountTokens
from recap.services.bootstrap import SourceUnavailable, TeamSources
from recap.services.scheduled_run import RecordingFilters, RecordingWindow
from recap.services.selection import list_ended_recordings
from recap.store.reports import ReportStore
from recap.store.repository import SummaryStore
from recap.timeline.models import Timeline

# A batch failure's type -> PostHog's error name for a session it could not summarize.
POSTHOG_ERRORS: Mapping[str, str] = {
    "recording_not_found": "recording_not_found",
    "no_events_or_too_short": "no_events_or_too_short",
}
SUMMARY_FAILED = "summary_failed"


@dataclass(frozen=True)
class SelectedSessions:
    session_ids: list[str]
    window: RecordingWindow
    truncated: bool


async def select_sessions(
    *,
    team_id: str,
    source: str | None,
    since_seconds: int,
    filters: RecordingFilters,
    max_sessions: int,
    now: datetime,
    settings: Settings,
    sources: TeamSources,
) -> SelectedSessions:
    """The team's recordings that ended in [now - since, now] and pass the filters, newest
    first, at most `max_sessions` (a report is about what happened lately)."""
    window = RecordingWindow(start=now - timedelta(seconds=since_seconds), end=now)
    try:
        resolved = sources.resolve(team_id, source)
        ended = await list_ended_recordings(
            str(resolved.spec),
            window,
            filters,
            settings,
            posthog_config=resolved.posthog_config(settings) if resolved.spec.is_posthog else None,
        )
    except (ValueError, FileNotFoundError) as error:
        raise SourceUnavailable(str(error)) from error
    newest = [recording.session_id for recording in reversed(ended)]
    return SelectedSessions(
        session_ids=newest[:max_sessions], window=window, truncated=len(newest) > max_sessions
    )


def selection_record(
    selected: SelectedSessions, *, since_seconds: int, filters: RecordingFilters
) -> dict[str, str]:
    """How the sessions were chosen, as the report's inputs keep it."""
    record = {
        "since_seconds": str(since_seconds),
        "window_start": selected.window.start.isoformat(),
        "window_end": selected.window.end.isoformat(),
    }
    for name, value in filters.model_dump(exclude_none=True).items():
        record[name] = str(value)
    if selected.truncated:
        record["truncated"] = "true"
    return record


def not_summarized(session_id: str, error_type: str, message: str) -> SessionNotReported:
    """A session the batch could not summarize, under PostHog's error name."""
    return SessionNotReported(
        session_id=session_id,
        error=POSTHOG_ERRORS.get(error_type, SUMMARY_FAILED),
        error_message=f"session {session_id} could not be summarized ({error_type}): {message}",
    )


@dataclass(frozen=True)
class LoadedSessions:
    sessions: list[ReportSession]
    timelines: dict[str, Timeline]
    missing: list[SessionNotReported]


def load_sessions(
    store: SummaryStore, *, team_id: str, session_ids: Sequence[str], focus_area: str | None
) -> LoadedSessions:
    """Each session's stored summary for the focus area (as the batch stored it) and the
    timeline it was written from, in the order given; a session without either is missing."""
    sessions: list[ReportSession] = []
    timelines: dict[str, Timeline] = {}
    missing: list[SessionNotReported] = []
    for session_id in dict.fromkeys(session_ids):
        stored = store.get_summary(team_id=team_id, session_id=session_id, focus_area=focus_area)
        summary = stored.summary if stored is not None else None
        if summary is None:
            missing.append(
                SessionNotReported(
                    session_id=session_id,
                    error=SUMMARY_FAILED,
                    error_message=f"session {session_id} has no stored summary for this focus "
                    "area; summarize it, then make the report again",
                )
            )
            continue
        timeline = store.load_timeline(summary.run.timeline_hash)
        if timeline is None:
            missing.append(
                SessionNotReported(
                    session_id=session_id,
                    error=SUMMARY_FAILED,
                    error_message=f"the timeline session {session_id}'s summary was written "
                    "from is not stored; summarize the session again with force",
                )
            )
            continue
        sessions.append(report_session(summary, timeline.timeline))
        timelines[session_id] = timeline.timeline
    return LoadedSessions(sessions=sessions, timelines=timelines, missing=missing)


@dataclass(frozen=True)
class PreparedReport:
    chunks: list[list[str]]
    """The map step's chunks, as session ids."""
    not_reported: list[SessionNotReported]


def prepare_report(
    store: SummaryStore,
    *,
    team_id: str,
    session_ids: Sequence[str],
    focus_area: str | None,
    failed: Mapping[str, tuple[str, str]],
    max_tokens: int,
    count_tokens: CountTokens,
) -> PreparedReport:
    """The sessions with a stored summary, split into map chunks that fit `max_tokens`;
    the rest not reported (`failed`: session id -> the batch's error type and message)."""
    not_reported = [
        not_summarized(session_id, *failed[session_id])
        for session_id in dict.fromkeys(session_ids)
        if session_id in failed
    ]
    wanted = [session_id for session_id in session_ids if session_id not in failed]
    loaded = load_sessions(store, team_id=team_id, session_ids=wanted, focus_area=focus_area)
    chunks = map_chunks(
        loaded.sessions, focus_area=focus_area, max_tokens=max_tokens, count_tokens=count_tokens
    )
    return PreparedReport(
        chunks=[[session.session_id for session in chunk] for chunk in chunks],
        not_reported=not_reported + loaded.missing,
    )


async def find_chunk_patterns(
    store: SummaryStore,
    model: ChatModel,
    *,
    team_id: str,
    session_ids: Sequence[str],
    focus_area: str | None,
    schema_limits: bool,
) -> tuple[list[CandidatePattern], StepUsage]:
    """Map: one chunk's candidate patterns."""
    loaded = await asyncio.to_thread(
        load_sessions, store, team_id=team_id, session_ids=session_ids, focus_area=focus_area
    )
    return await find_candidate_patterns(
        loaded.sessions, focus_area=focus_area, model=model, schema_limits=schema_limits
    )


def plan_assignment(
    store: SummaryStore,
    *,
    team_id: str,
    session_ids: Sequence[str],
    focus_area: str | None,
    patterns: Sequence[CandidatePattern],
    max_tokens: int,
    count_tokens: CountTokens,
) -> list[list[str]]:
    """The assign step's chunks, as session ids: the patterns' list takes room in each."""
    if not patterns:
        return []
    loaded = load_sessions(store, team_id=team_id, session_ids=session_ids, focus_area=focus_area)
    chunks = assign_chunks(
        loaded.sessions, patterns, max_tokens=max_tokens, count_tokens=count_tokens
    )
    return [[session.session_id for session in chunk] for chunk in chunks]


async def assign_chunk(
    store: SummaryStore,
    model: ChatModel,
    *,
    team_id: str,
    session_ids: Sequence[str],
    focus_area: str | None,
    patterns: Sequence[CandidatePattern],
    schema_limits: bool,
) -> tuple[list[Assignment], StepUsage]:
    """Assign: which of one chunk's cited events show which pattern."""
    loaded = await asyncio.to_thread(
        load_sessions, store, team_id=team_id, session_ids=session_ids, focus_area=focus_area
    )
    return await assign_events(loaded.sessions, patterns, model=model, schema_limits=schema_limits)


def _total(usages: Sequence[StepUsage]) -> StepUsage:
    total = StepUsage()
    for usage in usages:
        total = total + usage
    return total


def store_report(
    store: SummaryStore,
    *,
    team_id: str,
    requested: Sequence[str],
    reported: Sequence[str],
    not_reported: Sequence[SessionNotReported],
    focus_area: str | None,
    selection: dict[str, str] | None,
    patterns: Sequence[CandidatePattern],
    assignments: Sequence[Assignment],
    map_usage: Sequence[StepUsage],
    reduce_usage: Sequence[StepUsage],
    assign_usage: Sequence[StepUsage],
    configured_model: str,
    created_at: datetime,
) -> PatternReport:
    """Checks and counts the assignments against the reported sessions' stored timelines
    (`build_patterns`) and stores the report under its stable id.

    `patterns` is the consolidated list in the order assign saw it (its ids are places).
    The model is the one that answered, else (no call was made) the configured one."""
    loaded = load_sessions(store, team_id=team_id, session_ids=reported, focus_area=focus_area)
    kept, gate = build_patterns(patterns, assignments, loaded.sessions, loaded.timelines)
    steps = {"map": _total(map_usage), "reduce": _total(reduce_usage)}
    steps["assign"] = _total(assign_usage)
    model = _total(list(steps.values())).model or configured_model
    versions = prompt_versions()
    reported_ids = [session.session_id for session in loaded.sessions]
    report = PatternReport(
        report_id=report_id(
            team_id=team_id,
            session_ids=reported_ids,
            focus_area=focus_area,
            prompt_versions=versions,
            model=model,
        ),
        team_id=team_id,
        title=report_title(len(reported_ids), focus_area),
        created_at=created_at,
        inputs=ReportInputs(
            session_ids=list(dict.fromkeys(requested)),
            focus_area=focus_area,
            selection=selection,
            model=model,
            prompt_versions=versions,
        ),
        sessions_reported=len(reported_ids),
        sessions_failed=sum(not session.success for session in loaded.sessions),
        not_reported=[*not_reported, *loaded.missing],
        patterns=kept,
        gate=gate,
        run=report_run(
            map_usage=steps["map"], reduce_usage=steps["reduce"], assign_usage=steps["assign"]
        ),
    )
    ReportStore(store).save_report(report)
    return report


async def consolidate(
    model: ChatModel,
    *,
    candidates: Sequence[CandidatePattern],
    focus_area: str | None,
    max_tokens: int,
    count_tokens: CountTokens,
    schema_limits: bool,
) -> tuple[list[CandidatePattern], StepUsage]:
    """Reduce: the chunks' candidates merged into the report's patterns (in rounds when
    they do not fit one prompt)."""
    return await consolidate_patterns(
        candidates,
        focus_area=focus_area,
        model=model,
        max_tokens=max_tokens,
        count_tokens=count_tokens,
        schema_limits=schema_limits,
    )
