"""Where recordings come from: every source hands the compiler a `Recording`.

`files` reads exported files and folders of them, `posthog` reads PostHog's API, `spec`
parses the `posthog` / `files:DIR` text users write, and `metadata` derives PostHog-shaped
metadata for sources that carry none. This package imports `recap.recording` and
`recap.core` only (plus httpx, orjson and pydantic); never Temporal, the store, the
timeline or the model layer.
"""

from __future__ import annotations

from recap.recording.models import (
    InvalidRecording,
    RawEvent,
    Recording,
    RecordingError,
    RecordingNotFound,
    SnapshotSource,
)
from recap.sources.files import DirectorySource, load_recording_file

__all__ = [
    "DirectorySource",
    "InvalidRecording",
    "RawEvent",
    "Recording",
    "RecordingError",
    "RecordingNotFound",
    "SnapshotSource",
    "load_recording_file",
]
