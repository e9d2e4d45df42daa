"""The journey's gate: keeps what the model said only where it cites events that exist.

A citation survives when its session is in the journey, has a summary and a stored
timeline, and its ref is in that timeline; its facts are copied from the timeline. A stuck
point or friction also needs evidence code found (a flagged or error event, or a failed
session); "overcome" needs a later session that succeeded. Every drop is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from recap.journeys.models import (
    ClaimPart,
    DroppedJourneyClaim,
    JourneyCitation,
    JourneyFindings,
    JourneySession,
    JourneyStatement,
    Overcome,
    StuckPoint,
)
from recap.journeys.prompting import JourneyAnswer, ModelStatement, ModelStuckPoint
from recap.journeys.sessions import JourneyInput, journey_sessions
from recap.llm.gate import _FRICTION_WORDS, _cite, _clean, _words
from recap.timeline.models import ERROR_KINDS, SIGNAL_FLAGS, Flag, TimelineEvent

STATEMENT_MAX_WORDS = 60
# What code raises where something went wrong: the signal flags, a request that got no
# answer, and error lines (a slow request is not an error, but its flag is friction).
EVIDENCE_FLAGS: Final = frozenset({*SIGNAL_FLAGS, Flag.FAILED})


@dataclass(frozen=True)
class _Cited:
    citation: JourneyCitation
    event: TimelineEvent
    session: JourneySession

    def order(self) -> tuple[int, int, str]:
        return (self.session.start_timestamp_ms, self.event.t_ms, self.event.ref)

    @property
    def evidence(self) -> bool:
        """Code found something wrong here: a flag, an error line, or a failed session."""
        return (
            bool(EVIDENCE_FLAGS & set(self.event.flags))
            or self.event.kind in ERROR_KINDS
            or self.session.outcome == "failure"
        )


class _JourneyGate:
    def __init__(self, inputs: Sequence[JourneyInput], step: str) -> None:
        self.inputs = {item.session_id: item for item in inputs}
        self.sessions = {session.session_id: session for session in journey_sessions(inputs)}
        self.step = step
        self.dropped: list[DroppedJourneyClaim] = []

    def drop(
        self, part: ClaimPart, session_id: str | None, ref: str | None, text: str, reason: str
    ) -> None:
        self.dropped.append(
            DroppedJourneyClaim(
                step=self.step,
                part=part,
                session_id=session_id,
                ref=ref,
                text=_clean(text)[:200],
                reason=reason,
            )
        )

    def cite(self, part: ClaimPart, session_id: str, ref: str, text: str) -> _Cited | None:
        """The cited event with its facts from the timeline, or None (the drop recorded)."""
        session_id, ref = session_id.strip(), ref.strip()
        item = self.inputs.get(session_id)
        if item is None:
            reason = f"session {session_id} is not in the journey"
        elif item.summary is None:
            reason = f"session {session_id} has no summary, so nothing in it can be cited"
        elif item.timeline is None:
            reason = f"session {session_id} has no stored timeline"
        elif (event := item.timeline.event(ref)) is None:
            reason = f"{ref} is not in session {session_id}'s timeline"
        else:
            return self._resolved(item, event)
        self.drop(part, session_id, ref, text, reason)
        return None

    def _resolved(self, item: JourneyInput, event: TimelineEvent) -> _Cited:
        cited = _cite(event, item.start_timestamp_ms)
        citation = JourneyCitation(
            session_id=item.session_id,
            ref=cited.ref,
            t_ms=cited.t_ms,
            timestamp=cited.timestamp,
            kind=cited.kind,
            target=cited.target,
            url=cited.url,
            flags=cited.flags,
        )
        return _Cited(citation, event, self.sessions[item.session_id])

    def citations(self, statement: ModelStatement) -> list[_Cited]:
        kept: dict[tuple[str, str], _Cited] = {}
        for item in statement.citations:
            found = self.cite("citation", item.session_id, item.ref, statement.description)
            if found is not None:
                kept.setdefault((found.citation.session_id, found.citation.ref), found)
        return sorted(kept.values(), key=_Cited.order)

    def statement(
        self, part: ClaimPart, statement: ModelStatement, *, friction: bool = False
    ) -> tuple[str, list[_Cited]] | None:
        """The statement's text and checked citations, or None (the drop recorded)."""
        text = _words(statement.description, STATEMENT_MAX_WORDS)
        if not text:
            self.drop(part, None, None, "", "it says nothing")
            return None
        cited = self.citations(statement)
        if not cited:
            reason = (
                f"none of its {len(statement.citations)} citations checks out"
                if statement.citations
                else "it cites no event"
            )
            self.drop(part, None, None, text, reason)
            return None
        unsupported = self._unsupported(text, cited) if friction else None
        if unsupported is not None:
            self.drop(part, None, None, text, unsupported)
            return None
        return text, cited

    @staticmethod
    def _unsupported(text: str, cited: Sequence[_Cited]) -> str | None:
        """Why a friction claim lacks code's evidence, or None when it has it."""
        if not any(item.evidence for item in cited):
            return "no cited event carries a code flag or an error, and no cited session failed"
        for pattern, flag in _FRICTION_WORDS:
            if pattern.search(text) and not any(flag in item.event.flags for item in cited):
                return f"it claims {flag} clicks, but no cited event has the {flag} flag"
        return None

    def overcome(self, stuck: ModelStuckPoint, cited: Sequence[_Cited]) -> Overcome | None:
        claim = stuck.overcome
        if claim is None:
            return None
        found = self.cite("overcome", claim.session_id, claim.ref, claim.description)
        if found is None:
            return None
        session = found.session
        last = max(cited, key=lambda item: item.session.start_timestamp_ms).session
        reason = None
        if session.start_timestamp_ms <= last.start_timestamp_ms:
            reason = (
                f"session {session.session_id} did not start after session {last.session_id}, "
                "the last one the stuck point cites"
            )
        elif session.outcome != "success":
            reason = f"session {session.session_id}'s outcome is {session.outcome}, not success"
        if reason is not None:
            self.drop("overcome", session.session_id, claim.ref, claim.description, reason)
            return None
        return Overcome(
            description=_words(claim.description, STATEMENT_MAX_WORDS),
            citation=found.citation,
            session_start=session.start,
        )


def _statement(kept: tuple[str, list[_Cited]]) -> JourneyStatement:
    text, cited = kept
    return JourneyStatement(description=text, citations=[item.citation for item in cited])


def gate_journey(
    answer: JourneyAnswer, inputs: Sequence[JourneyInput], *, step: str = "journey"
) -> JourneyFindings:
    """The statements of `answer` that check out against the sessions of `inputs`, and
    what was dropped and why (`step` names the call in the drops)."""
    gate = _JourneyGate(inputs, step)
    goal = gate.statement("goal", answer.goal)
    stuck_points: list[StuckPoint] = []
    for stuck in answer.stuck_points:
        kept = gate.statement("stuck_point", stuck, friction=True)
        if kept is None:
            continue
        statement = _statement(kept)
        stuck_points.append(
            StuckPoint(
                description=statement.description,
                citations=statement.citations,
                overcome=gate.overcome(stuck, kept[1]),
            )
        )
    friction = [
        _statement(kept)
        for item in answer.recurring_friction
        if (kept := gate.statement("recurring_friction", item, friction=True)) is not None
    ]
    state = gate.statement("current_state", answer.current_state)
    return JourneyFindings(
        goal=_statement(goal) if goal else None,
        stuck_points=stuck_points,
        recurring_friction=friction,
        current_state=_statement(state) if state else None,
        dropped=gate.dropped,
    )
