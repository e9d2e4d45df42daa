"""Clusters of errors across sessions, with ids that survive re-runs.

Occurrences are first grouped by fingerprint; only the distinct fingerprints (hundreds,
even for 10,000 sessions) are vectorized (TF-IDF over character n-grams) and merged by
average-linkage agglomerative clustering on cosine distance. Clusters never mix error
kinds, nor failed requests of different status classes, methods or parent paths. Each
cluster is matched to the previous run's clusters by the cosine similarity of their TF-IDF
centroids, so its id and its name carry over.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_distances

from recap.clustering.fingerprint import normalize_frame, status_class
from recap.clustering.models import ErrorCluster, ErrorKind, ErrorOccurrence

SAMPLES: Final = 5
CENTROID_TERMS: Final = 64


@dataclass
class FingerprintGroup:
    """Every occurrence of one fingerprint, reduced to what cluster counts need."""

    fingerprint: str
    kind: ErrorKind
    partition: str
    text: str
    occurrences: int = 0
    sessions: dict[str, bool | None] = field(default_factory=dict)
    first_seen_ms: int | None = None
    last_seen_ms: int | None = None
    messages: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    echoes: Counter[str] = field(default_factory=Counter)
    session_first: dict[str, int] = field(default_factory=dict)

    def add(self, o: ErrorOccurrence) -> None:
        self.occurrences += o.count
        known = self.sessions.get(o.session_id)
        self.sessions[o.session_id] = o.failed_outcome if known is None else known
        when = o.timestamp_ms
        if when is not None:
            self.first_seen_ms = (
                when if self.first_seen_ms is None else min(self.first_seen_ms, when)
            )
            self.last_seen_ms = when if self.last_seen_ms is None else max(self.last_seen_ms, when)
        order = when if when is not None else o.t_ms
        self.session_first[o.session_id] = min(self.session_first.get(o.session_id, order), order)
        self.messages[o.message] += o.count
        if o.preceding_action:
            self.actions[o.preceding_action] += o.count
        self.echoes.update(o.echoes)


def _key_text(o: ErrorOccurrence) -> str:
    """The text near-duplicates are compared on."""
    if o.kind is ErrorKind.NETWORK:
        return f"{o.method} {o.path_template} {o.status}"
    frame = normalize_frame(o.top_frame) if o.top_frame else ""
    return f"{o.normalized} {frame}".strip()


def _partition(o: ErrorOccurrence) -> str:
    """Fingerprints may merge only within one partition. Failed requests merge only with
    the same method and status class under the same parent path: `/products/<slug>`
    variants are one problem, `/api/cart/…` and `/api/billing/…` are two, however alike
    their n-grams."""
    if o.kind is ErrorKind.NETWORK:
        parent = (o.path_template or "/").rstrip("/").rsplit("/", 1)[0]
        return f"network:{status_class(o.status)}:{o.method}:{parent}"
    return o.kind.value


def group_by_fingerprint(occurrences: Iterable[ErrorOccurrence]) -> dict[str, FingerprintGroup]:
    groups: dict[str, FingerprintGroup] = {}
    for o in occurrences:
        group = groups.get(o.fingerprint)
        if group is None:
            group = groups[o.fingerprint] = FingerprintGroup(
                o.fingerprint, o.kind, _partition(o), _key_text(o)
            )
        group.add(o)
    return groups


def _top(counter: Counter[str]) -> list[str]:
    return [text for text, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))][:SAMPLES]


def merge_counts(team_id: str, cluster_id: str, groups: Sequence[FingerprintGroup]) -> ErrorCluster:
    """One cluster's counts, from its fingerprints' groups (no centroid, no name yet)."""
    sessions: dict[str, bool | None] = {}
    session_first: dict[str, int] = {}
    messages: Counter[str] = Counter()
    actions: Counter[str] = Counter()
    echoes: Counter[str] = Counter()
    firsts = [g.first_seen_ms for g in groups if g.first_seen_ms is not None]
    lasts = [g.last_seen_ms for g in groups if g.last_seen_ms is not None]
    for g in groups:
        for session_id, failed in g.sessions.items():
            if sessions.get(session_id) is None:
                sessions[session_id] = failed
        for session_id, when in g.session_first.items():
            session_first[session_id] = min(session_first.get(session_id, when), when)
        messages.update(g.messages)
        actions.update(g.actions)
        echoes.update(g.echoes)
    known = [failed for failed in sessions.values() if failed is not None]
    return ErrorCluster(
        cluster_id=cluster_id,
        team_id=team_id,
        fingerprints=sorted(g.fingerprint for g in groups),
        kind=groups[0].kind,
        occurrences=sum(g.occurrences for g in groups),
        sessions_affected=len(sessions),
        session_ids=sorted(sessions),
        failed_ratio=round(sum(known) / len(known), 4) if known else None,
        first_seen_ms=min(firsts) if firsts else None,
        last_seen_ms=max(lasts) if lasts else None,
        sample_session_ids=sorted(session_first, key=lambda s: (session_first[s], s))[:SAMPLES],
        sample_messages=_top(messages),
        sample_actions=_top(actions),
        sample_echoes=_top(echoes),
        centroid_terms={},
    )


def _merge_labels(distances: Any, threshold: float) -> list[int]:
    if distances.shape[0] < 2:
        return [0] * distances.shape[0]
    # metric="precomputed" on cosine distances of the sparse TF-IDF rows: the same as
    # metric="cosine", without densifying a matrix of thousands of n-gram columns.
    model = AgglomerativeClustering(
        metric="precomputed",
        linkage="average",
        distance_threshold=1.0 - threshold,
        n_clusters=None,
    )
    return [int(label) for label in model.fit_predict(distances)]


def _centroid_terms(rows: Any, vocabulary: Sequence[str]) -> dict[str, float]:
    centroid = np.asarray(rows.mean(axis=0)).ravel()
    norm = float(np.linalg.norm(centroid))
    if norm == 0.0:
        return {}
    centroid = centroid / norm
    top = np.argsort(-centroid)[:CENTROID_TERMS]
    return {vocabulary[i]: round(float(centroid[i]), 6) for i in top if centroid[i] > 0}


def terms_cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(weight * b.get(term, 0.0) for term, weight in a.items())
    na = sum(w * w for w in a.values()) ** 0.5
    nb = sum(w * w for w in b.values()) ** 0.5
    return dot / (na * nb) if na and nb else 0.0


def _new_id(team_id: str, anchor: str, taken: set[str]) -> str:
    salt = 0
    while True:
        digest = hashlib.sha1(f"{team_id}:{anchor}:{salt}".encode()).hexdigest()[:12]
        cluster_id = f"ec_{digest}"
        if cluster_id not in taken:
            return cluster_id
        salt += 1


def _match_previous(
    clusters: list[ErrorCluster], previous: Sequence[ErrorCluster], threshold: float
) -> dict[int, ErrorCluster]:
    """Pair new clusters with earlier ones, best first, one to one: sharing a fingerprint
    is the strongest evidence, then centroid similarity above `threshold`."""
    candidates: list[tuple[float, int, int]] = []
    for i, cluster in enumerate(clusters):
        mine = set(cluster.fingerprints)
        for j, old in enumerate(previous):
            if old.kind is not cluster.kind:
                continue
            shared = len(mine.intersection(old.fingerprints))
            similarity = terms_cosine(cluster.centroid_terms, old.centroid_terms)
            if shared:
                score = 1.0 + shared / len(mine | set(old.fingerprints))
            elif similarity >= threshold:
                score = similarity
            else:
                continue
            candidates.append((score, i, j))
    matched: dict[int, ErrorCluster] = {}
    used: set[int] = set()
    for _, i, j in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        if i in matched or j in used:
            continue
        matched[i] = previous[j]
        used.add(j)
    return matched


def cluster_errors(
    team_id: str,
    occurrences: Sequence[ErrorOccurrence],
    *,
    previous: Sequence[ErrorCluster] = (),
    threshold: float = 0.5,
) -> list[ErrorCluster]:
    """Clusters of `occurrences`, sorted by sessions affected (most first).

    `threshold` is the cosine similarity above which near-duplicate fingerprints merge,
    and above which a cluster inherits the id and name of one in `previous`.
    """
    groups = list(group_by_fingerprint(occurrences).values())
    if not groups:
        return []
    groups.sort(key=lambda g: g.fingerprint)
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=True)
    matrix = vectorizer.fit_transform([g.text for g in groups])
    vocabulary = list(vectorizer.get_feature_names_out())

    by_partition: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        by_partition.setdefault(group.partition, []).append(index)
    members: list[list[int]] = []
    for partition in sorted(by_partition):
        indices = by_partition[partition]
        rows = matrix[indices]
        labels = _merge_labels(cosine_distances(rows), threshold)
        found: dict[int, list[int]] = {}
        for index, label in zip(indices, labels, strict=True):
            found.setdefault(label, []).append(index)
        members.extend(found.values())

    clusters: list[ErrorCluster] = []
    anchors: list[str] = []
    for indices in members:
        member_groups = [groups[i] for i in indices]
        cluster = merge_counts(team_id, "", member_groups)
        cluster.centroid_terms = _centroid_terms(matrix[indices], vocabulary)
        clusters.append(cluster)
        # The id of a new cluster follows its biggest fingerprint: deterministic.
        anchor = max(member_groups, key=lambda g: (len(g.sessions), g.occurrences, g.fingerprint))
        anchors.append(anchor.fingerprint)

    matched = _match_previous(clusters, previous, threshold)
    taken = {old.cluster_id for old in matched.values()}
    for i, cluster in enumerate(clusters):
        old = matched.get(i)
        if old is not None:
            cluster.cluster_id = old.cluster_id
            cluster.title, cluster.impact, cluster.severity = old.title, old.impact, old.severity
            continue
        cluster.cluster_id = _new_id(team_id, anchors[i], taken | {p.cluster_id for p in previous})
        taken.add(cluster.cluster_id)
    return sorted(clusters, key=lambda c: (-c.sessions_affected, -c.occurrences, c.cluster_id))
