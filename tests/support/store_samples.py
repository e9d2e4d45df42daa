"""Small summaries, timelines, error occurrences and clusters for the store tests."""

from __future__ import annotations

from recap.clustering import ErrorCluster, ErrorKind, ErrorOccurrence
from recap.llm.schema import GateReport, RunMetadata, SessionSummary, SummaryOutcome
from recap.timeline.models import SessionInfo, Timeline, TimelineStats


def summary(
    title: str,
    *,
    session_id: str = "s1",
    focus: str | None = None,
    prompt_version: str = "p@1",
    timeline_hash: str = "h",
) -> SessionSummary:
    return SessionSummary(
        session_id=session_id,
        title=title,
        segments=[],
        key_actions=[],
        issues=[],
        summary_outcome=SummaryOutcome(description=f"{title} outcome", success=True),
        gate=GateReport(),
        run=RunMetadata(
            model="m",
            prompt_version=prompt_version,
            timeline_hash=timeline_hash,
            timeline_tokens=5,
            prompt_tokens=10,
            completion_tokens=3,
            latency_ms=9,
            focus_area=focus,
        ),
    )


def timeline(session_id: str = "s1") -> Timeline:
    return Timeline(session=SessionInfo(session_id=session_id), events=[], stats=TimelineStats())


def occurrences(sessions: range) -> list[ErrorOccurrence]:
    """Two errors per session: a console error all share, and a 404 on every third."""
    found = []
    for i in sessions:
        session_id = f"s{i:03d}"
        found.append(
            ErrorOccurrence(
                session_id=session_id,
                kind=ErrorKind.CONSOLE,
                ref=f"e{i}a",
                t_ms=1000 + i,
                message=f"TypeError: order {i} has no total",
                normalized="TypeError: order <n> has no total",
                fingerprint="a" * 16,
            )
        )
        if i % 3 == 0:
            found.append(
                ErrorOccurrence(
                    session_id=session_id,
                    kind=ErrorKind.NETWORK,
                    ref=f"e{i}b",
                    t_ms=2000 + i,
                    message=f"GET /profile/{i} 404",
                    normalized="GET /profile/<id> 404",
                    method="GET",
                    path_template="/profile/<id>",
                    status=404,
                    fingerprint="b" * 16,
                )
            )
    return found


def cluster(number: int, *, title: str | None = None, message: str = "boom") -> ErrorCluster:
    """A stored console-error cluster of team-a, two sessions affected."""
    return ErrorCluster(
        cluster_id=f"ec_{number:012x}",
        team_id="team-a",
        fingerprints=[f"fp{number}"],
        title=title,
        kind=ErrorKind.CONSOLE,
        occurrences=3,
        sessions_affected=2,
        session_ids=["s1", "s2"],
        failed_ratio=0.5,
        first_seen_ms=0,
        last_seen_ms=10,
        sample_session_ids=["s1"],
        sample_messages=[message],
        sample_actions=[],
        centroid_terms={},
    )


def migration_head() -> str:
    """The newest migration's revision, the one a migrated database is at."""
    from importlib.resources import files

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(files("recap.store").joinpath("migrations")))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head
