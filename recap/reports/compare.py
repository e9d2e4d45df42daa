"""How patterns moved between two periods' reports, by code: matched across the reports by
name and indicators, then classified by the share of sessions they affect.

Names are the model's, so the same pattern is worded differently from one run to the next
("Payment fails at checkout", "Checkout payment returns a server error"). An exact match of
the folded name comes first; the rest are paired by word overlap of name and indicators
(the indicators carry the concrete evidence, error text and element names, which rewording
keeps), best pair first, each pattern used once.
"""

from __future__ import annotations

from typing import Final

from recap.reports.models import Pattern, PatternChange, PatternChangeKind, PatternReport
from recap.reports.patterns import pattern_key

# rising: the ratio grew by half or more AND at least this many more sessions (so 1 -> 2
# sessions in a small report is not news); falling mirrors it.
RATIO_FACTOR: Final = 1.5
MIN_SESSION_CHANGE: Final = 2
# Jaccard overlap of the words of name + indicators for two patterns to be the same one.
MATCH_THRESHOLD: Final = 0.35

_STOPWORDS: Final = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is"}
    | {"it", "its", "of", "on", "or", "the", "their", "then", "to", "was", "were", "when"}
    | {"while", "with", "without", "after", "before", "user", "users", "session", "sessions"}
)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def pattern_words(pattern: Pattern) -> set[str]:
    text = " ".join([pattern.name, *pattern.indicators])
    return {_stem(word) for word in pattern_key(text).split() if word not in _STOPWORDS}


def _overlap(first: set[str], second: set[str]) -> float:
    union = first | second
    return len(first & second) / len(union) if union else 0.0


def match_patterns(previous: list[Pattern], current: list[Pattern]) -> dict[int, int]:
    """current index -> previous index, one-to-one."""
    matched: dict[int, int] = {}
    used: set[int] = set()
    previous_keys = {pattern_key(p.name): index for index, p in enumerate(previous)}
    for index, pattern in enumerate(current):
        found = previous_keys.get(pattern_key(pattern.name))
        if found is not None and found not in used:
            matched[index] = found
            used.add(found)
    words_before = [pattern_words(p) for p in previous]
    pairs = []
    for index, pattern in enumerate(current):
        if index in matched:
            continue
        words = pattern_words(pattern)
        for before, other in enumerate(words_before):
            if before in used:
                continue
            score = _overlap(words, other)
            if score >= MATCH_THRESHOLD:
                pairs.append((score, index, before))
    for _score, index, before in sorted(pairs, key=lambda pair: (-pair[0], pair[1], pair[2])):
        if index not in matched and before not in used:
            matched[index] = before
            used.add(before)
    return matched


def classify(previous: Pattern, current: Pattern) -> PatternChangeKind:
    before, now = previous.stats, current.stats
    grew = now.sessions_affected - before.sessions_affected
    if grew >= MIN_SESSION_CHANGE and (
        before.sessions_affected_ratio == 0
        or now.sessions_affected_ratio >= RATIO_FACTOR * before.sessions_affected_ratio
    ):
        return "rising"
    if -grew >= MIN_SESSION_CHANGE and (
        now.sessions_affected_ratio * RATIO_FACTOR <= before.sessions_affected_ratio
    ):
        return "falling"
    return "steady"


def compare(previous: PatternReport | None, current: PatternReport) -> list[PatternChange]:
    """The current report's patterns as new, rising, falling or steady against the previous
    report's, in the current report's order, then the previous patterns now gone.

    Rising: the sessions-affected ratio grew by at least half and by at least two sessions;
    falling: the ratio shrank by the same factor and by at least two sessions; steady
    otherwise. The ratio (not the count) carries the rule, so a busier week does not make
    every pattern rise; the two-session floor keeps small numbers from flapping.
    """
    before = previous.patterns if previous is not None else []
    matched = match_patterns(before, current.patterns)
    changes: list[PatternChange] = []
    for index, pattern in enumerate(current.patterns):
        stats = pattern.stats
        match = matched.get(index)
        if match is None:
            changes.append(
                PatternChange(
                    name=pattern.name,
                    change="new",
                    previous_sessions=0,
                    current_sessions=stats.sessions_affected,
                    previous_ratio=0.0,
                    current_ratio=stats.sessions_affected_ratio,
                )
            )
            continue
        old = before[match]
        change = classify(old, pattern)
        changes.append(
            PatternChange(
                name=pattern.name,
                change=change,
                previous_sessions=old.stats.sessions_affected,
                current_sessions=stats.sessions_affected,
                previous_ratio=old.stats.sessions_affected_ratio,
                current_ratio=stats.sessions_affected_ratio,
            )
        )
    still_here = set(matched.values())
    for index, old in enumerate(before):
        if index not in still_here:
            changes.append(
                PatternChange(
                    name=old.name,
                    change="gone",
                    previous_sessions=old.stats.sessions_affected,
                    current_sessions=0,
                    previous_ratio=old.stats.sessions_affected_ratio,
                    current_ratio=0.0,
                )
            )
    return changes
