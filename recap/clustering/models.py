"""The clustering artifacts: one error seen in one session, and a cluster of them."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class ErrorKind(StrEnum):
    CONSOLE = "console"
    EXCEPTION = "exception"
    NETWORK = "network"
    SHOWN = "shown"
    """Error text that appeared on the page after a user action."""


class ErrorOccurrence(BaseModel):
    """One error event of one session's timeline, with what code knows around it."""

    session_id: str
    kind: ErrorKind
    ref: str = Field(description="timeline ref of the error event (of the action for SHOWN)")
    t_ms: int
    timestamp_ms: int | None = Field(
        default=None, description="absolute epoch ms (session start + t_ms) when known"
    )
    message: str = Field(description="redacted message as on the timeline")
    normalized: str = Field(description="message with placeholders")
    top_frame: str | None = None
    method: str | None = None
    path_template: str | None = None
    status: int | None = None
    fingerprint: str = Field(description="sha1 hex (16 chars) of the fingerprint key")
    preceding_action: str | None = None
    failed_outcome: bool | None = Field(
        default=None, description="the session's summary outcome failed (None: no summary)"
    )
    count: int = Field(default=1, ge=1, description="identical events the timeline collapsed")
    echoes: list[str] = Field(
        default_factory=list,
        description="the browser's console lines echoing this failed request (redacted as "
        "the timeline shows them), folded into it rather than counted as errors of their own",
    )


class ErrorCluster(BaseModel):
    """Errors that are the same problem, with counts computed by code."""

    cluster_id: str = Field(description='stable: "ec_" + 12 hex')
    team_id: str
    fingerprints: list[str]
    title: str | None = None
    impact: str | None = None
    severity: Literal["low", "medium", "high"] | None = None
    kind: ErrorKind
    occurrences: int
    sessions_affected: int
    session_ids: list[str]
    failed_ratio: float | None = Field(
        description="share of affected sessions (with a summary) whose outcome failed"
    )
    first_seen_ms: int | None
    last_seen_ms: int | None
    sample_session_ids: list[str]
    sample_messages: list[str]
    sample_actions: list[str]
    sample_echoes: list[str] = Field(
        default_factory=list,
        description="console lines that echoed the cluster's failed requests (most seen first)",
    )
    centroid_terms: dict[str, float] = Field(
        description="sparse TF-IDF centroid (top terms) used to match earlier clusters"
    )
