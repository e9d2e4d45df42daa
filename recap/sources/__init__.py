"""Where recordings come from: every source hands the compiler a `Recording`."""

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
