"""Sessions that look alike: TF-IDF over a short document per session (what the summary
says, which signals the timeline flagged, which errors it hit), ranked by cosine.

The documents are written when a session's summary or error occurrences are stored
(`refresh_session_document`), so a request reads the team's documents, never a timeline;
sessions stored before the index existed are indexed once per team, on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Final
from weakref import WeakKeyDictionary

from pydantic import BaseModel
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel

from recap.llm.schema import SessionSummary
from recap.store.clusters import ClusterStore
from recap.store.repository import StoredTimeline, SummaryStore
from recap.store.session_documents import SessionDocuments
from recap.store.session_index import SessionIndex
from recap.timeline.models import Timeline


class SimilarSession(BaseModel):
    session_id: str
    score: float


def session_document(
    summary: SessionSummary | None, timeline: Timeline | None, fingerprints: Sequence[str]
) -> str:
    """The words a session is compared on; signals and errors become single tokens
    (`flag_rage`, `issue_dead_click`, `fp_<hex>`) so they match only themselves."""
    parts: list[str] = []
    if summary is not None:
        parts.append(summary.title)
        outcome = summary.summary_outcome
        parts.append("outcome_success" if outcome.success else "outcome_failed")
        parts.append(outcome.description)
        parts.extend(action.description for action in summary.key_actions)
        parts.extend(f"issue_{issue.kind.value}" for issue in summary.issues)
    if timeline is not None:
        for event in timeline.events:
            parts.extend(f"flag_{flag}" for flag in event.flags)
    parts.extend(f"fp_{fingerprint}" for fingerprint in fingerprints)
    return "\n".join(part for part in parts if part)


def similar_sessions(
    target: str, documents: Mapping[str, str], top_n: int = 5
) -> list[SimilarSession]:
    """The `top_n` sessions most like `target` (never itself), best first; sessions
    sharing nothing with it are left out."""
    if target not in documents:
        raise ValueError(
            f"session {target} has no document to compare: summarize it first"
            " or pass its document with the others"
        )
    ids = sorted(documents)
    vectorizer = TfidfVectorizer(sublinear_tf=True, token_pattern=r"(?u)\b\w\w+\b")
    try:
        matrix = vectorizer.fit_transform([documents[session_id] for session_id in ids])
    except ValueError:  # every document empty: nothing to compare on
        return []
    row = ids.index(target)
    scores = linear_kernel(matrix[row], matrix).ravel()  # rows are L2-normalized: cosine
    ranked = sorted(
        (
            (float(score), session_id)
            for session_id, score in zip(ids, scores, strict=True)
            if session_id != target and score > 0
        ),
        key=lambda pair: (-pair[0], pair[1]),
    )
    return [
        SimilarSession(session_id=session_id, score=round(score, 4))
        for score, session_id in ranked[:top_n]
    ]


class UnknownSession(LookupError):
    """The team has neither a timeline nor a summary stored for the session."""


def _document_timeline(
    store: SummaryStore,
    team_id: str,
    session_id: str,
    summary: SessionSummary | None,
    known: StoredTimeline | None,
) -> Timeline | None:
    """The timeline a session is compared on (the one its summary was written from, else
    its newest), reusing `known` when it is that one instead of reading it again."""
    index = SessionIndex(store)
    if known is not None:
        if summary is not None and summary.run.timeline_hash == known.timeline_hash:
            return known.timeline
        if summary is None and index.newest_timeline_hash(team_id, session_id) == (
            known.timeline_hash
        ):
            return known.timeline
    stored = index.latest_timeline(team_id, session_id, summary)
    return stored.timeline if stored else None


def refresh_session_document(
    store: SummaryStore, team_id: str, session_id: str, *, timeline: StoredTimeline | None = None
) -> None:
    """Rewrite the session's document from what is stored now: its summary (the one without
    a focus area), the timeline that summary was written from (else the newest) and its
    error fingerprints. Call it after storing any of them; `timeline` is one the caller
    already holds, reused when it is the one the document is built from."""
    with SessionDocuments(store).refreshing(team_id, session_id) as write:
        stored = store.get_summary(team_id=team_id, session_id=session_id)
        summary = stored.summary if stored is not None else None
        fingerprints = [
            occurrence.fingerprint
            for occurrence in ClusterStore(store).load_occurrences(team_id, [session_id])
        ]
        write(
            session_document(
                summary,
                _document_timeline(store, team_id, session_id, summary, timeline),
                fingerprints,
            )
        )


# Sessions indexed per backfill slice: their summaries and errors are read together, their
# timelines one at a time, so memory follows the slice, not the team.
_BACKFILL_SLICE: Final = 100


def backfill_documents(
    store: SummaryStore, team_id: str, session_ids: Sequence[str] | None = None
) -> int:
    """Index the team's sessions (among `session_ids`, when given) that have a timeline or
    summary stored but no document; returns how many. Documents written meanwhile by a
    refresh are kept: they were built from state at least as new."""
    documents = SessionDocuments(store)
    missing = documents.without_document(team_id, session_ids)
    index = SessionIndex(store)
    clusters = ClusterStore(store)
    for start in range(0, len(missing), _BACKFILL_SLICE):
        chunk = missing[start : start + _BACKFILL_SLICE]
        summaries = index.summaries(team_id, chunk)
        fingerprints: dict[str, list[str]] = {}
        for occurrence in clusters.load_occurrences(team_id, chunk):
            fingerprints.setdefault(occurrence.session_id, []).append(occurrence.fingerprint)
        written: dict[str, str] = {}
        for each in chunk:
            summary = summaries.get(each)
            stored = index.latest_timeline(team_id, each, summary)
            written[each] = session_document(
                summary, stored.timeline if stored else None, fingerprints.get(each, [])
            )
        documents.fill(team_id, written)
    return len(missing)


class _Backfills:
    """Which teams of which store this process has backfilled: once per team, and
    concurrent first requests wait for one backfill instead of each running their own."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._done: WeakKeyDictionary[SummaryStore, set[str]] = WeakKeyDictionary()
        self._locks: WeakKeyDictionary[SummaryStore, dict[str, threading.Lock]] = (
            WeakKeyDictionary()
        )

    def _is_done(self, store: SummaryStore, team_id: str) -> bool:
        with self._guard:
            return team_id in self._done.get(store, ())

    def ensure(self, store: SummaryStore, team_id: str) -> None:
        if self._is_done(store, team_id):
            return
        with self._guard:
            lock = self._locks.setdefault(store, {}).setdefault(team_id, threading.Lock())
        with lock:
            if self._is_done(store, team_id):
                return
            backfill_documents(store, team_id)
            with self._guard:
                self._done.setdefault(store, set()).add(team_id)


_BACKFILLS = _Backfills()


def similar_in_team(
    store: SummaryStore, team_id: str, session_id: str, top_n: int = 5
) -> tuple[list[SimilarSession], dict[str, SessionSummary]]:
    """The team's stored sessions most like `session_id`, best first, with the summaries
    (by session id) of those matches; `UnknownSession` when it has nothing stored."""
    _BACKFILLS.ensure(store, team_id)
    documents = SessionDocuments(store).load(team_id)
    # A session stored since the backfill by a path that writes no document (a timeline
    # compiled whose summary never came) is indexed when asked for; an id the team never
    # stored costs one query on ids.
    if session_id not in documents and backfill_documents(store, team_id, [session_id]):
        documents = SessionDocuments(store).load(team_id)
    if session_id not in documents:
        raise UnknownSession(
            f"session {session_id} has no stored timeline or summary for team {team_id}"
        )
    matches = similar_sessions(session_id, documents, top_n=top_n)
    summaries = SessionIndex(store).summaries(team_id, [match.session_id for match in matches])
    return matches, summaries
