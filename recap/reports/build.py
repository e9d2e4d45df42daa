"""The report's gate and counts, in code: every example the model assigned is checked against
the session's stored timeline, its facts copied from there, and every number counted.

A pattern none of whose examples checks out is dropped, with the reason recorded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from recap.llm.gate import _cite
from recap.reports.assign import Assignment, pattern_ids
from recap.reports.models import (
    SEVERITY_ORDER,
    DroppedExample,
    DroppedPattern,
    Pattern,
    PatternExample,
    PatternStats,
    ReportGate,
)
from recap.reports.patterns import CandidatePattern
from recap.reports.sessions import ReportSession
from recap.timeline.models import Timeline, TimelineEvent

RATIO_DIGITS = 4


@dataclass(frozen=True)
class _Resolved:
    session: ReportSession
    event: TimelineEvent
    start_ms: int | None
    description: str

    @property
    def at_ms(self) -> int | None:
        return None if self.start_ms is None else self.start_ms + self.event.t_ms

    def order(self) -> tuple[int, str, int]:
        # sessions without a start time sort last, then by session, then by time within it
        at = self.at_ms
        return (at if at is not None else 1 << 62, self.session.session_id, self.event.t_ms)


def _check(
    assignment: Assignment,
    sessions: Mapping[str, ReportSession],
    timelines: Mapping[str, Timeline],
) -> tuple[_Resolved | None, str]:
    """The resolved example, or None and why it does not resolve."""
    session = sessions.get(assignment.session_id)
    if session is None:
        return None, f"session {assignment.session_id} is not in the report"
    timeline = timelines.get(assignment.session_id)
    if timeline is None:
        return None, f"session {assignment.session_id} has no stored timeline"
    event = timeline.event(assignment.ref)
    if event is None:
        return None, f"{assignment.ref} is not in session {assignment.session_id}'s timeline"
    if assignment.ref not in session.refs:
        # the model was never shown this event, so its word about it is a guess
        return None, (
            f"{assignment.ref} is not an event session {assignment.session_id}'s summary cites"
        )
    start_ms = timeline.session.start_timestamp_ms
    return _Resolved(session, event, start_ms, assignment.description), ""


def _example(found: _Resolved) -> PatternExample:
    cited = _cite(found.event, found.start_ms)
    return PatternExample(
        session_id=found.session.session_id,
        ref=cited.ref,
        t_ms=cited.t_ms,
        timestamp=cited.timestamp,
        url=cited.url,
        kind=cited.kind,
        target=cited.target,
        description=found.description,
        session_failed=not found.session.success,
    )


def _moment(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def _pattern(candidate: CandidatePattern, found: list[_Resolved], reported: int) -> Pattern:
    found = sorted(found, key=_Resolved.order)
    first_per_session: dict[str, _Resolved] = {}
    for item in found:
        first_per_session.setdefault(item.session.session_id, item)
    affected = len(first_per_session)
    moments = [item.at_ms for item in found if item.at_ms is not None]
    stats = PatternStats(
        sessions_affected=affected,
        sessions_affected_ratio=round(affected / reported, RATIO_DIGITS) if reported else 0.0,
        occurrences=len(found),
        sessions_failed=sum(not item.session.success for item in first_per_session.values()),
        first_seen=_moment(min(moments)) if moments else None,
        last_seen=_moment(max(moments)) if moments else None,
        single_session=affected == 1,
    )
    return Pattern(
        pattern_id="",
        name=candidate.name,
        description=candidate.description,
        severity=candidate.severity,
        indicators=list(candidate.indicators),
        stats=stats,
        examples=[_example(item) for item in first_per_session.values()],
    )


def build_patterns(
    patterns: Sequence[CandidatePattern],
    assignments: Sequence[Assignment],
    sessions: Sequence[ReportSession],
    timelines: Mapping[str, Timeline],
) -> tuple[list[Pattern], ReportGate]:
    """The report's patterns and what the gate did not keep.

    An example resolves when its session is in the report, its ref is in that session's
    stored timeline and the session's summary cites it; time, timestamp, URL, kind and
    target are copied from the timeline event. The same event assigned twice counts once.
    Each pattern keeps one example per session (its first in time); occurrences count
    every resolved event; the ratio is over `sessions`. Patterns with no resolved example
    are dropped. Severity first (most severe), then most sessions, then name.
    """
    by_session = {session.session_id: session for session in sessions}
    by_id = dict(zip(pattern_ids(patterns), patterns, strict=True))
    found: dict[str, dict[tuple[str, str], _Resolved]] = {key: {} for key in by_id}
    assigned: dict[str, int] = dict.fromkeys(by_id, 0)
    first_reason: dict[str, str] = {}
    gate = ReportGate()
    for assignment in assignments:
        candidate = by_id.get(assignment.pattern_id)
        if candidate is None:
            gate.dropped_examples.append(
                DroppedExample(
                    pattern=assignment.pattern_id,
                    session_id=assignment.session_id,
                    ref=assignment.ref,
                    reason=f"{assignment.pattern_id} is not one of the report's patterns",
                )
            )
            continue
        assigned[assignment.pattern_id] += 1
        resolved, reason = _check(assignment, by_session, timelines)
        if resolved is None:
            first_reason.setdefault(assignment.pattern_id, reason)
            gate.dropped_examples.append(
                DroppedExample(
                    pattern=candidate.name,
                    session_id=assignment.session_id,
                    ref=assignment.ref,
                    reason=reason,
                )
            )
            continue
        found[assignment.pattern_id].setdefault((assignment.session_id, assignment.ref), resolved)

    kept: list[Pattern] = []
    for key, candidate in by_id.items():
        if not found[key]:
            if assigned[key]:
                reason = (
                    f"none of its {assigned[key]} examples checks out (first: {first_reason[key]})"
                )
            else:
                reason = "no session's cited events were assigned to it"
            gate.dropped_patterns.append(DroppedPattern(name=candidate.name, reason=reason))
            continue
        kept.append(_pattern(candidate, list(found[key].values()), len(sessions)))
    kept.sort(
        key=lambda p: (SEVERITY_ORDER[p.severity], -p.stats.sessions_affected, p.name.casefold())
    )
    numbered = [
        pattern.model_copy(update={"pattern_id": f"p{number}"})
        for number, pattern in enumerate(kept, start=1)
    ]
    return numbered, gate


def report_id(
    *,
    team_id: str,
    session_ids: Sequence[str],
    focus_area: str | None,
    prompt_versions: Mapping[str, str],
    model: str,
) -> str:
    """`rp_` and 16 hex of a hash over everything the report is made from, so the same
    team, sessions (in any order), focus area, prompts and model give the same id."""
    focus = " ".join(focus_area.split()) if focus_area else None
    payload = {
        "team": team_id,
        "sessions": sorted(set(session_ids)),
        "focus": focus or None,
        "prompts": dict(sorted(prompt_versions.items())),
        "model": model,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "rp_" + hashlib.sha256(text.encode()).hexdigest()[:16]


def report_title(sessions_reported: int, focus_area: str | None) -> str:
    noun = "session" if sessions_reported == 1 else "sessions"
    title = f"Patterns across {sessions_reported} {noun}"
    focus = " ".join(focus_area.split()) if focus_area else ""
    return f"{title}: {focus[:80]}" if focus else title
