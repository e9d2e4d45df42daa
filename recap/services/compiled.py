"""What compiling one session hands back: a pointer to the stored timeline, plus what the
workflow shows operators. A plain model with no I/O behind it, because workflow payloads
and their contracts carry it."""

from __future__ import annotations

from pydantic import BaseModel


class CompiledTimeline(BaseModel):
    """A pointer to the stored timeline plus what the workflow shows operators."""

    session_id: str
    timeline_hash: str
    tokens: int
    events: int
    duration_ms: int
    truncated_events: int = 0
