"""Recordings from PostHog's API (US or EU Cloud, or self-hosted), with a personal API key.

`PostHogSource` is the synchronous `SnapshotSource` the timeline compiler streams from;
`PostHogClient` is the asynchronous side for listing recordings, playlists and metadata.
Errors are typed (`code`, `retryable`, `retry_after_seconds`) for the activity to map.

Inside: `errors`, `config`, `models` (PostHog's answers), `planning` (which snapshot blocks
in which requests), `responses` (status, redirect and JSON handling both sides share),
`snapshot_lines`, `source` and `client`. This package imports `recap.recording`,
`recap.core` and `recap.sources.files` (the export format it writes), plus httpx; never
Temporal, the store or the model layer. Code outside imports from here, not the modules.
"""

from __future__ import annotations

from recap.sources.posthog.client import PostHogClient
from recap.sources.posthog.config import PLAYLIST_SCOPE, READ_SCOPE, PostHogConfig
from recap.sources.posthog.errors import (
    PostHogAuthError,
    PostHogConfigError,
    PostHogError,
    PostHogRateLimited,
    PostHogRedirectRefused,
    PostHogStreamCut,
    PostHogUnavailable,
    RecordingNotReady,
)
from recap.sources.posthog.models import PostHogPerson, RecordingMetadata, SnapshotSourceRef
from recap.sources.posthog.planning import plan_fetches
from recap.sources.posthog.responses import retry_after_seconds
from recap.sources.posthog.source import (
    PostHogSource,
    ProgressHook,
    SnapshotProgress,
    export_recording,
)

__all__ = [
    "PLAYLIST_SCOPE",
    "READ_SCOPE",
    "PostHogAuthError",
    "PostHogClient",
    "PostHogConfig",
    "PostHogConfigError",
    "PostHogError",
    "PostHogPerson",
    "PostHogRateLimited",
    "PostHogRedirectRefused",
    "PostHogSource",
    "PostHogStreamCut",
    "PostHogUnavailable",
    "ProgressHook",
    "RecordingMetadata",
    "RecordingNotReady",
    "SnapshotProgress",
    "SnapshotSourceRef",
    "export_recording",
    "plan_fetches",
    "retry_after_seconds",
]
