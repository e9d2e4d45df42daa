"""Sessions that look alike: TF-IDF over a short document per session (what the summary
says, which signals the timeline flagged, which errors it hit), ranked by cosine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel

from recap.llm.schema import SessionSummary
from recap.store.repository import SummaryStore
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


def similar_in_team(
    store: SummaryStore, team_id: str, session_id: str, top_n: int = 5
) -> tuple[list[SimilarSession], dict[str, SessionSummary]]:
    """The team's stored sessions most like `session_id`, best first, with the summaries
    (by session id) they were compared on; `UnknownSession` when it has nothing stored."""
    from recap.store.clusters import ClusterStore

    index = SessionIndex(store)
    summaries = index.summaries(team_id)
    fingerprints: dict[str, list[str]] = {}
    for occurrence in ClusterStore(store).load_occurrences(team_id):
        fingerprints.setdefault(occurrence.session_id, []).append(occurrence.fingerprint)
    documents: dict[str, str] = {}
    for each in index.session_ids(team_id):
        summary = summaries.get(each)
        stored = index.latest_timeline(team_id, each, summary)
        documents[each] = session_document(
            summary, stored.timeline if stored else None, fingerprints.get(each, [])
        )
    if session_id not in documents:
        raise UnknownSession(
            f"session {session_id} has no stored timeline or summary for team {team_id}"
        )
    return similar_sessions(session_id, documents, top_n=top_n), summaries
