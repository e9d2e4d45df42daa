"""The API's routes, one module per resource: summaries, pattern reports, recordings, error
clusters and similar sessions under a project; jobs and health outside one. Routes take their
dependencies from `recap.api.deps` and answer through `recap.api.responses`."""

from __future__ import annotations

from fastapi import APIRouter

from recap.api.routes import (
    clusters,
    digests,
    health,
    jobs,
    journeys,
    listing,
    recordings,
    reports,
    similar,
    single_summaries,
    summaries,
    summary_config,
)


def team_routers() -> list[APIRouter]:
    """The routers of the endpoints under a project, fresh for each prefix, in the order
    they are matched and documented: `session_recordings/error_clusters/` comes before
    `session_recordings/{recording_id}/`, which would otherwise take it."""
    return [
        summaries.router(),
        reports.router(),
        journeys.router(),
        digests.router(),
        summary_config.router(),
        single_summaries.router(),
        listing.listing_router(),
        clusters.router(),
        recordings.recording_router(),
        similar.router(),
    ]


def service_routers() -> list[APIRouter]:
    """The routers of the endpoints outside a project: jobs, then health."""
    return [jobs.router(), health.router()]
