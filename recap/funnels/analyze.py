"""The funnel analysis as one pure function: steps checked on each session, the split at
each step, the contrast of those who stopped with those who went on, and where they went."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from recap.funnels.contrast import contrast_step
from recap.funnels.models import FunnelAnalysis, FunnelSession, FunnelStep, KnownCluster
from recap.funnels.steps import FunnelStepError, session_path, split_sessions

DEFAULT_ALPHA = 0.05
MIN_STOPPED = 2
"""A feature seen in fewer stopped sessions is not tested: with one it cannot reach
significance after any correction, and testing it would only widen the correction."""


def analyze_funnel(
    sessions: Sequence[FunnelSession],
    steps: Sequence[FunnelStep],
    *,
    alpha: float = DEFAULT_ALPHA,
    min_stopped: int = MIN_STOPPED,
    clusters: Mapping[str, KnownCluster] | None = None,
) -> FunnelAnalysis:
    """Every number of a funnel report, by code; the model only explains its factors.
    `clusters` (error fingerprint -> the team's error cluster) adds cluster features."""
    if len(steps) < 2:
        raise FunnelStepError(f"a funnel needs at least two steps, got {len(steps)}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    by_id = {session.session_id: session for session in sessions}
    if len(by_id) != len(sessions):
        raise ValueError("each session may be given once")
    paths = [session_path(session, steps) for session in sessions]
    path_by_id = {path.session_id: path for path in paths}
    splits = split_sessions(paths, steps)
    contrasts = [
        contrast_step(
            split, by_id, path_by_id, alpha=alpha, min_stopped=min_stopped, clusters=clusters
        )
        for split in splits
    ]
    return FunnelAnalysis(
        steps=list(steps),
        sessions=len(sessions),
        reached=[sum(len(p.reached) >= n for p in paths) for n in range(1, len(steps) + 1)],
        contrasts=contrasts,
        paths=paths,
        sessions_without_summary=[p.session_id for p in paths if p.unknown_at is not None],
        alpha=alpha,
        min_stopped=min_stopped,
    )
