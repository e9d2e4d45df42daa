"""PostHog's answers as recap reads them: a recording's metadata (with its person) and the
snapshot sources listing, each parsed from JSON or refused with `PostHogBadResponse`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from recap.sources.posthog.errors import PostHogBadResponse


class PostHogPerson(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int | str | None = None
    uuid: str | None = None
    name: str | None = None
    distinct_ids: list[str] = Field(default_factory=list)
    properties: dict[str, Any] | None = None
    created_at: datetime | None = None

    @field_validator("distinct_ids", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value


# What the API object shows but a timeline never needs: who viewed the recording, linked
# issues, retention and listing state. Left out so timelines stay as they were.
_NOT_FOR_TIMELINES: Final = frozenset(
    {
        "person",
        "viewed",
        "viewers",
        "retention_period_days",
        "expiry_time",
        "recording_ttl",
        "snapshot_library",
        "external_references",
        "matches_filters",
        "storage",
    }
)


class RecordingMetadata(BaseModel):
    """One recording as PostHog's session recordings API describes it (durations in s)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    distinct_id: str | None = None
    viewed: bool | None = None
    recording_duration: float | None = None
    active_seconds: float | None = None
    inactive_seconds: float | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    click_count: int | None = None
    keypress_count: int | None = None
    mouse_activity_count: int | None = None
    console_log_count: int | None = None
    console_warn_count: int | None = None
    console_error_count: int | None = None
    start_url: str | None = None
    person: PostHogPerson | None = None
    snapshot_source: str | None = None
    ongoing: bool = False
    activity_score: float | None = None
    # The rest of the documented object, passed through as PostHog answers it. PostHog
    # leaves retention, expiry and TTL null when the recording has no retention period.
    viewers: list[str] | None = None
    retention_period_days: int | None = None
    expiry_time: datetime | None = None
    recording_ttl: int | None = None
    snapshot_library: str | None = None
    external_references: list[dict[str, Any]] | None = None
    matches_filters: bool | None = None
    # Only the older document names it ("object_storage" / "object_storage_lts").
    storage: str | None = None

    def summary_fields(self) -> dict[str, Any]:
        """What a timeline may carry about the recording: no person, no properties."""
        return self.model_dump(mode="json", exclude=set(_NOT_FOR_TIMELINES), exclude_none=True)


class SnapshotSourceRef(BaseModel):
    """One entry of the snapshot sources listing."""

    model_config = ConfigDict(extra="ignore")

    source: str
    start_timestamp: datetime | None = None
    end_timestamp: datetime | None = None
    blob_key: str | None = None


def parse_metadata(doc: Any, session_id: str) -> RecordingMetadata:
    """PostHog's JSON about one recording (or one item of a listing page)."""
    try:
        return RecordingMetadata.model_validate(doc)
    except ValidationError as exc:
        raise PostHogBadResponse(
            f"PostHog's metadata for recording {session_id} has an unknown shape"
            f" ({exc.error_count()} problems, first: {exc.errors()[0]['loc']})"
        ) from None


def parse_snapshot_sources(doc: Any, session_id: str) -> list[SnapshotSourceRef]:
    """PostHog's JSON listing where a recording's snapshot blocks are stored."""
    listed = doc.get("sources") if isinstance(doc, dict) else None
    if not isinstance(listed, list):
        raise PostHogBadResponse(
            f"PostHog's snapshot listing for recording {session_id} has no sources list"
        )
    try:
        return [SnapshotSourceRef.model_validate(item) for item in listed]
    except ValidationError:
        raise PostHogBadResponse(
            f"PostHog's snapshot sources for recording {session_id} have an unknown shape"
        ) from None
