"""The contrast at one funnel step, by code: which features are over-represented among the
sessions that stopped, and where those sessions went next.

A session's features are measured in its window: from the event that reached step k-1 up
to the event that reached step k (went on) or the session's end (stopped). Features come
from the timeline (signal flags, errors by fingerprint and by the team's error cluster,
failed requests by method, path template and status, slow reactions) and from the caller's
metadata (device, browser, OS,
viewport width bucket). Presence is boolean per session. Features present in exactly the
same sessions are one factor (a failed request, its console error and the error flag on the
click before it are one cause seen three ways) and are tested once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from recap.clustering.extract import describe_action, extract_errors
from recap.clustering.fingerprint import path_template
from recap.clustering.models import ErrorKind
from recap.funnels.models import (
    Factor,
    FactorExample,
    Feature,
    FeatureKind,
    FunnelSession,
    Group,
    KnownCluster,
    NextPlace,
    PlaceKind,
    SessionMetadata,
    SessionPath,
    StepContrast,
    StepSplit,
)
from recap.funnels.stats import fisher_greater, holm
from recap.funnels.steps import url_path
from recap.timeline.models import ACTION_KINDS, SIGNAL_FLAGS, EventKind, Flag, TimelineEvent

EXAMPLES_PER_GROUP: Final = 3
NONE_LABEL: Final = "(none)"
# Common CSS breakpoints: phones, tablets and small laptops, desktops. Buckets rather than
# exact widths, so phones of 360, 375 and 414 px count as one feature instead of three
# too rare to test.
VIEWPORT_BUCKETS: Final = ((480, "viewport ≤ 480 px"), (1024, "viewport 481-1024 px"))
VIEWPORT_WIDE: Final = "viewport > 1024 px"

_SIGNAL_LABELS: Final = {
    Flag.RAGE: "rage click",
    Flag.DEAD: "dead click",
    Flag.SLOW: "slow reaction or request",
    Flag.ERROR_AFTER: "an error followed an action",
    Flag.ERROR_SHOWN: "an error was shown after an action",
    Flag.THRASH: "back-and-forth (thrash)",
    Flag.ABANDONED: "form input never submitted",
}
# Frustration that names its element too: "rage click on Apply" says more than "rage click".
_PER_TARGET: Final = {Flag.RAGE: "rage click", Flag.DEAD: "dead click"}
# The most specific manifestation of a factor first: it names the cause best.
_KIND_ORDER: Final[dict[str, int]] = {
    "request": 0,
    "error": 1,
    "shown": 2,
    "cluster": 3,
    "slow": 4,
    "signal": 5,
    "metadata": 6,
}
_ERROR_FEATURES: Final[dict[ErrorKind, tuple[FeatureKind, str]]] = {
    ErrorKind.CONSOLE: ("error", "console error"),
    ErrorKind.EXCEPTION: ("error", "exception"),
    ErrorKind.SHOWN: ("shown", "error shown"),
}


def viewport_label(width: int) -> str:
    for limit, label in VIEWPORT_BUCKETS:
        if width <= limit:
            return label
    return VIEWPORT_WIDE


@dataclass
class SessionFeatures:
    """One session's features in one window: key -> the first ref that shows it (None for
    metadata), and the refs that bound the window."""

    found: dict[str, str | None] = field(default_factory=dict)
    last_ref: str | None = None
    reach_ref: str | None = None


def window_bounds(
    session: FunnelSession, path: SessionPath, step: int, went_on: bool
) -> tuple[int, int]:
    """Event indices (start, end), exclusive both: after the event that reached step
    `step - 1` (or the last earlier step with an event) and before the one that reached
    `step` (or past the session's end)."""
    index = {event.ref: i for i, event in enumerate(session.timeline.events)}
    start = -1
    for reach in path.reached[: step - 1]:
        if reach.ref is not None:
            start = index[reach.ref]
    end = len(session.timeline.events)
    if went_on and step - 1 < len(path.reached):
        ref = path.reached[step - 1].ref
        if ref is not None:
            end = index[ref]
    return start, end


def session_features(
    session: FunnelSession,
    start: int,
    end: int,
    features: dict[str, Feature],
    clusters: Mapping[str, KnownCluster] | None = None,
) -> SessionFeatures:
    """The features of one session between two event indices (exclusive), registering each
    feature it names in `features`; `clusters` maps error fingerprints to the team's
    error clusters, so errors worded apart but clustered together count as one feature."""
    events = session.timeline.events
    window = events[start + 1 : end]
    result = SessionFeatures(last_ref=window[-1].ref if window else None)
    if end < len(events):
        result.reach_ref = events[end].ref

    def add(feature: Feature, ref: str | None) -> None:
        features.setdefault(feature.key, feature)
        result.found.setdefault(feature.key, ref)

    for event in window:
        for flag in event.flags:
            if flag in SIGNAL_FLAGS:
                add(
                    Feature(key=f"signal:{flag}", kind="signal", label=_SIGNAL_LABELS[Flag(flag)]),
                    event.ref,
                )
        if Flag.SLOW in event.flags:
            add(_slow_feature(event), event.ref)
        for flag, name in _PER_TARGET.items():
            if flag in event.flags and event.kind in ACTION_KINDS:
                what = describe_action(event)
                add(
                    Feature(key=f"{flag}:{what}", kind="signal", label=f"{name}: {what}"), event.ref
                )
    refs = {event.ref for event in window}
    for occurrence in extract_errors(session.timeline, failed_outcome=None):
        if occurrence.ref not in refs:
            continue
        cluster = (clusters or {}).get(occurrence.fingerprint)
        if cluster is not None:
            add(_cluster_feature(cluster), occurrence.ref)
        if occurrence.kind is ErrorKind.NETWORK:
            add(
                Feature(
                    key=f"request:{occurrence.normalized}",
                    kind="request",
                    label=f"failed request {occurrence.normalized}",
                    fingerprint=occurrence.fingerprint,
                ),
                occurrence.ref,
            )
            continue
        kind, name = _ERROR_FEATURES[occurrence.kind]
        add(
            Feature(
                key=f"{kind}:{occurrence.fingerprint}",
                kind=kind,
                label=f"{name}: {occurrence.normalized}",
                fingerprint=occurrence.fingerprint,
            ),
            occurrence.ref,
        )
    for feature in metadata_features(session.metadata):
        add(feature, None)
    return result


def _cluster_feature(cluster: KnownCluster) -> Feature:
    name = cluster.title or cluster.cluster_id
    return Feature(
        key=f"cluster:{cluster.cluster_id}",
        kind="cluster",
        label=f"error cluster: {name}",
        cluster_id=cluster.cluster_id,
    )


def _slow_feature(event: TimelineEvent) -> Feature:
    if event.kind is EventKind.NETWORK_ERROR:
        method, _, path = (event.target or "").partition(" ")
        what = f"request {method} {path_template(path) if path else '/'}"
    else:
        what = describe_action(event)
    return Feature(key=f"slow:{what}", kind="slow", label=f"slow: {what}")


def metadata_features(metadata: SessionMetadata) -> list[Feature]:
    found = []
    for name, value in (
        ("device", metadata.device),
        ("browser", metadata.browser),
        ("os", metadata.os),
    ):
        if value:
            found.append(Feature(key=f"{name}:{value}", kind="metadata", label=f"{name} {value}"))
    if metadata.viewport_width is not None:
        label = viewport_label(metadata.viewport_width)
        found.append(Feature(key=f"viewport:{label}", kind="metadata", label=label))
    return found


def contrast_step(
    split: StepSplit,
    sessions: Mapping[str, FunnelSession],
    paths: Mapping[str, SessionPath],
    *,
    alpha: float,
    min_stopped: int,
    clusters: Mapping[str, KnownCluster] | None = None,
) -> StepContrast:
    """Step k's factors (every tested one, smallest p first) and next places."""
    features: dict[str, Feature] = {}
    measured: dict[str, SessionFeatures] = {}
    for group, went_on in ((split.stopped_ids, False), (split.went_on_ids, True)):
        for session_id in group:
            session, path = sessions[session_id], paths[session_id]
            start, end = window_bounds(session, path, split.step, went_on)
            measured[session_id] = session_features(session, start, end, features, clusters)
    stopped, went = split.stopped_ids, split.went_on_ids
    having: dict[str, frozenset[str]] = {
        key: frozenset(sid for sid in (*stopped, *went) if key in measured[sid].found)
        for key in features
    }
    stopped_set = set(stopped)
    tested = [key for key in features if len(having[key] & stopped_set) >= min_stopped]
    by_sessions: dict[frozenset[str], list[str]] = {}
    for key in tested:
        by_sessions.setdefault(having[key], []).append(key)
    drafts = []
    for members, keys in by_sessions.items():
        a = len(members & stopped_set)
        c = len(members) - a
        p = fisher_greater(a, len(stopped) - a, c, len(went) - c)
        ordered = sorted(
            (features[key] for key in keys),
            key=lambda f: (_KIND_ORDER[f.kind], f.key.startswith("signal:"), f.label),
        )
        drafts.append((p, a, c, ordered, members))
    adjusted = holm([draft[0] for draft in drafts])
    ranked = sorted(
        zip(drafts, adjusted, strict=True),
        key=lambda item: (item[0][0], -item[0][1], item[0][3][0].label),
    )
    factors = []
    for number, ((p, a, c, ordered, members), adjusted_p) in enumerate(ranked, start=1):
        stopped_rate = a / len(stopped) if stopped else 0.0
        went_rate = c / len(went) if went else 0.0
        factors.append(
            Factor(
                factor_id=f"s{split.step}f{number}",
                step=split.step,
                features=ordered,
                stopped_with=a,
                stopped_total=len(stopped),
                went_on_with=c,
                went_on_total=len(went),
                stopped_rate=stopped_rate,
                went_on_rate=went_rate,
                p_value=p,
                adjusted_p=adjusted_p,
                significant=adjusted_p < alpha and stopped_rate > went_rate,
                session_ids=[sid for sid in (*stopped, *went) if sid in members],
                examples=_examples(ordered, members, split, sessions, measured),
            )
        )
    pages, actions = next_places(split, sessions, paths)
    return StepContrast(
        split=split,
        features_seen=len(features),
        features_tested=len(tested),
        factors_tested=len(drafts),
        factors=factors,
        next_pages=pages,
        next_actions=actions,
    )


def _examples(
    ordered: Sequence[Feature],
    members: frozenset[str],
    split: StepSplit,
    sessions: Mapping[str, FunnelSession],
    measured: Mapping[str, SessionFeatures],
) -> list[FactorExample]:
    """A few stopped sessions that show the factor, and a few that went on: those that show
    it too where there are any, else ones without it, at the event where they went on."""
    examples = []
    for session_id in [sid for sid in split.stopped_ids if sid in members][:EXAMPLES_PER_GROUP]:
        found = measured[session_id]
        ref = next((found.found[f.key] for f in ordered if found.found.get(f.key)), None)
        examples.append(
            _example(sessions[session_id], "stopped", ref or found.last_ref, has_factor=True)
        )
    with_factor = [sid for sid in split.went_on_ids if sid in members]
    without = [sid for sid in split.went_on_ids if sid not in members]
    for session_id in (with_factor or without)[:EXAMPLES_PER_GROUP]:
        found = measured[session_id]
        has = session_id in members
        ref = next((found.found[f.key] for f in ordered if found.found.get(f.key)), None)
        examples.append(
            _example(sessions[session_id], "went_on", ref or found.reach_ref, has_factor=has)
        )
    return examples


def _example(
    session: FunnelSession, group: Group, ref: str | None, *, has_factor: bool
) -> FactorExample:
    event = session.timeline.event(ref) if ref else None
    return FactorExample(
        session_id=session.session_id,
        group=group,
        ref=event.ref if event else None,
        t_ms=event.t_ms if event else None,
        url=event.url if event else None,
        kind=event.kind.value if event else None,
        target=event.target if event else None,
        has_factor=has_factor,
    )


def next_places(
    split: StepSplit, sessions: Mapping[str, FunnelSession], paths: Mapping[str, SessionPath]
) -> tuple[list[NextPlace], list[NextPlace]]:
    """For those who stopped at step k: the first other page and the first action after the
    event that reached step k-1, counted per session, most common first."""
    pages: dict[str, list[str]] = {}
    actions: dict[str, list[str]] = {}
    for session_id in split.stopped_ids:
        session = sessions[session_id]
        start, _ = window_bounds(session, paths[session_id], split.step, went_on=False)
        events = session.timeline.events
        here = events[start].url if start >= 0 else None
        current = url_path(here) if here else None
        page = next(
            (
                url_path(e.url)
                for e in events[start + 1 :]
                if e.kind is EventKind.NAVIGATION and e.url and url_path(e.url) != current
            ),
            NONE_LABEL,
        )
        action = next(
            (describe_action(e) for e in events[start + 1 :] if e.kind in ACTION_KINDS),
            NONE_LABEL,
        )
        pages.setdefault(page, []).append(session_id)
        actions.setdefault(action, []).append(session_id)
    return _counted("page", pages), _counted("action", actions)


def _counted(kind: PlaceKind, places: dict[str, list[str]]) -> list[NextPlace]:
    counts = Counter({label: len(ids) for label, ids in places.items()})
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0] == NONE_LABEL, item[0]))
    return [
        NextPlace(kind=kind, label=label, sessions=count, session_ids=places[label])
        for label, count in ordered
    ]
